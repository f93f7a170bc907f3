"""Shortcuts of the diff that must not change its answers: the lower bound that cuts the
witness improvement, and the resource classes explored once for every kind of resource.

The witness is the request with the fewest context keys (then values) the search can find;
the lower bound may only cut subtrees holding no cheaper request, so with the improvement
budget out of the way the diff's answer, witnesses included, is the same with and without it.
The resource kinds are the ARN shapes of the Lightsail resource types ("Actions, resources,
and condition keys for Amazon Lightsail",
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html);
a Resource element's wildcards are those of "IAM JSON policy elements: Resource"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
"""

from __future__ import annotations

import functools
from typing import Any
from unittest import mock

import pytest
from diffkit import confirm
from hypothesis import given, settings
from hypothesis import strategies as st
from test_diff_split import SPLIT_SETTINGS, boundary_layers, parse, policy_sets, run

import lspolicy
import lspolicy.diff.search as search_module
from lspolicy.diff import compare
from lspolicy.diff.actions import ResourceKind
from lspolicy.diff.atoms import resource_atom
from lspolicy.diff.domains import (
    DiffInternalError,
    SharedStrings,
    StringSpace,
    ValueClass,
    _pick,
    compute_domain,
)
from lspolicy.glob import tokens_of
from lspolicy.strategies import JsonObject


def _answer(old: Any, new: Any, *, floor: bool, **layers: Any) -> list[str]:
    unbounded = functools.partial(search_module.search, floor=floor)
    with (
        mock.patch.object(compare, "search", unbounded),
        mock.patch.object(search_module, "MAX_IMPROVE_NODES", 10**9),
    ):
        result = run(old, new, split=True, **layers)
    confirm(old, new, result, **layers)
    return [*result.lines(), *(f"undecided {u.actions} {u.direction}" for u in result.undecided)]


@settings(SPLIT_SETTINGS, max_examples=6)
@given(policy_sets(), boundary_layers())
def test_lower_bound_keeps_every_witness(
    sets: tuple[list[JsonObject], list[JsonObject]],
    layers: dict[str, list[lspolicy.Policy] | None],
) -> None:
    """With and without the lower bound (and no improvement budget), the same differences
    with the same witnesses: the bound only cuts what holds no cheaper request."""
    old = [parse(d, f"o{i}.json") for i, d in enumerate(sets[0])]
    new = [parse(d, f"n{i}.json") for i, d in enumerate(sets[1])]
    assert _answer(old, new, floor=True, **layers) == _answer(old, new, floor=False, **layers)


_SEGMENTS = st.tuples(
    st.sampled_from(["us-east-1", "eu-west-1", "*", "us-*"]),
    st.sampled_from(["111122223333", "444455556666", "*"]),
    st.sampled_from(["Instance/*", "Instance/web", "Disk/*", "*", "Inst*"]),
)
_KINDS = [
    ResourceKind(("Instance",), star=False),
    ResourceKind(("Disk", "Instance"), star=True),
    ResourceKind(("Disk",), star=False),
    ResourceKind((), star=True),
]


@settings(max_examples=25, deadline=None)
@given(st.lists(_SEGMENTS, min_size=1, max_size=4), st.booleans())
def test_shared_resource_classes_are_each_kinds_own(
    segments: list[tuple[str, str, str]], star: bool
) -> None:
    """One exploration for several kinds gives each kind exactly the classes computed for it
    alone, every representative of the kind's shape and passing what its class says."""
    patterns = [f"arn:aws:lightsail:{r}:{a}:{t}" for r, a, t in segments] + ["*"] * star
    atoms = list({a.key: a for a in (resource_atom(tokens_of(p), p) for p in patterns)}.values())
    shared = SharedStrings([k.required() for k in _KINDS])
    for kind in _KINDS:
        required = kind.required()
        candidates = kind.candidates()
        alone = compute_domain(atoms, required=required, candidates=candidates)
        together = shared.domain(atoms, required, candidates)
        assert together is not None
        assert together.exact and alone.exact
        assert {c.sig for c in together.classes} == {c.sig for c in alone.classes}
        lengths = {c.sig: len(c.rep) for c in alone.classes}
        for c in together.classes:
            assert tuple(a.test(c.rep) for a in atoms) == c.sig
            assert all(a.test(c.rep) for a, _ in required)
            assert len(c.rep) == lengths[c.sig] or c.rep in candidates
    assert shared.domain(atoms[:-1] or atoms, [], []) is None  # not a restriction it holds


def test_a_candidate_outside_a_finished_exploration_is_a_disagreement() -> None:
    """Readable candidates are classed by the engine's own tests; when the automata's
    exploration finished, each must fall in a class it reached (else the automata and the
    engine disagree: an internal error, never a silent answer). A partial exploration
    (cut by its budget) takes the candidate's class as found. Docs are silent: this is the
    diff's own consistency check."""
    atoms = [resource_atom(tokens_of("arn:aws:lightsail:*:*:Instance/*"), "r")]
    space = StringSpace(atoms)
    text = "arn:aws:lightsail:us-east-1:111122223333:Instance/x"
    with pytest.raises(DiffInternalError):
        _pick(space, {}, 1, ((), ()), [text], complete=True)
    assert _pick(space, {}, 1, ((), ()), [text], complete=False) == [ValueClass(text, (True,))]
