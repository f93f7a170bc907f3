"""Property: keys that count by their conditions' outcomes change no cell.

A key that every policy reads only through conditions without policy variables (a tag under
``StringLike``, ``Null``, ``...IfExists``, ``ForAnyValue:``; ``aws:PrincipalArn`` under
``ArnNotLike``) enters the review's class keys as the outcomes of those conditions, not as its
value (`lspolicy.account.classes.outcome_keys`). That is exact because a condition reads only
its key (and its values' policy variables, none here) and a statement applies only when all its
conditions hold (IAM User Guide, "Condition operators" and "Creating a condition with multiple
keys or values",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html):
a missing key makes a condition false except negated operators, ``...IfExists`` and ``Null``
("Condition operators": "...IfExists", "Condition operator to check existence of condition
keys"), and set qualifiers compare every value of the key ("Set operators for multivalued
context keys").

For random small organizations (`test_review_properties.reviewed`) with such policies on users,
roles and as an SCP, and instances whose ``env``/``team`` tags take case variants, other values
or are absent, every expanded cell must equal what the reference `Review` answers (every set
compiled anew, every instance decided: ``Authority(_reference=True)``): decision, direct
decision, chain, statements and caller conditions. And every escalation listed must be one:
the principal cannot stop the instance, can stop the like instance, may tag (and untag) as
listed, and can stop the instance once retagged (decided by the reference on the retagged
instance). The IAM docs are silent on the review's own notion of escalation (LSP111 in the
lint); the check is that each listed one holds under the engine.
"""

from __future__ import annotations

import dataclasses
import json

from hypothesis import given, settings
from hypothesis import strategies as st
from test_account_properties import MAX_CHAIN  # same folder (rootdir import)
from test_review_joins import _reference, assert_cells_are_the_reference, expanded_cells
from test_review_properties import ACTIONS, reviewed

from lspolicy import parse_policy
from lspolicy.account.classes import outcome_keys
from lspolicy.account.model import Instance, Inventory, ManagedPolicy
from lspolicy.account.review import STOP, TAG, UNTAG, _tag_access, compute_matrix

TAG_CONDITIONS: list[dict[str, dict[str, object]]] = [
    {"StringLike": {"aws:ResourceTag/env": "pr*"}},
    {"StringEquals": {"aws:ResourceTag/env": ["prod", "Prod"]}},
    {"StringEqualsIgnoreCase": {"aws:ResourceTag/env": "prod"}},
    {"StringNotEquals": {"aws:ResourceTag/env": ["dev", "test"]}},
    {"StringEqualsIfExists": {"aws:ResourceTag/env": "prod"}},
    {"StringNotLikeIfExists": {"aws:ResourceTag/team": "x*"}},
    {"Null": {"aws:ResourceTag/env": "true"}},
    {"Null": {"aws:ResourceTag/team": "false"}},
    {"ForAnyValue:StringLike": {"aws:ResourceTag/team": ["a*", "B"]}},
    {"ForAllValues:StringEquals": {"aws:ResourceTag/team": ["a", "b"]}},
    {"StringLike": {"aws:ResourceTag/Team": "?"}},
]
PRINCIPAL_CONDITIONS: list[dict[str, dict[str, object]]] = [
    {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/m0"}},
    {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}},
    {"ArnNotLikeIfExists": {"aws:PrincipalArn": ["arn:aws:iam::*:role/R0", "*:user/u1"]}},
    {"StringLike": {"aws:username": "m*"}},
    {"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "A"}},
    {"Null": {"aws:PrincipalTag/team": "true"}},
    {"ForAnyValue:StringEquals": {"aws:PrincipalTag/team": ["a"]}},
]
ENV = ["prod", "Prod", "PROD", "production", "dev", "test", "x1"]
TEAM = ["a", "A", "ab", "b", "x", "xa"]


def _policy(source: str, statements: list[dict[str, object]]) -> object:
    return parse_policy(
        json.dumps({"Version": "2012-10-17", "Statement": statements}),
        source=source,
        kind="identity",
        max_size=0,
    )


@st.composite
def outcomed(draw: st.DrawFn) -> Inventory:
    inv = draw(reviewed())
    conditions = st.sampled_from(TAG_CONDITIONS + PRINCIPAL_CONDITIONS)
    statements: list[dict[str, object]] = []
    for _ in range(draw(st.integers(1, 3))):
        condition: dict[str, dict[str, object]] = {}
        for c in draw(st.lists(conditions, min_size=1, max_size=2)):
            for op, body in c.items():
                condition.setdefault(op, {}).update(body)
        statements.append(
            {
                "Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"])),
                "Action": list(ACTIONS),
                "Resource": "*",
                "Condition": condition,
            }
        )
    arn = "arn:aws:iam::111111111111:policy/Outcomes"
    policy = _policy(arn, statements)
    inv.policies[arn] = ManagedPolicy(arn, "Outcomes", policy)  # type: ignore[arg-type]
    for u in list(inv.users):
        if draw(st.booleans()):
            user = inv.users[u]
            inv.users[u] = dataclasses.replace(user, managed=(*user.managed, arn))
    for r in list(inv.roles):
        if draw(st.booleans()):
            role = inv.roles[r]
            inv.roles[r] = dataclasses.replace(role, managed=(*role.managed, arn))
    if inv.has_organization and draw(st.booleans()):
        # an SCP denying on a principal's ARN and a tag (the orggen Prod SCP's shape)
        deny = {
            "Effect": "Deny",
            "Action": STOP,
            "Resource": "*",
            "Condition": {
                draw(st.sampled_from(["StringEquals", "StringEqualsIgnoreCase"])): {
                    "aws:ResourceTag/env": ["prod", "production"]
                },
                "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/R*"},
            },
        }
        scp = parse_policy(
            json.dumps({"Version": "2012-10-17", "Statement": [deny]}),
            source="arn:aws:organizations::111111111111:policy/o-x/service_control_policy/p-o",
            kind="scp",
            max_size=0,
        )
        for account, levels in list(inv.scp_levels.items()):
            if levels:
                inv.scp_levels[account] = (*levels[:-1], (*levels[-1], scp))
    for a, inst in list(inv.instances.items()):
        tags = {k: v for k, v in inst.tags.items() if k.lower() not in ("env", "team")}
        env = draw(st.sampled_from([*ENV, None]))
        if env is not None:
            tags[draw(st.sampled_from(["env", "env", "Env"]))] = env
        team = draw(st.sampled_from([*TEAM, None]))
        if team is not None:
            tags["team"] = team
        inv.instances[a] = Instance(inst.name, a, inst.region, tags=tags)
    return inv


