"""A seeded synthetic AWS organization, written as the exports `lspolicy who-can`/`review` read.

Issue 11 §3: 50 accounts, 20,000 principals (users in groups, roles with trust chains up to
depth 4, 40% with permissions boundaries, SCPs at 3 levels: root, OU, account), 200,000
Lightsail instances with a skewed tag distribution. Every ARN and account id is invented.

Files written to ``--out`` (shapes as the AWS CLI writes them, ``--output json``):

- ``auth-details-ACCOUNT.json``: ``aws iam get-account-authorization-details`` (one page:
  ``UserDetailList``, ``GroupDetailList``, ``RoleDetailList``, ``Policies``, ``IsTruncated``;
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html);
- ``instances-ACCOUNT-REGION.json``: ``aws lightsail get-instances --region REGION``
  (``instances``; https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_Instance.html),
  written one instance at a time (never the whole list in memory);
- ``organization.json``: the ``lspolicy-organization/1`` file (schemas/organization.schema.json);
- ``manifest.json``: seed, scale, counts and the file lists (for bench/review.py).

What the policies exercise: ``aws:ResourceTag/team`` against ``${aws:PrincipalTag/team}`` and
against literal teams, ``aws:ResourceTag/owner`` against ``${aws:username}``,
``StringEqualsIgnoreCase`` on ``env``, region-scoped resource ARNs, action wildcards
(``lightsail:*``, ``lightsail:Stop*``, ``lightsail:*Instance*``), explicit denies in identity
policies, boundaries and SCPs (one SCP exempts a break-glass role by ``aws:PrincipalArn``), role
paths, trust by account root (identity policy needed), by role ARN (trust alone suffices), by
service (not a principal of the review), with ``sts:ExternalId`` (a caller key), and one
cross-account chain (a security account's auditor into every other account).

Tag skew: values are drawn from Zipf-like weights (rank ``k`` has weight ``1/k``), ``env`` has
case variants (``prod``/``Prod``/``PROD``/``production``) and its key is sometimes ``Env`` or
``Environment``; some instances carry no tags.

Usage: ``python bench/orggen.py --out DIR --seed 1 [--scale full|account|small]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

__all__ = ["SCALES", "Manifest", "Scale", "generate", "main"]

STOP = "lightsail:StopInstance"
VERSION = "2012-10-17"
CREATED = "2026-01-15T09:00:00+00:00"


@dataclass(frozen=True)
class Scale:
    """How big an organization to write."""

    accounts: int
    principals: int
    instances: int
    regions: int = 6


SCALES: dict[str, Scale] = {
    "full": Scale(accounts=50, principals=20_000, instances=200_000),
    "account": Scale(accounts=1, principals=500, instances=5_000),
    "small": Scale(accounts=3, principals=27, instances=36, regions=2),
}

REGIONS = (
    "us-east-1",
    "eu-west-1",
    "us-west-2",
    "eu-central-1",
    "ap-southeast-2",
    "ap-northeast-1",
)
TEAMS = (
    "web", "api", "data", "payments", "search", "ml", "infra", "platform", "mobile", "billing",
    "auth", "growth", "ads", "media", "mail", "chat", "maps", "video", "edge", "storage",
    "analytics", "security", "support", "sales", "legal", "hr", "finance", "qa", "design", "iot",
)  # fmt: skip
ENVS = (
    ("prod", 30), ("dev", 25), ("staging", 12), ("test", 8), ("Prod", 5), ("production", 4),
    ("Dev", 4), ("qa", 4), ("PROD", 2), ("sandbox", 3), ("Production", 1), ("DEV", 2),
)  # fmt: skip
ENV_KEYS = (("env", 85), ("Env", 10), ("Environment", 5))
GIVEN = ("ana", "ben", "chen", "dara", "eli", "fatima", "gus", "hana", "ivan", "jo", "kai", "lea")
OUS = ("Prod", "NonProd", "Sandbox")
PROD_ENVS = ["prod", "Prod", "PROD", "production", "Production"]


def _zipf(n: int, s: float = 1.0) -> list[float]:
    """Cumulative weights for ranks 1..n with weight 1/k**s."""
    return list(itertools.accumulate(1.0 / (k**s) for k in range(1, n + 1)))


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": list(statements)}


def _allow(
    action: str | list[str], resource: str | list[str] = "*", **extra: Any
) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _deny(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


@dataclass
class Manifest:
    """What was written: counts and files (paths relative to the output directory)."""

    seed: int
    scale: str
    accounts: list[str] = field(default_factory=list)
    management_account: str = ""
    users: int = 0
    roles: int = 0
    groups: int = 0
    policies: int = 0
    instances: int = 0
    boundaries: int = 0
    auth_details: list[str] = field(default_factory=list)
    instance_files: list[str] = field(default_factory=list)
    organization: str = "organization.json"
    sample_instances: list[str] = field(default_factory=list)
    """Instance ARNs for who-can, account by account: a prod-tagged one with an owner, a
    dev-tagged one with a team, an untagged one."""

    @property
    def principals(self) -> int:
        """Users plus roles."""
        return self.users + self.roles


class _Ids:
    """Deterministic AWS-looking ids from the generator's random stream."""

    ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def unique(self, prefix: str) -> str:
        return prefix + "".join(self.rng.choice(self.ALPHA) for _ in range(17))

    def uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:]}"


