"""Property: for random small organizations, every ``who-can`` answer equals brute force.

Brute force: for every principal, every chain of distinct roles (not the principal itself) up
to the depth limit, each hop decided by the engine (``sts:AssumeRole`` with the trust policy,
`lspolicy.account.reach.assume`), the last identity's own decision on the instance; the best
chain is the smallest by (conditional, length, role ARNs). ``who-can`` must name exactly the
principals brute force finds, with the same chain and the same decision. Semantics of each hop
are the IAM docs' (cited in `lspolicy.account.reach`); this property checks the search.

A second property checks a decision against the engine directly: for policies without caller
keys, the review's answer for a principal is ``allowed`` exactly when a `lspolicy.PolicySet` of
the principal's identity policies, boundary and SCPs allows the request.
"""

from __future__ import annotations

import itertools
import json

from hypothesis import given
from hypothesis import strategies as st

from lspolicy import PolicySet, parse_policy
from lspolicy.account.model import (
    Group,
    Instance,
    Inventory,
    ManagedPolicy,
    NamedPolicy,
    Role,
    User,
)
from lspolicy.account.query import Review, instance_context
from lspolicy.account.reach import assume, role_context
from lspolicy.model.policy import Policy
from lspolicy.model.request import Request

ACCOUNTS = ("111111111111", "222222222222")
MAX_CHAIN = 3
STOP = "lightsail:StopInstance"


def _policy(statements: list[dict[str, object]], source: str, kind: str = "identity") -> Policy:
    doc = {"Version": "2012-10-17", "Statement": statements}
    return parse_policy(json.dumps(doc), source=source, kind=kind, max_size=0)  # type: ignore[arg-type]


def _role_arn(account: str, i: int) -> str:
    return f"arn:aws:iam::{account}:role/R{i}"


