"""`decide_matrix_compact` (and `decide_matrix`, built on it) answers every cell as the request
built from one merged dict, through each way it groups instances.

A row's instances are grouped by what the row's policies can tell apart. For a key whose value
is read only by conditions testing that key, instances are grouped by those conditions'
verdicts rather than by the value: sound only while no policy variable reads the key and no
instance gives a value for a variable those conditions read. These tests draw instances that
break each assumption: an instance giving ``aws:username`` (read by
``${aws:username}`` in a condition), a request context overriding a tag, a Resource with a
policy variable, more than 256 groups (signatures as tuples, not bytes).

Evaluation rules: IAM User Guide, "Policy evaluation logic",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html ;
policy variables: "IAM policy elements: Variables and tags",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html .
The explained path (`PolicySet.evaluate`) is the oracle.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import lspolicy
from lspolicy import PolicySet, Request, RequestPart, decide_matrix, decide_matrix_compact

ACCOUNT = "111122223333"
OTHER = "444455556666"


def _doc(statement: dict[str, Any]) -> lspolicy.Policy:
    return lspolicy.parse_policy({"Version": "2012-10-17", "Statement": statement})


POLICIES = [
    _doc(
        {
            "Effect": "Allow",
            "Action": "lightsail:*Instance",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}},
        }
    ),
    _doc(
        {
            "Effect": "Allow",
            "Action": "lightsail:StopInstance",
            "Resource": f"arn:aws:lightsail:*:{ACCOUNT}:Instance/*",
            "Condition": {
                "StringEqualsIgnoreCase": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"},
                "StringLike": {"aws:ResourceTag/env": ["dev*", "test"]},
            },
        }
    ),
    _doc(
        {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"StringEqualsIfExists": {"aws:ResourceTag/env": "prod"}},
        }
    ),
    _doc(
        {
            "Effect": "Allow",
            "Action": "lightsail:StopInstance",
            "Resource": "arn:aws:lightsail:*:*:Instance/${aws:username}-*",
        }
    ),
    _doc(
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {
                "NumericLessThan": {"aws:ResourceTag/level": "3"},
                "Null": {"aws:ResourceTag/owner": "false"},
            },
        }
    ),
]
NAMES = ["alice", "bob", "carol", "Alice"]
TEAMS = ["web", "WEB", "ops", ""]
ENVS = ["dev", "dev-2", "test", "prod", "Prod"]
LEVELS = ["1", "3", "x", "2.5"]


@st.composite
def instance(draw: st.DrawFn) -> dict[str, Any]:
    ctx: dict[str, Any] = {}
    for key, pool in (
        ("aws:ResourceTag/owner", NAMES),
        ("aws:ResourceTag/team", TEAMS),
        ("aws:ResourceTag/env", ENVS),
        ("aws:ResourceTag/level", LEVELS),
    ):
        if draw(st.booleans()):
            ctx[key] = draw(st.sampled_from(pool))
    if draw(st.integers(0, 7)) == 0:  # an instance giving a variable's key
        ctx["aws:username"] = draw(st.sampled_from(NAMES))
    return ctx


@st.composite
def arn(draw: st.DrawFn) -> str:
    account = draw(st.sampled_from([ACCOUNT, ACCOUNT, ACCOUNT, OTHER]))
    name = draw(st.sampled_from(NAMES))
    return f"arn:aws:lightsail:us-east-1:{account}:Instance/{name}-{draw(st.integers(0, 2))}"


@st.composite
def principal(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    name = draw(st.sampled_from(NAMES))
    ctx: dict[str, Any] = {"aws:username": name}
    if draw(st.booleans()):
        ctx["aws:PrincipalTag/team"] = draw(st.sampled_from(TEAMS))
    return ctx, f"arn:aws:iam::{ACCOUNT}:user/{name}"


def _check(
    action: str,
    rows: list[tuple[PolicySet, dict[str, Any], str]],
    instances: list[tuple[str, dict[str, Any]]],
    context: dict[str, Any] | None,
) -> None:
    principals = [RequestPart(ctx, caller_arn=caller) for _, ctx, caller in rows]
    parts = [RequestPart(ctx, resource=a) for a, ctx in instances]
    sets = [rules for rules, _, _ in rows]
    matrix = decide_matrix_compact(action, sets, principals, parts, context=context)
    grid = decide_matrix(action, sets, principals, parts, context=context)
    assert grid == matrix.rows()
    for p, (rules, ctx, caller) in enumerate(rows):
        expected = [
            rules.evaluate(
                Request(action, a, {**ctx, **ictx, **(context or {})}, caller_arn=caller)
            ).allowed
            for a, ictx in instances
        ]
        assert matrix.row(p) == expected
        assert [matrix.allowed(p, i) for i in range(len(instances))] == expected
        assert matrix.count(p) == sum(expected)
        assert len(matrix.groups(p)) == len(instances)


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(st.lists(st.sampled_from(POLICIES), min_size=1, max_size=3), principal()),
        min_size=1,
        max_size=3,
    ),
    st.lists(st.tuples(arn(), instance()), min_size=1, max_size=24),
    st.none() | st.fixed_dictionaries({"aws:ResourceTag/env": st.sampled_from(ENVS)}),
    st.sampled_from(["lightsail:StopInstance", "lightsail:GetInstance"]),
)
def test_compact_matrix_cells_equal_evaluate(
    rows: list[tuple[list[lspolicy.Policy], tuple[dict[str, Any], str]]],
    instances: list[tuple[str, dict[str, Any]]],
    context: dict[str, Any] | None,
    action: str,
) -> None:
    """Every cell, by every accessor, equals ``evaluate`` on the merged request."""
    _check(
        action,
        [(PolicySet(docs), ctx, caller) for docs, (ctx, caller) in rows],
        instances,
        context,
    )


def test_more_than_256_groups_in_a_row() -> None:
    """400 instances, each giving its own ``aws:username`` (so the owner condition's verdict
    depends on two instance values and instances are grouped by the values themselves): more
    than 256 groups, so signatures are tuples; every fifth instance is in another account
    (never allowed without a resource-based policy: one group). Every cell equals
    ``evaluate``."""
    instances = []
    for n in range(400):
        owner = f"u{n}"
        ctx = {"aws:ResourceTag/owner": owner, "aws:username": owner if n % 3 else "x"}
        account = OTHER if n % 5 == 0 else ACCOUNT
        instances.append((f"arn:aws:lightsail:us-east-1:{account}:Instance/i-{n}", ctx))
    rules = PolicySet([POLICIES[0]])
    _check(
        "lightsail:StopInstance",
        [(rules, {"aws:username": "u7"}, f"arn:aws:iam::{ACCOUNT}:user/u7")],
        instances,
        None,
    )
    matrix = decide_matrix_compact(
        "lightsail:StopInstance",
        [rules],
        [RequestPart({"aws:username": "u7"}, caller_arn=f"arn:aws:iam::{ACCOUNT}:user/u7")],
        [RequestPart(ctx, resource=a) for a, ctx in instances],
    )
    assert len(set(matrix.groups(0))) > 256
    assert matrix.count(0) == sum(1 for n in range(400) if n % 3 and n % 5)
    assert len({matrix.groups(0)[n] for n in range(0, 400, 5)}) == 1


def test_a_condition_with_a_variable_groups_by_its_verdict() -> None:
    """``aws:ResourceTag/owner`` = ``${aws:username}``: instances owned by the caller and the
    others fall in two groups per row (the owner value's verdict), with ``Alice`` not equal to
    ``alice`` (``StringEquals`` is case-sensitive); the rows of two callers differ."""
    rules = PolicySet([POLICIES[0]])
    instances = [
        (f"arn:aws:lightsail:us-east-1:{ACCOUNT}:Instance/a-{n}", {"aws:ResourceTag/owner": name})
        for n, name in enumerate([*NAMES, *NAMES])
    ]
    rows = [
        (rules, {"aws:username": name}, f"arn:aws:iam::{ACCOUNT}:user/{name}")
        for name in ("alice", "bob")
    ]
    _check("lightsail:StopInstance", rows, instances, None)
    matrix = decide_matrix_compact(
        "lightsail:StopInstance",
        [rules, rules],
        [RequestPart(ctx, caller_arn=caller) for _, ctx, caller in rows],
        [RequestPart(ctx, resource=a) for a, ctx in instances],
    )
    assert matrix.row(0) == [True, False, False, False] * 2
    assert matrix.row(1) == [False, True, False, False] * 2
    assert len(matrix.answers(0)) == 2
