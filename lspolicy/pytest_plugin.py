"""pytest plugin (entry point ``pytest11``): fixtures for testing against the emulator.

Override ``lspolicy_world`` in your ``conftest.py`` to point at your world file; then
``lightsail_server`` is a running server and ``lightsail_server.client("alice")`` a boto3 client.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from lspolicy.testing import RunningServer


@pytest.fixture
def lspolicy_world() -> Path:
    """The world file to serve; override this fixture in your tests."""
    raise pytest.UsageError(
        "override the `lspolicy_world` fixture with the path of your world file"
    )


@pytest.fixture
def lightsail_server(lspolicy_world: Path) -> Iterator[RunningServer]:
    """The emulated Lightsail endpoint serving ``lspolicy_world``, in memory, on a free port."""
    from lspolicy.testing import serve_world  # noqa: PLC0415 - keep plugin import light

    with serve_world(lspolicy_world) as server:
        yield server
