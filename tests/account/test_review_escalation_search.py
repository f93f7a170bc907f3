"""Property: the escalation search from tables finds what the per-class search finds.

`lspolicy.account.review._rep_witnesses` answers the tagging requests per instance class from
the identity vectors (`_Tagging.per_class`) and each retagging between two classes once per
review (`_SearchMemo`), when no target's policies read the keys a tagging request writes
(``aws:RequestTag/*``, ``aws:TagKeys``: IAM User Guide, "Controlling access during AWS
requests" and "Controlling access based on tag keys",
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html). Then a tagging request's
decision does not depend on the tags it writes, and the rule of `_witness` (the first class
the representative can stop in the same retag group whose retagging it may make) can be
applied from those tables. The reference here is that per-class search as it was written
first: `_witness` on every class and join bits the representative cannot stop, each tagging
request answered through `_Tagging.access` (`_best_per_class`). Both must list the same
escalations, row for row, on random organizations with outcome-counted tags
(`test_review_outcomes.outcomed`) and with join features (`test_review_joins.joined`), where
the bit combinations and join retaggings come in. The IAM docs are silent on the review's own
notion of escalation; the comparison is between two implementations of one rule.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_account_properties import MAX_CHAIN  # same folder (rootdir import)
from test_review_joins import joined
from test_review_outcomes import outcomed
from test_review_properties import ACTIONS

from lspolicy import parse_policy
from lspolicy.account import review as review_module
from lspolicy.account.model import Instance, Inventory, ManagedPolicy, NamedPolicy, User
from lspolicy.account.query import Access
from lspolicy.account.review import (
    STOP,
    TAG,
    UNTAG,
    ClassReview,
    Escalation,
    Witness,
    _carries,
    _Tagging,
    _witness,
    compute_matrix,
)

STOP_CONDITIONS: list[dict[str, dict[str, object]]] = [
    {"StringEquals": {"aws:ResourceTag/env": "dev"}},
    {"StringLike": {"aws:ResourceTag/team": "a*"}},
    {"StringNotEqualsIfExists": {"aws:ResourceTag/env": ["prod", "Prod"]}},
    {"Null": {"aws:ResourceTag/env": "true"}},
]
TAGGING_CONDITIONS: list[dict[str, dict[str, object]] | None] = [
    None,
    {"StringNotEquals": {"aws:ResourceTag/env": "prod"}},
    {"StringLike": {"aws:ResourceTag/team": "x*"}},
    # the tagging requests' own keys: decided per request (`_witness`), not from the tables
    {"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}},
    {"StringEquals": {"aws:RequestTag/env": "dev"}},
]


def _escalating(base: st.SearchStrategy[Inventory]) -> st.SearchStrategy[Inventory]:
    """``base`` with a stop grant on some tags and a tagging grant (``TagResource`` and
    ``UntagResource``, conditioned on the instance's tags, on the request's, or not) attached
    to random users and roles: principals that can stop some instances and retag others."""

    @st.composite
    def build(draw: st.DrawFn) -> Inventory:
        inv = draw(base)
        # instances of one account and region that differ only in their tags: retag targets
        base_instances = sorted(inv.instances.values(), key=lambda i: i.arn)
        for n in range(draw(st.integers(2, 5))):
            like = draw(st.sampled_from(base_instances))
            arn = f"{like.arn.rsplit('/', 1)[0]}/esc{n}"
            tags = {k: v for k, v in like.tags.items() if k.lower() not in ("env", "team")}
            tags["env"] = draw(st.sampled_from(["dev", "prod", "Prod"]))
            if draw(st.booleans()):
                tags["team"] = draw(st.sampled_from(["a", "ab", "x"]))
            inv.instances[arn] = Instance(f"esc{n}", arn, like.region, tags=tags)
        for name, actions, condition in (
            ("Stopper", [STOP], draw(st.sampled_from(STOP_CONDITIONS))),
            ("Tagger", [TAG, UNTAG], draw(st.sampled_from(TAGGING_CONDITIONS))),
        ):
            statement: dict[str, object] = {"Effect": "Allow", "Action": actions, "Resource": "*"}
            if condition is not None:
                statement["Condition"] = condition
            arn = f"arn:aws:iam::111111111111:policy/{name}"
            policy = parse_policy(
                json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
                source=arn,
                kind="identity",
                max_size=0,
            )
            inv.policies[arn] = ManagedPolicy(arn, name, policy)
            for u in list(inv.users):
                if draw(st.booleans()):
                    user = inv.users[u]
                    inv.users[u] = dataclasses.replace(user, managed=(*user.managed, arn))
            for r in list(inv.roles):
                if draw(st.booleans()):
                    role = inv.roles[r]
                    inv.roles[r] = dataclasses.replace(role, managed=(*role.managed, arn))
        return inv

    return build()


_ACCOUNT = "111111111111"
OWNED = {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}}


@st.composite
def small_account(draw: st.DrawFn) -> Inventory:
    """One account: users that may stop instances by their tags (or their ``owner`` tag
    against ``aws:username``: a join feature) and may tag or untag them, and instances of one
    or two regions that differ only in their tags: escalations are the common case."""
    inv = Inventory()
    names = [f"u{n}" for n in range(draw(st.integers(2, 4)))]
    for name in names:
        statements: list[dict[str, object]] = []
        stop = draw(st.sampled_from([*STOP_CONDITIONS, OWNED, None]))
        if stop is not None:
            statements.append(
                {"Effect": "Allow", "Action": STOP, "Resource": "*", "Condition": stop}
            )
        if draw(st.sampled_from([True, True, False])):
            tagging: dict[str, object] = {"Effect": "Allow", "Action": [TAG, UNTAG]}
            tagging["Resource"] = "*"
            condition = draw(st.sampled_from(TAGGING_CONDITIONS))
            if condition is not None:
                tagging["Condition"] = condition
            statements.append(tagging)
        arn = f"arn:aws:iam::{_ACCOUNT}:user/{name}"
        inline: tuple[NamedPolicy, ...] = ()
        if statements:
            policy = parse_policy(
                json.dumps({"Version": "2012-10-17", "Statement": statements}),
                source=f"{arn}#p",
                kind="identity",
                max_size=0,
            )
            inline = (NamedPolicy("p", policy),)
        team = draw(st.sampled_from(["a", "x", None]))
        inv.users[arn] = User(arn, name, inline=inline, tags={"team": team} if team else {})
    for n in range(draw(st.integers(3, 7))):
        region = draw(st.sampled_from(["us-east-1", "us-east-1", "eu-west-1"]))
        arn = f"arn:aws:lightsail:{region}:{_ACCOUNT}:Instance/i{n}"
        tags: dict[str, str] = {}
        for key, values in (
            ("env", ["dev", "prod", "Prod"]),
            ("team", ["a", "ab", "x"]),
            ("owner", names[:2]),
        ):
            value = draw(st.sampled_from([*values, None]))
            if value is not None:
                tags[key] = value
        inv.instances[arn] = Instance(f"i{n}", arn, region, tags=tags)
    return inv


def _per_class_witnesses(
    review: ClassReview,
    combos: Sequence[tuple[bool, ...]],
    stop_by: Sequence[Sequence[Access | None]],
    taggings: Sequence[_Tagging],
) -> list[tuple[int, int, int, Witness]]:
    """The reference: every class and bits it cannot stop searched by `_witness`."""
    classes = review.classes
    group_of = review.retag_groups()
    groups: dict[tuple[object, ...], list[tuple[int, int, Access]]] = {}
    for ic in range(len(classes.reps)):
        for ci, combo in enumerate(combos):
            a = stop_by[ci][ic]
            if a is not None and _carries(classes, ic, combo):
                groups.setdefault(group_of[ic], []).append((ic, ci, a))
    out: list[tuple[int, int, int, Witness]] = []
    for ic in range(len(classes.reps)):
        can = groups.get(group_of[ic])
        if not can:
            continue
        for ci, combo in enumerate(combos):
            if stop_by[ci][ic] is not None or not _carries(classes, ic, combo):
                continue
            got = _witness(review, ic, (combos, ci), can, taggings[ci])
            if got is not None:
                out.append((ic, ci, *got))
    return out


def _both(inv: Inventory) -> tuple[list[Escalation], list[Escalation]]:
    fast = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN, escalations=True).escalations
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(review_module, "_rep_witnesses", _per_class_witnesses)
        slow = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN, escalations=True).escalations
    return list(fast), list(slow)


@settings(max_examples=40, deadline=None)
@given(small_account())
def test_the_search_from_tables_is_the_per_class_search_on_one_account(inv: Inventory) -> None:
    fast, slow = _both(inv)
    assert fast == slow


@settings(max_examples=15, deadline=None)
@given(_escalating(outcomed()))
def test_the_search_from_tables_is_the_per_class_search(inv: Inventory) -> None:
    fast, slow = _both(inv)
    assert fast == slow


@settings(max_examples=15, deadline=None)
@given(_escalating(joined().map(lambda case: case[0])))
def test_the_search_from_tables_is_the_per_class_search_with_join_features(
    inv: Inventory,
) -> None:
    fast, slow = _both(inv)
    assert fast == slow
