"""pytest plugin (entry point ``pytest11``).

- Collects policy test files (``*.lspolicy-test.yaml``): each case becomes a pytest item with
  a readable id, and a failure shows the decision's explanation (deciding statements, closest
  allows, failed conditions).
- Fixtures for testing against the emulator: override ``lspolicy_world`` in your
  ``conftest.py`` with the path of your world file; ``lightsail_server`` is then a running
  server and ``lightsail_server.client("alice")`` a boto3 client.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from lspolicy.cases import CaseResult, LoadedCases
    from lspolicy.testing import RunningServer

TEST_SUFFIX = ".lspolicy-test.yaml"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect ``*.lspolicy-test.yaml`` files."""
    if file_path.name.endswith(TEST_SUFFIX):
        collected: pytest.Collector = PolicyTestFile.from_parent(parent, path=file_path)
        return collected
    return None


class PolicyTestFile(pytest.File):
    """One policy test file: loaded (and its policies parsed) once, one item per case."""

    def collect(self) -> Iterator[pytest.Item]:
        from lspolicy.cases import load_case_file  # noqa: PLC0415 - keep plugin import light

        loaded = load_case_file(self.path)
        for index, case in enumerate(loaded.spec.cases):
            yield PolicyCaseItem.from_parent(self, name=case.name, loaded=loaded, index=index)
        for index, prop in enumerate(loaded.spec.properties):
            yield PolicyPropertyItem.from_parent(
                self, name=f"property: {prop.name}", loaded=loaded, index=index
            )


class PolicyCaseFailed(AssertionError):
    """A case got another decision than expected."""

    def __init__(self, result: CaseResult, explanation: str) -> None:
        super().__init__(explanation)
        self.result = result
        self.explanation = explanation


class PolicyCaseItem(pytest.Item):
    """One case of a policy test file."""

    def __init__(self, *, loaded: LoadedCases, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loaded = loaded
        self.index = index

    def runtest(self) -> None:
        from lspolicy.cases import run_case  # noqa: PLC0415
        from lspolicy.explain import render_text  # noqa: PLC0415

        result = run_case(self.loaded, self.loaded.spec.cases[self.index])
        if not result.passed:
            raise PolicyCaseFailed(result, render_text(result.decision, self.loaded.texts))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, PolicyCaseFailed):
            case = excinfo.value.result.case
            got = excinfo.value.result.decision.decision
            return f"expected {case.expect}, got {got}\n{excinfo.value.explanation}"
        return str(super().repr_failure(excinfo))


class PolicyPropertyFailed(AssertionError):
    """A property does not hold (or could not be decided exactly)."""


class PolicyPropertyItem(pytest.Item):
    """One property of a policy test file, decided exactly by the semantic diff."""

    def __init__(self, *, loaded: LoadedCases, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loaded = loaded
        self.index = index

    def runtest(self) -> None:
        from lspolicy.cases import run_property  # noqa: PLC0415

        result = run_property(self.loaded, self.loaded.spec.properties[self.index])
        if not result.passed:
            raise PolicyPropertyFailed("\n".join(result.lines))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, PolicyPropertyFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))


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
