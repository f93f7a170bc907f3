"""Explanations: which statements decided, quoted with line numbers; for a deny, the closest
allow statements and the failed conditions; the context keys the request lacks.

The decision names and MatchedStatements/MissingContextValues follow the IAM simulator:
https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html
"""

from __future__ import annotations

import json

import lspolicy
from lspolicy.explain import Style, render_text

ALLOW = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "StopOwnTeam",
                "Effect": "Allow",
                "Action": "lightsail:StopInstance",
                "Resource": "arn:aws:lightsail:*:111122223333:Instance/*",
                "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
            },
            {"Sid": "ReadAll", "Effect": "Allow", "Action": "lightsail:Get*", "Resource": "*"},
        ],
    },
    indent=2,
)
DENY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": {
            "Sid": "NoProdWithoutMfa",
            "Effect": "Deny",
            "Action": "lightsail:StopInstance",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:ResourceTag/env": "prod"},
                "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"},
            },
        },
    },
    indent=2,
)
ARN = "arn:aws:lightsail:us-east-1:111122223333:Instance/abc"
TEXTS = {"allow.json": ALLOW, "deny.json": DENY}


def rules() -> lspolicy.PolicySet:
    return lspolicy.PolicySet(
        [
            lspolicy.parse_policy(ALLOW, source="allow.json"),
            lspolicy.parse_policy(DENY, source="deny.json"),
        ]
    )


def test_allow_names_and_quotes_the_statement() -> None:
    ctx = {
        "aws:ResourceTag/team": "web",
        "aws:PrincipalTag/team": "web",
        "aws:ResourceTag/env": "dev",
    }
    decision = rules().evaluate(lspolicy.Request("lightsail:StopInstance", ARN, ctx))
    assert decision.decision == "allowed"
    assert [m.label for m in decision.matched] == ["allow.json/StopOwnTeam"]
    assert decision.matched[0].span is not None and decision.matched[0].span.line == 4
    text = render_text(decision, TEXTS, style=Style(color=False))
    assert text.splitlines()[0] == f"ALLOW  lightsail:StopInstance on {ARN}"
    assert ' 5 |       "Sid": "StopOwnTeam",' in text
    assert "aws:MultiFactorAuthPresent" in text  # read by the deny, absent from the request


def test_explicit_deny_names_the_deny() -> None:
    ctx = {
        "aws:ResourceTag/team": "web",
        "aws:PrincipalTag/team": "web",
        "aws:ResourceTag/env": "prod",
    }
    decision = rules().evaluate(lspolicy.Request("lightsail:StopInstance", ARN, ctx))
    assert decision.decision == "explicitDeny"
    assert [m.label for m in decision.matched] == ["deny.json/NoProdWithoutMfa"]
    assert decision.missing_context == ("aws:MultiFactorAuthPresent",)
    assert "DENY (explicit)" in render_text(decision, TEXTS)


def test_implicit_deny_shows_closest_allow_and_failed_condition() -> None:
    ctx = {
        "aws:ResourceTag/team": "data",
        "aws:PrincipalTag/team": "web",
        "aws:MultiFactorAuthPresent": "true",
    }
    decision = rules().evaluate(lspolicy.Request("lightsail:StopInstance", ARN, ctx))
    assert decision.decision == "implicitDeny"
    assert decision.matched == ()
    closest = decision.near_misses[0]
    assert closest.statement.sid == "StopOwnTeam"
    assert closest.resource_matched
    [failed] = closest.failed_conditions
    assert (failed.operator, failed.key, failed.actual) == (
        "StringEquals",
        "aws:ResourceTag/team",
        ("data",),
    )
    text = render_text(decision, TEXTS)
    assert "closest allow statements:" in text
    assert "request has: 'data'" in text


def test_near_miss_reports_resource_mismatch() -> None:
    ctx = {"aws:ResourceTag/team": "web", "aws:PrincipalTag/team": "web"}
    other = "arn:aws:lightsail:us-east-1:999999999999:Instance/abc"
    decision = rules().evaluate(lspolicy.Request("lightsail:StopInstance", other, ctx))
    assert decision.decision == "implicitDeny"
    assert not decision.near_misses[0].resource_matched
    assert "Resource does not match" in render_text(decision, TEXTS)


def test_colour_only_when_asked() -> None:
    ctx = {"aws:ResourceTag/team": "web", "aws:PrincipalTag/team": "web"}
    decision = rules().evaluate(lspolicy.Request("lightsail:StopInstance", ARN, ctx))
    assert "\x1b[" not in render_text(decision, TEXTS, style=Style(color=False))
    assert "\x1b[32m" in render_text(decision, TEXTS, style=Style(color=True))


def test_decision_json_round_trips() -> None:
    ctx = {"aws:ResourceTag/team": "web", "aws:PrincipalTag/team": "web"}
    decision = rules().evaluate(lspolicy.Request("lightsail:StopInstance", ARN, ctx))
    data = json.loads(json.dumps(decision.to_dict()))
    assert data["decision"] == "allowed"
    assert data["matched_statements"][0]["sid"] == "StopOwnTeam"
