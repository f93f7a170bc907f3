"""The harder workload: many policies per principal, boundaries, session policies, three SCP levels.

The standard workload (``/work/shared/bench``) is the best case for the engine: 20 principals with
1-4 policies each, one account, no SCPs. This generator builds, from a seed, the shape an
organization review meets:

- 3 accounts; an organization with 3 SCP levels (root, the account's OU, the account itself),
  each level one to three SCPs; every principal's requests pass all three levels;
- principals (users and assumed-role sessions) with 10-50 identity policies drawn from a pool of
  generated documents, 40% with a permissions boundary, 15% (sessions) with a session policy;
- every condition family: String (Equals/Like/NotEquals/IgnoreCase), Numeric, Date, Bool, Binary,
  IpAddress/NotIpAddress, Arn (ArnLike/ArnEquals), Null, ``...IfExists``, ``ForAnyValue``/
  ``ForAllValues``; policy variables (``${aws:username}``, ``${aws:PrincipalTag/team}``, with a
  default, ``${*}``) in conditions and in Resource;
- requests (principal, action, instance, extra context), each with an ``aws:CurrentTime`` no
  other has, so that no two requests are alike; about 3% name an instance in another account.

Each request's context is built like the standard workload's (``meta.context_derivation``): a
principal part (``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalType``,
``aws:username`` for users, ``aws:PrincipalTag/<k>``), an instance part (``aws:ResourceTag/<k>``,
``aws:RequestedRegion``) and the request's own extra keys. The expected decisions are not stored:
the benchmark computes them with the explained path (``PolicySet.evaluate``) as the oracle.

Usage: ``python3 bench/harder.py [--seed N] [--requests N]`` prints a summary.
"""

from __future__ import annotations

import argparse
import base64
import random
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

JsonDoc = dict[str, Any]
Context = dict[str, Any]

SEED = 20261203
ACCOUNTS = ("111122223333", "444455556666", "777788889999")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "ap-south-1")
TEAMS = ("web", "search", "data", "infra", "ml", "payments", "mobile", "growth")
ENVS = ("dev", "staging", "prod", "qa", "sandbox")
COST_CENTERS = tuple(f"CC-{1000 + i}" for i in range(12))
NETWORKS = ("198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/24", "10.0.0.0/8")
ACTIONS = (
    "lightsail:StopInstance",
    "lightsail:StartInstance",
    "lightsail:RebootInstance",
    "lightsail:DeleteInstance",
    "lightsail:GetInstance",
    "lightsail:GetInstances",
    "lightsail:CreateInstanceSnapshot",
    "lightsail:TagResource",
    "lightsail:UntagResource",
    "lightsail:AttachStaticIp",
    "lightsail:OpenInstancePublicPorts",
    "lightsail:UpdateInstanceMetadataOptions",
)
ACTION_WEIGHTS = (30, 12, 10, 4, 12, 4, 5, 6, 3, 3, 3, 2)
ACTION_PATTERNS = (
    "lightsail:*",
    "lightsail:Get*",
    "lightsail:Stop*",
    "lightsail:Start*",
    "lightsail:*Instance",
    "lightsail:Reboot?nstance",
    "LightSail:stopinstance",
    "lightsail:*Tag*",
    "lightsail:Create*",
    "lightsail:Delete*",
    "lightsail:*StaticIp",
    "lightsail:OpenInstancePublicPorts",
)


@dataclass(frozen=True)
class Principal:
    """A user or an assumed-role session, with the names of the documents that apply to it."""

    arn: str
    account: str
    kind: str  # "user" | "session"
    name: str
    tags: dict[str, str]
    policies: tuple[str, ...]
    boundary: str | None
    session: str | None

    def context(self) -> Context:
        """The principal's part of every request context."""
        out: Context = {
            "aws:PrincipalArn": self.arn,
            "aws:PrincipalAccount": self.account,
            "aws:PrincipalType": "User" if self.kind == "user" else "AssumedRole",
        }
        if self.kind == "user":
            out["aws:username"] = self.name
        for key, value in self.tags.items():
            out[f"aws:PrincipalTag/{key}"] = value
        return out


