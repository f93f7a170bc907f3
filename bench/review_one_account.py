"""A seeded one-account export for timing ``lspolicy review`` (not the issue's full
organization generator): 450 users in 10 team groups (a tag-gated stop grant), every tenth
allowed ``sts:AssumeRole`` on anything, every 25th allowed ``lightsail:TagResource``; 50 roles
trusting the account, each allowed ``lightsail:*`` on one ``env``, every fifth allowed to assume
the next; N instances (default 5,000) over two regions with team, env and a unique Name tag.

    python bench/review_one_account.py OUT_DIR [N]
    /usr/bin/time -v lspolicy review --auth-details OUT_DIR/auth.json \\
        --instances OUT_DIR/instances.json --out OUT_DIR/review
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ACCOUNT = "444444444444"
A = f"arn:aws:iam::{ACCOUNT}:"
TEAMS = [f"t{i}" for i in range(10)]
ENVS = ["dev", "staging", "prod"]


def _doc(statements: list[dict[str, object]]) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": statements}


def auth_details(rng: random.Random) -> dict[str, object]:
    """The IAM export."""
    stop_own = {
        "Sid": "StopOwn",
        "Effect": "Allow",
        "Action": ["lightsail:StopInstance", "lightsail:StartInstance"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
    }
    groups = [
        {
            "GroupName": f"ops-{t}",
            "GroupId": f"AGPA{t.upper():0>17}",
            "Arn": A + f"group/ops-{t}",
            "Path": "/",
            "GroupPolicyList": [{"PolicyName": "Own", "PolicyDocument": _doc([stop_own])}],
            "AttachedManagedPolicies": [],
        }
        for t in TEAMS
    ]
    users = []
    for i in range(450):
        team = rng.choice(TEAMS)
        user: dict[str, object] = {
            "UserName": f"u{i}",
            "UserId": f"AIDA{i:0>17}",
            "Arn": A + f"user/u{i}",
            "Path": "/",
            "GroupList": [f"ops-{team}"],
            "AttachedManagedPolicies": [],
            "Tags": [{"Key": "team", "Value": team}],
        }
        if i % 10 == 0:
            assume = _doc([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}])
            user["UserPolicyList"] = [{"PolicyName": "Assume", "PolicyDocument": assume}]
        if i % 25 == 0:
            user["AttachedManagedPolicies"] = [
                {"PolicyName": "Tagger", "PolicyArn": A + "policy/Tagger"}
            ]
        users.append(user)
    roles = []
    for i in range(50):
        env = rng.choice(ENVS)
        statements: list[dict[str, object]] = [
            {
                "Effect": "Allow",
                "Action": "lightsail:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/env": env}},
            }
        ]
        if i % 5 == 0:
            statements.append(
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": A + f"role/R{i + 1}"}
            )
        trust = {"Effect": "Allow", "Principal": {"AWS": A + "root"}, "Action": "sts:AssumeRole"}
        roles.append(
            {
                "RoleName": f"R{i}",
                "RoleId": f"AROA{i:0>17}",
                "Arn": A + f"role/R{i}",
                "Path": "/",
                "AssumeRolePolicyDocument": _doc([trust]),
                "RolePolicyList": [{"PolicyName": "Env", "PolicyDocument": _doc(statements)}],
                "AttachedManagedPolicies": [],
                "Tags": [],
            }
        )
    tagger = _doc([{"Effect": "Allow", "Action": "lightsail:TagResource", "Resource": "*"}])
    policies = [
        {
            "PolicyName": "Tagger",
            "Arn": A + "policy/Tagger",
            "DefaultVersionId": "v1",
            "PolicyVersionList": [
                {"VersionId": "v1", "IsDefaultVersion": True, "Document": tagger}
            ],
        }
    ]
    return {
        "UserDetailList": users,
        "GroupDetailList": groups,
        "RoleDetailList": roles,
        "Policies": policies,
        "IsTruncated": False,
    }


def instances(rng: random.Random, n: int) -> dict[str, object]:
    """The Lightsail export."""
    out = []
    for i in range(n):
        region = rng.choice(["us-east-1", "eu-west-1"])
        out.append(
            {
                "name": f"i{i}",
                "arn": f"arn:aws:lightsail:{region}:{ACCOUNT}:Instance/{i:08d}-0000-4000-8000-000000000000",
                "location": {"availabilityZone": region + "a", "regionName": region},
                "resourceType": "Instance",
                "tags": [
                    {"key": "team", "value": rng.choice(TEAMS)},
                    {"key": "env", "value": rng.choice(ENVS)},
                    {"key": "Name", "value": f"i{i}"},
                ],
                "state": {"code": 16, "name": "running"},
            }
        )
    return {"instances": out}


def main(argv: list[str]) -> int:
    """Write OUT_DIR/auth.json and OUT_DIR/instances.json."""
    if not argv:
        sys.stderr.write("usage: python bench/review_one_account.py OUT_DIR [N]\n")
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    (out / "auth.json").write_text(json.dumps(auth_details(rng)))
    (out / "instances.json").write_text(
        json.dumps(instances(rng, int(argv[1]) if len(argv) > 1 else 5000))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
