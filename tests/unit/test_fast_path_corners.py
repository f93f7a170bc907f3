"""The compiled fast path (`PolicySet.is_allowed`) and the explained path (`evaluate`) decide
alike in the corners that take the full decision path: the account root user, a resource in
another account, and a resource owner given without a resource-based policy.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"""

from __future__ import annotations

import pytest

import lspolicy

ALLOW_ALL = lspolicy.parse_policy(
    '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}'
)
DENY_STOP = lspolicy.parse_policy(
    '{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "lightsail:StopInstance", "Resource": "*"}}'
)
USER = "arn:aws:iam::111122223333:user/a"
HERE = "arn:aws:lightsail:us-east-1:111122223333:Instance/i-1"
THERE = "arn:aws:lightsail:us-east-1:999999999999:Instance/i-1"


@pytest.mark.parametrize(
    ("policies", "owner", "resource", "caller", "expected"),
    [
        ([ALLOW_ALL], None, HERE, USER, "allowed"),
        ([ALLOW_ALL], None, THERE, USER, "implicitDeny"),  # cross-account, no resource policy
        ([ALLOW_ALL], "999999999999", "*", USER, "implicitDeny"),  # owner given, other account
        ([ALLOW_ALL], "111122223333", "*", USER, "allowed"),
        ([], None, HERE, "arn:aws:iam::111122223333:root", "allowed"),  # the root user
        ([DENY_STOP], None, HERE, "arn:aws:iam::111122223333:root", "explicitDeny"),
    ],
)
def test_fast_path_equals_explained_path(
    policies: list[lspolicy.Policy], owner: str | None, resource: str, caller: str, expected: str
) -> None:
    rules = lspolicy.PolicySet(policies, resource_owner=owner)
    request = lspolicy.Request("lightsail:StopInstance", resource, {}, caller_arn=caller)
    assert rules.evaluate(request).decision == expected
    assert rules.is_allowed(request) == (expected == "allowed")