@st.composite
def organizations(draw: st.DrawFn, *, caller_keys: bool = True) -> Inventory:
    n_users = draw(st.integers(0, 3))
    n_roles = draw(st.integers(1, 5))
    user_accts = [draw(st.sampled_from(ACCOUNTS)) for _ in range(n_users)]
    role_accts = [draw(st.sampled_from(ACCOUNTS)) for _ in range(n_roles)]
    users = [f"arn:aws:iam::{a}:user/u{i}" for i, a in enumerate(user_accts)]
    roles = [_role_arn(a, i) for i, a in enumerate(role_accts)]
    team = st.sampled_from(["a", "b"])
    conditions = [
        None,
        {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
        {"StringEquals": {"aws:ResourceTag/env": "dev"}},
    ]
    if caller_keys:
        conditions.append({"Bool": {"aws:MultiFactorAuthPresent": "true"}})

    def identity_statements() -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(
                st.sampled_from(
                    ["assume", "assume-any", "assume-any", "stop", "stop-account", "deny-prod"]
                )
            )
            cond = draw(st.sampled_from(conditions))
            if kind == "assume" and roles:
                s: dict[str, object] = {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Resource": draw(st.sampled_from(roles)),
                }
            elif kind == "assume-any":
                s = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}
            elif kind == "stop":
                s = {"Effect": "Allow", "Action": STOP, "Resource": "*"}
            elif kind == "stop-account":
                s = {
                    "Effect": "Allow",
                    "Action": STOP,
                    "Resource": f"arn:aws:lightsail:*:{draw(st.sampled_from(ACCOUNTS))}:Instance/*",
                }
            else:
                s = {
                    "Effect": "Deny",
                    "Action": STOP,
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}},
                }
            if cond is not None and "Condition" not in s and s["Effect"] == "Allow":
                s["Condition"] = cond
            out.append(s)
        return out

    inv = Inventory()
    boundary = _policy(
        [{"Effect": "Allow", "Action": ["sts:AssumeRole", "lightsail:Get*"], "Resource": "*"}],
        "arn:aws:iam::111111111111:policy/B",
    )
    inv.policies[boundary.source] = ManagedPolicy(boundary.source, "B", boundary)
    for i, arn in enumerate(users):
        acct = user_accts[i]
        group = f"arn:aws:iam::{acct}:group/g"
        in_group = draw(st.booleans())
        if in_group and group not in inv.groups:
            inv.groups[group] = Group(
                group,
                "g",
                inline=(
                    NamedPolicy(
                        "gp",
                        _policy(
                            identity_statements()
                            or [{"Effect": "Deny", "Action": "iam:Nothing", "Resource": "*"}],
                            group + "#gp",
                        ),
                    ),
                ),
            )
        inv.users[arn] = User(
            arn=arn, name=f"u{i}", user_id=f"AIDA{i}",
            inline=(NamedPolicy("p", _policy(identity_statements() or [{"Effect": "Deny", "Action": "iam:Nothing", "Resource": "*"}], arn + "#p")),),
            groups=("g",) if in_group else (),
            boundary=boundary.source if draw(st.booleans()) and draw(st.booleans()) else None,
            tags={"team": draw(team)} if draw(st.booleans()) else {},
        )  # fmt: skip
    principals = users + roles
    for i, arn in enumerate(roles):
        acct = role_accts[i]
        trust: list[dict[str, object]] = []
        for _ in range(draw(st.integers(1, 2))):
            who = draw(st.sampled_from(["root-own", "root-own", "root-other", "arn", "service"]))
            if who == "root-own":
                principal: object = {"AWS": f"arn:aws:iam::{acct}:root"}
            elif who == "root-other":
                principal = {"AWS": draw(st.sampled_from(ACCOUNTS))}
            elif who == "arn":
                principal = {"AWS": draw(st.sampled_from(principals))}
            else:
                principal = {"Service": "ec2.amazonaws.com"}
            s = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
            if caller_keys and draw(st.booleans()) and draw(st.booleans()):
                s["Condition"] = {"StringEquals": {"sts:ExternalId": "x"}}
            trust.append(s)
        inv.roles[arn] = Role(
            arn=arn, name=f"R{i}", role_id=f"AROA{i}",
            trust=_policy(trust, arn + "#trust", "resource"),
            inline=(NamedPolicy("p", _policy(identity_statements() or [{"Effect": "Deny", "Action": "iam:Nothing", "Resource": "*"}], arn + "#p")),),
            tags={"team": draw(team)} if draw(st.booleans()) else {},
        )  # fmt: skip
    if draw(st.booleans()):
        inv.has_organization = True
        full = _policy([{"Effect": "Allow", "Action": "*", "Resource": "*"}], "scp/full", "scp")
        deny = _policy(
            [{"Effect": "Deny", "Action": STOP, "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}}}],
            "scp/deny-prod", "scp",
        )  # fmt: skip
        for acct in ACCOUNTS:
            inv.scp_levels[acct] = draw(
                st.sampled_from([((full,),), ((full,), (full, deny)), None])
            )
    for i in range(draw(st.integers(1, 3))):
        acct = draw(st.sampled_from(ACCOUNTS))
        arn = f"arn:aws:lightsail:us-east-1:{acct}:Instance/i{i}"
        inv.instances[arn] = Instance(
            f"i{i}",
            arn,
            "us-east-1",
            tags={"env": draw(st.sampled_from(["prod", "dev"])), "team": draw(team)},
        )
    return inv


def brute_force(inv: Inventory, instance: Instance) -> dict[str, tuple[tuple[str, ...], str]]:
    review = Review(inv, max_chain=MAX_CHAIN)
    auth = review.authority
    roles = sorted(inv.roles)
    out: dict[str, tuple[tuple[str, ...], str]] = {}
    for principal in auth.principals():
        best: tuple[bool, int, tuple[str, ...]] | None = None
        others = [r for r in roles if r != principal]
        for length in range(MAX_CHAIN + 1):
            for chain in itertools.permutations(others, length):
                conditional = False
                caller = principal
                ok = True
                for role in chain:
                    verdict = assume(auth, auth.actor(caller), inv.roles[role])
                    if not verdict.reaches:
                        ok = False
                        break
                    conditional |= verdict.answer != "allowed"
                    caller = role
                if not ok:
                    continue
                final = auth.decide(
                    auth.actor(caller), STOP, instance.arn, instance_context(instance)
                )
                if not final.reaches:
                    continue
                key = (conditional or final.answer != "allowed", len(chain), tuple(chain))
                if best is None or key < best:
                    best = key
        if best is not None:
            out[principal] = (best[2], "conditional" if best[0] else "allowed")
    return out


@given(organizations())
def test_who_can_equals_brute_force(inv: Inventory) -> None:
    """Every who-can answer (principals, chains, decisions) equals brute force over all chains."""
    review = Review(inv, max_chain=MAX_CHAIN)
    for instance in inv.instances.values():
        got = {
            a.principal: (
                tuple(h.role for h in a.via),
                "conditional" if a.conditional else "allowed",
            )
            for a in review.who_can(STOP, instance)
        }
        assert got == brute_force(inv, instance)


@given(organizations(caller_keys=False))
def test_direct_decision_is_the_engines(inv: Inventory) -> None:
    """Without caller keys, a principal's own answer is the engine's decision on its layers
    (identity policies incl. groups', boundary, its account's SCP levels)."""
    review = Review(inv, max_chain=MAX_CHAIN)
    for principal in review.authority.principals():
        actor = review.authority.actor(principal)
        policies = PolicySet(actor.identity, boundary=actor.boundary, scps=actor.scps)
        for instance in inv.instances.values():
            request = Request(
                STOP,
                instance.arn,
                {**actor.context, **instance_context(instance)},
                caller_arn=actor.caller_arn,
            )
            expected = policies.evaluate(request).decision
            assert review.final(principal, STOP, instance).answer == expected


@given(organizations())
def test_trust_prefilter_never_changes_a_hop(inv: Inventory) -> None:
    """`assume` skips the engine when no Allow statement of the trust policy names the caller;
    that shortcut must agree with the engine's full decision on every hop (a trust policy must
    allow the caller explicitly:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html)."""
    review = Review(inv, max_chain=MAX_CHAIN)
    auth = review.authority
    for principal in auth.principals():
        actor = auth.actor(principal)
        for role in inv.roles.values():
            assert role.trust is not None
            full = auth.decide(
                actor, "sts:AssumeRole", role.arn, role_context(role), resource_policy=role.trust
            )
            assert assume(auth, actor, role).answer == full.answer
