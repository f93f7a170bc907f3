"""The server's per-call memos (issue 12, serve6) answer exactly what the work they skip would
answer, and only for exactly the same question.

- Request bodies (Lightsail API reference, e.g. "StopInstance": the request body is the JSON
  object of the request parameters,
  https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html):
  validity and members are a function of the operation and the body's bytes.
- Decisions (IAM User Guide, "Policy evaluation logic",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
  a decision is a function of the policies and the request context; the request keys include
  ``aws:CurrentTime`` (IAM User Guide, "AWS global condition context keys"), so another second
  is another question.
- ``X-Amz-Date`` ("Create a signed AWS API request",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html):
  its reading is a function of its text.
- The request log's ``seq``: SQLite documents that a rowid alias without AUTOINCREMENT is one
  more than the largest rowid in the table ("SQLite Autoincrement",
  https://www.sqlite.org/autoinc.html); nothing deletes a log row, so the order is the same.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lspolicy.lightsail.context import Instance
from lspolicy.server import auth, authorize, validate
from lspolicy.server.errors import ApiError
from lspolicy.server.state import StateStore
from lspolicy.server.world import load_world

WORLD = Path(__file__).resolve().parents[2] / "policies" / "world.yaml"

_BODIES = st.one_of(
    st.sampled_from(
        [
            b'{"instanceName": "web-dev"}',
            b'{"instanceName": "web-dev", "force": true}',
            b'{"instanceName": "web-dev", "force": "yes"}',
            b'{"instanceName": ""}',
            b'{"instanceName": "a b"}',
            b'{"instanceName": "web-dev", "instanceName": "x"}',
            b'{"instanceName": "web-dev", "extra": 1}',
            b"{}",
            b"[]",
            b"\xff",
            b'{"pageToken": "abc"}',
        ]
    ),
    st.binary(max_size=40),
)
_OPERATIONS = st.sampled_from(sorted(validate.REQUEST_SCHEMAS))


@given(operation=_OPERATIONS, body=_BODIES)
def test_a_body_validates_the_same_the_second_time(operation: str, body: bytes) -> None:
    """First and second answers are equal (members, or the same error), and only valid bodies
    are remembered."""
    validate._VALID.clear()
    first = validate.validate_body(operation, body)
    second = validate.validate_body(operation, body)
    assert first == second
    assert (("", operation, body) in validate._VALID) == (not isinstance(first, ApiError))


def test_a_remembered_body_is_remembered_for_its_operation_only() -> None:
    """``force`` is a member of StopInstance's request only: the body valid for StopInstance is
    still refused for StartInstance after it was remembered."""
    body = b'{"instanceName": "web-dev", "force": true}'
    assert not isinstance(validate.validate_body("StopInstance", body), ApiError)
    assert isinstance(validate.validate_body("StartInstance", body), ApiError)


def test_a_remembered_body_is_remembered_for_its_scope_only() -> None:
    """One account's body is not answered from another account's memo entry."""
    validate._VALID.clear()
    body = b'{"instanceName": "web-dev"}'
    first = validate.validate_body("StopInstance", body, scope="111122223333")
    assert validate.validate_body("StopInstance", body, scope="444455556666") == first
    assert set(validate._VALID) == {
        ("111122223333", "StopInstance", body),
        ("444455556666", "StopInstance", body),
    }


def test_the_body_memo_is_bounded() -> None:
    validate._VALID.clear()
    for i in range(validate._VALID_LIMIT + 10):
        validate.validate_body("GetInstanceState", b'{"instanceName": "n%d"}' % i)
    assert 0 < len(validate._VALID) <= validate._VALID_LIMIT
    big = b'{"instanceName": "' + b"a" * 250 + b'", "x": "' + b" " * 1000 + b'"}'
    validate._VALID.clear()
    validate.validate_body("GetInstanceState", big)
    assert not validate._VALID  # invalid (x) and over the size anyway


def test_amz_date_reads_as_before() -> None:
    """A valid timestamp, an impossible date and a malformed one: the same answers twice."""
    for text in ("20260115T120000Z", "20260230T120000Z", "2026-01-15T12:00:00Z"):
        assert auth._amz_date(text) == auth._amz_date(text)
    assert not isinstance(auth._amz_date("20260115T120000Z"), ApiError)
    assert isinstance(auth._amz_date("20260230T120000Z"), ApiError)
    assert isinstance(auth._amz_date("2026-01-15T12:00:00Z"), ApiError)


def _decide_fresh(principal: object, inst: Instance, context: dict[str, str]) -> tuple[bool, bool]:
    return authorize._decide(
        principal,  # type: ignore[arg-type]
        "lightsail:StopInstance",
        inst,
        account=inst.account,
        region=inst.region,
        name=inst.name or "",
        context=context,
    )


def _decide(principal: object, inst: Instance, context: dict[str, str]) -> tuple[bool, bool]:
    return authorize.decide(
        principal,  # type: ignore[arg-type]
        "lightsail:StopInstance",
        inst,
        account=inst.account,
        region=inst.region,
        name=inst.name or "",
        context=context,
    )


def test_remembered_decisions_are_the_engines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every principal on every instance of the example world: the engine's answer, and asked
    again, the same answer without asking the engine."""
    world = load_world(WORLD)
    authorize._DECISIONS.clear()
    ctx = {"aws:CurrentTime": "2026-01-15T12:00:00Z"}
    asked = [
        (principal, spec.instance, {**ctx, "aws:RequestedRegion": spec.instance.region})
        for principal in world.principals.values()
        for spec in world.instances
    ]
    expected = [_decide_fresh(p, inst, c) for p, inst, c in asked]
    assert [_decide(p, inst, c) for p, inst, c in asked] == expected

    def engine_not_asked(*args: object, **kwargs: object) -> tuple[bool, bool]:
        raise AssertionError("asked the engine again")

    monkeypatch.setattr(authorize, "_decide", engine_not_asked)
    assert [_decide(p, inst, c) for p, inst, c in asked] == expected


