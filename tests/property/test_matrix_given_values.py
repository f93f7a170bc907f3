"""`decide_matrix_compact` reads the instances' values as they were given, not normalised.

The matrix groups instances by a column per context key read from each instance's context as
given (`RequestPart.raw`, by the layout of its key names) and uses those plain strings only
when every value of the column is one; otherwise it takes the normalised values
(`RequestPart.values`). These tests draw what would make the plain reading wrong: values that
are numbers, booleans and lists (``1`` and ``True`` are equal dict keys in Python but
``"1"`` and ``"true"`` in a request), key names in other spellings, two spellings of one key
in one instance, instances with different key names.

Context keys are case-insensitive and values are compared as strings: IAM User Guide, "IAM JSON
policy elements: Condition",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html ;
evaluation: "Policy evaluation logic",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html .
The explained path (`PolicySet.evaluate`) on the request built from one merged dict is the
oracle. What the docs do not say: how a JSON number or boolean given in a request context is
written as a string; this library's `to_context_string` decides that, and every path must agree
with it.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import lspolicy
from lspolicy import PolicySet, Request, RequestPart, decide_matrix_compact

ACCOUNT = "111122223333"


def _doc(statement: dict[str, Any]) -> lspolicy.Policy:
    return lspolicy.parse_policy({"Version": "2012-10-17", "Statement": statement})


POLICIES = [
    _doc(
        {
            "Effect": "Allow",
            "Action": "lightsail:StopInstance",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/level": ["1", "true"]}},
        }
    ),
    _doc(
        {
            "Effect": "Allow",
            "Action": "lightsail:StopInstance",
            "Resource": "*",
            "Condition": {"NumericLessThan": {"aws:ResourceTag/level": "2"}},
        }
    ),
    _doc(
        {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:ResourceTag/locked": "true"}},
        }
    ),
    _doc(
        {
            "Effect": "Allow",
            "Action": "lightsail:*",
            "Resource": "*",
            "Condition": {"ForAnyValue:StringLike": {"aws:ResourceTag/env": ["dev*", "1"]}},
        }
    ),
    _doc(
        {
            "Effect": "Allow",
            "Action": "lightsail:StopInstance",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}},
        }
    ),
]
LEVEL_NAMES = ["aws:ResourceTag/level", "AWS:RESOURCETAG/LEVEL", "aws:resourcetag/level"]
VALUES: list[Any] = [1, True, "1", "true", 1.0, 2.5, "dev", False, 0, ["dev-1", "x"], [1, True]]


@st.composite
def instance(draw: st.DrawFn) -> dict[str, Any]:
    ctx: dict[str, Any] = {}
    # one or two spellings of the level key (two: the later given wins in the merged dict)
    for name in draw(st.lists(st.sampled_from(LEVEL_NAMES), max_size=2, unique=True)):
        ctx[name] = draw(st.sampled_from(VALUES))
    for name in ("aws:ResourceTag/locked", "aws:ResourceTag/env", "aws:ResourceTag/owner"):
        if draw(st.booleans()):
            ctx[name] = draw(st.sampled_from([*VALUES, "alice", "bob"]))
    return ctx


@settings(max_examples=80)
@given(
    st.lists(st.lists(st.sampled_from(POLICIES), min_size=1, max_size=3), min_size=1, max_size=3),
    st.lists(instance(), min_size=1, max_size=16),
    st.sampled_from(["alice", "bob"]),
)
def test_cells_equal_evaluate_whatever_the_values_types_and_spellings(
    rows: list[list[lspolicy.Policy]], instances: list[dict[str, Any]], name: str
) -> None:
    """Every cell equals ``evaluate`` on the request built from the merged plain dicts."""
    caller = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    principal = {"aws:username": name}
    arns = [f"arn:aws:lightsail:us-east-1:{ACCOUNT}:Instance/i-{n}" for n in range(len(instances))]
    sets = [PolicySet(docs) for docs in rows]
    matrix = decide_matrix_compact(
        "lightsail:StopInstance",
        sets,
        [RequestPart(principal, caller_arn=caller) for _ in rows],
        [RequestPart(ctx, resource=a) for a, ctx in zip(arns, instances, strict=True)],
    )
    for p, rules in enumerate(sets):
        expected = [
            rules.evaluate(
                Request("lightsail:StopInstance", a, {**principal, **ctx}, caller_arn=caller)
            ).allowed
            for a, ctx in zip(arns, instances, strict=True)
        ]
        assert matrix.row(p) == expected


def test_one_and_true_are_told_apart() -> None:
    """``1`` and ``True`` are one dict key in Python; in a request they are ``"1"`` and
    ``"true"``, and a condition can tell them apart. Two instances, one each: the matrix must
    not put them in one group."""
    rules = PolicySet(
        [
            _doc(
                {
                    "Effect": "Allow",
                    "Action": "lightsail:StopInstance",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:ResourceTag/level": "true"}},
                }
            )
        ]
    )
    parts = [
        RequestPart({"aws:ResourceTag/level": v}, resource=f"arn:aws:lightsail:::Instance/{n}")
        for n, v in enumerate([1, True, "true", "1"])
    ]
    matrix = decide_matrix_compact(
        "lightsail:StopInstance",
        [rules],
        [RequestPart({}, caller_arn=f"arn:aws:iam::{ACCOUNT}:user/alice")],
        parts,
    )
    assert matrix.row(0) == [False, True, True, False]
