"""The generalised rules speak of every service, and say what a wildcard on `*` grants.

Pages: the Action element
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html), ARNs
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html) and the Service
Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
"""

from __future__ import annotations

import json

import lspolicy
from lspolicy.lint import lint_policy


def _findings(*statements: dict[str, object]) -> list[tuple[str, str, str | None]]:
    doc = {"Version": "2012-10-17", "Statement": list(statements)}
    policy = lspolicy.parse_policy(json.dumps(doc))
    return [(f.code, f.message, f.hint) for f in lint_policy(policy)]


def test_star_on_star_is_full_admin() -> None:
    """`"Action": "*"` is every action of every service, not a count of Lightsail's.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_job-functions.html"""
    got = [
        m
        for c, m, _ in _findings({"Effect": "Allow", "Action": "*", "Resource": "*"})
        if c == "LSP108"
    ]
    assert got == [
        "`*` on every resource with no condition is full administrator access: every action of "
        "every aws service"
    ]


def test_service_star_is_full_access_to_that_service() -> None:
    """`ec2:*` covers every EC2 action (the Action element: wildcards span the action name).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html"""
    got = [
        m
        for c, m, _ in _findings({"Effect": "Allow", "Action": "ec2:*", "Resource": "*"})
        if c == "LSP108"
    ]
    assert len(got) == 1 and got[0].startswith(
        "`ec2:*` on every resource with no condition is full access to ec2: all "
    )


def test_unknown_actions_of_any_service_with_did_you_mean() -> None:
    """Unknown names of any service, and an unknown service prefix, match nothing.
    https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html"""
    got = {
        (m.split("`")[1], h)
        for c, m, h in _findings(
            {
                "Effect": "Allow",
                "Action": ["ec2:StopInstancez", "s3:GetObjekt", "ec3:StopInstances"],
                "Resource": "*",
            }
        )
        if c == "LSP101"
    }
    assert got == {
        ("ec2:StopInstancez", "did you mean `ec2:StopInstances`?"),
        ("s3:GetObjekt", "did you mean `s3:GetObject`?"),
        ("ec3:StopInstances", "did you mean `ec2:StopInstances`?"),
    }


def test_arn_of_another_service_and_malformed_arns() -> None:
    """An EC2 ARN under a Lightsail action fits none of its resource types; a short account, a
    missing id and `useast1` are malformed. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html"""
    got = _findings(
        {
            "Effect": "Allow",
            "Action": "lightsail:StopInstance",
            "Resource": [
                "arn:aws:ec2:us-east-1:111122223333:instance/i-1",
                "arn:aws:lightsail:us-east-1:111122223333:Instance/*",
            ],
        },
        {
            "Effect": "Deny",
            "Action": "lightsail:DeleteInstance",
            "Resource": [
                "arn:aws:lightsail:us-east-1:1111:Instance",
                "arn:aws:lightsail:useast1:111122223333:Instance/*",
            ],
        },
    )
    codes = sorted(c for c, _, _ in got)
    assert codes == ["LSP121", "LSP123", "LSP123", "LSP123"]
    parts = sorted(m.split(" ")[0] for c, m, _ in got if c == "LSP123")
    assert parts == ["`1111`", "`Instance`", "`useast1`"]


def test_pass_role_on_star() -> None:
    """`iam:PassRole` on every role is a privilege escalation path.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html"""
    got = [
        c for c, _, _ in _findings({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"})
    ]
    assert got == ["LSP124"]