def test_another_principal_object_or_second_is_asked_again() -> None:
    """The same principal with another policy set (a world loaded again) and another second
    (``aws:CurrentTime``) are new questions: each gets the engine's answer for it."""
    world = load_world(WORLD)
    principals = {p.name: p for p in world.principals.values()}
    alice = principals["alice"]
    inst = next(s.instance for s in world.instances if s.instance.name == "web-dev")
    ctx = {"aws:RequestedRegion": inst.region, "aws:CurrentTime": "2026-01-15T12:00:00Z"}
    mine = _decide(alice, inst, ctx)
    assert mine[0]  # alice may stop her team's instance
    for other in principals.values():
        mixed = dataclasses.replace(alice, policies=other.policies)
        assert _decide(mixed, inst, ctx) == _decide_fresh(mixed, inst, ctx)
    later = {**ctx, "aws:CurrentTime": "2026-01-15T12:00:01Z"}
    before = len(authorize._DECISIONS)
    assert _decide(alice, inst, later) == _decide_fresh(alice, inst, later)
    assert len(authorize._DECISIONS) == before + 1


def test_a_new_log_counts_from_one_in_order(tmp_path: Path) -> None:
    store = StateStore(str(tmp_path / "s.db"))
    for i in range(5):
        store.log({"operation": f"op{i}", "decision": "allowed"})
    rows = store.request_log()
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["operation"] for r in rows] == [f"op{i}" for i in range(5)]
    store.close()
    with sqlite3.connect(tmp_path / "s.db") as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    assert "sqlite_sequence" not in names


def test_a_file_with_the_autoincrement_log_still_serves(tmp_path: Path) -> None:
    """A state file made before (``seq ... AUTOINCREMENT``) opens, keeps its layout, and logs
    after its existing rows."""
    path = tmp_path / "old.db"
    store = StateStore(str(path))
    store.log({"operation": "first", "decision": "allowed"})
    store.close()
    with sqlite3.connect(path) as db:  # rebuild the log table as older lspolicy made it
        db.execute("DROP TABLE request_log")
        db.execute(
            "CREATE TABLE request_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL,"
            " operation TEXT NOT NULL, principal_arn TEXT, access_key_id TEXT, account TEXT,"
            " region TEXT, instance_name TEXT, resource_arn TEXT, tags TEXT, decision TEXT NOT"
            " NULL, error_code TEXT, operation_id TEXT)"
        )
        db.execute("INSERT INTO request_log (at, operation, decision) VALUES (0, 'old', 'allowed')")
    db.close()
    store = StateStore(str(path))
    store.log({"operation": "new", "decision": "allowed"})
    rows = store.request_log()
    assert [(r["seq"], r["operation"]) for r in rows] == [(1, "old"), (2, "new")]
    store.close()
    with sqlite3.connect(path) as db:
        sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'request_log'").fetchone()[0]
    db.close()
    assert "AUTOINCREMENT" in sql


_HEADER_VALUES = st.lists(
    st.text(st.sampled_from(list("ab ,\t\x85\xa0é:")), max_size=8), min_size=1
)


@given(
    grouped=st.dictionaries(
        st.sampled_from(["host", "x-amz-date", "content-type", "x-amz-target", "x-a"]),
        _HEADER_VALUES,
        min_size=1,
    ),
    path=st.sampled_from(["/", "/a/../b", "/%20x", "//y/./z"]),
    query=st.lists(st.tuples(st.text(max_size=4), st.text(max_size=4)), max_size=3),
    body=st.binary(max_size=30),
)
def test_canonical_request_from_grouped_headers_is_the_same_text(
    grouped: dict[str, list[str]],
    path: str,
    query: list[tuple[str, str]],
    body: bytes,
) -> None:
    """The canonical request built from the headers grouped by name equals the one built from
    the received pairs (which a property test in test_server_fastpaths.py compares with
    botocore's signer): SigV4's canonical headers fold each value's white space and join a
    name's values with commas in received order."""
    names = sorted(grouped)
    pairs = [(name, value) for name in names for value in grouped[name]]
    request = auth.ReceivedRequest("post", path, "", (), body)
    assert auth._canonical_request_grouped(
        request, query, grouped, names
    ) == auth._canonical_request(request, query, pairs, names)
