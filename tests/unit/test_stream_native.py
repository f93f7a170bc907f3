"""The batch loop (`authorize._stream`) in C and in Python: every way a request can reach it.

The C loop (`lspolicy/evaluate/_cstream.c`) decides the requests of warm plans on instances in
the caller's account and hands every other request back to the Python loop, one at a time.
Each test here runs on both loops (``stream_loops``, tests/conftest.py) and compares each
answer with ``is_allowed`` on the request `Request.from_parts` builds: the decision of
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
(explicit Deny, then an Allow in every layer that applies; across accounts, the resource-based
policy must allow too). What the C loop adds that could go wrong is in what it hands back, in
what it reads ahead (positions as ``array('q')``), in errors and in reference counts: each has a
test below.
"""

from __future__ import annotations

import gc
import json
import random
import sys
from array import array
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

import pytest

import lspolicy
from lspolicy import PolicySet, Request, RequestPart, decide_requests
from lspolicy.evaluate import authorize

pytestmark = pytest.mark.usefixtures("stream_loops")

ACCOUNT = "111122223333"
OTHER = "444455556666"
STOP = "lightsail:StopInstance"
ARN = "arn:aws:lightsail:us-east-1:{account}:Instance/i-{k}"


def _policy(statements: list[dict[str, Any]], name: str, kind: str = "identity") -> Any:
    text = json.dumps({"Version": "2012-10-17", "Statement": statements})
    return lspolicy.parse_policy(text, source=name, kind=kind)  # type: ignore[arg-type]


def _team_allow(extra: int) -> list[dict[str, Any]]:
    """Stop an instance of the caller's team from 10.0.0.0/8, plus ``extra`` Allows for other
    teams (more than `authorize._EAGER` statements keep a plan on its generic function, whose
    raw form the C loop calls; fewer get an inlined, layered one)."""
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": STOP,
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"},
                "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
            },
        },
        {
            "Effect": "Deny",
            "Action": "lightsail:*",
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        },
    ]
    statements.extend(
        {
            "Effect": "Allow",
            "Action": STOP,
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/team": f"other{k}"}},
        }
        for k in range(extra)
    )
    return statements


def _world() -> tuple[list[PolicySet], list[RequestPart], list[RequestPart]]:
    """Principals that take each way through the loop:

    0. a large plan (the raw generic function);
    1. a small plan (an inlined, layered function);
    2. the account root (the general path, ``is_allowed``);
    3. a set with a resource-based policy granting the other account's user (the plan's
       entries count uses until hot; across accounts the resource-based policy decides);
    4. a boundary that allows nothing of the action (``never``);
    5. a set naming a resource owner (the general path).

    Instances: tagged web and data in the caller's account, web in another account, and a
    part with no resource (the general path)."""
    large = _policy(_team_allow(12), "<large>")
    small = _policy(_team_allow(0), "<small>")
    nothing = _policy(
        [{"Effect": "Allow", "Action": "lightsail:GetInstance", "Resource": "*"}], "<boundary>"
    )
    grant = _policy(
        [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OTHER}:user/carol"},
                "Action": STOP,
                "Resource": "*",
            }
        ],
        "<resource>",
        kind="resource",
    )
    sets = [
        PolicySet([large]),
        PolicySet([small]),
        PolicySet([large]),
        PolicySet([small], resource_policy=grant),
        PolicySet([large], boundary=[nothing]),
        PolicySet([large], resource_owner=ACCOUNT),
    ]
    user = "arn:aws:iam::{account}:user/{name}"
    principals = [
        RequestPart(
            {"aws:PrincipalTag/team": "web"}, caller_arn=user.format(account=ACCOUNT, name="a")
        ),
        RequestPart(
            {"aws:PrincipalTag/team": "web"}, caller_arn=user.format(account=ACCOUNT, name="b")
        ),
        RequestPart({"aws:PrincipalTag/team": "web"}, caller_arn=f"arn:aws:iam::{ACCOUNT}:root"),
        RequestPart(
            {"aws:PrincipalTag/team": "web"}, caller_arn=user.format(account=OTHER, name="carol")
        ),
        RequestPart(
            {"aws:PrincipalTag/team": "web"}, caller_arn=user.format(account=ACCOUNT, name="d")
        ),
        RequestPart(
            {"aws:PrincipalTag/team": "web"}, caller_arn=user.format(account=ACCOUNT, name="e")
        ),
    ]
    instances = [
        RequestPart({"aws:ResourceTag/team": "web"}, resource=ARN.format(account=ACCOUNT, k=0)),
        RequestPart({"aws:ResourceTag/team": "data"}, resource=ARN.format(account=ACCOUNT, k=1)),
        RequestPart({"aws:ResourceTag/team": "web"}, resource=ARN.format(account=OTHER, k=2)),
        RequestPart({"aws:ResourceTag/team": "web"}),
    ]
    return sets, principals, instances


