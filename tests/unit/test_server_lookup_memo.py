"""`StateStore.lookup` remembers its answers while the database is unchanged, and is never
served stale: any change to the database since the last lookup, by this server, by a
statement on its own connection or by another connection (another process), is seen by the
next lookup, so a stored value changed behind the server's back is read and checked again.

What the answer must hold comes from the API: GetInstanceState returns the instance's current
state (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstanceState.html).
How a change by another connection is seen: SQLite's ``PRAGMA data_version`` "provides an
indication that the database file has been modified" and is "unchanged for commits made on the
same database connection" (https://www.sqlite.org/pragma.html#pragma_data_version); this
connection's own statements are counted by ``sqlite3.Connection.total_changes``
(https://docs.python.org/3/library/sqlite3.html#sqlite3.Connection.total_changes). The AWS
documentation says nothing about an emulator's storage; the behaviour asked of it is the
server's own rule (README, server section).
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from lspolicy.server.app import Service
from lspolicy.server.state import StateStore, Transition
from lspolicy.server.world import load_world

WORLD = Path(__file__).resolve().parents[2] / "policies" / "world.yaml"
ACCOUNT, REGION = "111122223333", "us-east-1"
STOP = Transition("StopInstance", frozenset({"running"}), None, "stopped")
START = Transition("StartInstance", frozenset({"stopped"}), None, "running")
LOG = {"operation": "GetInstanceState", "decision": "allowed"}


@contextmanager
def file_store() -> Iterator[tuple[StateStore, Path]]:
    """The example world's instances in a state file of their own."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.db"
        store = Service(load_world(WORLD), StateStore(str(path))).store
        try:
            yield store, path
        finally:
            store.close()


def lookup_statements(store: StateStore, name: str) -> list[str]:
    """The statements one lookup of ``name`` runs."""
    seen: list[str] = []
    store._db.set_trace_callback(seen.append)
    try:
        store.lookup(ACCOUNT, REGION, name)
    finally:
        store._db.set_trace_callback(None)
    return [s for s in seen if "instances" in s]


def test_a_valid_change_on_the_servers_connection_is_seen() -> None:
    """A statement on the store's own connection (not through the store) changes the state:
    the next lookup answers the new state, not the remembered one."""
    store = Service(load_world(WORLD), StateStore(":memory:")).store
    found, _ = store.lookup(ACCOUNT, REGION, "web-dev")
    assert found is not None and found.state == "running"
    store._db.execute("UPDATE instances SET state = 'stopped' WHERE name = 'web-dev'")
    found, _ = store.lookup(ACCOUNT, REGION, "web-dev")
    assert found is not None and found.state == "stopped"


def test_another_connections_commit_is_seen() -> None:
    """Another connection (as another process would) commits a change to the state file: the
    next lookup answers it."""
    with file_store() as (store, path):
        found, _ = store.lookup(ACCOUNT, REGION, "web-dev")
        assert found is not None and found.state == "running"
        with sqlite3.connect(path) as other:
            other.execute("UPDATE instances SET state = 'stopped' WHERE name = 'web-dev'")
        other.close()
        found, _ = store.lookup(ACCOUNT, REGION, "web-dev")
        assert found is not None and found.state == "stopped"


def test_the_servers_own_log_rows_keep_the_answers() -> None:
    """The request log row every call appends touches no instance: a lookup after it is
    answered without reading the instances again (on a file, only ``data_version`` is asked)."""
    for memory in (True, False):
        with file_store() as (file, _):
            store = Service(load_world(WORLD), StateStore(":memory:")).store if memory else file
            assert lookup_statements(store, "web-dev")  # the first lookup reads the table
            store.log(LOG)
            assert lookup_statements(store, "web-dev") == []


def test_a_change_before_a_log_row_is_still_seen() -> None:
    """A log row keeps the answers only when nothing else changed since they were stamped: a
    change on the connection, then a log row, then a lookup still answers the change."""
    store = Service(load_world(WORLD), StateStore(":memory:")).store
    store.lookup(ACCOUNT, REGION, "web-dev")
    store._db.execute("UPDATE instances SET state = 'stopped' WHERE name = 'web-dev'")
    store.log(LOG)
    found, _ = store.lookup(ACCOUNT, REGION, "web-dev")
    assert found is not None and found.state == "stopped"


