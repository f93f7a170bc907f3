"""The split question (`lspolicy.diff.split`) answers exactly as the whole question.

Split and unsplit must agree on every action group and direction: a difference or none, and
whether it was decided. The cases rest on the evaluation logic of identity-based policies and
permissions boundaries — an explicit deny in any policy wins, otherwise an allow is needed in
the identity policies and, when a boundary is set, in the boundary too ("Policy evaluation
logic", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html;
"Permissions boundaries for IAM entities",
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html).
"""

from __future__ import annotations

import copy
from typing import Any

from diffkit import INSTANCES, START, STOP, allow, confirm, deny, policy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lspolicy
from lspolicy.budget import time_budget
from lspolicy.diff import DiffResult
from lspolicy.diff.compare import _Comparison
from lspolicy.strategies import JsonObject, policy_documents, statements

SPLIT_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def parse(doc: JsonObject, source: str, kind: str = "identity") -> lspolicy.Policy:
    return lspolicy.parse_policy(doc, source=source, kind=kind)  # type: ignore[arg-type]


def run(old: Any, new: Any, *, split: bool, **layers: Any) -> DiffResult:
    comparison = _Comparison(
        old,
        new,
        boundary_old=layers.get("boundary_old"),
        boundary_new=layers.get("boundary_new"),
        actions=None,
        resources=None,
        tags=None,
        split=split,
    )
    with time_budget(60.0):
        return comparison.run(("new-access", "removed-access"))


def verdicts(result: DiffResult) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """Per direction: the actions with a difference, and the actions left undecided."""
    out: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    for direction in ("new-access", "removed-access"):
        found = frozenset(
            a for d in result.differences if d.direction == direction for a in d.actions
        )
        open_ = frozenset(
            a for u in result.undecided if u.direction == direction for a in u.actions
        )
        out[direction] = (found, open_)
    return out


@st.composite
def policy_sets(draw: st.DrawFn) -> tuple[list[JsonObject], list[JsonObject]]:
    """Two sets sharing most documents: one edited (a statement added, dropped or replaced),
    removed, or added; or the same set."""
    old = draw(st.lists(policy_documents(max_statements=2), min_size=1, max_size=3))
    new = copy.deepcopy(old)
    how = draw(st.sampled_from(("edit", "edit", "remove", "add", "same")))
    at = draw(st.integers(0, len(new) - 1))
    if how == "remove":
        del new[at]
    elif how == "add":
        new.append(draw(policy_documents(max_statements=2)))
    elif how == "edit":
        doc = new[at]
        items = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
        change = draw(st.sampled_from(("add", "drop", "replace")))
        if change == "add" or len(items) == 1:
            extra = draw(statements())
            extra.pop("Sid", None)
            items = [*items, extra]
        elif change == "drop":
            items.pop(draw(st.integers(0, len(items) - 1)))
        else:
            fresh = draw(statements())
            fresh.pop("Sid", None)
            items[draw(st.integers(0, len(items) - 1))] = fresh
        doc["Statement"] = items
    return old, new


@st.composite
def boundary_layers(draw: st.DrawFn) -> dict[str, list[lspolicy.Policy] | None]:
    """No boundary, the same on both sides, one side only, or an edited one."""
    how = draw(st.sampled_from(("none", "same", "old", "new", "edited")))
    first = draw(policy_documents(max_statements=2))
    second = copy.deepcopy(first)
    if how == "edited":
        extra = draw(statements())
        extra.pop("Sid", None)
        items = first["Statement"] if isinstance(first["Statement"], list) else [first["Statement"]]
        second["Statement"] = [*items, extra]
    b1 = [parse(first, "b1.json", "boundary")]
    b2 = [parse(second, "b2.json", "boundary")]
    return {
        "boundary_old": None if how in ("none", "new") else b1,
        "boundary_new": None if how in ("none", "old") else b2 if how == "edited" else b1,
    }


@SPLIT_SETTINGS
@given(policy_sets(), boundary_layers())
def test_split_answers_as_the_whole_question(
    sets: tuple[list[JsonObject], list[JsonObject]],
    layers: dict[str, list[lspolicy.Policy] | None],
) -> None:
    """split == unsplit on random small sets, group by group, and each witness is confirmed."""
    old = [parse(d, f"o{i}.json") for i, d in enumerate(sets[0])]
    new = [parse(d, f"n{i}.json") for i, d in enumerate(sets[1])]
    whole = run(old, new, split=False, **layers)
    split = run(old, new, split=True, **layers)
    confirm(old, new, split, **layers)
    if whole.exact and split.exact:
        assert verdicts(split) == verdicts(whole), (split.lines(), whole.lines())
    else:  # a budget may leave different parts open: decided parts must still agree
        for direction, (found, open_) in verdicts(split).items():
            other_found, other_open = verdicts(whole)[direction]
            assert not (found - other_found - other_open), direction
            assert not (other_found - found - open_), direction


def test_each_case_of_the_split_finds_its_difference() -> None:
    """One pair per case: an allow only NEW has (b), a deny only OLD has (a), and OLD's
    boundary that NEW's does not share (c); each found with a confirmed witness, and the
    same as the whole question finds."""
    shared = allow(STOP, Resource=INSTANCES)
    cases = {
        "allow only new": ([policy(shared)], [policy(shared), policy(allow(START))], {}),
        "deny only old": (
            [policy(allow([STOP, START])), policy(deny(START))],
            [policy(allow([STOP, START]))],
            {},
        ),
        "old boundary fails": (
            [policy(allow([STOP, START]))],
            [policy(allow([STOP, START]))],
            {
                "boundary_old": [parse(_doc(allow(STOP)), "b1.json", "boundary")],
                "boundary_new": [parse(_doc(allow(STOP), allow(START)), "b2.json", "boundary")],
            },
        ),
    }
    for name, (old, new, layers) in cases.items():
        split = run(old, new, split=True, **layers)
        whole = run(old, new, split=False, **layers)
        confirm(old, new, split, **layers)
        assert split.new_access, name
        assert START in split.new_access[0].actions or split.new_access[0].witness.action == START
        assert verdicts(split) == verdicts(whole), name


def _doc(*items: dict[str, Any]) -> JsonObject:
    return {"Version": "2012-10-17", "Statement": list(items)}