@dataclass(frozen=True)
class Instance:
    """A Lightsail instance: ARN, account, region and tags."""

    arn: str
    account: str
    region: str
    tags: dict[str, str]

    def context(self) -> Context:
        """The instance's part of every request context."""
        out: Context = {f"aws:ResourceTag/{k}": v for k, v in self.tags.items()}
        out["aws:RequestedRegion"] = self.region
        return out


@dataclass(frozen=True)
class Request:
    """One request: who, what, on which instance, and the request's own context keys."""

    principal: int
    action: str
    instance: int
    extra: Context


@dataclass(frozen=True)
class HardWorkload:
    """Everything a benchmark needs; policies as JSON documents by name."""

    seed: int
    policies: dict[str, JsonDoc]
    scp_levels: dict[str, tuple[tuple[str, ...], ...]]  # account -> names per level, root first
    principals: list[Principal]
    instances: list[Instance]
    requests: list[Request]

    def scps_of(self, principal: Principal) -> list[list[str]]:
        return [list(level) for level in self.scp_levels[principal.account]]


# --------------------------------------------------------------------------------------------
# documents
# --------------------------------------------------------------------------------------------


def _doc(statements: list[JsonDoc]) -> JsonDoc:
    return {"Version": "2012-10-17", "Statement": statements}


def _instance_arn(rng: random.Random, account: str, *, wide: bool = False) -> str:
    region = "*" if wide or rng.random() < 0.5 else rng.choice(REGIONS)
    return f"arn:aws:lightsail:{region}:{account}:Instance/*"


def _condition(rng: random.Random, family: str) -> JsonDoc:
    """One condition block of the given family (the table below names them all)."""
    if family == "string":
        op = rng.choice(["StringEquals", "StringLike", "StringNotEquals", "StringEqualsIgnoreCase"])
        key = rng.choice(["aws:ResourceTag/env", "aws:ResourceTag/team", "aws:RequestedRegion"])
        pool = {"aws:ResourceTag/env": ENVS, "aws:ResourceTag/team": TEAMS}.get(key, REGIONS)
        values = rng.sample(pool, rng.randint(1, 3))
        if op == "StringLike":
            values = [v[: rng.randint(1, 3)] + "*" for v in values]
        if op == "StringEqualsIgnoreCase":
            values = [v.upper() for v in values]
        return {op: {key: values if len(values) > 1 else values[0]}}
    if family == "variable":
        choice = rng.randrange(4)
        if choice == 0:
            return {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}
        if choice == 1:
            return {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}}
        if choice == 2:
            return {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team, 'shared'}"}}
        return {"StringLike": {"aws:ResourceTag/lifecycle": "keep${*}"}}
    if family == "numeric":
        op = rng.choice(["NumericGreaterThanEquals", "NumericLessThan", "NumericEquals"])
        return {op: {"aws:PrincipalTag/clearance": str(rng.randint(1, 5))}}
    if family == "numeric_request":
        return {"NumericLessThanIfExists": {"aws:MultiFactorAuthAge": str(rng.choice([600, 3600]))}}
    if family == "date":
        op = rng.choice(["DateLessThan", "DateGreaterThan"])
        day = rng.randint(1, 28)
        return {op: {"aws:CurrentTime": f"2026-{rng.randint(1, 12):02d}-{day:02d}T00:00:00Z"}}
    if family == "bool":
        op = rng.choice(["Bool", "BoolIfExists"])
        return {op: {rng.choice(["aws:MultiFactorAuthPresent", "aws:SecureTransport"]): "true"}}
    if family == "binary":
        blob = base64.b64encode(rng.choice([b"alpha", b"beta", b"gamma"])).decode()
        return {"BinaryEquals": {"aws:RequestTag/blob": blob}}
    if family == "ip":
        op = rng.choice(["IpAddress", "NotIpAddress"])
        return {op: {"aws:SourceIp": rng.sample(NETWORKS, rng.randint(1, 3))}}
    if family == "arn":
        op = rng.choice(["ArnLike", "ArnEquals", "ArnNotLike"])
        account = rng.choice(ACCOUNTS)
        value = f"arn:aws:iam::{account}:{rng.choice(['user/', 'role/sre-', 'role/'])}*"
        if op == "ArnEquals":
            value = value.replace("*", rng.choice(["alice", "bob", "sre-1"]))
        return {op: {"aws:PrincipalArn": value}}
    if family == "null":
        return {
            "Null": {
                rng.choice(["aws:ResourceTag/owner", "aws:MultiFactorAuthPresent"]): rng.choice(
                    ["true", "false"]
                )
            }
        }
    if family == "set":
        op = rng.choice(["ForAllValues:StringEquals", "ForAnyValue:StringLike"])
        keys = rng.sample(["owner", "cost-center", "team", "env", "Name"], rng.randint(1, 3))
        return {op: {"aws:TagKeys": keys}}
    raise ValueError(family)


