"""Forward checking in the diff's search (`lspolicy.diff.narrow`) must not change what it finds.

At each node the search drops the choices of every open slot that already make the difference
false, cuts the node when a slot has none left, settles slots no undecided statement reads,
keeps one of several choices with the same effect, and branches on the slot with the fewest
choices. Each of these is exact, so on every question the pruned search finds a witness exactly
when the plain one (`search(forward=False)`: every choice, in a fixed slot order) does, and a
witness of the same least cost (the fewest context keys, then values).

The semantics the search encodes are IAM's: an explicit deny wins, otherwise an allow is needed
in the identity policies and, when set, in the permissions boundary ("Policy evaluation logic",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html); a
condition's operator, ``...IfExists``, ``Null`` and the ``ForAnyValue``/``ForAllValues``
qualifiers as in "IAM JSON policy elements: Condition operators"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)
and "Multivalued context keys"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html);
policy variables as in "IAM policy elements: Variables and tags"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html).
"""

from __future__ import annotations

import copy
from typing import Any
from unittest import mock

from diffkit import INSTANCES, STOP, allow, confirm, deny, policy
from hypothesis import given, settings
from hypothesis import strategies as st
from test_diff_split import SPLIT_SETTINGS, boundary_layers, parse, policy_sets, run

import lspolicy
import lspolicy.diff.search as search_module
from lspolicy.diff import compare
from lspolicy.diff.search import Outcome, Problem
from lspolicy.strategies import JsonObject


class _Both:
    """In place of the diff's search: the pruned and the plain search on each question,
    compared; the pruned one's answer goes on (so the diff confirms its witnesses)."""

    def __init__(self) -> None:
        self.compared = 0
        self.found = 0

    def __call__(self, problem: Problem, direction: str, **kwargs: Any) -> Outcome:
        pruned = search_module.search(problem, direction, forward=True, **kwargs)
        plain = search_module.search(problem, direction, forward=False, **kwargs)
        if pruned.exact and plain.exact:
            self.compared += 1
            assert (pruned.values is None) == (plain.values is None), (pruned, plain)
            if pruned.values is not None:
                self.found += 1
                assert pruned.cost == plain.cost, (pruned, plain)
        return pruned


def _compare(old: Any, new: Any, **layers: Any) -> _Both:
    both = _Both()
    with (
        mock.patch.object(compare, "search", both),
        mock.patch.object(search_module, "MAX_IMPROVE_NODES", 10**9),
    ):
        result = run(old, new, split=True, **layers)
    confirm(old, new, result, **layers)
    return both


@settings(SPLIT_SETTINGS, max_examples=15)
@given(policy_sets(), boundary_layers())
def test_forward_checking_finds_what_the_plain_search_finds(
    sets: tuple[list[JsonObject], list[JsonObject]],
    layers: dict[str, list[lspolicy.Policy] | None],
) -> None:
    """Random small policy sets (every operator family, qualifiers, policy variables): on
    every question, a witness with forward checking iff one without, of the same cost."""
    old = [parse(d, f"o{i}.json") for i, d in enumerate(sets[0])]
    new = [parse(d, f"n{i}.json") for i, d in enumerate(sets[1])]
    _compare(old, new, **layers)


# Statements over a few shared keys, as real policy sets have them: the same keys tested by many
# statements in different ways, which is where narrowing prunes (and where a slip would show).
_CONDITIONS: tuple[tuple[str, str, Any], ...] = (
    ("StringEquals", "aws:ResourceTag/team", "web"),
    ("StringEquals", "aws:ResourceTag/team", ["web", "data"]),
    ("StringNotEquals", "aws:ResourceTag/team", "data"),
    ("StringLike", "aws:ResourceTag/team", "w*"),
    ("StringEquals", "aws:ResourceTag/team", "${aws:PrincipalTag/team}"),
    ("StringEqualsIfExists", "aws:PrincipalTag/team", "web"),
    ("StringEquals", "aws:PrincipalTag/clearance", ["high", "top"]),
    ("Bool", "aws:SecureTransport", "true"),
    ("BoolIfExists", "aws:MultiFactorAuthPresent", "false"),
    ("Null", "aws:MultiFactorAuthPresent", "true"),
    ("Null", "aws:ResourceTag/team", "false"),
    ("NumericLessThan", "aws:MultiFactorAuthAge", "3600"),
    ("ForAnyValue:StringEquals", "aws:TagKeys", ["env", "team"]),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["env", "team", "cost"]),
    ("StringEquals", "aws:RequestedRegion", "us-east-1"),
)
_RESOURCES = ("*", INSTANCES, "arn:aws:lightsail:us-east-1:*:Instance/*")