def account_id(index: int) -> str:
    """The invented 12-digit id of member account ``index``."""
    return f"{210000000000 + 1_000_003 * (index + 1):012d}"


MANAGEMENT = "209999999999"


class _Account:
    """One member account's IAM side, built in memory (hundreds of principals: small)."""

    def __init__(
        self, index: int, n_principals: int, rng: random.Random, security: str | None
    ) -> None:
        self.index = index
        self.id = account_id(index)
        self.rng = rng
        self.ids = _Ids(rng)
        self.security = security  # the security account's id (None: this is it)
        self.teams_cum = _zipf(len(TEAMS))
        self.policies: dict[str, dict[str, Any]] = {}
        self.users: list[dict[str, Any]] = []
        self.groups: list[dict[str, Any]] = []
        self.roles: list[dict[str, Any]] = []
        self.boundaries = 0
        n_roles = max(4, round(n_principals * 0.35))
        n_users = max(1, n_principals - n_roles)
        self._policies()
        self._groups()
        self._roles(n_roles)
        self._users(n_users)

    # -- helpers --------------------------------------------------------------------------

    def arn(self, kind: str, name: str, path: str = "/") -> str:
        return f"arn:aws:iam::{self.id}:{kind}{path}{name}"

    def team(self) -> str:
        return self.rng.choices(TEAMS, cum_weights=self.teams_cum)[0]

    def tags(self, team: str | None) -> list[dict[str, str]]:
        out = []
        if team is not None:
            out.append({"Key": "team", "Value": team})
        if self.rng.random() < 0.5:
            out.append({"Key": "cost-center", "Value": f"cc-{self.rng.randrange(1000, 1100)}"})
        return out

    def policy(self, name: str, document: dict[str, Any], path: str = "/") -> str:
        arn = self.arn("policy", name, path)
        pid = self.ids.unique("ANPA")
        self.policies[arn] = {
            "PolicyName": name,
            "PolicyId": pid,
            "Arn": arn,
            "Path": path,
            "DefaultVersionId": "v2",
            "AttachmentCount": 0,
            "PermissionsBoundaryUsageCount": 0,
            "IsAttachable": True,
            "CreateDate": CREATED,
            "UpdateDate": CREATED,
            "PolicyVersionList": [
                {
                    "Document": _doc(_allow("lightsail:GetInstances")),
                    "VersionId": "v1",
                    "IsDefaultVersion": False,
                    "CreateDate": CREATED,
                },
                {
                    "Document": document,
                    "VersionId": "v2",
                    "IsDefaultVersion": True,
                    "CreateDate": CREATED,
                },
            ],
        }
        return arn

    def attach(self, entity: dict[str, Any], arn: str) -> None:
        entity.setdefault("AttachedManagedPolicies", []).append(
            {"PolicyName": arn.rsplit("/", 1)[-1], "PolicyArn": arn}
        )
        self.policies[arn]["AttachmentCount"] += 1

    def boundary(self, entity: dict[str, Any]) -> None:
        if self.rng.random() >= 0.4:
            return
        arn = self.rng.choices(self.boundary_arns, weights=(6, 3, 1))[0]
        entity["PermissionsBoundary"] = {
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": arn,
        }
        self.policies[arn]["PermissionsBoundaryUsageCount"] += 1
        self.boundaries += 1

    # -- the account ----------------------------------------------------------------------

    def _policies(self) -> None:
        a = self.id
        mine = f"arn:aws:lightsail:*:{a}:Instance/*"
        ops = ["lightsail:StopInstance", "lightsail:StartInstance", "lightsail:RebootInstance"]
        self.admin = self.policy("LightsailAdmin", _doc(_allow("lightsail:*")))
        self.readonly = self.policy("LightsailReadOnly", _doc(_allow("lightsail:Get*")))
        self.self_team = self.policy(
            "LightsailOperatorSelfTeam",
            _doc(
                _allow(
                    ops,
                    mine,
                    Sid="OwnTeamsInstances",
                    Condition={
                        "StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}
                    },
                )
            ),
        )
        self.owner = self.policy(
            "LightsailOwnerStop",
            _doc(
                _allow(
                    "lightsail:Stop*",
                    mine,
                    Sid="OwnInstances",
                    Condition={"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}},
                )
            ),
            path="/lightsail/",
        )
        self.dev_only = self.policy(
            "LightsailDevOnly",
            _doc(
                _allow(
                    "lightsail:*Instance*",
                    Sid="NonProd",
                    Condition={
                        "StringEqualsIgnoreCase": {"aws:ResourceTag/env": ["dev", "test", "qa"]}
                    },
                )
            ),
        )
        self.deny_prod = self.policy(
            "DenyProdStop",
            _doc(
                _deny(
                    STOP,
                    Sid="NoProdStop",
                    Condition={"StringEquals": {"aws:ResourceTag/env": PROD_ENVS}},
                )
            ),
        )
        self.team_policies = {
            t: self.policy(
                f"LightsailTeam-{t}",
                _doc(
                    _allow(
                        ["lightsail:StopInstance", "lightsail:StartInstance"],
                        Condition={"StringEquals": {"aws:ResourceTag/team": t}},
                    )
                ),
            )
            for t in TEAMS[:10]
        }
        self.region_ops = {
            r: self.policy(
                f"LightsailRegionOps-{r}",
                _doc(_allow("lightsail:Stop*", f"arn:aws:lightsail:{r}:{a}:Instance/*")),
            )
            for r in REGIONS[:3]
        }
        self.assume_tier = {
            k: self.policy(
                f"AssumeTier{k}",
                _doc(_allow("sts:AssumeRole", f"arn:aws:iam::{a}:role/tier{k}/*")),
            )
            for k in range(4)
        }
        self.boundary_arns = [
            self.policy(
                "BoundaryLightsailOps",
                _doc(_allow(["lightsail:*", "sts:AssumeRole", "iam:Get*", "iam:List*"])),
                path="/boundaries/",
            ),
            self.policy(
                "BoundaryReadOnly",
                _doc(_allow(["lightsail:Get*", "sts:AssumeRole"])),
                path="/boundaries/",
            ),
            self.policy(
                "BoundaryNoProd",
                _doc(
                    _allow(["lightsail:*", "sts:AssumeRole"]),
                    _deny(
                        "lightsail:*",
                        Condition={"StringEqualsIgnoreCase": {"aws:ResourceTag/env": "prod"}},
                    ),
                ),
                path="/boundaries/",
            ),
        ]
        if self.security is None:
            self.audit_assume = self.policy(
                "OrgAuditAssume",
                _doc(_allow("sts:AssumeRole", "arn:aws:iam::*:role/org/*")),
            )

    def _groups(self) -> None:
        def group(name: str, *arns: str, inline: dict[str, Any] | None = None) -> None:
            g: dict[str, Any] = {
                "Path": "/",
                "GroupName": name,
                "GroupId": self.ids.unique("AGPA"),
                "Arn": self.arn("group", name),
                "CreateDate": CREATED,
                "GroupPolicyList": [],
                "AttachedManagedPolicies": [],
            }
            if inline is not None:
                g["GroupPolicyList"].append(inline)
            for arn in arns:
                self.attach(g, arn)
            self.groups.append(g)

        group("admins", self.admin)
        group("readonly", self.readonly)
        group("operators", self.self_team, self.deny_prod, self.assume_tier[0])
        group("owners", self.owner, self.readonly)
        group("developers", self.dev_only, self.assume_tier[0])
        for t in TEAMS[:10]:
            group(f"team-{t}", self.team_policies[t], self.readonly)
        group(
            "nightly-ops",
            inline={
                "PolicyName": "StopEuropeAtNight",
                "PolicyDocument": _doc(
                    _allow(STOP, f"arn:aws:lightsail:eu-*:{self.id}:Instance/*"),
                    _deny(STOP, Condition={"StringLike": {"aws:ResourceTag/team": "pay*"}}),
                ),
            },
        )
        self.group_cum = _zipf(len(self.groups), 0.8)

    def _role(self, name: str, path: str, trust: list[dict[str, Any]]) -> dict[str, Any]:
        r: dict[str, Any] = {
            "Path": path,
            "RoleName": name,
            "RoleId": self.ids.unique("AROA"),
            "Arn": self.arn("role", name, path),
            "CreateDate": CREATED,
            "AssumeRolePolicyDocument": _doc(*trust),
            "InstanceProfileList": [],
            "RolePolicyList": [],
            "AttachedManagedPolicies": [],
            "Tags": [],
            "RoleLastUsed": {},
        }
        self.roles.append(r)
        return r

    def _roles(self, n: int) -> None:
        rng = self.rng
        root = {"AWS": f"arn:aws:iam::{self.id}:root"}
        tiers: list[list[dict[str, Any]]] = [[], [], [], []]
        self.user_arns: list[str] = []  # filled later; tier-0 trusts naming users patched in
        self.named_by_users: list[dict[str, Any]] = []
        if self.security is not None:
            # cross-account: the security account's auditor may come in
            auditor = f"arn:aws:iam::{self.security}:role/org/OrgAuditor"
            audit = self._role(
                "OrgAudit",
                "/org/",
                [{"Effect": "Allow", "Principal": {"AWS": auditor}, "Action": "sts:AssumeRole"}],
            )
            self.attach(audit, self.region_ops[REGIONS[0]])
            self.attach(audit, self.readonly)
            brk = self._role(
                "BreakGlass",
                "/org/",
                [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": auditor},
                        "Action": "sts:AssumeRole",
                        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                    }
                ],
            )
            self.attach(brk, self.admin)
        else:
            auditor_role = self._role(
                "OrgAuditor",
                "/org/",
                [{"Effect": "Allow", "Principal": root, "Action": "sts:AssumeRole"}],
            )
            self.attach(auditor_role, self.audit_assume)
            self.attach(auditor_role, self.readonly)
        remaining = max(0, n - len(self.roles))
        shares = (0.5, 0.25, 0.15, 0.10)
        counts = [max(1, round(remaining * s)) for s in shares[:-1]]
        counts.append(max(1, remaining - sum(counts)))
        seq = 0
        for tier, count in enumerate(counts):
            for _ in range(count):
                seq += 1
                team = self.team()
                name = f"{team}-t{tier}-{seq:04d}"
                trust: list[dict[str, Any]] = []
                kind = ""
                if tier == 0:
                    kind = rng.choices(("root", "users", "service", "external"), (60, 25, 10, 5))[0]
                    if kind in {"root", "users"}:
                        trust.append(
                            {"Effect": "Allow", "Principal": dict(root), "Action": "sts:AssumeRole"}
                        )
                    elif kind == "service":
                        trust.append(
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "ec2.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        )
                    else:
                        trust.append(
                            {
                                "Effect": "Allow",
                                "Principal": dict(root),
                                "Action": "sts:AssumeRole",
                                "Condition": {"StringEquals": {"sts:ExternalId": f"ext-{seq}"}},
                            }
                        )
                else:
                    callers = rng.sample(
                        tiers[tier - 1], min(len(tiers[tier - 1]), rng.randint(1, 2))
                    )
                    trust.append(
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": sorted(c["Arn"] for c in callers)},
                            "Action": "sts:AssumeRole",
                        }
                    )
                role = self._role(name, f"/tier{tier}/", trust)
                if tier == 0 and kind == "users":
                    self.named_by_users.append(role)
                role["Tags"] = self.tags(team)
                self._grant(role, tier)
                self.boundary(role)
                tiers[tier].append(role)

    def _grant(self, entity: dict[str, Any], tier: int) -> None:
        """1-3 managed policies by skewed popularity, a chance of an inline one, and the right
        to assume the next tier."""
        rng = self.rng
        pool = [
            self.readonly, self.self_team, self.owner, self.dev_only, self.deny_prod, self.admin,
            *self.region_ops.values(), *self.team_policies.values(),
        ]  # fmt: skip
        cum = _zipf(len(pool), 0.9)
        for arn in sorted(set(rng.choices(pool, cum_weights=cum, k=rng.randint(1, 3)))):
            self.attach(entity, arn)
        if tier < 3 and rng.random() < 0.7:
            self.attach(entity, self.assume_tier[tier + 1])
        if rng.random() < 0.2:
            team = self.team()
            key = "RolePolicyList" if "RoleName" in entity else "UserPolicyList"
            entity.setdefault(key, []).append(
                {
                    "PolicyName": f"stop-{team}",
                    "PolicyDocument": _doc(
                        _allow(
                            STOP,
                            "arn:aws:lightsail:*:*:Instance/*",
                            Condition={"StringLike": {"aws:ResourceTag/team": f"{team}*"}},
                        )
                    ),
                }
            )

    def _users(self, n: int) -> None:
        rng = self.rng
        for i in range(n):
            team = self.team() if rng.random() < 0.8 else None
            name = f"{rng.choice(GIVEN)}.{team or 'x'}{i:05d}"
            path = "/eng/" if rng.random() < 0.3 else "/"
            groups = sorted(
                {
                    g["GroupName"]
                    for g in rng.choices(
                        self.groups, cum_weights=self.group_cum, k=rng.randint(0, 3)
                    )
                }
            )
            u: dict[str, Any] = {
                "Path": path,
                "UserName": name,
                "UserId": self.ids.unique("AIDA"),
                "Arn": self.arn("user", name, path),
                "CreateDate": CREATED,
                "GroupList": groups,
                "AttachedManagedPolicies": [],
                "Tags": self.tags(team),
            }
            if rng.random() < 0.3:
                self._grant(u, -1 if rng.random() < 0.5 else 0)
            self.boundary(u)
            self.users.append(u)
        # some tier-0 roles trust named users directly (trust alone suffices in the account)
        for role in self.named_by_users:
            named = sorted({u["Arn"] for u in rng.sample(self.users, min(3, len(self.users)))})
            role["AssumeRolePolicyDocument"]["Statement"].append(
                {"Effect": "Allow", "Principal": {"AWS": named}, "Action": "sts:AssumeRole"}
            )
        self.user_names = [u["UserName"] for u in self.users]
        self.user_cum = _zipf(len(self.users), 1.1)

    def auth_details(self) -> dict[str, Any]:
        for u in self.users:
            if not u["Tags"]:
                del u["Tags"]
        return {
            "UserDetailList": self.users,
            "GroupDetailList": self.groups,
            "RoleDetailList": self.roles,
            "Policies": [self.policies[k] for k in sorted(self.policies)],
            "IsTruncated": False,
        }