FAMILIES = (
    "string", "variable", "numeric", "numeric_request", "date", "bool", "binary", "ip", "arn",
    "null", "set",
)  # fmt: skip


def _statement(rng: random.Random, account: str, sid: str, *, deny: bool) -> JsonDoc:
    st: JsonDoc = {"Sid": sid, "Effect": "Deny" if deny else "Allow"}
    if rng.random() < 0.12:
        st["NotAction"] = rng.sample(ACTION_PATTERNS[1:], rng.randint(1, 2))
    else:
        st["Action"] = rng.sample(ACTION_PATTERNS, rng.randint(1, 3))
    shape = rng.random()
    if shape < 0.35:
        st["Resource"] = "*"
    elif shape < 0.75:
        st["Resource"] = _instance_arn(rng, account)
    elif shape < 0.85:
        st["Resource"] = f"arn:aws:lightsail:*:{account}:Instance/*"
        st["Condition"] = {
            "StringEquals": {"aws:ResourceTag/cost-center": "${aws:PrincipalTag/cost-center}"}
        }
    elif shape < 0.93:
        st["NotResource"] = f"arn:aws:lightsail:{rng.choice(REGIONS)}:{account}:*"
    else:
        st["Resource"] = [_instance_arn(rng, a) for a in rng.sample(ACCOUNTS, 2)]
    block: JsonDoc = dict(st.get("Condition", {}))
    # a Deny always has a condition: an unconditional one on a broad action denies everything
    for family in rng.sample(FAMILIES, rng.choice([1, 1, 2, 3] if deny else [0, 1, 1, 1, 2, 2, 3])):
        for op, body in _condition(rng, family).items():
            block.setdefault(op, {}).update(body)
    if block:
        st["Condition"] = block
    return st


def _identity_pool(rng: random.Random, size: int) -> dict[str, JsonDoc]:
    out: dict[str, JsonDoc] = {}
    for i in range(size):
        account = rng.choice(ACCOUNTS)
        n = rng.randint(1, 4)
        statements = [_statement(rng, account, f"S{j}", deny=rng.random() < 0.12) for j in range(n)]
        out[f"identity-{i:03d}"] = _doc(statements)
    return out


def _boundary_pool(rng: random.Random, size: int) -> dict[str, JsonDoc]:
    out: dict[str, JsonDoc] = {}
    for i in range(size):
        account = rng.choice(ACCOUNTS)
        statements = [
            {"Sid": "Reads", "Effect": "Allow", "Action": "lightsail:Get*", "Resource": "*"},
            {
                "Sid": "Ops",
                "Effect": "Allow",
                "Action": rng.sample(ACTION_PATTERNS, 3),
                "Resource": _instance_arn(rng, account, wide=True),
            },
        ]
        if rng.random() < 0.5:
            statements.append(_statement(rng, account, "Extra", deny=False))
        out[f"boundary-{i:02d}"] = _doc(statements)
    return out