CONTEXTS: list[Mapping[str, Any] | None] = [
    None,
    {},
    {"aws:SourceIp": "10.1.2.3"},
    {"aws:SourceIp": "192.0.2.1"},
    {"aws:SourceIp": "10.1.2.3", "aws:MultiFactorAuthPresent": "true"},
    {"aws:MultiFactorAuthPresent": "true", "aws:SourceIp": "10.1.2.3"},  # the other order
    {"aws:SourceIp": "10.1.2.3", "aws:MultiFactorAuthPresent": "false"},
    {"AWS:SOURCEIP": "10.1.2.3"},  # key names are case-insensitive
    MappingProxyType({"aws:SourceIp": "10.1.2.3"}),  # a mapping that is not a dict
]


def _requests(count: int, seed: int) -> list[tuple[Any, str, int, Any]]:
    rng = random.Random(seed)
    actions = [STOP, "LIGHTSAIL:stopinstance", "lightsail:StartInstance"]
    return [
        (rng.randrange(6), rng.choice(actions), rng.randrange(4), rng.choice(CONTEXTS))
        for _ in range(count)
    ]


def _expected(
    items: Iterable[tuple[Any, str, int, Any]],
    sets: list[PolicySet],
    principals: list[RequestPart],
    instances: list[RequestPart],
) -> list[bool]:
    return [
        sets[p].is_allowed(Request.from_parts(a, principals[p], instances[i], context=c))
        for p, a, i, c in items
    ]


def _orders(count: int, seed: int) -> Iterator[tuple[str, Iterable[int]]]:
    shuffled = list(range(count))
    random.Random(seed).shuffle(shuffled)
    yield "range", range(count)
    yield "list", list(shuffled)
    yield "tuple", tuple(shuffled)
    yield "array('q')", array("q", shuffled)
    yield "generator", iter(shuffled)
    yield "array('i')", array("i", shuffled)  # a buffer of another width: iterated


def _stream(items: Any, order: Iterable[int], world: Any) -> list[bool]:
    sets, principals, instances = world
    out = [False] * len(items)
    authorize._stream(items, order, sets=sets, principals=principals, instances=instances, out=out)
    return out


def test_every_way_through_the_loop_answers_as_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """600 requests over every principal, instance, action spelling and context above, in
    each form of positions the loop reads (three passes, so the plans that count their uses
    get hot): each answer is ``is_allowed``'s and both answers occur. When the C loop runs,
    it decides more than half of them itself, and, once warm, hands back of ordinary
    callers' requests only each principal's first."""
    world = _world()
    items = _requests(600, seed=1)
    expected = _expected(items, *world)
    assert True in expected and False in expected
    handed_back = _count_handed_back(monkeypatch)
    for _ in range(3):
        for name, order in _orders(len(items), seed=2):
            assert _stream(items, order, world) == expected, name
    if authorize._native is not None:
        # the loop hands back what it does not take: the root, the resource owner, the part
        # without a resource, a mapping that is not a dict, the entries still counting uses,
        # the first request of each principal (its state is made in Python)
        assert 0 < handed_back.count < 0.5 * len(items) * 3 * 6
        # ordinary callers, dict contexts, instances with a resource: once the plans are
        # warm, only each principal's first request is handed back
        plain = [
            r
            for r in items
            if r[0] in (0, 1, 4) and r[2] != 3 and type(r[3]) is not MappingProxyType
        ]
        _stream(plain, range(len(plain)), world)
        handed_back.count = 0
        assert _stream(plain, array("q", range(len(plain))), world) == _expected(plain, *world)
        assert handed_back.count == 3


class _Counter:
    count = 0


