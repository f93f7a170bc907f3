"""Parts whose context gives one key in two spellings (``aws:ResourceTag/team`` and
``AWS:RESOURCETAG/TEAM``): the batch and matrix shortcuts answer as the request built from the
plain merged dict.

Condition key names are case-insensitive (IAM User Guide, "IAM JSON policy elements:
Condition", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html),
so the two spellings are one key. AWS documents no rule for a request carrying both; the
engine's rule is `Request`'s: normalise the merged dict in order, the later spelling wins. The
shortcuts merge normalised parts, which must not change that answer.
"""

from __future__ import annotations

import pytest

import lspolicy
from lspolicy import PolicySet, Request, RequestPart, decide_matrix
from lspolicy.evaluate import authorize

# the batches decided here: by the C loop and by the pure-Python loop (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("stream_loops")

ACTION = "lightsail:StopInstance"
ARN = "arn:aws:lightsail:us-east-1:111122223333:Instance/x"
CALLER = "arn:aws:iam::111122223333:user/alice"
RULES = PolicySet(
    [
        lspolicy.parse_policy(
            {
                "Version": "2012-10-17",
                "Statement": {
                    "Effect": "Allow",
                    "Action": ACTION,
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:ResourceTag/team": "web"}},
                },
            }
        )
    ]
)


def _truth(principal: dict[str, str], instance: dict[str, str]) -> bool:
    return RULES.evaluate(
        Request(ACTION, ARN, {**principal, **instance}, caller_arn=CALLER)
    ).allowed


def _check(principal: dict[str, str], instance: dict[str, str]) -> None:
    pp = RequestPart(principal, caller_arn=CALLER)
    ip = RequestPart(instance, resource=ARN)
    truth = _truth(principal, instance)
    # the inlined function too (a plan is inlined after _HOT requests)
    for _ in range(authorize._HOT + 1):
        assert RULES.is_allowed(Request.from_parts(ACTION, pp, ip)) is truth
    assert RULES.is_allowed_many([(ACTION, ip, None)], principal=pp) == [truth]
    assert decide_matrix(ACTION, [RULES], [pp], [ip]) == [[truth]]
    other = RequestPart({"aws:ResourceTag/team": "web"}, resource=ARN)
    grid = decide_matrix(ACTION, [RULES, RULES], [pp, pp], [other, ip, other])
    assert grid[0][1] is truth and grid[1][1] is truth


def test_principal_part_with_two_spellings_then_the_instance_gives_one() -> None:
    """Merged plain dict: ``{"aws:ResourceTag/team": "web", "AWS:RESOURCETAG/TEAM": "ops"}``
    (the instance's value takes the first spelling's place): ``ops`` is later, so denied."""
    principal = {"aws:ResourceTag/team": "web", "AWS:RESOURCETAG/TEAM": "ops"}
    assert RequestPart(principal).duplicates
    assert _truth(principal, {"aws:ResourceTag/team": "web"}) is False
    _check(principal, {"aws:ResourceTag/team": "web"})


def test_instance_part_with_two_spellings() -> None:
    instance = {"AWS:RESOURCETAG/TEAM": "ops", "aws:ResourceTag/team": "web"}
    assert _truth({}, instance) is True
    _check({}, instance)
    _check({"aws:resourcetag/team": "ops"}, instance)