@settings(max_examples=30, deadline=None)
@given(outcomed())
def test_every_cell_with_outcome_keys_is_the_reference_answer(inv: Inventory) -> None:
    matrix = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN, escalations=True)
    ref = assert_cells_are_the_reference(inv, expanded_cells(inv, matrix))
    for esc in matrix.escalations[:12]:
        inst, like = inv.instances[esc.instance], inv.instances[esc.like]
        assert ref.access(esc.principal, STOP, inst) is None
        assert ref.access(esc.principal, STOP, like) is not None
        tags = {k: v for k, v in inst.tags.items() if k not in esc.remove_tags}
        tags.update(esc.set_tags)
        after = _reference(inv)  # a fresh reference: its memo is by instance ARN
        retagged = Instance(inst.name, inst.arn, inst.region, tags=tags)
        assert after.access(esc.principal, STOP, retagged) is not None
        if esc.set_tags:
            extra: dict[str, object] = {f"aws:RequestTag/{k}": v for k, v in esc.set_tags}
            extra["aws:TagKeys"] = [k for k, _ in esc.set_tags]
            assert _tag_access(ref, esc.principal, TAG, inst, extra) is not None  # type: ignore[arg-type]
        if esc.remove_tags:
            extra = {"aws:TagKeys": list(esc.remove_tags)}
            assert _tag_access(ref, esc.principal, UNTAG, inst, extra) is not None  # type: ignore[arg-type]


# -- which keys count by outcomes: the precondition, case by case ------------------------------


def _keys(*statements: dict[str, object], version: str = "2012-10-17") -> set[str]:
    policy = parse_policy(
        json.dumps({"Version": version, "Statement": list(statements)}),
        source="arn:aws:iam::111111111111:policy/P",
        kind="identity",
        max_size=0,
    )
    return set(outcome_keys([policy]))


def _st(condition: dict[str, object], resource: str = "*") -> dict[str, object]:
    return {"Effect": "Allow", "Action": STOP, "Resource": resource, "Condition": condition}


def test_keys_read_only_by_variable_free_conditions_count_by_outcomes() -> None:
    """Key names are case-insensitive ("Condition element": condition key names are not
    case-sensitive): ``Env`` and ``env`` are one key, lower case."""
    got = _keys(
        _st(
            {"StringLike": {"aws:ResourceTag/Env": "p*"}, "Null": {"aws:ResourceTag/env": "false"}}
        ),
        _st({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlass"}}),
    )
    assert got == {"aws:resourcetag/env", "aws:principalarn"}


def test_a_key_read_as_a_variable_or_against_one_keeps_its_value() -> None:
    """A policy variable in a condition's values or in a Resource reads the key's value
    ("IAM policy elements: Variables and tags"): such keys, and the key a variable-valued
    condition tests, are left out; Version 2008-10-17 substitutes nothing, so there
    ``${...}`` is literal text and the condition is variable-free."""
    team = {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}
    assert _keys(_st(team), _st({"StringLike": {"aws:ResourceTag/team": "a*"}})) == set()
    assert _keys(_st(team)) == set()
    assert (
        _keys(
            _st({"StringLike": {"aws:ResourceTag/env": "p*"}}),
            _st({}, resource="arn:aws:lightsail:*:*:Instance/${aws:ResourceTag/env}"),
        )
        == set()
    )
    assert _keys(_st(team), version="2008-10-17") == {"aws:resourcetag/team"}


def test_a_wildcard_key_name_leaves_nothing_to_outcomes() -> None:
    """A key that cannot be told (a wildcard in its name) may be any key: nothing counts by
    outcomes then."""
    got = _keys(
        _st({"StringLike": {"aws:ResourceTag/env": "p*"}}),
        _st({"StringEquals": {"aws:ResourceTag/*": "x"}}),
    )
    assert got == set()