def _scp(pid: str, name: str, document: dict[str, Any], org: str) -> dict[str, Any]:
    aws = pid == "p-FullAWSAccess"
    return {
        "id": pid,
        "arn": "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess"
        if aws
        else f"arn:aws:organizations::{MANAGEMENT}:policy/{org}/service_control_policy/{pid}",
        "name": name,
        "aws_managed": aws,
        "content": json.dumps(document),
    }


def organization(accounts: Sequence[str], rng: random.Random) -> dict[str, Any]:
    """The organization file: root (SCPs), three OUs (SCPs), the member accounts (SCPs; the
    security account in Prod), and the management account (SCPs do not apply to it)."""
    org = "o-synth0000001"
    policies = [
        _scp("p-FullAWSAccess", "FullAWSAccess", _doc(_allow("*")), org),
        _scp(
            "p-rootguard",
            "DenyLeaveOrganization",
            _doc(_deny("organizations:LeaveOrganization")),
            org,
        ),
        _scp(
            "p-prodstop",
            "DenyProdStopExceptBreakGlass",
            _doc(
                _deny(
                    STOP,
                    Sid="NoProdStop",
                    Condition={
                        "StringEquals": {"aws:ResourceTag/env": PROD_ENVS},
                        "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/org/BreakGlass"},
                    },
                )
            ),
            org,
        ),
        _scp(
            "p-regionlock",
            "SandboxRegionLock",
            _doc(
                _deny(
                    "lightsail:*",
                    Condition={"StringNotEquals": {"aws:RequestedRegion": list(REGIONS[:2])}},
                )
            ),
            org,
        ),
        _scp(
            "p-nodelete",
            "DenyLightsailDelete",
            _doc(_deny(["lightsail:Delete*", "lightsail:Release*"])),
            org,
        ),
        _scp(
            "p-allowlist",
            "AllowListLightsailIam",
            _doc(_allow(["lightsail:*", "sts:*", "iam:*", "organizations:Describe*"])),
            org,
        ),
    ]
    root = "r-syn1"
    targets: list[dict[str, Any]] = [
        {
            "id": root,
            "type": "ROOT",
            "name": "Root",
            "parent": None,
            "policies": ["p-FullAWSAccess", "p-rootguard"],
        },
        {
            "id": MANAGEMENT,
            "type": "ACCOUNT",
            "name": "management",
            "parent": root,
            "policies": ["p-FullAWSAccess"],
        },
    ]
    ou_policies = {
        "Prod": ["p-FullAWSAccess", "p-prodstop"],
        "NonProd": ["p-FullAWSAccess"],
        "Sandbox": ["p-FullAWSAccess", "p-regionlock"],
    }
    ou_ids = {}
    for ou in OUS:
        ou_ids[ou] = f"ou-syn1-{ou.lower():0<8}"[:16]
        targets.append(
            {
                "id": ou_ids[ou],
                "type": "ORGANIZATIONAL_UNIT",
                "name": ou,
                "parent": root,
                "policies": ou_policies[ou],
            }
        )
    for i, acct in enumerate(accounts):
        ou = OUS[0] if i == 0 else rng.choices(OUS, (5, 3, 2))[0]
        level = ["p-FullAWSAccess"]
        draw = rng.random()
        if draw < 0.15:
            level = ["p-allowlist"]
        elif draw < 0.35:
            level.append("p-nodelete")
        targets.append(
            {
                "id": acct,
                "type": "ACCOUNT",
                "name": f"acct-{i:02d}",
                "parent": ou_ids[ou],
                "policies": level,
            }
        )
    return {
        "format": "lspolicy-organization/1",
        "organization": {
            "id": org,
            "arn": f"arn:aws:organizations::{MANAGEMENT}:organization/{org}",
            "management_account_id": MANAGEMENT,
        },
        "policies": policies,
        "targets": targets,
    }


