"""A case with no solution before any choice is skipped without building its problem
(`lspolicy.diff.split.impossible`), and the diff's answers stay the same.

The search's first test is the goal evaluated three-valued on the empty assignment
(`lspolicy.diff.search.search`); `impossible` answers it from the case's layout alone, so it must
agree with that test on every case of every group, and the whole diff with the skip must give
the same differences, witnesses and undecided questions as without it.

Decision semantics: "Policy evaluation logic" in the IAM User Guide
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html: an
explicit deny overrides; an identity-based allow is needed; a permissions boundary must also
allow). How the diff splits a question into cases is the diff's own (the documentation is
silent on it).
"""

from __future__ import annotations

from typing import Any

from diffkit import allow, confirm, deny, policy
from hypothesis import given
from test_diff_split import SPLIT_SETTINGS, boundary_layers, parse, policy_sets

import lspolicy
from lspolicy.budget import time_budget
from lspolicy.diff.actions import group_actions
from lspolicy.diff.compare import _Comparison
from lspolicy.diff.search import Evaluator
from lspolicy.diff.split import cases, impossible
from lspolicy.strategies import JsonObject

_DIRECTIONS = ("new-access", "removed-access")


def _comparison(old: Any, new: Any, *, skip: bool = True, **layers: Any) -> _Comparison:
    return _Comparison(
        old,
        new,
        boundary_old=layers.get("boundary_old"),
        boundary_new=layers.get("boundary_new"),
        actions=None,
        resources=None,
        tags=None,
        skip=skip,
    )


def _root_answers(comparison: _Comparison) -> list[tuple[bool, bool]]:
    """For every case of every group and direction: (``impossible``, the search's root test
    on the case's problem is false)."""
    out: list[tuple[bool, bool]] = []
    for group in group_actions(comparison.raw, actions=None):
        statements = [comparison.raw[i] for i in group.statements]
        whole = comparison.problem(group, statements, None, parent=comparison.universe(group))
        for direction in _DIRECTIONS:
            for layout in cases(statements, direction, comparison.boundaries):
                problem = comparison.problem(group, statements, layout, parent=whole)
                root = Evaluator(problem, direction).goal({}, {}, None) is False
                out.append((impossible(layout, direction), root))
    return out


def _lines(old: Any, new: Any, *, skip: bool, **layers: Any) -> list[str]:
    comparison = _comparison(old, new, skip=skip, **layers)
    with time_budget(60.0):
        result = comparison.run(_DIRECTIONS)
    confirm(old, new, result, **layers)
    return [
        *result.lines(),
        *(f"{d.direction} {d.actions} {d.witness.to_dict()}" for d in result.differences),
        *(f"undecided {u.actions} {u.direction} {u.reasons}" for u in result.undecided),
    ]


@SPLIT_SETTINGS
@given(policy_sets(), boundary_layers())
def test_impossible_is_the_searchs_root_test(
    sets: tuple[list[JsonObject], list[JsonObject]],
    layers: dict[str, list[lspolicy.Policy] | None],
) -> None:
    """On every case of random policy sets (with boundaries), ``impossible`` says exactly
    what the search's own first test says on the built problem."""
    old = [parse(d, f"o{i}.json") for i, d in enumerate(sets[0])]
    new = [parse(d, f"n{i}.json") for i, d in enumerate(sets[1])]
    for mine, searched in _root_answers(_comparison(old, new, **layers)):
        assert mine == searched


@SPLIT_SETTINGS
@given(policy_sets(), boundary_layers())
def test_skipping_impossible_cases_keeps_every_answer(
    sets: tuple[list[JsonObject], list[JsonObject]],
    layers: dict[str, list[lspolicy.Policy] | None],
) -> None:
    """With the skip and without it: the same differences, witnesses and undecided
    questions."""
    old = [parse(d, f"o{i}.json") for i, d in enumerate(sets[0])]
    new = [parse(d, f"n{i}.json") for i, d in enumerate(sets[1])]
    assert _lines(old, new, skip=True, **layers) == _lines(old, new, skip=False, **layers)


def test_a_boundary_silent_on_the_actions_makes_every_case_impossible() -> None:
    """A boundary with no statement for the actions allows none of them (IAM User Guide,
    "Permissions boundaries for IAM entities": the effective permissions are the
    intersection), so neither side allows and every case is impossible before any choice;
    an unconditional deny on the allowing side likewise."""
    old = [policy(allow("lightsail:GetInstances", {"StringEquals": {"aws:username": "a"}}))]
    new = [policy(allow("lightsail:GetInstances"))]
    silent = [
        lspolicy.parse_policy(
            {"Version": "2012-10-17", "Statement": [allow("lightsail:GetDisks")]},
            source="b.json",
            kind="boundary",
        )
    ]
    answers = _root_answers(_comparison(old, new, boundary_old=silent, boundary_new=silent))
    assert answers
    assert all(mine == searched for mine, searched in answers)
    assert any(mine for mine, _ in answers)
    result = _comparison(old, new, boundary_old=silent, boundary_new=silent).run(_DIRECTIONS)
    assert not {a for d in result.differences for a in d.actions} & {"lightsail:GetInstances"}
    denied = [policy(deny("lightsail:GetInstances", Resource="*"))]
    plain = _comparison(old, [*new, *denied])
    assert all(mine == searched for mine, searched in _root_answers(plain))
