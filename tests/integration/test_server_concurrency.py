"""Many boto3 clients at once against one server with a file-backed state, and a restart.

Sixteen threads race to stop the same instance and different instances. Whatever the
interleaving, each running instance is stopped exactly once (one StopInstance operation; every
other stop of it is refused with OperationFailureException), every accepted request has exactly
one operation and every request one log entry, and a new server on the same state file finds
all of it. Then the transitional state: with ``transition_seconds`` above zero a stop leaves
the instance ``stopping`` until the delay has passed, and ``force`` stops a stuck one at once.

The contract: https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html
"""

from __future__ import annotations

import itertools
import random
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lspolicy.server.state import StateStore, Transition
from lspolicy.server.world import load_world
from lspolicy.testing import RunningServer, serve_world

WORLDS = Path(__file__).resolve().parent / "worlds"
WORLD = WORLDS / "concurrency.yaml"
TRANSITIONS = WORLDS / "transitions.yaml"
DELAY = 1.0  # transition_seconds of transitions.yaml

THREADS = 16
CALLS = 8
RUNNING = ("shared", *(f"vm-{n:02d}" for n in range(8)))
STOPPED = ("parked",)


def target(thread: int, call: int) -> str:
    """What a thread stops on its ``call``-th request: the shared instance, instances other
    threads also go for, and the one that is already stopped."""
    return (
        "shared",
        f"vm-{(thread + call) % 8:02d}",
        "parked",
        f"vm-{thread % 8:02d}",
    )[call % 4]


def states(server: RunningServer, names: tuple[str, ...]) -> dict[str, str]:
    client = server.client("operator")
    return {n: client.get_instance_state(instanceName=n)["state"]["name"] for n in names}


