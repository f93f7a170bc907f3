"""Property: every cell of the review's Parquet matrix is the account engine's direct answer.

For random small organizations (the generator of ``test_account_properties.py``: users in
groups, roles with trust chains, boundaries, SCPs, tag conditions and caller keys), with extra
instances that share tags (so classes have several members), in two regions, and with policies
that name one instance's ARN, exclude it (``NotResource``), or name instances through a policy
variable (``Instance/${aws:PrincipalTag/team}``: such a pattern may name any instance whose id a
principal tag can spell, so those instances are classes of their own), and with users and
roles that share a group or a managed policy whose condition reads their tags, user name or
ARN (so identity classes must tell them apart by those values), the review's cells —
decided once per class pair and expanded by DuckDB — must equal, cell by cell, what a fresh
`lspolicy.account.query.Review` (no classes) answers for that principal, instance and action:
the decision, the chain, the deciding statements, and the principal's own decision.

The semantics of each answer are the engine's and the IAM docs' (cited in
`lspolicy.account.decide` and `lspolicy.account.reach`); this property checks that the classes
change none of them.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st
from test_account_properties import (  # same folder (rootdir import)
    ACCOUNTS,
    MAX_CHAIN,
    organizations,
)

from lspolicy import parse_policy
from lspolicy.account.model import Instance, Inventory, ManagedPolicy, NamedPolicy, User
from lspolicy.account.parquet import write_dataset
from lspolicy.account.query import Review
from lspolicy.account.review import compute_matrix

ACTIONS = ("lightsail:StopInstance", "lightsail:TagResource")


@st.composite
def reviewed(draw: st.DrawFn) -> Inventory:
    inv = draw(organizations())
    base = list(inv.instances.values())
    for n in range(draw(st.integers(0, 3))):
        like = draw(st.sampled_from(base))
        region = draw(st.sampled_from(["us-east-1", "eu-west-1"]))
        ident = draw(st.sampled_from(["a", "b", f"x{n}"]))
        account = like.arn.split(":")[4]
        arn = f"arn:aws:lightsail:{region}:{account}:Instance/{ident}"
        if arn not in inv.instances:
            inv.instances[arn] = Instance(f"{ident}-{n}", arn, region, tags=dict(like.tags))
    # identities that share policy objects (a group, a managed policy) and differ only in the
    # values a policy may read (their tags, names, ARNs): the identity classes' hard case
    shared = draw(
        st.sampled_from(
            [
                {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
                {"StringEquals": {"aws:username": "m0"}},
                {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}},
                {"StringEquals": {"aws:PrincipalTag/team": "a"}},
            ]
        )
    )
    managed_arn = "arn:aws:iam::111111111111:policy/M"
    statement = {"Effect": "Allow", "Action": list(ACTIONS), "Resource": "*", "Condition": shared}
    managed = parse_policy(
        json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        source=managed_arn,
        kind="identity",
        max_size=0,
    )
    inv.policies[managed_arn] = ManagedPolicy(managed_arn, "M", managed)
    for n in range(draw(st.integers(2, 3))):
        account = ACCOUNTS[0]
        arn = f"arn:aws:iam::{account}:user/m{n}"
        in_group = inv.group(account, "g") is not None and draw(st.booleans())
        inv.users[arn] = User(
            arn,
            f"m{n}",
            user_id=f"AIDAM{n}",
            managed=(managed_arn,),
            groups=("g",) if in_group else (),
            tags={"team": draw(st.sampled_from(["a", "b"]))} if draw(st.booleans()) else {},
        )
    for role in draw(st.lists(st.sampled_from(sorted(inv.roles)), max_size=2, unique=True)):
        inv.roles[role] = dataclasses.replace(inv.roles[role], managed=(managed_arn,))
    twin = f"arn:aws:lightsail:us-east-1:{ACCOUNTS[0]}:Instance/m"
    inv.instances[twin] = Instance("m", twin, "us-east-1", tags={"team": "a", "env": "dev"})
    principals = sorted([*inv.users, *inv.roles])
    for _ in range(draw(st.integers(0, 2))):
        who = draw(st.sampled_from(principals))
        target = draw(st.sampled_from(sorted(inv.instances)))
        kind = draw(st.sampled_from(["arn", "not-arn", "variable", "variable", "deny-arn"]))
        statement: dict[str, object] = {"Effect": "Allow", "Action": list(ACTIONS)}
        if kind == "arn":
            statement["Resource"] = target
        elif kind == "not-arn":
            statement["NotResource"] = target
        elif kind == "variable":
            statement["Resource"] = "arn:aws:lightsail:*:*:Instance/${aws:PrincipalTag/team}"
        else:
            statement = {"Effect": "Deny", "Action": "lightsail:StopInstance", "Resource": target}
        source = f"{who}#extra{len(principals)}"
        policy = parse_policy(
            json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
            source=source,
            kind="identity",
            max_size=0,
        )
        if who in inv.users:
            u = inv.users[who]
            inv.users[who] = dataclasses.replace(
                u, inline=(*u.inline, NamedPolicy("extra", policy))
            )
        else:
            r = inv.roles[who]
            inv.roles[who] = dataclasses.replace(
                r, inline=(*r.inline, NamedPolicy("extra", policy))
            )
    return inv


@settings(max_examples=40)
@given(reviewed())
def test_every_parquet_cell_is_the_engines_direct_answer(inv: Inventory) -> None:
    matrix = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN, escalations=False)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        write_dataset(
            out, inv, matrix, production=[("env", "prod")], group_tag="env", observed=None
        )
        con = duckdb.connect()
        cells = con.execute(
            f"SELECT principal_arn, instance_arn, action, decision, direct_decision, via, statements "
            f"FROM read_parquet('{out}/matrix/*.parquet')"
        ).fetchall()
        con.close()
    principals = sorted([*inv.users, *inv.roles])
    assert len(cells) == len(principals) * len(inv.instances) * len(ACTIONS)
    direct = Review(inv, max_chain=MAX_CHAIN)
    for principal, arn, action, decision, own, via, statements in cells:
        instance = inv.instances[arn]
        access = direct.access(principal, action, instance)
        final = direct.final(principal, action, instance)
        assert own == final.answer
        if access is None:
            assert (decision, via) == (final.answer, [])
            assert statements == list(dict.fromkeys(s.label for s in final.statements))
        else:
            assert decision == access.to_dict()["decision"]
            assert via == [h.role for h in access.via]
            assert statements == list(dict.fromkeys(s.label for s in access.final.statements))


def test_a_pattern_with_a_variable_splits_instances_that_share_tags() -> None:
    """``Instance/${aws:PrincipalTag/team}`` names, for a principal tagged ``team=a``, the
    instance whose id is ``a`` and not its twin ``i0`` (same tags, account and region): policy
    variables are replaced by the request's values before the ARN is matched
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html). The
    classes must not merge the twins, and the matrix must differ between them."""
    arn_user = "arn:aws:iam::111111111111:user/u"
    policy = parse_policy(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "lightsail:StopInstance",
                        "Resource": "arn:aws:lightsail:*:*:Instance/${aws:PrincipalTag/team}",
                    }
                ],
            }
        ),
        source=arn_user + "#p",
        kind="identity",
        max_size=0,
    )
    inv = Inventory()
    inv.users[arn_user] = User(
        arn_user, "u", inline=(NamedPolicy("p", policy),), tags={"team": "a"}
    )
    for ident in ("a", "i0"):
        arn = f"arn:aws:lightsail:us-east-1:111111111111:Instance/{ident}"
        inv.instances[arn] = Instance(ident, arn, "us-east-1", tags={"env": "dev"})
    matrix = compute_matrix(inv, ("lightsail:StopInstance",), escalations=False)
    assert len(matrix.instances.members) == 2
    got = {matrix.instances.reps[c.instance_class].name: c.decision for c in matrix.cells}
    assert got == {"a": "allowed", "i0": "implicitDeny"}