def _session_pool(rng: random.Random, size: int) -> dict[str, JsonDoc]:
    out: dict[str, JsonDoc] = {}
    for i in range(size):
        account = rng.choice(ACCOUNTS)
        out[f"session-{i:02d}"] = _doc(
            [
                {"Sid": "Session", "Effect": "Allow", "Action": rng.sample(ACTION_PATTERNS, 4),
                 "Resource": "*"},
                _statement(rng, account, "SessionExtra", deny=False),
            ]
        )  # fmt: skip
    return out


def _scps(rng: random.Random) -> tuple[dict[str, JsonDoc], dict[str, tuple[tuple[str, ...], ...]]]:
    docs: dict[str, JsonDoc] = {
        "scp-FullAccess": _doc([{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
        "scp-DenyRegions": _doc(
            [
                {
                    "Sid": "DenyOutsideRegions",
                    "Effect": "Deny",
                    "NotAction": "lightsail:Get*",
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:RequestedRegion": list(REGIONS[:3])}},
                }
            ]
        ),
        "scp-DenyDeleteProd": _doc(
            [
                {
                    "Sid": "ProtectProd",
                    "Effect": "Deny",
                    "Action": "lightsail:Delete*",
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"aws:ResourceTag/env": "prod"},
                        "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/sre-*"},
                    },
                }
            ]
        ),
        "scp-LightsailOnly": _doc([{"Effect": "Allow", "Action": "lightsail:*", "Resource": "*"}]),
    }
    levels: dict[str, tuple[tuple[str, ...], ...]] = {}
    for n, account in enumerate(ACCOUNTS):
        ou = f"scp-ou-{n}"
        docs[ou] = _doc(
            [
                {"Effect": "Allow", "NotAction": "lightsail:DeleteInstance", "Resource": "*"},
                _statement(rng, account, "OuDeny", deny=True),
            ]
        )
        acct = f"scp-acct-{n}"
        docs[acct] = _doc([_statement(rng, account, "AcctAllow", deny=False)])
        levels[account] = (
            ("scp-FullAccess", "scp-DenyRegions"),
            (ou, "scp-LightsailOnly") if n != 2 else (ou,),
            (acct, "scp-FullAccess", "scp-DenyDeleteProd"),
        )
    return docs, levels


# --------------------------------------------------------------------------------------------
# principals, instances, requests
# --------------------------------------------------------------------------------------------


def _principals(
    rng: random.Random,
    n: int,
    identity: Sequence[str],
    boundaries: Sequence[str],
    sessions: Sequence[str],
) -> list[Principal]:
    out: list[Principal] = []
    for i in range(n):
        account = ACCOUNTS[i % len(ACCOUNTS)]
        is_user = rng.random() < 0.55
        name = f"user{i:03d}" if is_user else f"{rng.choice(['sre-', 'deploy-', 'ops-'])}{i:03d}"
        arn = (
            f"arn:aws:iam::{account}:user/{name}"
            if is_user
            else f"arn:aws:sts::{account}:assumed-role/{name}/session-{i}"
        )
        tags = {"team": rng.choice(TEAMS), "cost-center": rng.choice(COST_CENTERS)}
        if rng.random() < 0.7:
            tags["clearance"] = str(rng.randint(1, 5))
        if rng.random() < 0.2:
            del tags["team"]
        out.append(
            Principal(
                arn=arn,
                account=account,
                kind="user" if is_user else "session",
                name=name,
                tags=tags,
                policies=tuple(rng.sample(identity, rng.randint(10, 50))),
                boundary=rng.choice(boundaries) if rng.random() < 0.4 else None,
                session=rng.choice(sessions) if not is_user and rng.random() < 0.33 else None,
            )
        )
    return out


def _instances(rng: random.Random, n: int, principals: Sequence[Principal]) -> list[Instance]:
    owners = [p.name for p in principals if p.kind == "user"]
    out: list[Instance] = []
    for i in range(n):
        account = ACCOUNTS[i % len(ACCOUNTS)]
        region = rng.choice(REGIONS)
        tags: dict[str, str] = {}
        for key, pool in (
            ("env", ENVS),
            ("team", (*TEAMS, "shared")),
            ("owner", owners),
            ("cost-center", COST_CENTERS),
        ):
            if rng.random() < 0.85:
                tags[key] = rng.choice(pool)
        if rng.random() < 0.1:
            tags["lifecycle"] = rng.choice(["keep${*}", "keep-forever", "temp"])
        tags["Name"] = f"host-{i:05d}"
        arn = f"arn:aws:lightsail:{region}:{account}:Instance/{uuid.UUID(int=rng.getrandbits(128))}"
        out.append(Instance(arn, account, region, tags))
    return out


