"""Work the diff shares between the questions of one comparison must not change its answers.

- A string slot's product automaton is explored with every pattern automaton run in one
  tagged NFA (`lspolicy.diff.domains._Explorer`): it must find exactly the signatures, and the
  same strings, as the product of separate automata (`StringSpace`), with and without a
  restriction to strings that can still pass some required patterns.
- The readable candidates' signatures are computed once for every resource kind
  (`SharedStrings`): each kind's classes are those of an exploration used for it alone.
- A case's slots read their classes off their group's (a projection) and their choices are
  built once per classes and shape: the whole diff, witnesses included, is the same with this
  sharing and without it (`_Comparison(share=False)`).

String semantics are the engine's, from "IAM JSON policy elements: Condition operators"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html:
StringEquals, StringEqualsIgnoreCase, StringLike with ``*``/``?``, ArnLike by component) and
"IAM JSON policy elements: Resource"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
The AWS documentation is silent on how a diff explores them: these are the diff's own
invariants.
"""

from __future__ import annotations

from typing import Any

from diffkit import confirm
from hypothesis import given, settings
from hypothesis import strategies as st
from test_diff_split import SPLIT_SETTINGS, boundary_layers, parse, policy_sets

import lspolicy
from lspolicy.budget import time_budget
from lspolicy.conditions.registry import OPERATORS
from lspolicy.diff.actions import ResourceKind
from lspolicy.diff.atoms import Atom, atom_from_prepared, atom_from_tokens, resource_atom
from lspolicy.diff.automata import explore
from lspolicy.diff.compare import _Comparison
from lspolicy.diff.domains import SharedStrings, StringSpace, _Explorer
from lspolicy.glob import tokens_of
from lspolicy.strategies import JsonObject

_WORDS = st.sampled_from(["web", "Web", "db", "", "w", "K", "\u212a", "x:y", "arn"])
_GLOBS = st.sampled_from(["w*", "*b", "?e?", "*", "a*:*", "K*", "x?y*", "d*b"])
_ARNS = st.sampled_from(
    [
        "arn:aws:lightsail:*:*:Instance/*",
        "arn:aws:lightsail:us-*:111122223333:*",
        "arn:*:lightsail:*:*:Disk/w?b",
        "arn:aws:iam::*:role/*",
    ]
)
_RESOURCES = st.sampled_from(
    [
        "arn:aws:lightsail:us-east-1:*:Instance/*",
        "arn:aws:lightsail:*:111122223333:*",
        "arn:aws:lightsail:eu-*:*:Disk/*",
        "arn:aws:lightsail:*:*:Instance/web",
        "*",
        "arn:aws:lightsail:us-east-1:111122223333:Instance/db",
    ]
)


def _atom(kind: str, text: str) -> Atom | None:
    if kind == "res":
        return resource_atom(tokens_of(text), f'Resource "{text}"')
    spec = OPERATORS[kind]
    if spec.prepare_tokens is not None:
        return atom_from_tokens(spec, tokens_of(text))
    return atom_from_prepared(spec, spec.prepare(text), text)


_ATOM = st.one_of(
    st.tuples(st.just("StringEquals"), _WORDS),
    st.tuples(st.just("StringEqualsIgnoreCase"), _WORDS),
    st.tuples(st.just("StringLike"), _GLOBS),
    st.tuples(st.just("ArnLike"), _ARNS),
    st.tuples(st.just("res"), _RESOURCES),
)


def _atoms(drawn: list[tuple[str, str]]) -> list[Atom]:
    out: dict[object, Atom] = {}
    for kind, text in drawn:
        atom = _atom(kind, text)
        if atom is not None:
            out.setdefault(atom.key, atom)
    return list(out.values())


