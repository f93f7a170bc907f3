"""Property: deciding other accounts' instances by what the Denies read changes no cell and no
escalation.

A Lightsail instance has no resource-based policy: access to Lightsail resources is granted by
identity-based policies (Amazon Lightsail User Guide, "Grant least-privilege permissions with
IAM identity policies in Lightsail",
https://docs.aws.amazon.com/lightsail/latest/userguide/security_iam_id-based-policy-examples.html;
the Lightsail pages list no resource policy to attach to an instance). Across accounts, "the
resource-based policy in the trusting account must specify the principal of the trusted
account" and the principal's identity-based policy must allow the request as well (IAM User
Guide, "Cross-account policy evaluation logic",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
So a request by an identity of one account on an instance of another is never allowed: it is
an explicit deny (the Deny statements that apply, from its identity policies, boundary or
SCPs) or an implicit deny. `lspolicy.account.review.ClassReview` therefore splits other
accounts' instance classes only by what the identity's Denies read (`_deny_side`), and walks
only its own account's classes when looking for where it reaches.

For random organizations of three accounts (users and roles in each; trust policies naming the
own account, another account or one principal: cross-account chains; identity and SCP Denies
reading the instance's tags, its region, its ARN, and ``aws:username`` against the ``owner``
tag: a join feature; Allows of the same shapes), every expanded cell must be what the reference
`lspolicy.account.query.Review` answers (every request decided), and the escalations must be
those of the review with the projection turned off and the per-class escalation search
(`test_review_escalation_search._per_class_witnesses`).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_account_properties import MAX_CHAIN  # same folder (rootdir import)
from test_review_escalation_search import _per_class_witnesses
from test_review_joins import assert_cells_are_the_reference, expanded_cells
from test_review_properties import ACTIONS

from lspolicy import parse_policy
from lspolicy.account import review as review_module
from lspolicy.account.classes import InstanceClasses, find_join_features, role_values
from lspolicy.account.decide import Authority
from lspolicy.account.model import Instance, Inventory, ManagedPolicy, NamedPolicy, Role, User
from lspolicy.account.review import STOP, TAG, UNTAG, ClassReview, Escalation, compute_matrix
from lspolicy.model.policy import Policy

ACCOUNTS = ("111111111111", "222222222222", "333333333333")
REGIONS = ("us-east-1", "eu-west-1")
OWNED = {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}}
NOT_OWNED = {"StringNotEquals": {"aws:ResourceTag/owner": "${aws:username}"}}
CONDITIONS: list[dict[str, dict[str, object]] | None] = [
    None,
    {"StringEquals": {"aws:ResourceTag/env": "dev"}},
    {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
    {"StringLike": {"aws:ResourceTag/team": "a*"}},
    OWNED,
]
DENY_CONDITIONS: list[dict[str, dict[str, object]] | None] = [
    {"StringEquals": {"aws:ResourceTag/env": "prod"}},
    {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
    {"StringNotEquals": {"aws:ResourceTag/team": "a"}},
    NOT_OWNED,
    None,
]


def _policy(statements: list[dict[str, object]], source: str, kind: str = "identity") -> Policy:
    doc = {"Version": "2012-10-17", "Statement": statements}
    return parse_policy(json.dumps(doc), source=source, kind=kind, max_size=0)  # type: ignore[arg-type]


@st.composite
def crossed(draw: st.DrawFn) -> Inventory:
    """Three accounts, each with users, roles and instances; chains across accounts."""
    inv = Inventory()
    users = [
        (f"arn:aws:iam::{a}:user/u{n}", a)
        for n, a in enumerate(draw(st.lists(st.sampled_from(ACCOUNTS), min_size=1, max_size=4)))
    ]
    roles = [
        (f"arn:aws:iam::{a}:role/R{n}", a)
        for n, a in enumerate(draw(st.lists(st.sampled_from(ACCOUNTS), min_size=1, max_size=4)))
    ]
    principals = [p for p, _ in users + roles]

    def resource() -> str:
        kind = draw(st.sampled_from(["any", "any", "account", "instance", "region"]))
        if kind == "account":
            return f"arn:aws:lightsail:*:{draw(st.sampled_from(ACCOUNTS))}:Instance/*"
        if kind == "instance":
            a, r = draw(st.sampled_from(ACCOUNTS)), draw(st.sampled_from(REGIONS))
            return f"arn:aws:lightsail:{r}:{a}:Instance/i{draw(st.integers(0, 5))}"
        if kind == "region":
            return f"arn:aws:lightsail:{draw(st.sampled_from(REGIONS))}:*:Instance/*"
        return "*"

    def statements() -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for _ in range(draw(st.integers(1, 4))):
            kind = draw(st.sampled_from(["assume", "act", "act", "tag", "deny", "deny"]))
            if kind == "assume":
                target = draw(st.sampled_from(["*", *[r for r, _ in roles]]))
                out.append({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": target})
                continue
            s: dict[str, object] = {"Resource": resource()}
            if kind == "deny":
                s["Effect"] = "Deny"
                s["Action"] = draw(st.sampled_from([STOP, [STOP, TAG, UNTAG], "lightsail:*"]))
                cond = draw(st.sampled_from(DENY_CONDITIONS))
            else:
                s["Effect"] = "Allow"
                s["Action"] = [STOP] if kind == "act" else [TAG, UNTAG]
                cond = draw(st.sampled_from(CONDITIONS))
            if cond is not None:
                s["Condition"] = cond
            out.append(s)
        return out

    names = [p.rsplit("/", 1)[1] for p, _ in users]
    for arn, _ in users:
        inv.users[arn] = User(
            arn,
            arn.rsplit("/", 1)[1],
            inline=(NamedPolicy("p", _policy(statements(), arn + "#p")),),
            tags={"team": draw(st.sampled_from(["a", "b"]))} if draw(st.booleans()) else {},
        )
    for arn, acct in roles:
        trust: list[dict[str, object]] = []
        for _ in range(draw(st.integers(1, 2))):
            who = draw(st.sampled_from(["own", "other", "arn"]))
            if who == "own":
                principal: object = {"AWS": f"arn:aws:iam::{acct}:root"}
            elif who == "other":
                principal = {"AWS": draw(st.sampled_from(ACCOUNTS))}
            else:
                principal = {"AWS": draw(st.sampled_from(principals))}
            trust.append({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})
        inv.roles[arn] = Role(
            arn,
            arn.rsplit("/", 1)[1],
            trust=_policy(trust, arn + "#trust", "resource"),
            inline=(NamedPolicy("p", _policy(statements(), arn + "#p")),),
        )
    if draw(st.booleans()):
        # SCPs: every account allows all; some deny by tag, region or ARN
        inv.has_organization = True
        full = _policy([{"Effect": "Allow", "Action": "*", "Resource": "*"}], "scp/full", "scp")
        for acct in ACCOUNTS:
            level: list[Policy] = [full]
            if draw(st.booleans()):
                deny: dict[str, object] = {
                    "Effect": "Deny",
                    "Action": draw(st.sampled_from([STOP, "lightsail:*"])),
                    "Resource": resource(),
                }
                cond = draw(st.sampled_from(DENY_CONDITIONS[:3]))
                if cond is not None:
                    deny["Condition"] = cond
                level.append(_policy([deny], f"scp/deny-{acct}", "scp"))
            inv.scp_levels[acct] = ((full,), tuple(level))
    # a managed policy shared across accounts (one policy object: the identity classes and
    # the readers of users of different accounts meet)
    shared = "arn:aws:iam::111111111111:policy/Shared"
    inv.policies[shared] = ManagedPolicy(
        shared, "Shared", _policy(statements(), shared, "identity")
    )
    for arn in draw(st.lists(st.sampled_from(principals), max_size=3, unique=True)):
        if arn in inv.users:
            u = inv.users[arn]
            inv.users[arn] = User(u.arn, u.name, inline=u.inline, managed=(shared,), tags=u.tags)
        else:
            r = inv.roles[arn]
            inv.roles[arn] = Role(r.arn, r.name, trust=r.trust, inline=r.inline, managed=(shared,))
    for n in range(draw(st.integers(3, 8))):
        acct, region = draw(st.sampled_from(ACCOUNTS)), draw(st.sampled_from(REGIONS))
        arn = f"arn:aws:lightsail:{region}:{acct}:Instance/i{n}"
        tags: dict[str, str] = {}
        for key, values in (("env", ["dev", "prod"]), ("team", ["a", "b"]), ("owner", names)):
            value = draw(st.sampled_from([*values, None]))
            if value is not None:
                tags[key] = value
        inv.instances[arn] = Instance(f"i{n}", arn, region, tags=tags)
    return inv


def _escalations(inv: Inventory, *, projected: bool) -> list[Escalation]:
    if projected:
        return list(compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN).escalations)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ClassReview, "_deny_side", lambda self, rep, action: None)
        mp.setattr(review_module, "_rep_witnesses", _per_class_witnesses)
        return list(compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN).escalations)


@settings(max_examples=40, deadline=None)
@given(crossed())
def test_every_cell_across_accounts_is_the_reference_answer(inv: Inventory) -> None:
    matrix = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN, escalations=False)
    assert_cells_are_the_reference(inv, expanded_cells(inv, matrix))


@settings(max_examples=25, deadline=None)
@given(crossed())
def test_escalations_across_accounts_are_those_without_the_projection(inv: Inventory) -> None:
    assert _escalations(inv, projected=True) == _escalations(inv, projected=False)


def test_other_accounts_are_one_part_unless_a_deny_reads_them() -> None:
    """A user of account 1 allowed to stop every instance of any account by its ``env`` tag
    reaches only its own account's (the others would need a resource-based policy, which
    Lightsail instances do not have): its vector splits its own account's classes by the
    outcome of its condition on ``env`` (dev or not), the other accounts' not at all; a Deny
    on ``env`` = prod splits its own account's by both conditions' outcomes and the others'
    by the Deny's alone, and its verdict there is the Deny's (explicitDeny) or
    implicitDeny."""
    inv = Inventory()
    allow = {
        "Effect": "Allow",
        "Action": STOP,
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}},
    }
    deny = {
        "Effect": "Deny",
        "Action": STOP,
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}},
    }
    for name, statements in (("plain", [allow]), ("denied", [allow, deny])):
        arn = f"arn:aws:iam::{ACCOUNTS[0]}:user/{name}"
        policy = _policy(statements, arn + "#p")
        inv.users[arn] = User(arn, name, inline=(NamedPolicy("p", policy),))
    n = 0
    for acct in ACCOUNTS:
        for region in REGIONS:
            for env in ("dev", "prod", "test"):
                arn = f"arn:aws:lightsail:{region}:{acct}:Instance/i{n}"
                inv.instances[arn] = Instance(f"i{n}", arn, region, tags={"env": env})
                n += 1
    authority = Authority(inv)
    joins = find_join_features(inv, authority)
    classes = InstanceClasses.build(inv, joins, role_values(inv, authority, joins))
    review = ClassReview(inv, classes)
    assert len(classes.reps) == 18
    for name, own_parts, other_parts in (("plain", 2, 1), ("denied", 3, 2)):
        arn = f"arn:aws:iam::{ACCOUNTS[0]}:user/{name}"
        vector = review.vector(review.identity_class(arn), STOP)
        own = {vector.part.of[ic] for ic, i in enumerate(classes.reps) if ACCOUNTS[0] in i.arn}
        other = {
            vector.part.of[ic] for ic, i in enumerate(classes.reps) if ACCOUNTS[0] not in i.arn
        }
        assert len(own) == own_parts
        assert len(other) == other_parts
        for ic, inst in enumerate(classes.reps):
            answer = review.verdicts[vector[ic]].answer
            if ACCOUNTS[0] in inst.arn:
                expected = "allowed" if inst.tags["env"] == "dev" else "implicitDeny"
                if name == "denied" and inst.tags["env"] == "prod":
                    expected = "explicitDeny"
            else:
                deny_applies = name == "denied" and inst.tags["env"] == "prod"
                expected = "explicitDeny" if deny_applies else "implicitDeny"
            assert answer == expected, (name, inst.arn)
        assert list(review.reaching_classes(vector)) == [
            ic
            for ic, i in enumerate(classes.reps)
            if ACCOUNTS[0] in i.arn and i.tags["env"] == "dev"
        ]


def test_a_deny_reading_a_join_tag_decides_other_accounts_by_the_bits() -> None:
    """A Deny comparing the instance's ``owner`` tag with ``aws:username`` applies across
    accounts as it does at home (an explicit deny in any policy wins, IAM User Guide, "Policy
    evaluation logic"): a user of account 1 is explicitly denied on account 2's instance owned
    by someone else and only implicitly denied on the one it owns, although both instances
    are of one class (the ``owner`` tag is a join feature: its value is the cell's bit)."""
    inv = Inventory()
    statements: list[dict[str, object]] = [
        {"Effect": "Allow", "Action": STOP, "Resource": "*"},
        {"Effect": "Deny", "Action": STOP, "Resource": "*", "Condition": NOT_OWNED},
    ]
    for name in ("u0", "u1"):
        arn = f"arn:aws:iam::{ACCOUNTS[0]}:user/{name}"
        inv.users[arn] = User(arn, name, inline=(NamedPolicy("p", _policy(statements, arn)),))
    for acct in ACCOUNTS[:2]:
        for owner in ("u0", "u1"):
            arn = f"arn:aws:lightsail:us-east-1:{acct}:Instance/{owner}"
            inv.instances[arn] = Instance(owner, arn, "us-east-1", tags={"owner": owner})
    matrix = compute_matrix(inv, (STOP,), max_chain=MAX_CHAIN, escalations=False)
    assert [f.tag for f in matrix.instances.joins] == ["owner"]
    cells = expanded_cells(inv, matrix)
    got = {
        (p.rsplit("/", 1)[1], i.split(":")[4], i.rsplit("/", 1)[1]): d for p, i, _, d, *_ in cells
    }
    assert got == {
        (user, acct, owner): (
            ("allowed" if user == owner else "explicitDeny")
            if acct == ACCOUNTS[0]
            else ("implicitDeny" if user == owner else "explicitDeny")
        )
        for user in ("u0", "u1")
        for acct in ACCOUNTS[:2]
        for owner in ("u0", "u1")
    }


@pytest.mark.parametrize("limit", ["PARTITION_BYTES", "VERDICT_LIMIT"])
@settings(max_examples=15, deadline=None)
@given(crossed())
def test_forgetting_the_kept_partitions_changes_nothing(limit: str, inv: Inventory) -> None:
    """`ClassReview.forget` between every two principal classes (bounded memory) gives the
    same class cells, maps and escalations: the partitions rebuilt are the same, and the
    engine's decisions kept with them number the same parts (``PARTITION_BYTES``); or, the
    decisions dropped with them (``VERDICT_LIMIT``), the decisions made again have verdict
    ids that tell the same instance classes apart."""
    kept = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(review_module, limit, -1)
        forgot = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN)
    assert list(forgot.cells.rows()) == list(kept.cells.rows())
    dense = [forgot.cells.dense(m).tobytes() for m in range(len(forgot.cells.maps))]
    assert dense == [kept.cells.dense(m).tobytes() for m in range(len(kept.cells.maps))]
    assert forgot.cells.map_of == kept.cells.map_of
    assert list(forgot.escalations) == list(kept.escalations)
