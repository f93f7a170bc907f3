"""An operation and the request-log row that records it are written in one transaction.

`generate --from-log` builds policies from the request log; every StopInstance/StartInstance that
started an operation must be in it. The Operation shape:
https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_Operation.html
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lspolicy.server.state import StateStore
from lspolicy.testing import RunningServer, serve_world

WORLD = Path(__file__).resolve().parent / "worlds" / "errors.yaml"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with serve_world(WORLD, state=str(tmp_path / "state.db")) as running:
        yield running


def test_a_failure_between_the_operation_and_its_log_row_leaves_neither(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log write fails after the operation row is inserted (in the same transaction): the
    client gets ServiceException, and neither the operation nor its log row is committed, nor
    the state change.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""

    def fail(*_: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error (injected)")

    monkeypatch.setattr(StateStore, "_insert_log", staticmethod(fail))
    admin = server.client("admin")
    with pytest.raises(admin.exceptions.ServiceException):
        admin.stop_instance(instanceName="web-dev")
    monkeypatch.undo()
    assert server.store.operations() == []
    assert server.store.request_log() == []
    assert admin.get_instance_state(instanceName="web-dev")["state"]["name"] == "running"


def test_operations_and_their_log_rows_stay_equal_under_concurrency(
    server: RunningServer,
) -> None:
    """8 threads stop and start instances at once: every operation has exactly one log row
    naming it, and every log row that names an operation names one that exists.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StartInstance.html"""
    names = ("web-dev", "web-prod", "web-stopped")
    failures: list[BaseException] = []

    def work(n: int) -> None:
        try:
            client = server.client("admin")
            for i in range(12):
                name = names[(n + i) % len(names)]
                call = client.stop_instance if (n + i) % 2 else client.start_instance
                # wrong state for this call: refused, no operation
                with contextlib.suppress(client.exceptions.OperationFailureException):
                    call(instanceName=name)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures, failures
    operations = {op.id for op in server.store.operations()}
    logged = [row["operation_id"] for row in server.store.request_log() if row["operation_id"]]
    assert operations, "no call changed any state"
    assert len(logged) == len(set(logged)) == len(operations)
    assert set(logged) == operations