def _count_handed_back(monkeypatch: pytest.MonkeyPatch) -> _Counter:
    """Counts the requests the C loop hands back (`authorize._stream_py` called per request)."""
    counter = _Counter()
    original = authorize._stream_py

    def counting(requests: Any, order: Any, **rest: Any) -> None:
        if isinstance(order, tuple) and len(order) == 1:
            counter.count += 1
        original(requests, order, **rest)

    monkeypatch.setattr(authorize, "_stream_py", counting)
    return counter


def test_plain_indices_of_every_kind() -> None:
    """Positions, principal and instance indices as Python reads them: a negative index
    counts from the end, ``True`` is 1, and a request given as a list unpacks as a tuple."""
    world = _world()
    sets, principals, instances = world
    ok = {"aws:SourceIp": "10.1.2.3", "aws:MultiFactorAuthPresent": "true"}
    items: list[Any] = [
        (-6, STOP, -4, ok),  # principal 0, instance 0
        (True, STOP, 0, ok),
        [0, STOP, 1, ok],
        (0, STOP, 0, ok),
    ]
    expected = [
        sets[int(p)].is_allowed(Request.from_parts(a, principals[int(p)], instances[i], context=c))
        for p, a, i, c in items
    ]
    assert expected == [True, True, False, True]
    for name, order in [
        ("negative positions", array("q", [-1, -2, -3, -4])),
        ("positions", array("q", [3, 2, 1, 0])),
        ("negative list", [-1, -2, -3, -4]),
    ]:
        out = _stream(items, order, world)
        assert out == expected, name


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ("position", IndexError),
        ("instance", IndexError),
        ("principal", IndexError),
        ("action", TypeError),
        ("context", lspolicy.ContextValueError),
        ("shape", ValueError),
    ],
)
def test_errors_are_the_python_loops(bad: str, error: type[Exception]) -> None:
    """A request the loop cannot decide raises what the Python loop raises, after the
    requests before it were answered; the loop can run again afterwards."""
    world = _world()
    good = (0, STOP, 0, {"aws:SourceIp": "10.1.2.3", "aws:MultiFactorAuthPresent": "true"})
    broken: Any = {
        "position": good,
        "instance": (0, STOP, 9, None),
        "principal": (9, STOP, 0, None),
        "action": (0, ["not", "hashable"], 0, None),
        "context": (
            0,
            STOP,
            0,
            {"aws:SourceIp": {"a": "dict"}, "aws:MultiFactorAuthPresent": "true"},
        ),
        "shape": (0, STOP, 0),
    }[bad]
    items = [good, broken, good]
    positions = [0, 1, 2] if bad != "position" else [0, 7, 2]
    for order in (array("q", positions), list(positions)):
        out = [None] * len(items)
        sets, principals, instances = world
        with pytest.raises(error):
            authorize._stream(
                items, order, sets=sets, principals=principals, instances=instances, out=out
            )  # type: ignore[arg-type]
        assert out == [True, None, None]
    assert _stream([good], range(1), world) == [True]


def test_no_reference_is_kept_or_lost() -> None:
    """After many passes every object the loop reads (the requests, their contexts, their
    keys, the parts) has the reference count it had before, and the answers' ``True`` and
    ``False`` nearly so: the C loop neither leaks a reference (memory would grow with every
    batch) nor drops one (a freed object would be read). ``True`` and ``False`` are shared by
    the whole process, whose other threads (pytest-xdist's channel) and collector move their
    counts by a few: a reference kept or dropped per answer would move them by hundreds (3,000
    answers here)."""
    world = _world()
    sets, principals, instances = world
    items = _requests(300, seed=3)
    watched: list[Any] = [*items, *instances, *principals]
    watched.extend(c for c in CONTEXTS if c is not None)
    watched.extend(k for c in CONTEXTS if c for k in c)
    for order in (array("q", range(300)), range(300)):  # warm: states, entries, layouts made
        decide_requests(items, sets, principals, instances)
        _stream(items, order, world)
    gc.disable()
    try:
        before = [sys.getrefcount(x) for x in watched]
        answers = [sys.getrefcount(True), sys.getrefcount(False)]
        for _ in range(5):
            for order in (array("q", range(300)), range(300)):
                out = _stream(items, order, world)
                del out
        after = [sys.getrefcount(x) for x in watched]
        moved = [sys.getrefcount(True) - answers[0], sys.getrefcount(False) - answers[1]]
    finally:
        gc.enable()
    changed = [(x, b, a) for x, b, a in zip(watched, before, after, strict=True) if b != a]
    assert changed == []
    assert max(map(abs, moved)) < 20, moved