@st.composite
def _shared_statement(draw: st.DrawFn, *, allows: bool = False) -> JsonObject:
    conditions: dict[str, dict[str, Any]] = {}
    for op, key, value in draw(st.lists(st.sampled_from(_CONDITIONS), max_size=3)):
        conditions.setdefault(op, {}).setdefault(key, value)
    make = deny if not allows and draw(st.integers(0, 3)) == 0 else allow
    return make(STOP, conditions or None, Resource=draw(st.sampled_from(_RESOURCES)))


@st.composite
def _shared_sets(draw: st.DrawFn) -> tuple[list[JsonObject], list[JsonObject]]:
    """Several policies over the shared keys, and the same set with one statement dropped,
    one condition key dropped, or one statement added."""
    old: list[JsonObject] = []
    for n in range(draw(st.integers(2, 4))):
        items = draw(st.lists(_shared_statement(), min_size=1, max_size=3))
        if n == 0:  # something to differ on: at least one allow
            items.insert(0, draw(_shared_statement(allows=True)))
        old.append({"Version": "2012-10-17", "Statement": items})
    new = copy.deepcopy(old)
    doc = new[draw(st.integers(0, len(new) - 1))]
    items = doc["Statement"]
    how = draw(st.sampled_from(("drop", "condition", "add")))
    if how == "drop" and len(items) > 1:
        items.pop(draw(st.integers(0, len(items) - 1)))
    elif how == "condition" and any("Condition" in s for s in items):
        statement = next(s for s in items if "Condition" in s)
        op = sorted(statement["Condition"])[0]
        del statement["Condition"][op]
        if not statement["Condition"]:
            del statement["Condition"]
    else:
        items.append(draw(_shared_statement()))
    return old, new


@settings(SPLIT_SETTINGS, max_examples=20)
@given(_shared_sets())
def test_forward_checking_on_keys_many_statements_share(
    sets: tuple[list[JsonObject], list[JsonObject]],
) -> None:
    """Sets whose statements test the same few keys (a variable among them): the same
    verdict and the same least cost per question, with and without forward checking."""
    old = [parse(d, f"o{i}.json") for i, d in enumerate(sets[0])]
    new = [parse(d, f"n{i}.json") for i, d in enumerate(sets[1])]
    _compare(old, new)


def test_contradiction_among_late_keys_is_cut_early() -> None:
    """A deny only OLD has, and NEW's copy without one of its conditions: NEW denies
    whenever OLD's deny applies, so NEW grants nothing new. The plain search meets the
    contradiction only once both denies' keys are chosen, after every other key the allows
    read; forward checking settles those keys first (each has one choice left) and proves
    it in a handful of nodes, where the plain search runs out of a budget of 3,000."""
    keys = [f"aws:PrincipalTag/k{i}" for i in range(8)]
    allows = [
        allow(STOP, {"StringEquals": {k: ["a", "b", "c"]}, "StringLike": {keys[-1 - i]: "x*"}})
        for i, k in enumerate(keys)
    ]
    old_deny = {
        "Bool": {"aws:SecureTransport": "true"},
        "NumericLessThan": {"aws:MultiFactorAuthAge": "60"},
        "StringEquals": {"aws:PrincipalTag/zz": "on"},
    }
    new_deny = {k: v for k, v in old_deny.items() if k != "StringEquals"}
    old = [policy(*allows, deny(STOP, old_deny))]
    new = [policy(*allows, deny(STOP, new_deny))]
    counts: dict[bool, list[Outcome]] = {True: [], False: []}

    def both(problem: Problem, direction: str, **kwargs: Any) -> Outcome:
        for forward in (True, False):
            counts[forward].append(
                search_module.search(problem, direction, forward=forward, **kwargs)
            )
        return counts[True][-1]

    with (
        mock.patch.object(compare, "search", both),
        mock.patch.object(search_module, "MAX_NODES", 3_000),
    ):
        result = run(old, new, split=True)
    confirm(old, new, result)
    assert not result.new_access and not result.undecided
    assert result.removed_access  # OLD allows where only NEW's deny applies
    assert all(o.exact for o in counts[True])
    assert max(o.nodes for o in counts[True]) < 300
    assert not all(o.exact for o in counts[False])  # the plain search ran out of its budget