def test_the_servers_own_change_renews_the_answers_it_touches() -> None:
    """After the server stops one instance, every name asked before is still answered without
    reading the table — the instance, a missing name it stands in for, another instance alike,
    so that no name's lookup costs more than another's after a change to some instance (a time
    that would tell which names exist) — and each answer is the one a fresh read gives."""
    names = ("web-dev", "data-dev", "nope-dev")  # nope-dev: web-dev is its neighbour
    with file_store() as (store, _):
        for name in names:
            store.lookup(ACCOUNT, REGION, name)
        assert store.transition(ACCOUNT, REGION, "web-dev", STOP, 0) != "running"
        for name in names:
            assert lookup_statements(store, name) == [], name
        kept = {name: store.lookup(ACCOUNT, REGION, name) for name in names}
        store._answers_stamp = None  # forget: read afresh
        fresh = {name: store.lookup(ACCOUNT, REGION, name) for name in names}
        assert kept == fresh
        assert kept["web-dev"][0] is not None and kept["web-dev"][0].state == "stopped"
        assert kept["nope-dev"][0] is None and kept["nope-dev"][1].state == "stopped"


def test_a_change_before_the_servers_own_forgets_every_answer() -> None:
    """A statement on the connection changed another instance before the server's stop: the
    answers are not renewed but forgotten, and the other instance's change is seen."""
    store = Service(load_world(WORLD), StateStore(":memory:")).store
    store.lookup(ACCOUNT, REGION, "data-dev")
    store._db.execute("UPDATE instances SET state = 'stopped' WHERE name = 'data-dev'")
    assert store.transition(ACCOUNT, REGION, "web-dev", STOP, 0) != "running"
    found, _ = store.lookup(ACCOUNT, REGION, "data-dev")
    assert found is not None and found.state == "stopped"


NAMES = st.sampled_from(["web-dev", "web-prod", "data-dev", "nope-dev", "", "zzzz"])
STATES = st.sampled_from(["running", "stopped"])
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("lookup"), NAMES),
        st.tuples(st.just("log"), NAMES),
        st.tuples(st.just("stop"), NAMES),
        st.tuples(st.just("start"), NAMES),
        st.tuples(st.just("same connection"), NAMES, STATES),
        st.tuples(st.just("other connection"), NAMES, STATES),
    ),
    max_size=12,
)


@given(steps=STEPS)
def test_every_lookup_answers_what_the_file_holds(steps: list[tuple[str, ...]]) -> None:
    """Whatever mix of lookups, log rows, the server's own stops and starts and changes by
    statements on its connection or by another connection: every lookup answers what the
    file holds at that moment (read by a connection of its own)."""
    with file_store() as (store, path):
        reader = sqlite3.connect(path)
        try:
            for step in [*steps, ("lookup", "web-dev"), ("lookup", "nope-dev")]:
                kind, name = step[0], step[1]
                if kind == "lookup":
                    found, row = store.lookup(ACCOUNT, REGION, name)
                    held = reader.execute(
                        "SELECT state FROM instances WHERE account = ? AND region = ? AND name = ?",
                        (ACCOUNT, REGION, name),
                    ).fetchone()
                    assert (found is None) == (held is None), step
                    if found is not None:
                        assert found.state == held[0] and row is found
                elif kind == "log":
                    store.log({**LOG, "instance_name": name})
                elif kind in ("stop", "start"):
                    store.transition(ACCOUNT, REGION, name, STOP if kind == "stop" else START, 0)
                elif kind == "same connection":
                    store._db.execute(
                        "UPDATE instances SET state = ? WHERE name = ?", (step[2], name)
                    )
                else:
                    with sqlite3.connect(path) as other:
                        other.execute(
                            "UPDATE instances SET state = ? WHERE name = ?", (step[2], name)
                        )
                    other.close()
        finally:
            reader.close()
