"""Equal variable-free conditions share one memo of their answers (`clause._SHARED_MEMOS`),
and only equal ones: the operator, its set qualifier, ``IfExists``, the key and the values
decide a condition's answer for a value, as the condition operators page describes
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import lspolicy
from lspolicy import PolicySet, Request
from lspolicy.evaluate.authorize import _compile

ACCOUNT = "111122223333"
ARN = f"arn:aws:lightsail:us-east-1:{ACCOUNT}:Instance/i-1"
CALLER = f"arn:aws:iam::{ACCOUNT}:user/alice"
STOP = "lightsail:StopInstance"


def _conditions(block: dict[str, Any], source: str) -> list[Any]:
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": STOP, "Resource": "*", "Condition": block}],
    }
    policy = lspolicy.parse_policy(json.dumps(doc), source=source)
    return list(_compile([policy])[0].conditions)


def _memo(condition: Any) -> Any:
    assert condition.shape[0] == "memo"
    return condition.shape[2]


def test_equal_conditions_in_different_policies_share_one_memo() -> None:
    """The same condition written in two policies (the key in another spelling): one memo."""
    a = _conditions({"NumericLessThanIfExists": {"aws:MultiFactorAuthAge": "3600"}}, "<a>")[0]
    b = _conditions({"NumericLessThanIfExists": {"AWS:MultiFactorAuthAge": "3600"}}, "<b>")[0]
    assert _memo(a) is _memo(b)


@pytest.mark.parametrize(
    "other",
    [
        {"NumericLessThanIfExists": {"aws:MultiFactorAuthAge": "600"}},  # another value
        {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},  # without IfExists
        {"NumericGreaterThanEquals": {"aws:MultiFactorAuthAge": "3600"}},  # another operator
        {"NumericLessThanIfExists": {"aws:TokenAge": "3600"}},  # another key
    ],
    ids=["value", "IfExists", "operator", "key"],
)
def test_conditions_that_differ_do_not_share(other: dict[str, Any]) -> None:
    base = _conditions({"NumericLessThanIfExists": {"aws:MultiFactorAuthAge": "3600"}}, "<a>")
    assert _memo(base[0]) is not _memo(_conditions(other, "<b>")[0])


def test_a_set_qualifier_makes_another_condition() -> None:
    """``StringLike``, ``ForAnyValue:StringLike`` and ``ForAllValues:StringLike`` on the same
    key and values are three conditions: three memos, and for a missing key three answers
    as the page on multivalued keys gives them (no match; false for ``ForAnyValue``; true
    for ``ForAllValues``, an empty set)."""
    block = {"aws:RequestTag/team": "web*"}
    made = [
        _conditions({op: block}, f"<{op}>")[0]
        for op in ("StringLike", "ForAnyValue:StringLike", "ForAllValues:StringLike")
    ]
    memos = [_memo(c) for c in made]
    assert len({id(m) for m in memos}) == 3
    assert [c.shape[1] for c in made] == [False, False, True]


def test_shared_memos_answer_as_each_policy_alone() -> None:
    """Two principals whose policies hold the same condition, asked in turn: each answer is
    that principal's own ``evaluate``, whichever principal filled the shared memo first."""
    block = {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.0/24"]}}
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": STOP, "Resource": "*", "Condition": block}],
    }
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": STOP, "Resource": "*"},
            {"Effect": "Deny", "Action": STOP, "Resource": "*", "Condition": block},
        ],
    }
    sets = [
        PolicySet([lspolicy.parse_policy(json.dumps(d), source=f"<{n}>")])
        for n, d in enumerate((doc, deny))
    ]
    for ip in ("10.1.2.3", "203.0.113.9", "192.0.2.7", "10.1.2.3", "203.0.113.9"):
        for ps in sets:
            request = Request(STOP, ARN, {"aws:SourceIp": ip}, caller_arn=CALLER)
            assert ps.is_allowed(request) == ps.evaluate(request).allowed
    inside = Request(STOP, ARN, {"aws:SourceIp": "10.1.2.3"}, caller_arn=CALLER)
    assert sets[0].is_allowed(inside) and not sets[1].is_allowed(inside)
