"""Properties of the diff on random policies (`lspolicy.strategies`).

- Every witness is confirmed by fresh engines: NEW and OLD decide it as reported.
- When the diff says "no difference" (exactly), no request sampled from the policies' own
  constants tells the two apart (a soundness cross-check of the exact claim).
- ``diff(P, P')`` is empty when P' only adds duplicate statements; ``diff(OLD, NEW)`` is
  ``diff(NEW, OLD)`` mirrored, witness for witness.
- The automata agree with the engine's matchers, and the value classes they find are complete.
"""

from __future__ import annotations

import copy
import itertools
import random
from typing import Any

from diffkit import confirm
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import lspolicy
from lspolicy.conditions.registry import OPERATORS
from lspolicy.diff import DiffResult, diff_policies
from lspolicy.diff.actions import resource_kind
from lspolicy.diff.atoms import Atom, atom_from_prepared, atom_from_tokens, resource_atom
from lspolicy.diff.domains import StringSpace, compute_domain
from lspolicy.glob import tokens_of
from lspolicy.lightsail import load_catalog
from lspolicy.model.request import ContextValue
from lspolicy.strategies import JsonObject, policy_documents, statements

HEAVY = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PAIRS = settings(HEAVY, max_examples=max(10, settings.default.max_examples // 2))
"""Each pair is two whole diffs (about half a second on one CI core, most of it the diff's
string classes): half the profile's examples (50 under ``ci``) keeps it under half a minute."""

documents = policy_documents(max_statements=3)


@st.composite
def policy_pairs(draw: st.DrawFn) -> tuple[JsonObject, JsonObject]:
    """Two unrelated documents, or a document and a small change of it."""
    old = draw(documents)
    how = draw(st.sampled_from(("unrelated", "add", "drop", "replace")))
    if how == "unrelated":
        return old, draw(documents)
    new = copy.deepcopy(old)
    items = new["Statement"] if isinstance(new["Statement"], list) else [new["Statement"]]
    if how == "add" or len(items) == 1:
        extra = draw(statements())
        extra.pop("Sid", None)
        items = [*items, extra]
    elif how == "drop":
        items.pop(draw(st.integers(0, len(items) - 1)))
    else:
        at = draw(st.integers(0, len(items) - 1))
        fresh = draw(statements())
        fresh.pop("Sid", None)
        items[at] = fresh
    new["Statement"] = items
    return old, new


def parse(doc: JsonObject, source: str, kind: str = "identity") -> lspolicy.Policy:
    return lspolicy.parse_policy(doc, source=source, kind=kind)  # type: ignore[arg-type]


@st.composite
def boundary_layers(draw: st.DrawFn) -> dict[str, list[lspolicy.Policy] | None]:
    """No permissions boundary (mostly), one on a side, the same on both, or two different."""
    how = draw(st.sampled_from(("none", "none", "same", "old", "new", "both")))
    first = [parse(draw(policy_documents(max_statements=2)), "b1.json", "boundary")]
    second = [parse(draw(policy_documents(max_statements=2)), "b2.json", "boundary")]
    return {
        "boundary_old": None if how in ("none", "new") else first,
        "boundary_new": None if how in ("none", "old") else first if how == "same" else second,
    }


def _strings(value: Any) -> list[str]:
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [str(value)]


def constants(*docs: JsonObject) -> tuple[list[str], list[str]]:
    """The condition keys the documents test and every value they compare with (also each
    wildcard pattern spelled out, and each variable's name)."""
    keys: list[str] = []
    values: list[str] = ["", "x", "dev", "prod", "alice", "web", "ops", "shared"]
    for doc in docs:
        items = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
        for item in items:
            for block in (item.get("Condition") or {}).values():
                for key, raw in block.items():
                    keys.append(key)
                    for text in _strings(raw):
                        values.append(text)
                        values.append(text.replace("*", "").replace("?", "x"))
                        values.append(text.replace("*", "x").replace("?", "y"))
                        values.append(text.upper())
            for text in _strings(item.get("Resource", [])):
                if "${" in text:
                    for part in text.split("${")[1:]:
                        keys.append(part.split("}")[0].split(",")[0].strip())
    keys += ["aws:username", "aws:PrincipalTag/team", "aws:PrincipalTag/env"]
    return sorted(set(keys)), sorted(set(values))


def sampled_requests(docs: tuple[JsonObject, ...], rnd: random.Random, n: int) -> list[Any]:
    """Requests built from the documents' own keys and values, within the diff's domain
    (plain ``random``, seeded by hypothesis: building strategies per example is slow)."""
    keys, values = constants(*docs)
    catalog = load_catalog()
    actions = [
        "lightsail:StopInstance",
        "lightsail:GetInstances",
        "ec2:StopInstances",
        *sorted(a.iam_name for a in catalog.actions.values()),
    ]
    out = []
    for _ in range(n):
        action = rnd.choice(actions[:3]) if rnd.random() < 0.5 else rnd.choice(actions)
        kind = resource_kind(catalog, action)
        region = rnd.choice(("us-east-1", "eu-west-2", "ap-southeast-1", "x"))
        account = rnd.choice(("111122223333", "444455556666"))
        ident = rnd.choice([*values, "web-1", "ops-1"]).replace(":", "") or "x"
        choices = [f"arn:aws:lightsail:{region}:{account}:{t}/{ident}" for t in kind.types]
        if kind.star or kind.free:
            choices.append("*")
        context: dict[str, ContextValue] = {}
        for key in rnd.sample(keys, rnd.randint(0, len(keys))):
            if key.lower() == "aws:tagkeys":
                context[key] = rnd.sample(values, rnd.randint(0, 3))
            else:
                context[key] = rnd.choice(values)
        out.append(lspolicy.Request(action, rnd.choice(choices), context))
    return out


def mirrored(result: DiffResult) -> list[tuple[str, tuple[str, ...], Any]]:
    flip = {"new-access": "removed-access", "removed-access": "new-access"}
    return sorted(((flip[d.direction], d.actions, d.witness) for d in result.differences), key=repr)


def plain(result: DiffResult) -> list[tuple[str, tuple[str, ...], Any]]:
    return sorted(((d.direction, d.actions, d.witness) for d in result.differences), key=repr)


@PAIRS
@given(policy_pairs(), st.data())
def test_witnesses_confirmed_sound_and_mirrored(
    pair: tuple[JsonObject, JsonObject], data: st.DataObject
) -> None:
    """The three properties of a diff, on one pair (diffs are costly: share them)."""
    old_doc, new_doc = pair
    old, new = [parse(old_doc, "old.json")], [parse(new_doc, "new.json")]
    layers = data.draw(boundary_layers(), label="boundaries")
    back = {"boundary_old": layers["boundary_new"], "boundary_new": layers["boundary_old"]}
    forward = diff_policies(old, new, **layers)
    confirm(old, new, forward, **layers)
    backward = diff_policies(new, old, **back)
    confirm(new, old, backward, **back)
    assert plain(forward) == mirrored(backward)
    assert forward.exact == backward.exact
    if forward.differences or not forward.exact:
        return
    old_set = lspolicy.PolicySet(old, boundary=layers["boundary_old"])
    new_set = lspolicy.PolicySet(new, boundary=layers["boundary_new"])
    rnd = random.Random(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    for request in sampled_requests((old_doc, new_doc), rnd, 300):
        assert old_set.is_allowed(request) == new_set.is_allowed(request), request


@HEAVY
@given(documents, st.data())
def test_duplicated_statements_change_nothing(doc: JsonObject, data: st.DataObject) -> None:
    """A policy against itself with one statement repeated: the search runs, finds nothing."""
    items = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    twin = copy.deepcopy(data.draw(st.sampled_from(items)))
    twin.pop("Sid", None)
    policy = parse(doc, "p.json")
    again = parse({**doc, "Statement": [*reversed(items), twin]}, "q.json")
    result = diff_policies([policy], [again])
    assume(result.exact)
    assert not result.differences, result.lines()
    assert diff_policies([policy], [policy]).differences == ()


# -- the automata against the engine ----------------------------------------------------------

pattern_text = st.text(alphabet="ab:/*?", max_size=8)
subject_text = st.text(alphabet="ab:/c", max_size=10)
LIKE, ARN = OPERATORS["StringLike"], OPERATORS["ArnLike"]


def string_atoms(pattern: str) -> list[Atom]:
    tokens = tokens_of(pattern)
    out = [atom_from_tokens(LIKE, tokens), resource_atom(tokens, "r")]
    arn = atom_from_tokens(ARN, tokens)
    if arn is not None:
        out.append(arn)
    return [a for a in out if a is not None]


@given(pattern_text, subject_text)
@example("arn:*:b", "arn:a:b")
@example("a:*", "a:b:c")
@example("*:b*", "a:b:c:")
@example("a:a:a:a:a:*", "a:a:a:a:a:b:c")
def test_automata_agree_with_engine_matchers(pattern: str, text: str) -> None:
    """StringLike, ArnLike and Resource patterns: the character automata accept exactly the
    strings the engine's matchers match."""
    for atom in string_atoms(pattern):
        assert StringSpace([atom]).sig_of(text) == (atom.test(text),), atom.label


@given(
    st.text(alphabet="kK\u212ai\u0130 ", max_size=3),
    st.text(alphabet="kK\u212ai\u0130 ", max_size=4),
)
@example("i\u0307", "\u0130")
def test_ignore_case_automaton_agrees_with_lower(target: str, text: str) -> None:
    atom = atom_from_prepared(OPERATORS["StringEqualsIgnoreCase"], target.lower(), target)
    assert atom is not None
    assert StringSpace([atom]).sig_of(text) == (atom.test(text),)


@given(st.lists(pattern_text, min_size=1, max_size=3))
def test_string_classes_are_complete(patterns: list[str]) -> None:
    """Every combination of patterns some short string passes is a class the search finds,
    and every class's representative passes exactly its combination."""
    atoms = [a for p in patterns for a in string_atoms(p)]
    domain = compute_domain(atoms)
    found = {c.sig for c in domain.classes}
    for c in domain.classes:
        assert tuple(a.test(c.rep) for a in atoms) == c.sig
    for n in range(5):
        for chars in itertools.product("ab:/c", repeat=n):
            text = "".join(chars)
            assert tuple(a.test(text) for a in atoms) in found, text
