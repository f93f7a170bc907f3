"""Property: join features change no cell.

A tag compared only with a principal variable (``"aws:ResourceTag/owner": "${aws:username}"``)
leaves the class keys and becomes a bit of each cell, computed by the expansion's join
(`lspolicy.account.classes.JoinFeature`). Policy variables are replaced by the request's value
before the comparison (IAM User Guide, "IAM policy elements: Variables and tags",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html), and the
string operators compare exactly or ignoring case, ``...IfExists`` being true for an absent
key (IAM User Guide, "IAM JSON policy elements: Condition operators", String condition
operators,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String).
For random small organizations (`test_review_properties.reviewed`) with such a policy on
users and roles and instances whose ``owner`` tag is a user's name, in another case, another
name, or absent, every expanded cell must equal what the reference `Review` (every set
compiled anew, every instance decided: ``Authority(_reference=True)``) answers: decision,
direct decision, chain, statements and caller conditions.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Any

import duckdb
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_account_properties import MAX_CHAIN  # same folder (rootdir import)
from test_review_properties import ACTIONS, reviewed

from lspolicy import parse_policy
from lspolicy.account.decide import Authority
from lspolicy.account.model import Instance, Inventory, ManagedPolicy
from lspolicy.account.parquet import write_dataset
from lspolicy.account.query import Review
from lspolicy.account.reach import Graph
from lspolicy.account.review import Matrix, compute_matrix

OPERATORS = [
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringEqualsIfExists",
    "StringNotEqualsIgnoreCaseIfExists",
]


@st.composite
def joined(draw: st.DrawFn) -> tuple[Inventory, str]:
    inv = draw(reviewed())
    operator = draw(st.sampled_from(OPERATORS))
    arn = "arn:aws:iam::111111111111:policy/Owner"
    effect = draw(st.sampled_from(["Allow", "Allow", "Deny"]))
    statement = {
        "Effect": effect,
        "Action": list(ACTIONS),
        "Resource": "*",
        "Condition": {operator: {"aws:ResourceTag/owner": "${aws:username}"}},
    }
    policy = parse_policy(
        json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        source=arn,
        kind="identity",
        max_size=0,
    )
    inv.policies[arn] = ManagedPolicy(arn, "Owner", policy)
    for u in list(inv.users):
        if draw(st.booleans()):
            user = inv.users[u]
            inv.users[u] = dataclasses.replace(user, managed=(*user.managed, arn))
    for r in list(inv.roles):
        if draw(st.booleans()):
            role = inv.roles[r]
            inv.roles[r] = dataclasses.replace(role, managed=(*role.managed, arn))
    names = sorted(u.name for u in inv.users.values()) or ["nobody"]
    for a, inst in list(inv.instances.items()):
        kind = draw(st.sampled_from(["same", "upper", "other", "absent"]))
        tags = dict(inst.tags)
        name = draw(st.sampled_from(names))
        if kind == "same":
            tags["owner"] = name
        elif kind == "upper":
            tags["owner"] = name.upper()
        elif kind == "other":
            tags["owner"] = "someone"
        inv.instances[a] = Instance(inst.name, a, inst.region, tags=tags)
    return inv, operator


def _reference(inv: Inventory) -> Review:
    review = Review(inv, max_chain=MAX_CHAIN)
    review.authority = Authority(inv, _reference=True)
    review.graph = Graph(review.authority)
    return review


def expanded_cells(inv: Inventory, matrix: Matrix) -> list[tuple[Any, ...]]:
    """Every cell of ``matrix`` as `write_dataset` expands it into ``matrix/*.parquet``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        write_dataset(
            out, inv, matrix, production=[("env", "prod")], group_tag="env", observed=None
        )
        con = duckdb.connect()
        cells = con.execute(
            "SELECT principal_arn, instance_arn, action, decision, direct_decision, via, "
            f"statements, conditions FROM read_parquet('{out}/matrix/*.parquet')"
        ).fetchall()
        con.close()
    return cells


def assert_cells_are_the_reference(inv: Inventory, cells: list[tuple[Any, ...]]) -> Review:
    """Every principal x instance x action is there once, and each cell (decision, direct
    decision, chain, statements, caller conditions) is what the reference `Review` answers;
    returns the reference."""
    principals = sorted([*inv.users, *inv.roles])
    assert len(cells) == len(principals) * len(inv.instances) * len(ACTIONS)
    ref = _reference(inv)
    for principal, arn, action, decision, own, via, statements, conditions in cells:
        instance = inv.instances[arn]
        access = ref.access(principal, action, instance)
        final = ref.final(principal, action, instance)
        assert own == final.answer
        if access is None:
            assert (decision, via, conditions) == (final.answer, [], "[]")
            assert statements == list(dict.fromkeys(s.label for s in final.statements))
        else:
            info = access.to_dict()
            assert decision == info["decision"]
            assert via == [h.role for h in access.via]
            assert statements == list(dict.fromkeys(s.label for s in access.final.statements))
            assert conditions == json.dumps(info["conditions"], sort_keys=True)
    return ref


@settings(max_examples=30, deadline=None)
@given(joined())
def test_every_cell_with_join_features_is_the_reference_answer(
    case: tuple[Inventory, str],
) -> None:
    inv, _ = case
    matrix = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN, escalations=False)
    # a generated policy reading aws:username directly rules the feature out (exactly so)
    assume(any(f.variable == "aws:username" for f in matrix.instances.joins))
    assert_cells_are_the_reference(inv, expanded_cells(inv, matrix))


# -- which tags are join features: the precondition, case by case --------------------------------

_U = "arn:aws:iam::111111111111:user/"


def _inventory(conditions: list[dict[str, object]], *, version: str = "2012-10-17",
               resource: str = "*", twins: bool = False) -> Inventory:  # fmt: skip
    from lspolicy.account.model import NamedPolicy, User  # noqa: PLC0415

    statements = [
        {"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": resource,
         "Condition": c}
        for c in conditions
    ]  # fmt: skip
    inv = Inventory()
    for name in ("alice", "bob"):
        policy = parse_policy(
            json.dumps({"Version": version, "Statement": statements}),
            source=f"{_U}{name}#p",
            kind="identity",
            max_size=0,
        )
        inv.users[_U + name] = User(_U + name, name, inline=(NamedPolicy("p", policy),))
    arn = "arn:aws:lightsail:us-east-1:111111111111:Instance/i"
    tags = {"owner": "alice", "Owner": "bob"} if twins else {"owner": "alice"}
    inv.instances[arn] = Instance("i", arn, "us-east-1", tags=tags)
    return inv


def _features(inv: Inventory) -> list[tuple[str, str, bool, bool]]:
    from lspolicy.account.classes import find_join_features  # noqa: PLC0415

    return [
        (f.tag, f.variable, f.ignore_case, f.kept) for f in find_join_features(inv, Authority(inv))
    ]


OWNER = {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}}


def test_a_tag_compared_only_with_a_variable_is_a_join_feature() -> None:
    """The IAM User Guide's own example shape (``aws:ResourceTag/owner`` =
    ``${aws:username}``, "IAM policy elements: Variables and tags"): owner leaves the class
    keys; under ``StringEqualsIgnoreCase`` the comparison folds case."""
    assert _features(_inventory([OWNER])) == [("owner", "aws:username", False, False)]
    ic = {"StringNotEqualsIgnoreCaseIfExists": {"aws:ResourceTag/owner": "${aws:username}"}}
    assert _features(_inventory([ic])) == [("owner", "aws:username", True, False)]


def test_a_tag_also_read_otherwise_keeps_its_value_in_the_class_key() -> None:
    like = {"StringLike": {"aws:ResourceTag/owner": "a*"}}
    assert _features(_inventory([OWNER, like])) == [("owner", "aws:username", False, True)]


def test_no_join_feature_where_the_precondition_fails() -> None:
    """A variable read any other way, two comparisons, a set qualifier, a default, Version
    2008-10-17 (no substitution: "${aws:username}" is literal text there, per "IAM policy
    elements: Variables and tags"), or tag keys differing only in case: no feature."""
    ic = {"StringEqualsIgnoreCase": {"aws:ResourceTag/owner": "${aws:username}"}}
    cases = [
        _inventory([OWNER, {"StringEquals": {"aws:username": "alice"}}]),
        _inventory([OWNER], resource="arn:aws:lightsail:*:*:Instance/${aws:username}"),
        _inventory([OWNER, ic]),
        _inventory([{"ForAnyValue:StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}}]),
        _inventory([{"StringEquals": {"aws:ResourceTag/owner": "${aws:username, 'x'}"}}]),
        _inventory([{"StringEquals": {"aws:ResourceTag/owner": ["${aws:username}", "root"]}}]),
        _inventory([OWNER], version="2008-10-17"),
        _inventory([OWNER], twins=True),
        _inventory([OWNER, {"StringEquals": {"aws:ResourceTag/owner": "${aws:userid}"}}]),
    ]
    for inv in cases:
        assert _features(inv) == []
