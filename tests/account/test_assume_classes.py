"""Property: principal classes formed by caller class (`lspolicy.account.principal_classes`)
are the per-principal reference's, exactly.

For random small organizations (the generator of ``test_account_properties.py``: users in
groups, roles with trust chains, boundaries, SCPs, tag conditions, external ids and MFA), with
extra principals that share policy objects and differ only in what a policy may read of them,
and trust policies that name user ARNs, read ``aws:PrincipalArn``, ``aws:PrincipalTag/team``
or ``aws:username``, trust everyone (``"*"``), another account, or use ``NotPrincipal``, and
identity policies and SCPs that allow or deny ``sts:AssumeRole`` by the role's tags, the
caller's tags or ARN, or a Resource with a policy variable, every principal must get:

- the same one-hop assumptions (role, answer, deciding statements, caller conditions) as
  `lspolicy.account.reach.edges` asked for that principal alone;
- the same reach (every role, each chain and each hop's decision: `classes.reach_signature`);
- the same principal class partition, ids and representatives as the per-principal loop.

The rules the decisions follow are the engine's and the IAM docs' (cited in
`lspolicy.account.reach`): a trust policy naming the caller suffices within the account, one
naming the account (``arn:aws:iam::ACCOUNT:root``) needs the caller's identity policies to
allow too ("AWS JSON policy elements: Principal",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html;
STS AssumeRole API reference, https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html),
a user's boundary must allow ``sts:AssumeRole`` ("Update a role trust policy",
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_update-role-trust-policy.html). This
property checks that deciding once per caller class changes none of those answers.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_account_properties import (  # same folder (rootdir import)
    ACCOUNTS,
    MAX_CHAIN,
    organizations,
)

from lspolicy import parse_policy
from lspolicy.account.assume_classes import fill_edges
from lspolicy.account.classes import (
    InstanceClasses,
    find_join_features,
    reach_signature,
    role_values,
    verdict_signature,
)
from lspolicy.account.decide import Authority
from lspolicy.account.model import Inventory, ManagedPolicy, NamedPolicy, Role, User
from lspolicy.account.principal_classes import (
    form_principal_classes,
    reference_principal_classes,
)
from lspolicy.account.query import Review
from lspolicy.account.reach import edges
from lspolicy.account.review import ClassReview
from lspolicy.model.policy import Policy

SHARED = "arn:aws:iam::111111111111:policy/Assume"


def _policy(statements: list[dict[str, object]], source: str, kind: str = "identity") -> Policy:
    doc = {"Version": "2012-10-17", "Statement": statements}
    return parse_policy(json.dumps(doc), source=source, kind=kind, max_size=0)  # type: ignore[arg-type]


@st.composite
def assume_organizations(draw: st.DrawFn) -> Inventory:
    inv = draw(organizations())
    roles = sorted(inv.roles)
    # one shared policy object allowing sts:AssumeRole under a drawn condition: its holders
    # are one caller class unless what the condition reads of them differs
    condition = draw(
        st.sampled_from(
            [
                None,
                {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
                {"StringEquals": {"aws:PrincipalTag/team": "${aws:ResourceTag/team}"}},
                {"StringEquals": {"aws:PrincipalTag/team": "a"}},
                {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/m*"}},
                {"StringEquals": {"aws:username": "m0"}},
                {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            ]
        )
    )
    resource = draw(
        st.sampled_from(["*", "arn:aws:iam::*:role/R${aws:PrincipalTag/team}", roles[0]])
    )
    statement: dict[str, object] = {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": resource,
    }
    if condition is not None:
        statement["Condition"] = condition
    shared = [statement]
    # a statement on one role: roles whose trust policies are alike must still be told apart
    # by the caller's Resource elements
    extra = draw(st.sampled_from([None, "Allow", "Deny"]))
    if extra is not None:
        one: dict[str, object] = {
            "Effect": extra,
            "Action": "sts:AssumeRole",
            "Resource": draw(st.sampled_from(roles)),
        }
        if extra == "Deny":
            one["Condition"] = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
        shared.append(one)
    if draw(st.booleans()):
        shared.append({"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*"})
    inv.policies[SHARED] = ManagedPolicy(SHARED, "Assume", _policy(shared, SHARED))
    boundary = "arn:aws:iam::111111111111:policy/B"
    for n in range(draw(st.integers(2, 4))):
        account = draw(st.sampled_from(ACCOUNTS))
        arn = f"arn:aws:iam::{account}:user/m{n}"
        inv.users[arn] = User(
            arn,
            f"m{n}",
            user_id=f"AIDAM{n}",
            managed=(SHARED,),
            groups=("g",) if inv.group(account, "g") is not None and draw(st.booleans()) else (),
            boundary=boundary if draw(st.booleans()) and draw(st.booleans()) else None,
            tags={"team": draw(st.sampled_from(["a", "b"]))} if draw(st.booleans()) else {},
        )
    for role in draw(st.lists(st.sampled_from(roles), max_size=2, unique=True)):
        inv.roles[role] = dataclasses.replace(inv.roles[role], managed=(SHARED,))
    principals = sorted([*inv.users, *inv.roles])
    # trust policies that single callers out, read what differs between them, or trust all
    for role in draw(st.lists(st.sampled_from(roles), max_size=3, unique=True)):
        r = inv.roles[role]
        account = r.arn.split(":")[4]
        kind = draw(
            st.sampled_from(
                ["users", "principal-arn", "tag", "username", "star", "other", "not-principal"]
            )
        )
        root = f"arn:aws:iam::{account}:root"
        trust: list[dict[str, object]] = [
            {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "sts:AssumeRole"}
        ]
        if kind == "users":
            named = draw(st.lists(st.sampled_from(principals), min_size=1, max_size=2))
            trust.append(
                {"Effect": "Allow", "Principal": {"AWS": named}, "Action": "sts:AssumeRole"}
            )
        elif kind == "principal-arn":
            trust[0]["Condition"] = {
                "ArnLike": {"aws:PrincipalArn": draw(st.sampled_from(principals))}
            }
        elif kind == "tag":
            trust[0]["Condition"] = {"StringEquals": {"aws:PrincipalTag/team": "a"}}
        elif kind == "username":
            trust[0]["Condition"] = {"StringEquals": {"aws:username": "m1"}}
        elif kind == "star":
            trust[0]["Principal"] = "*"
            trust[0]["Condition"] = {"StringEquals": {"sts:ExternalId": "x"}}
        elif kind == "other":
            trust[0]["Principal"] = {"AWS": draw(st.sampled_from(ACCOUNTS))}
        else:
            excluded = draw(st.sampled_from(principals))
            trust.append(
                {
                    "Effect": "Deny",
                    "NotPrincipal": {"AWS": [excluded, f"arn:aws:iam::{account}:root"]},
                    "Action": "sts:AssumeRole",
                }
            )
        inv.roles[role] = dataclasses.replace(
            r, trust=_policy(trust, role + "#trust", "resource"), tags=dict(r.tags)
        )
    if inv.has_organization and draw(st.booleans()):
        # an SCP denying sts:AssumeRole except to one principal (the break-glass shape)
        deny = _policy(
            [
                {
                    "Effect": "Deny",
                    "Action": "sts:AssumeRole",
                    "Resource": "*",
                    "Condition": {
                        "ArnNotLike": {"aws:PrincipalArn": draw(st.sampled_from(principals))}
                    },
                }
            ],
            "scp/deny-assume",
            "scp",
        )
        for account, levels in list(inv.scp_levels.items()):
            if levels is not None and draw(st.booleans()):
                inv.scp_levels[account] = (*levels[:-1], (*levels[-1], deny))
    return inv


def _class_review(inv: Inventory) -> ClassReview:
    """A review as `compute_matrix` builds it (identity classes with its join features)."""
    authority = Authority(inv)
    joins = find_join_features(inv, authority)
    classes = InstanceClasses.build(inv, joins, role_values(inv, authority, joins))
    return ClassReview(inv, classes, max_chain=MAX_CHAIN)


def _edge_view(hops: list[object]) -> list[tuple[str, str]]:
    return [
        (h.role, json.dumps(verdict_signature(h.verdict), sort_keys=True))  # type: ignore[attr-defined]
        for h in hops
    ]


@settings(max_examples=60)
@given(assume_organizations())
def test_classes_equal_the_per_principal_reference(inv: Inventory) -> None:
    fast = _class_review(inv)
    slow = _class_review(inv)

    def presence(review: ClassReview, p: str) -> tuple[bool, ...]:
        return tuple(v is not None for v in review.join_values(p))

    got = form_principal_classes(fast, fast.identity_class, lambda p: presence(fast, p))
    want = reference_principal_classes(slow, slow.identity_class, lambda p: presence(slow, p))
    principals = slow.authority.principals()
    for p in principals:
        one = edges(slow.authority, p, index=slow.graph.index)
        assert _edge_view(fast.graph.edges(p)) == _edge_view(one), p  # type: ignore[arg-type]
        assert reach_signature(fast.reach(p)) == reach_signature(slow.reach(p)), p
    assert got.of == want.of
    assert got.reps == want.reps


@settings(max_examples=30)
@given(assume_organizations())
def test_edges_equal_trying_every_role(inv: Inventory) -> None:
    """Against the slow reference path (every role tried, every set compiled anew)."""
    review = Review(inv, max_chain=MAX_CHAIN)
    principals = review.authority.principals()
    fill_edges(review.graph, principals)
    reference = Authority(inv, _reference=True)
    for p in principals:
        assert _edge_view(review.graph.edges(p)) == _edge_view(edges(reference, p)), p  # type: ignore[arg-type]


def test_a_trust_naming_one_user_splits_a_caller_class() -> None:
    """Two users holding the same policy objects, tags aside nothing differing: a trust that
    names the account root and one of them by ARN. Within the account, naming the user
    suffices ("AWS JSON policy elements: Principal"; STS AssumeRole API reference: "add the
    user as a principal directly in the role's trust policy"), naming the account needs the
    user's own permissions, which neither has: only the named user reaches the role, and the
    two are in different principal classes."""
    account = "111111111111"
    inv = Inventory()
    readonly = f"arn:aws:iam::{account}:policy/ReadOnly"
    inv.policies[readonly] = ManagedPolicy(
        readonly,
        "ReadOnly",
        _policy([{"Effect": "Allow", "Action": "lightsail:Get*", "Resource": "*"}], readonly),
    )
    users = [f"arn:aws:iam::{account}:user/u{n}" for n in range(3)]
    for n, arn in enumerate(users):
        inv.users[arn] = User(arn, f"u{n}", user_id=f"AIDA{n}", managed=(readonly,))
    role = f"arn:aws:iam::{account}:role/Target"
    trust = _policy(
        [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            },
            {"Effect": "Allow", "Principal": {"AWS": users[1]}, "Action": "sts:AssumeRole"},
        ],
        role + "#trust",
        "resource",
    )
    inv.roles[role] = Role(
        arn=role,
        name="Target",
        role_id="AROA1",
        trust=trust,
        inline=(
            NamedPolicy(
                "p",
                _policy(
                    [{"Effect": "Deny", "Action": "iam:Nothing", "Resource": "*"}], role + "#p"
                ),
            ),
        ),
    )
    review = _class_review(inv)
    formed = form_principal_classes(review, review.identity_class)
    assert [sorted(review.reach(u).any) for u in users] == [[], [role], []]
    assert formed.of[users[0]] == formed.of[users[2]] != formed.of[users[1]]
    slow = _class_review(inv)
    assert reference_principal_classes(slow, slow.identity_class) == formed


@pytest.mark.parametrize(
    ("condition", "resource"),
    [
        ({"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}, "*"),
        ({"StringEquals": {"aws:PrincipalTag/team": "${aws:ResourceTag/team}"}}, "*"),
        (None, "arn:aws:iam::111111111111:role/T-${aws:PrincipalTag/team}"),
    ],
)
def test_callers_differing_in_a_value_their_policy_compares_with_the_role(
    condition: dict[str, object] | None, resource: str
) -> None:
    """Two users holding one policy object that allows ``sts:AssumeRole`` on a role of their
    account when the role's ``team`` tag equals theirs (or on the role whose name ends with
    their tag): policy variables are replaced by the request's values before the comparison
    ("IAM policy elements: Variables and tags",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html). The
    trust names the account, so the identity policy decides ("AWS JSON policy elements:
    Principal"): only the user tagged ``a`` reaches ``T-a`` (tagged ``team=a``); the two are
    one caller class only if the tag value is kept."""
    account = "111111111111"
    inv = Inventory()
    shared = f"arn:aws:iam::{account}:policy/Assume"
    statement: dict[str, object] = {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": resource,
    }
    if condition is not None:
        statement["Condition"] = condition
    inv.policies[shared] = ManagedPolicy(shared, "Assume", _policy([statement], shared))
    users = [f"arn:aws:iam::{account}:user/u{team}" for team in ("a", "b")]
    for arn, team in zip(users, ("a", "b"), strict=True):
        inv.users[arn] = User(
            arn, f"u{team}", user_id=f"AIDA{team}", managed=(shared,), tags={"team": team}
        )
    role = f"arn:aws:iam::{account}:role/T-a"
    trust = _policy(
        [{"Effect": "Allow", "Principal": {"AWS": account}, "Action": "sts:AssumeRole"}],
        role + "#trust",
        "resource",
    )
    inv.roles[role] = Role(arn=role, name="T-a", role_id="AROA1", trust=trust, tags={"team": "a"})
    review = _class_review(inv)
    formed = form_principal_classes(review, review.identity_class)
    assert [sorted(review.reach(u).any) for u in users] == [[role], []]
    assert formed.of[users[0]] != formed.of[users[1]]
    slow = _class_review(inv)
    assert reference_principal_classes(slow, slow.identity_class) == formed


def test_roles_with_alike_trust_policies_differ_by_the_callers_resource() -> None:
    """Two roles of one account whose trust policies are the same document naming the account:
    the caller's identity policy decides ("AWS JSON policy elements: Principal"). It allows
    ``sts:AssumeRole`` on every role with MFA (a caller key: allowed if it holds, see
    `lspolicy.account.callerkeys`) and on ``R1`` without: ``R1`` is allowed, ``R2`` only
    conditional, each with its own trust policy among the deciding statements, as the
    per-principal reference says."""
    account = "111111111111"
    inv = Inventory()
    user = f"arn:aws:iam::{account}:user/u"
    roles = [f"arn:aws:iam::{account}:role/R{n}" for n in (1, 2)]
    policy = _policy(
        [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            },
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": roles[0]},
        ],
        user + "#p",
    )
    inv.users[user] = User(user, "u", user_id="AIDA1", inline=(NamedPolicy("p", policy),))
    for n, arn in enumerate(roles):
        trust = _policy(
            [{"Effect": "Allow", "Principal": {"AWS": account}, "Action": "sts:AssumeRole"}],
            arn + "#trust",
            "resource",
        )
        inv.roles[arn] = Role(arn=arn, name=f"R{n + 1}", role_id=f"AROA{n}", trust=trust)
    review = _class_review(inv)
    form_principal_classes(review, review.identity_class)
    hops = {h.role: h.verdict for h in review.graph.edges(user)}
    assert {r: v.answer for r, v in hops.items()} == {roles[0]: "allowed", roles[1]: "conditional"}
    for arn, verdict in hops.items():
        assert arn + "#trust" in {s.policy for s in verdict.statements}
    one = edges(review.authority, user, index=review.graph.index)
    assert _edge_view(review.graph.edges(user)) == _edge_view(one)  # type: ignore[arg-type]