def race(server: RunningServer) -> list[tuple[str, str, str]]:
    """Every thread's (instance, outcome, operation id) for its stops, started together."""
    clients = [server.client("operator") for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    results: list[list[tuple[str, str, str]]] = [[] for _ in range(THREADS)]
    failures: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            barrier.wait(timeout=30)
            for call in range(CALLS):
                name = target(thread, call)
                try:
                    [op] = clients[thread].stop_instance(instanceName=name)["operations"]
                except ClientError as error:
                    results[thread].append((name, error.response["Error"]["Code"], ""))
                else:
                    results[thread].append((name, "ok", op["id"]))
        except BaseException as error:  # reported below, in the test's own thread
            failures.append(error)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client thread hung"
    assert not failures, failures
    return [r for rs in results for r in rs]


def test_racing_stops_stop_each_instance_once_and_survive_a_restart(tmp_path: Path) -> None:
    """Sixteen threads x eight stops over nine running instances and a stopped one. A stop
    moves "an instance that is currently running" to stopped; a second stop of the same
    instance is an operation that fails to execute (OperationFailureException), so each
    running instance is stopped by exactly one request, whichever wins. Each 200 carries the
    one operation recorded for it; the request log has one entry per request. A new server on
    the same state file keeps the states, the operations and the log.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    state = str(tmp_path / "s.db")
    with serve_world(WORLD, state=state) as server:
        outcomes = race(server)
        assert len(outcomes) == THREADS * CALLS
        accepted = [(name, op) for name, outcome, op in outcomes if outcome == "ok"]
        refused = Counter(outcome for _, outcome, _ in outcomes if outcome != "ok")
        assert set(refused) <= {"OperationFailureException"}, refused
        # each running instance exactly once; the stopped one never
        assert Counter(name for name, _ in accepted) == Counter(RUNNING)
        # exactly one operation per accepted request, and the very ones the clients were given
        operations = server.store.operations()
        assert len(operations) == len(accepted)
        assert {op.id for op in operations} == {op for _, op in accepted}
        assert sorted(op.resource_name for op in operations) == sorted(RUNNING)
        assert {(op.operation_type, op.status, op.is_terminal) for op in operations} == {
            ("StopInstance", "Succeeded", True)
        }
        # one log entry per request
        log = server.store.request_log()
        assert len(log) == THREADS * CALLS
        decisions = Counter(entry["decision"] for entry in log)
        assert decisions == {"allowed": len(accepted), "refused": sum(refused.values())}
        assert {e["operation_id"] for e in log if e["decision"] == "allowed"} == {
            op for _, op in accepted
        }
        assert Counter(e["instance_name"] for e in log) == Counter(n for n, _, _ in outcomes)
        assert states(server, RUNNING + STOPPED) == dict.fromkeys(RUNNING + STOPPED, "stopped")
        kept_operations = server.store.operations()
        kept_log = server.store.request_log()

    with serve_world(WORLD, state=state) as again:
        assert again.store.operations() == kept_operations
        assert again.store.request_log() == kept_log
        assert states(again, RUNNING + STOPPED) == dict.fromkeys(RUNNING + STOPPED, "stopped")
        client = again.client("operator")
        with pytest.raises(client.exceptions.OperationFailureException):
            client.stop_instance(instanceName="shared")
        assert len(again.store.operations()) == len(kept_operations)


def test_racing_starts_and_stops_keep_state_and_operations_consistent(tmp_path: Path) -> None:
    """Threads stopping and starting the same instances at once: every accepted request
    recorded one operation, of its own type; stops and starts of an instance alternate (a
    stop only from running, a start only from stopped), so an instance ends stopped exactly
    when it saw one more stop than starts.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StartInstance.html"""
    with serve_world(WORLD, state=str(tmp_path / "s.db")) as server:
        clients = [server.client("operator") for _ in range(8)]
        barrier = threading.Barrier(len(clients))
        accepted: list[tuple[str, str, str]] = []
        failures: list[BaseException] = []
        lock = threading.Lock()

        def work(n: int) -> None:
            try:
                barrier.wait(timeout=30)
                for call in range(10):
                    name = f"vm-{call % 2:02d}"
                    verb = "stop_instance" if (n + call) % 2 else "start_instance"
                    try:
                        [op] = getattr(clients[n], verb)(instanceName=name)["operations"]
                    except ClientError as error:
                        code = error.response["Error"]["Code"]
                        assert code == "OperationFailureException", error.response
                    else:
                        with lock:
                            accepted.append((name, op["operationType"], op["id"]))
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(len(clients))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not failures, failures
        operations = server.store.operations()
        assert sorted((op.resource_name, op.operation_type, op.id) for op in operations) == sorted(
            accepted
        )
        for name in ("vm-00", "vm-01"):
            kinds = Counter(op.operation_type for op in operations if op.resource_name == name)
            # stops and starts alternate, from running: one more stop than starts, or as many
            surplus = kinds["StopInstance"] - kinds["StartInstance"]
            assert surplus in (0, 1), kinds
            final = "stopped" if surplus else "running"
            assert states(server, (name,)) == {name: final}
        assert len(server.store.request_log()) == 8 * 10 + 2


def test_a_stop_passes_through_stopping_and_force_ends_it(tmp_path: Path) -> None:
    """With a transition delay, a stop leaves the instance ``stopping`` (code 64) and its
    operation ``Started``; another plain stop then fails; ``force`` "forces a Lightsail
    instance that is stuck in a stopping state to stop", at once; without force the stop
    settles to ``stopped`` (code 80) once the delay has passed.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html
    (force; Operation status) and the InstanceState codes:
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_InstanceState.html"""
    with serve_world(TRANSITIONS, state=str(tmp_path / "s.db")) as server:
        client = server.client("operator")
        began = time.monotonic()
        [stuck] = client.stop_instance(instanceName="stuck")["operations"]
        [patient] = client.stop_instance(instanceName="patient")["operations"]
        for op in (stuck, patient):
            assert (op["status"], op["isTerminal"]) == ("Started", False)
        assert client.get_instance_state(instanceName="stuck")["state"] == {
            "code": 64,
            "name": "stopping",
        }
        with pytest.raises(client.exceptions.OperationFailureException):
            client.stop_instance(instanceName="stuck")
        [forced] = client.stop_instance(instanceName="stuck", force=True)["operations"]
        assert (forced["status"], forced["isTerminal"]) == ("Succeeded", True)
        assert client.get_instance_state(instanceName="stuck")["state"]["name"] == "stopped"
        assert client.get_instance_state(instanceName="patient")["state"]["name"] == "stopping"
        took = time.monotonic() - began
        assert took < DELAY, f"the checks above took {took:.2f} s, past the transition delay"

        time.sleep(DELAY - took + 0.2)
        assert client.get_instance_state(instanceName="patient")["state"] == {
            "code": 80,
            "name": "stopped",
        }
        # the forced instance stays stopped; its first stop, settled late, changes nothing
        assert client.get_instance_state(instanceName="stuck")["state"]["name"] == "stopped"
        settled = {op.id: op for op in server.store.operations()}
        assert (settled[patient["id"]].status, settled[patient["id"]].is_terminal) == (
            "Succeeded",
            True,
        )
        with pytest.raises(client.exceptions.OperationFailureException):
            client.stop_instance(instanceName="patient", force=True)


def test_force_on_a_running_instance_stops_it_normally(tmp_path: Path) -> None:
    """ "Only use the force parameter if your instance is stuck in the stopping state. In any
    other state, your instance should stop normally": forced or not, a running instance goes
    through ``stopping``.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    with serve_world(TRANSITIONS, state=str(tmp_path / "s.db")) as server:
        client = server.client("operator")
        [op] = client.stop_instance(instanceName="eager", force=True)["operations"]
        assert (op["status"], op["isTerminal"]) == ("Started", False)
        assert client.get_instance_state(instanceName="eager")["state"]["name"] == "stopping"


def test_operations_are_dated_in_the_order_they_were_applied(tmp_path: Path) -> None:
    """Threads stop and start vm-00 over and over with a slow clock (each reading takes a
    random pause, so a reading taken before the lock would go stale). The order the store
    applied the operations in (their rowid) must be the order of their createdAt: an
    Operation's createdAt is "the timestamp when the operation was initialized", and its
    history must read in the order it happened.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_Operation.html"""
    rng = random.Random(7)

    def clock() -> float:
        now = time.time()
        time.sleep(rng.random() / 500)
        return now

    path = tmp_path / "s.db"
    store = StateStore(str(path), clock=clock)
    try:
        store.seed(load_world(WORLD).instances)
        start = Transition("StartInstance", frozenset({"stopped"}), None, "running")
        stop = Transition("StopInstance", frozenset({"running"}), None, "stopped")
        key = ("111122223333", "us-east-1", "vm-00")

        def worker(change: Transition) -> None:
            for _ in range(15):
                store.transition(*key, change, 0)

        threads = [threading.Thread(target=worker, args=(c,)) for c in (start, stop) * 3]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        with sqlite3.connect(path) as db:
            rows = db.execute(
                "SELECT created_at, operation_type FROM operations ORDER BY rowid"
            ).fetchall()
        assert len(rows) >= 2
        dates = [r[0] for r in rows]
        assert dates == sorted(dates)
        kinds = [r[1] for r in rows]
        # alternation proves each operation saw the state the previous one left
        assert all(a != b for a, b in itertools.pairwise(kinds))
    finally:
        store.close()


def test_a_kept_alive_connection_is_answered_without_delay() -> None:
    """boto3 keeps its connection alive; twenty requests on it should take a few milliseconds
    each, as on a fresh connection, not the ~40 ms a delayed ACK costs (RFC 1122, 4.2.3.2)
    when a small second segment waits behind Nagle's algorithm (RFC 896).
    https://www.rfc-editor.org/rfc/rfc1122#section-4.2.3.2
    Measured: ~45 ms a call; with TCP_NODELAY on the handler, ~1.5 ms."""
    with serve_world(WORLD) as server:
        client: Any = server.client("operator")
        client.get_instance_state(instanceName="shared")  # open the connection
        began = time.monotonic()
        for _ in range(20):
            client.get_instance_state(instanceName="shared")
        assert time.monotonic() - began < 0.5
