"""`lspolicy serve` as a process: what it logs, and the state files it refuses to serve.

The calls are made by a real boto3 client; the API they exercise:
https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstanceState.html
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from lspolicy.server.state import APPLICATION_ID, StateError, StateStore
from lspolicy.server.world import WorldError, load_world
from lspolicy.testing import serve_world

WORLD = Path(__file__).resolve().parent / "worlds" / "errors.yaml"
LSPOLICY = str(Path(sys.executable).with_name("lspolicy"))


@contextmanager
def serving(*extra: str, state: str = ":memory:") -> Iterator[tuple[str, subprocess.Popen[str]]]:
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("lspolicy")),
            "serve",
            "--world",
            str(WORLD),
            "--state",
            state,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert " at http://" in line, (line, proc.stderr.read() if proc.stderr else "")
        yield line.split(" at ", 1)[1].split()[0], proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def admin_client(url: str) -> object:
    admin = next(p for p in load_world(WORLD).principals.values() if p.name == "admin")
    return boto3.client(
        "lightsail",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=admin.access_key_id,
        aws_secret_access_key=admin.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}),
    )


def test_verbose_logs_every_request() -> None:
    """``--verbose`` promises to "log every request": each call shows up on stderr with its
    method and status; without the flag nothing is logged for a served request.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstanceState.html"""
    for flags, expect in ((("--verbose",), 2), ((), 0)):
        with serving(*flags) as (url, proc):
            client = admin_client(url)
            for _ in range(2):
                client.get_instance_state(instanceName="web-dev")  # type: ignore[attr-defined]
        assert proc.stderr is not None
        lines = [
            line for line in proc.stderr.read().splitlines() if '"POST / HTTP/1.1" 200' in line
        ]
        assert len(lines) == expect, (flags, lines)


# -- state files it refuses ---------------------------------------------------------------------


def make_state(path: Path, *, rows: int = 0) -> None:
    """A valid lspolicy state file for the world, with ``rows`` request-log rows."""
    store = StateStore(str(path))
    store.seed(load_world(WORLD).instances)
    for i in range(rows):
        store.log({"operation": "GetInstanceState", "decision": "allowed", "tags": "x" * (i % 200)})
    store.close()


def corrupt_page(path: Path) -> None:
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[2 * page + 100 : 3 * page - 100] = b"\xa5" * (page - 200)
    path.write_bytes(bytes(data))


def random_bytes(path: Path) -> None:
    path.write_bytes(bytes((i * 131 + 7) % 256 for i in range(20_000)))


def truncated(path: Path) -> None:
    make_state(path, rows=400)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 1000])


def page_corrupted(path: Path) -> None:
    make_state(path, rows=400)
    corrupt_page(path)


def foreign(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")


def unknown_state(path: Path) -> None:
    make_state(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE instances SET state = 'melting' WHERE name = 'web-dev'")


def directory(path: Path) -> None:
    path.mkdir()


BROKEN = {
    "random bytes": (random_bytes, "not a readable lspolicy state database"),
    "truncated": (truncated, "state file"),
    "page-corrupted": (page_corrupted, "state file"),
    "foreign SQLite": (foreign, "not an lspolicy state file"),
    "unknown state string": (unknown_state, "invalid state 'melting'"),
    "directory": (directory, "not a regular file"),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_a_broken_or_foreign_state_file_is_refused_with_exit_2(tmp_path: Path, kind: str) -> None:
    """The emulator's state stands in for what Lightsail stores; a file that is not lspolicy's,
    is damaged, or holds a value Lightsail never reports (an unknown instance state) is refused
    with a clear message and exit 2, never served. Instance states:
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_InstanceState.html"""
    path = tmp_path / "state.db"
    make, expected = BROKEN[kind]
    make(path)
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(StateError) as info:
        StateStore(str(path))
    assert expected in str(info.value)
    if kind == "foreign SQLite":
        assert path.read_bytes() == before  # no tables added to someone else's database
    done = subprocess.run(
        [LSPOLICY, "serve", "--world", str(WORLD), "--state", str(path)],
        capture_output=True,
        check=False,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert expected in done.stderr
    assert "Traceback" not in done.stderr


def test_an_lspolicy_state_file_is_marked_and_reopened(tmp_path: Path) -> None:
    """The control: lspolicy's own file carries its application_id and opens again.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_InstanceState.html"""
    path = tmp_path / "state.db"
    make_state(path, rows=3)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    store = StateStore(str(path))
    assert len(store.request_log()) == 3
    store.close()


def test_a_value_damaged_while_serving_is_a_service_exception(tmp_path: Path) -> None:
    """A stored value changed behind the server's back is checked on every read: the client
    gets ServiceException (HTTP 500) instead of an invalid state.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstanceState.html"""
    path = tmp_path / "state.db"
    with serve_world(WORLD, state=str(path)) as server:
        with sqlite3.connect(path) as db:
            db.execute("UPDATE instances SET state = 'melting' WHERE name = 'web-dev'")
        admin = server.client("admin")
        with pytest.raises(admin.exceptions.ServiceException):
            admin.get_instance_state(instanceName="web-dev")


def test_a_world_with_a_non_finite_number_is_refused(tmp_path: Path) -> None:
    """``transition_seconds: .nan`` passed ``minimum: 0`` (NaN compares false) and left a
    stopping instance stopping forever; the schema's numbers are finite.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    for value in (".nan", ".inf", "-.inf"):
        world = tmp_path / "world.yaml"
        text = WORLD.read_text().replace("transition_seconds: 0", f"transition_seconds: {value}")
        assert value in text
        world.write_text(text)
        shutil.copytree(WORLD.parent / "policies", tmp_path / "policies", dirs_exist_ok=True)
        with pytest.raises(WorldError):
            load_world(world)
        done = subprocess.run(
            [LSPOLICY, "serve", "--world", str(world), "--state", ":memory:"],
            capture_output=True,
            check=False,
            text=True,
            timeout=30,
        )
        assert done.returncode == 2, (value, done.stdout, done.stderr)
        assert "transition_seconds" in done.stderr
