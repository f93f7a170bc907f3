"""Property: the fast path of the account review answers exactly as the slow reference path.

The fast path (`lspolicy.account.decide.Actor.sets`, `lspolicy.account.reach.TrustIndex`)
compiles a caller's identity policies, boundary and SCP levels once and attaches each role's
trust policy as the resource-based layer (`lspolicy.PolicySet.with_resource_policy`); it tries
only the roles whose trust policy may name the caller, and skips trust policies that only
delegate to the caller's account when no identity statement of the caller names
``sts:AssumeRole``. The reference (``Authority(..., _reference=True)``) compiles every set anew
and tries every role for every caller.

The rules both paths implement are AWS's, as `lspolicy.account.reach` cites them: a trust
policy that names the account delegates to the caller's identity policies, one that names the
caller is enough within the account ("To allow a user to assume a role in the same account, you
can do either of the following: attach a policy to the user that allows the user to call
AssumeRole (as long as the role's trust policy trusts the account), or add the user as a
principal directly in the role's trust policy",
https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html); across accounts both
sides must allow
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html);
``"*"``, account ids, root ARNs, role ARNs (naming the role's sessions) and ``NotPrincipal`` as
the Principal element documents them
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html).
The organizations drawn here use all of those shapes, caller keys in Allow and Deny statements
(MFA, external id), denies of ``sts:AssumeRole``, boundaries and SCPs. The property is equality
of every answer: one-hop verdicts (answer, deciding statements, caller conditions), every
principal's reach with its chains, and ``Review.access`` for every principal, instance and
action.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from lspolicy import PolicySet, parse_policy
from lspolicy.account.decide import Authority
from lspolicy.account.model import Instance, Inventory, ManagedPolicy, NamedPolicy, Role, User
from lspolicy.account.query import Review
from lspolicy.account.reach import ASSUME_ROLE, Graph, TrustIndex, may_name, role_context
from lspolicy.model.policy import Policy
from lspolicy.model.request import Request

ACCOUNTS = ("111111111111", "222222222222")
ACTIONS = ("lightsail:StopInstance", "lightsail:RebootInstance")
MAX_CHAIN = 3
MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


def _policy(statements: list[dict[str, object]], source: str, kind: str = "identity") -> Policy:
    doc = {"Version": "2012-10-17", "Statement": statements}
    return parse_policy(json.dumps(doc), source=source, kind=kind, max_size=0)  # type: ignore[arg-type]


def _never(source: str) -> Policy:
    return _policy([{"Effect": "Deny", "Action": "iam:Nothing", "Resource": "*"}], source)


@st.composite
def organizations(draw: st.DrawFn) -> Inventory:
    users = [
        f"arn:aws:iam::{draw(st.sampled_from(ACCOUNTS))}:user/u{i}"
        for i in range(draw(st.integers(0, 3)))
    ]
    roles = [
        f"arn:aws:iam::{draw(st.sampled_from(ACCOUNTS))}:role/R{i}"
        for i in range(draw(st.integers(1, 5)))
    ]
    team = st.sampled_from(["a", "b"])

    def identity(source: str) -> Policy:
        out: list[dict[str, object]] = []
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(
                st.sampled_from(
                    ["assume", "assume-any", "assume-glob", "deny-assume", "stop", "deny-prod"]
                )
            )
            s: dict[str, object]
            if kind == "assume":
                s = {
                    "Effect": "Allow",
                    "Action": ASSUME_ROLE,
                    "Resource": draw(st.sampled_from(roles)),
                }
            elif kind == "assume-any":
                s = {"Effect": "Allow", "Action": "sts:Assume*", "Resource": "*"}
            elif kind == "assume-glob":
                s = {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:iam::*:role/R*"}
            elif kind == "deny-assume":
                s = {
                    "Effect": "Deny",
                    "Action": ASSUME_ROLE,
                    "Resource": draw(st.sampled_from(roles)),
                }
                if draw(st.booleans()):
                    s["Condition"] = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
            elif kind == "stop":
                s = {"Effect": "Allow", "Action": "lightsail:*Instance", "Resource": "*"}
            else:
                s = {
                    "Effect": "Deny",
                    "Action": "lightsail:StopInstance",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}},
                }
            cond = draw(
                st.sampled_from(
                    [
                        None,
                        None,
                        MFA,
                        {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
                    ]
                )
            )
            if cond is not None and "Condition" not in s and s["Effect"] == "Allow":
                s["Condition"] = cond
            out.append(s)
        return _policy(out, source) if out else _never(source)

    def trust_principal(acct: str) -> tuple[str, object]:
        who = draw(
            st.sampled_from(
                [
                    "root",
                    "root",
                    "account-id",
                    "other",
                    "arn",
                    "session",
                    "star",
                    "aws-star",
                    "not",
                    "service",
                ]
            )
        )
        if who == "root":
            return "Principal", {"AWS": f"arn:aws:iam::{acct}:root"}
        if who == "account-id":
            return "Principal", {"AWS": acct}
        if who == "other":
            return "Principal", {"AWS": draw(st.sampled_from(ACCOUNTS))}
        if who == "arn":
            return "Principal", {"AWS": draw(st.sampled_from(users + roles))}
        if who == "session":
            role = draw(st.sampled_from(roles))
            account, name = role.split(":")[4], role.rsplit("/", 1)[-1]
            return "Principal", {
                "AWS": f"arn:aws:sts::{account}:assumed-role/{name}/lspolicy-review"
            }
        if who == "star":
            return "Principal", "*"
        if who == "aws-star":
            return "Principal", {"AWS": "*"}
        if who == "not":
            return "NotPrincipal", {"AWS": draw(st.sampled_from(users + roles))}
        return "Principal", {"Service": "ec2.amazonaws.com"}

    inv = Inventory()
    boundary = _policy(
        [{"Effect": "Allow", "Action": ["sts:AssumeRole", "lightsail:Get*"], "Resource": "*"}],
        "arn:aws:iam::111111111111:policy/B",
    )
    inv.policies[boundary.source] = ManagedPolicy(boundary.source, "B", boundary)
    for i, arn in enumerate(users):
        inv.users[arn] = User(
            arn=arn,
            name=f"u{i}",
            user_id=f"AIDA{i}",
            inline=(NamedPolicy("p", identity(arn + "#p")),),
            boundary=boundary.source if draw(st.booleans()) else None,
            tags={"team": draw(team)} if draw(st.booleans()) else {},
        )
    for i, arn in enumerate(roles):
        acct = arn.split(":")[4]
        trust: list[dict[str, object]] = []
        for _ in range(draw(st.integers(1, 2))):
            element, principal = trust_principal(acct)
            effect = "Deny" if draw(st.integers(0, 5)) == 0 else "Allow"
            s: dict[str, object] = {"Effect": effect, element: principal, "Action": ASSUME_ROLE}
            if draw(st.booleans()) and draw(st.booleans()):
                s["Condition"] = draw(
                    st.sampled_from([{"StringEquals": {"sts:ExternalId": "x"}}, MFA])
                )
            trust.append(s)
        inv.roles[arn] = Role(
            arn=arn,
            name=f"R{i}",
            role_id=f"AROA{i}",
            trust=_policy(trust, arn + "#trust", "resource"),
            inline=(NamedPolicy("p", identity(arn + "#p")),),
            boundary=boundary.source if draw(st.integers(0, 3)) == 0 else None,
            tags={"team": draw(team)} if draw(st.booleans()) else {},
        )
    if draw(st.booleans()):
        inv.has_organization = True
        full = _policy([{"Effect": "Allow", "Action": "*", "Resource": "*"}], "scp/full", "scp")
        no_sts = _policy(
            [{"Effect": "Deny", "Action": "sts:*", "Resource": "*", "Condition": MFA}],
            "scp/sts",
            "scp",
        )
        for acct in ACCOUNTS:
            inv.scp_levels[acct] = draw(
                st.sampled_from([((full,),), ((full,), (full, no_sts)), None])
            )
    for i in range(draw(st.integers(1, 2))):
        acct = draw(st.sampled_from(ACCOUNTS))
        arn = f"arn:aws:lightsail:us-east-1:{acct}:Instance/i{i}"
        inv.instances[arn] = Instance(
            f"i{i}",
            arn,
            "us-east-1",
            tags={"env": draw(st.sampled_from(["prod", "dev"])), "team": draw(team)},
        )
    return inv


def _reviews(inv: Inventory) -> tuple[Review, Review]:
    fast = Review(inv, max_chain=MAX_CHAIN)
    slow = Review(inv, max_chain=MAX_CHAIN)
    slow.authority = Authority(inv, _reference=True)
    slow.graph = Graph(slow.authority)
    return fast, slow


@settings(max_examples=60)
@given(organizations())
def test_cached_path_answers_as_the_reference(inv: Inventory) -> None:
    """Every hop, every reach and every access equal between the two paths (module docstring)."""
    fast, slow = _reviews(inv)
    for principal in fast.authority.principals():
        mine, theirs = fast.authority.actor(principal), slow.authority.actor(principal)
        for role in inv.roles.values():
            assert role.trust is not None
            args = (ASSUME_ROLE, role.arn, role_context(role))
            assert fast.authority.decide(mine, *args, resource_policy=role.trust) == (
                slow.authority.decide(theirs, *args, resource_policy=role.trust)
            )
        assert fast.graph.edges(principal) == slow.graph.edges(principal)
        assert fast.reach(principal) == slow.reach(principal)
        for instance in inv.instances.values():
            for action in ACTIONS:
                a = fast.access(principal, action, instance)
                b = slow.access(principal, action, instance)
                assert (a is None) == (b is None)
                if a is not None and b is not None:
                    assert a.to_dict() == b.to_dict()


@settings(max_examples=60)
@given(organizations())
def test_index_candidates_cover_every_naming_trust(inv: Inventory) -> None:
    """`TrustIndex.candidates` holds every role whose trust policy `may_name` the caller (the
    index may only narrow the roles tried, never drop one the engine could allow)."""
    index = TrustIndex(inv.roles)
    auth = Authority(inv)
    for principal in auth.principals():
        caller = auth.actor(principal).caller_arn
        named = {
            a for a, r in inv.roles.items() if r.trust is not None and may_name(r.trust, caller)
        }
        assert named <= set(index.candidates(caller))


@settings(max_examples=60)
@given(organizations())
def test_attached_trust_policy_decides_as_a_full_policy_set(inv: Inventory) -> None:
    """`PolicySet.with_resource_policy` decides every ``sts:AssumeRole`` exactly as a set built
    with all layers, with the same deciding statements (engine rules:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    auth = Authority(inv)
    for principal in auth.principals():
        actor = auth.actor(principal)
        base = PolicySet(actor.identity, boundary=actor.boundary, scps=actor.scps)
        for role in inv.roles.values():
            full = PolicySet(
                actor.identity, boundary=actor.boundary, scps=actor.scps, resource_policy=role.trust
            )
            request = Request(
                ASSUME_ROLE,
                role.arn,
                {**actor.context, **role_context(role)},
                caller_arn=actor.caller_arn,
            )
            attached = base.with_resource_policy(role.trust)
            assert attached.evaluate(request) == full.evaluate(request)
            assert attached.is_allowed(request) == full.is_allowed(request)
