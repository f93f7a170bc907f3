"""Shared compilation and cheap requests: implementation properties, not IAM semantics.

AWS's documentation says nothing about how an evaluator compiles policies; these tests pin what
issue 12 asks of this one: a statement compiles once per distinct content, principals holding
the same policies share one decision function, and a request combined from normalised parts is
the request built from the merged plain dict (so every answer is the same).
"""

from __future__ import annotations

import json

import lspolicy
from lspolicy import PolicySet, Request, RequestPart
from lspolicy.evaluate import authorize

DOC = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "TeamOps",
            "Effect": "Allow",
            "Action": "lightsail:StopInstance",
            "Resource": "arn:aws:lightsail:*:111122223333:Instance/*",
            "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
        }
    ],
}
ARN = "arn:aws:lightsail:us-east-1:111122223333:Instance/i-1"
ALICE = "arn:aws:iam::111122223333:user/alice"


def test_equal_documents_share_one_compilation_and_one_decision_function() -> None:
    first = lspolicy.parse_policy(json.dumps(DOC), source="a.json")
    again = lspolicy.parse_policy(json.dumps(DOC), source="a.json")  # another object, same text
    one, two = PolicySet([first]), PolicySet([again])
    assert one.identity[0].core is two.identity[0].core
    request = Request("lightsail:StopInstance", ARN, {"aws:ResourceTag/team": "web"})
    for _ in range(authorize._HOT):
        one.is_allowed(request)
    assert one._plans[request.action_key].inlined
    two.is_allowed(request)  # the first request: the shared function is found, not generated
    assert two._plans[request.action_key].inlined
    assert two._plans[request.action_key].simple is one._plans[request.action_key].simple


def test_a_request_from_parts_is_the_request_from_the_merged_dict() -> None:
    principal_ctx = {"aws:PrincipalTag/team": "web", "aws:username": "alice"}
    instance_ctx = {"aws:ResourceTag/team": "web", "aws:TagKeys": ["a", "b"]}
    extra = {"aws:SourceIp": "203.0.113.9", "aws:MultiFactorAuthPresent": True, "Aws:Username": "x"}
    combined = Request.from_parts(
        "lightsail:StopInstance",
        RequestPart(principal_ctx, caller_arn=ALICE),
        RequestPart(instance_ctx, resource=ARN),
        context=extra,
    )
    merged = Request(
        "lightsail:StopInstance", ARN, {**principal_ctx, **instance_ctx, **extra}, caller_arn=ALICE
    )
    assert combined == merged
    assert combined.context["aws:username"] == ("x",)  # a later part's key wins, case-folded
    assert combined.multivalued == frozenset({"aws:tagkeys"})
    assert combined.with_context({"aws:SourceIp": "192.0.2.1"}).context["aws:sourceip"] == (
        "192.0.2.1",
    )