def _plain_alive(space: StringSpace, needs: list[list[int]]) -> Any:
    """The restriction as it was written for separate automata: a state is alive while, for
    some need, every one of its atoms run as its own `SeqNFA` has a non-empty state."""
    sets = [[space.nfa_index[p] for p in need if p in space.nfa_index] for need in needs]
    if not all(sets):
        return None
    return lambda state: any(all(state[i] for i in need) for need in sets)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(_ATOM, min_size=1, max_size=8),
    st.lists(st.lists(st.integers(0, 7), max_size=3), max_size=2),
)
def test_tagged_exploration_finds_the_plain_products_classes_and_strings(
    drawn: list[tuple[str, str]], needs: list[list[int]]
) -> None:
    """The same signatures, each with the same shortest string, found in the same order;
    restricted or not to the strings that can still pass some need's patterns."""
    atoms = _atoms(drawn)
    needs = [[p for p in need if p < len(atoms)] for need in needs]
    plain = StringSpace(atoms)
    tagged = _Explorer(atoms)
    want = explore(plain.product, plain.signature)
    got = explore(tagged.product, tagged.signature)
    assert list(got.items()) == list(want.items())
    for text in [*want.values(), "arn:aws:lightsail:us-east-1:1:Instance/web", "Web", ""]:
        assert tuple(a.test(text) for a in atoms) == plain.sig_of(text)
    if needs:
        plain_alive = _plain_alive(plain, needs)
        tagged_alive = tagged.alive(needs)
        assert (plain_alive is None) == (tagged_alive is None)
        want = explore(plain.product, plain.signature, alive=plain_alive)
        got = explore(tagged.product, tagged.signature, alive=tagged_alive)
        assert list(got.items()) == list(want.items())


_KINDS = [
    ResourceKind(("Instance",), star=False),
    ResourceKind(("Disk", "Instance"), star=True),
    ResourceKind(("Disk",), star=False),
]


@settings(max_examples=20, deadline=None)
@given(st.lists(_RESOURCES, min_size=1, max_size=5, unique=True))
def test_candidates_classed_once_give_each_kind_its_own_classes(patterns: list[str]) -> None:
    """One `SharedStrings` answering every kind (candidates' signatures kept between kinds)
    gives each kind exactly the classes, representatives included, that a fresh one gives
    for that kind alone."""
    atoms = _atoms([("res", p) for p in patterns])
    requirements = [k.required() for k in _KINDS]
    shared = SharedStrings(requirements)
    for kind in _KINDS:
        required, candidates = kind.required(), kind.candidates()
        together = shared.domain(atoms, required, candidates)
        alone = SharedStrings(requirements).domain(atoms, required, candidates)
        assert together is not None and alone is not None
        assert together == alone


def _lines(
    old: list[lspolicy.Policy],
    new: list[lspolicy.Policy],
    *,
    share: bool,
    **layers: Any,
) -> list[str]:
    comparison = _Comparison(
        old,
        new,
        boundary_old=layers.get("boundary_old"),
        boundary_new=layers.get("boundary_new"),
        actions=None,
        resources=None,
        tags=None,
        share=share,
    )
    with time_budget(60.0):
        result = comparison.run(("new-access", "removed-access"))
    confirm(old, new, result, **layers)
    return [
        *result.lines(),
        *(f"{d.direction} {d.actions} {d.witness.to_dict()}" for d in result.differences),
        *(f"undecided {u.actions} {u.direction} {u.reasons}" for u in result.undecided),
    ]


@SPLIT_SETTINGS
@given(policy_sets(), boundary_layers())
def test_sharing_slots_between_cases_keeps_every_answer(
    sets: tuple[list[JsonObject], list[JsonObject]],
    layers: dict[str, list[lspolicy.Policy] | None],
) -> None:
    """With the cases' classes and choices shared, and each problem building its own: the
    same differences, the same witnesses, the same undecided questions."""
    old = [parse(d, f"o{i}.json") for i, d in enumerate(sets[0])]
    new = [parse(d, f"n{i}.json") for i, d in enumerate(sets[1])]
    assert _lines(old, new, share=True, **layers) == _lines(old, new, share=False, **layers)