def _extra(rng: random.Random, action: str, t: int) -> Context:
    extra: Context = {
        "aws:CurrentTime": f"2026-{1 + t // 2_400_000 % 12:02d}-{1 + t // 86400 % 28:02d}"
        f"T{t // 3600 % 24:02d}:{t // 60 % 60:02d}:{t % 60:02d}Z",
        "aws:SourceIp": f"{rng.choice(['198.51.100', '203.0.113', '192.0.2', '10.1.2', '172.16.0'])}.{rng.randint(1, 254)}",
        "aws:SecureTransport": rng.choice(["true", "true", "false"]),
    }
    if rng.random() < 0.7:
        extra["aws:MultiFactorAuthPresent"] = rng.choice(["true", "false"])
        extra["aws:MultiFactorAuthAge"] = str(rng.randint(0, 7200))
    if action.endswith("TagResource"):
        extra["aws:TagKeys"] = rng.sample(
            ["owner", "cost-center", "team", "env", "Name"], rng.randint(0, 3)
        )
    if rng.random() < 0.2:
        extra["aws:RequestTag/blob"] = base64.b64encode(rng.choice([b"alpha", b"beta"])).decode()
    return extra


def generate(
    seed: int = SEED, *, principals: int = 100, instances: int = 3000, requests: int = 100_000
) -> HardWorkload:
    """The workload for ``seed`` (deterministic: same seed, same workload)."""
    rng = random.Random(seed)
    identity = _identity_pool(rng, 400)
    boundaries = _boundary_pool(rng, 24)
    sessions = _session_pool(rng, 12)
    scp_docs, levels = _scps(rng)
    people = _principals(rng, principals, list(identity), list(boundaries), list(sessions))
    fleet = _instances(rng, instances, people)
    by_account: dict[str, list[int]] = {}
    for i, inst in enumerate(fleet):
        by_account.setdefault(inst.account, []).append(i)
    reqs: list[Request] = []
    t = 1_700_000
    for _ in range(requests):
        who = rng.randrange(len(people))
        account = people[who].account
        if rng.random() < 0.03:
            account = rng.choice([a for a in ACCOUNTS if a != account])
        action = rng.choices(ACTIONS, ACTION_WEIGHTS)[0]
        # t only grows, and no two t below ~28,800,000 give the same aws:CurrentTime text (its
        # month and day wrap at different points, so the text itself does not always grow):
        # no request repeats
        t += rng.randint(1, 30)
        reqs.append(Request(who, action, rng.choice(by_account[account]), _extra(rng, action, t)))
    return HardWorkload(
        seed=seed,
        policies={**identity, **boundaries, **sessions, **scp_docs},
        scp_levels=levels,
        principals=people,
        instances=fleet,
        requests=reqs,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/harder.py", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--requests", type=int, default=100_000)
    args = parser.parse_args(argv)
    work = generate(args.seed, requests=args.requests)
    sizes = [len(p.policies) for p in work.principals]
    print(f"seed {work.seed}: {len(work.policies)} documents, {len(work.principals)} principals")
    print(f"  policies per principal {min(sizes)}-{max(sizes)}, mean {sum(sizes) / len(sizes):.1f}")
    print(f"  boundaries {sum(p.boundary is not None for p in work.principals)}, "
          f"session policies {sum(p.session is not None for p in work.principals)}")  # fmt: skip
    print(f"  {len(work.instances)} instances, {len(work.requests):,} requests")
    keys = {
        (r.principal, r.action, r.instance, tuple(sorted(map(str, r.extra.items()))))
        for r in work.requests
    }
    print(f"  distinct requests {len(keys):,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