def _instances(
    acct: _Account, count: int, regions: Sequence[str], rng: random.Random
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(region, instance) for ``count`` instances of the account, region by region."""
    ids = _Ids(rng)
    env_cum = list(itertools.accumulate(w for _, w in ENVS))
    key_cum = list(itertools.accumulate(w for _, w in ENV_KEYS))
    region_counts = [0] * len(regions)
    for r in rng.choices(range(len(regions)), cum_weights=_zipf(len(regions), 1.2), k=count):
        region_counts[r] += 1
    seq = 0
    for region, n in zip(regions, region_counts, strict=True):
        for _ in range(n):
            seq += 1
            tags: list[dict[str, str]] = []
            team = None
            env = "none"
            if rng.random() >= 0.06:
                team = acct.team() if rng.random() < 0.85 else None
                if team is not None:
                    tags.append({"key": "team", "value": team})
                if rng.random() < 0.9:
                    env = rng.choices(ENVS, cum_weights=env_cum)[0][0]
                    key = rng.choices(ENV_KEYS, cum_weights=key_cum)[0][0]
                    tags.append({"key": key, "value": env})
                if rng.random() < 0.7:
                    owner = rng.choices(acct.user_names, cum_weights=acct.user_cum)[0]
                    tags.append({"key": "owner", "value": owner})
                if rng.random() < 0.4:
                    tags.append({"key": "cost-center", "value": f"cc-{rng.randrange(1000, 1100)}"})
            name = f"{team or 'misc'}-{env.lower()}-a{acct.index:02d}-{seq:05d}"
            uid = ids.uuid()
            octet = seq % 250 + 1
            state = rng.choices((("running", 16), ("stopped", 80)), (85, 15))[0]
            yield (
                region,
                {
                    "name": name,
                    "arn": f"arn:aws:lightsail:{region}:{acct.id}:Instance/{uid}",
                    "supportCode": f"{acct.id}/i-{uid[:17].replace('-', '')}",
                    "createdAt": CREATED,
                    "location": {"availabilityZone": f"{region}a", "regionName": region},
                    "resourceType": "Instance",
                    "tags": tags,
                    "blueprintId": "ubuntu_22_04",
                    "blueprintName": "Ubuntu",
                    "bundleId": "small_3_0",
                    "isStaticIp": False,
                    "privateIpAddress": f"172.26.{seq // 250 % 250}.{octet}",
                    "publicIpAddress": f"198.51.100.{octet}",
                    "hardware": {"cpuCount": 1, "ramSizeInGb": 2.0},
                    "state": {"code": state[1], "name": state[0]},
                    "username": "ubuntu",
                    "sshKeyName": "default",
                },
            )


class _InstanceWriter:
    """One get-instances file per region of an account, written one instance at a time."""

    def __init__(self, out: Path, account: str) -> None:
        self.out = out
        self.account = account
        self.files: dict[str, TextIO] = {}
        self.first: dict[str, bool] = {}
        self.names: list[str] = []

    def write(self, region: str, instance: dict[str, Any]) -> None:
        f = self.files.get(region)
        if f is None:
            name = f"instances-{self.account}-{region}.json"
            self.names.append(name)
            f = self.files[region] = (self.out / name).open("w", encoding="utf-8")
            f.write('{\n    "instances": [\n')
            self.first[region] = True
        if not self.first[region]:
            f.write(",\n")
        self.first[region] = False
        text = json.dumps(instance, indent=4)
        f.write("        " + text.replace("\n", "\n        "))

    def close(self) -> list[str]:
        for f in self.files.values():
            f.write("\n    ]\n}\n")
            f.close()
        return self.names


def generate(out: str | Path, *, seed: int = 1, scale: str = "full") -> Manifest:
    """Write the organization of ``scale`` for ``seed`` into ``out``; the same seed and scale
    always write the same bytes."""
    spec = SCALES[scale]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    accounts = [account_id(i) for i in range(spec.accounts)]
    manifest = Manifest(seed=seed, scale=scale, accounts=accounts, management_account=MANAGEMENT)
    regions = REGIONS[: spec.regions]
    per, extra = divmod(spec.principals, spec.accounts)
    iper, iextra = divmod(spec.instances, spec.accounts)
    security = accounts[0] if spec.accounts > 1 else None
    samples: list[str] = []
    for i, acct_id in enumerate(accounts):
        arng = random.Random(f"{seed}/{scale}/{acct_id}")
        acct = _Account(i, per + (i < extra), arng, None if i == 0 else security)
        name = f"auth-details-{acct_id}.json"
        with (out / name).open("w", encoding="utf-8") as f:
            json.dump(acct.auth_details(), f, indent=4)
        manifest.auth_details.append(name)
        manifest.users += len(acct.users)
        manifest.roles += len(acct.roles)
        manifest.groups += len(acct.groups)
        manifest.policies += len(acct.policies)
        manifest.boundaries += acct.boundaries
        writer = _InstanceWriter(out, acct_id)
        # who-can samples: a prod instance with an owner, a dev one with a team, an untagged one
        kinds: dict[str, str] = {}
        count = iper + (i < iextra)
        for region, instance in _instances(acct, count, regions, arng):
            writer.write(region, instance)
            manifest.instances += 1
            tags = {t["key"]: t["value"] for t in instance["tags"]}
            if tags.get("env") == "prod" and "owner" in tags:
                kinds.setdefault("prod", instance["arn"])
            elif tags.get("env") == "dev" and "team" in tags:
                kinds.setdefault("dev", instance["arn"])
            elif not tags:
                kinds.setdefault("untagged", instance["arn"])
        manifest.instance_files += writer.close()
        samples += [kinds[k] for k in ("prod", "dev", "untagged") if k in kinds]
        del acct
    manifest.sample_instances = samples
    with (out / manifest.organization).open("w", encoding="utf-8") as f:
        json.dump(organization(accounts, random.Random(f"{seed}/{scale}/org")), f, indent=2)
    with (out / "manifest.json").open("w", encoding="utf-8") as f:
        json.dump(asdict(manifest), f, indent=2)
    return manifest


def load_manifest(out: str | Path) -> Manifest | None:
    """The manifest in ``out`` (``None`` when there is none or it does not read)."""
    try:
        data = json.loads((Path(out) / "manifest.json").read_text(encoding="utf-8"))
        return Manifest(**data)
    except (OSError, ValueError, TypeError):
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """``python bench/orggen.py --out DIR --seed N --scale full|account|small``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", required=True, help="directory to write (created)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    args = parser.parse_args(argv)
    m = generate(args.out, seed=args.seed, scale=args.scale)
    print(
        f"{args.out}: {len(m.accounts)} accounts, {m.users} users + {m.roles} roles = "
        f"{m.principals} principals ({m.boundaries} with a boundary), {m.groups} groups, "
        f"{m.policies} managed policies, {m.instances} instances in "
        f"{len(m.instance_files)} files"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
