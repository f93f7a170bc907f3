"""The search: assign each slot a class of values (or "absent"), decide both sides' decisions
three-valued as it goes, and prune as soon as the wanted difference is impossible.

For one group of actions (the same statements apply to all of them) and one direction
(``new-access``: NEW allows and OLD denies; ``removed-access``: the reverse), the decision of
each side depends only on

- the class of the resource (`lspolicy.diff.domains`),
- for each context key a policy reads: absent, or the class of its value (the set of classes of
  its values for a list key, with the empty list and the one-empty-string list apart),
- for each value tested against a policy variable: whether it matches the resolved template
  (a boolean the search chooses; `lspolicy.diff.realize` then proves the choice can be met).

The search is a depth-first branch and bound over these, "absent" and the most readable
classes first. After each choice both decisions are evaluated three-valued (true, false, not
yet known) exactly as `lspolicy.evaluate.clause` and `lspolicy.evaluate.authorize` decide
them, and a branch is cut as soon as the difference is false. With forward checking (the
default, `lspolicy.diff.narrow`) every unassigned slot's choices are narrowed at each node to
those that keep the difference possible, a node is cut when a slot has none left, and the
search branches on the resource, then a slot with one choice, then the slots a must-apply
statement reads, then the slot with the fewest choices; without it (``forward=False``, kept
for the tests) slots go in a fixed order (the resource, the keys variables read, the
must-apply statement's keys, then the most-read). The first solution found is then improved
to the one with the fewest context keys and values (the bound), within `MAX_IMPROVE_NODES`;
a node is cut as soon as its cost plus a lower bound on the keys it still needs cannot beat
the best (keys that cannot be absent, or whose absence already makes the difference false,
and disjoint sets of keys that statements which must fail need one of). The bound only cuts
subtrees holding no cheaper solution, so the witness is the one the improvement without it
reaches (the same, or a cheaper one when that one ran out of nodes), usually in far fewer
nodes: it proves a witness minimal instead of trying every cheaper combination. Every
solution is checked by `lspolicy.diff.realize` before it counts.

Exactness: the classes of every slot are complete (or the slot says it is not), the product of
classes is searched exhaustively, and "absent" is a choice for every key: so "no solution" here
means no request has the difference, unless a slot or a variable sub-problem was inexact or the
node budget ran out, each of which is reported as "unknown" with its cause.
"""

from __future__ import annotations

import itertools
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

from lspolicy.budget import expired
from lspolicy.budget import reason as budget_reason
from lspolicy.diff.atoms import Atom, empty_atom
from lspolicy.diff.automata import ComplexityError, Element
from lspolicy.diff.domains import Domain, SharedStrings, ValueClass, compute_domain
from lspolicy.diff.logic import and3, condition_outcome, or3, xor3
from lspolicy.diff.narrow import Domains, Masks, Narrowing
from lspolicy.diff.problem import RESOURCE, RawCondition, RawStatement, RawTemplate

__all__ = [
    "AtomMemo",
    "Outcome",
    "Problem",
    "SideLayout",
    "Slot",
    "SlotChoices",
    "SlotValue",
    "TemplateInfo",
    "instantiate",
    "search",
]

MAX_NODES: Final = 200_000
"""Search nodes before giving up with "unknown" (no solution found yet)."""
MAX_IMPROVE_NODES: Final = 20_000
"""Nodes spent improving a solution towards the fewest keys, after the first one."""
MAX_SUBSET_CLASSES: Final = 12
"""A list key with more classes than this is searched over subsets of at most 3 classes."""

_REGIONS: Final = ("us-east-1", "eu-west-1", "us-west-2")
_ACCOUNTS: Final = ("111122223333", "444455556666")
_KEY_DEFAULTS: Final[dict[str, tuple[str, ...]]] = {
    "aws:requestedregion": _REGIONS,
    "aws:username": ("alice", "bob"),
    "aws:principalaccount": _ACCOUNTS,
    "aws:principalarn": (
        f"arn:aws:iam::{_ACCOUNTS[0]}:user/alice",
        f"arn:aws:iam::{_ACCOUNTS[0]}:role/admin",
    ),
    "aws:principaltype": ("User", "AssumedRole"),
}
_FILLERS: Final = ("x", "y", "z", "x1")


# -- readable values ------------------------------------------------------------------------------


def instantiate(elements: Sequence[Element], star: str, variant: int = 0) -> str:
    """A string an element sequence spells, with ``star`` for each run (ARN-aware: a run in the
    partition, region or account segment gets a real-looking one; ``variant`` picks another)."""
    out: list[str] = []
    segment = 0
    for el in elements:
        kind = el[0]
        if kind == "l":
            ch = str(el[1])
            out.append(ch)
            if ch == ":":
                segment += 1
        elif kind == "o":
            out.append("x")
        elif kind == "s":
            text = "".join(out)
            whole = not out or out[-1] == ":"
            if star and whole and text.startswith("arn:") and segment in (1, 3, 4):
                fill = {1: ("aws",), 3: _REGIONS, 4: _ACCOUNTS}[segment]
                out.append(fill[variant % len(fill)])
            else:
                out.append(star)
    return "".join(out)


def _segments(elements: Sequence[Element]) -> list[list[Element]]:
    out: list[list[Element]] = [[]]
    for el in elements:
        if el == ("l", ":"):
            out.append([])
        else:
            out[-1].append(el)
    return out


AtomMemo = dict[tuple[str, tuple[Any, ...]], tuple[Any, ...]]
"""What `_structured_resources` and `_atom_candidates` read off one atom, by its key (an
atom's key fixes its test, and so its text and elements)."""


def _arn_parts(a: Atom) -> tuple[tuple[int, str], ...]:
    """The ARN parts an atom names, in order: (0 partition, 1 region, 2 account, 3 resource
    type, 4 id; the text)."""
    out: list[tuple[int, str]] = []
    for branch in a.elements or ((("l", c) for c in a.text),) if a.text else ():
        segments = _segments(list(branch))
        if len(segments) < 6:
            continue
        for slot, segment in zip((0, 1, 2), (1, 3, 4), strict=True):
            text = instantiate(segments[segment], "x")
            if text and all(el[0] == "l" for el in segments[segment]):
                out.append((slot, text))
        last = ":".join(instantiate(s, "x") for s in segments[5:])
        kind, _, ident = last.partition("/")
        if ident:
            out.append((3, kind))
            out.append((4, ident))
    return tuple(out)


def _per_atom(
    memo: AtomMemo | None, what: str, a: Atom, make: Callable[[Atom], tuple[Any, ...]]
) -> tuple[Any, ...]:
    if memo is None:
        return make(a)
    key = (what, a.key)
    got = memo.get(key)
    if got is None:
        got = memo[key] = make(a)
    return got


def _structured_resources(
    atoms: Iterable[Atom], types: Sequence[str], memo: AtomMemo | None = None
) -> list[str]:
    """Lightsail ARNs built from the parts the policies name: their partitions, regions,
    accounts and ids, then common ones."""
    parts: list[list[str]] = [["aws"], [], [], [], []]
    for a in atoms:
        for slot, text in _per_atom(memo, "arn-parts", a, _arn_parts):
            parts[slot].append(text)
    partitions = _dedup([*parts[0]])
    regions = _dedup([*parts[1], *_REGIONS])
    accounts = _dedup([*parts[2], *_ACCOUNTS])
    ids = _dedup([*parts[4], "x", "y"])
    out: list[str] = []
    ordered = sorted(types, key=lambda t: t != "Instance")
    for kind in ordered:
        for region, account, ident in itertools.product(regions[:6], accounts[:4], ids[:8]):
            out.append(f"arn:{partitions[0]}:lightsail:{region}:{account}:{kind}/{ident}")
            if len(out) > 400:
                return out
    return out


def _one_atom_candidates(a: Atom) -> tuple[str, ...]:
    out: list[str] = []
    if a.family in ("eq", "ieq") and a.text:
        out.append(a.text)
    elif a.elements is not None and a.family in ("glob", "arn", "res"):
        for branch in a.elements:
            out.append(instantiate(branch, "x"))
            out.append(instantiate(branch, "x", 1))
            out.append(instantiate(branch, ""))
    return tuple(c for c in out if c)


def _atom_candidates(atoms: Iterable[Atom], memo: AtomMemo | None = None) -> list[str]:
    return [c for a in atoms for c in _per_atom(memo, "candidates", a, _one_atom_candidates)]


def _dedup(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# -- the problem ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlotValue:
    """One choice for a slot: absent, one class, or a set of classes (list keys)."""

    absent: bool
    classes: tuple[int, ...] = ()
    many: bool = False
    """A list (list keys), even of one value."""
    dup_empty: bool = False
    """The list ``["", ""]``: like ``[""]`` but not the "null dataset"."""
    nullset: bool = False
    """Exactly ``[""]`` (a single empty string): ForAnyValue false, ForAllValues true."""
    cost: int = field(init=False, compare=False, repr=False)
    """How much the value adds to a witness: keys first, then values (read at every node
    of a search: computed once)."""

    def __post_init__(self) -> None:
        n = len(self.classes)
        cost = 0 if self.absent else 100 + (n - 1 if n > 1 else 0) + (1 if self.many else 0)
        object.__setattr__(self, "cost", cost)

    @property
    def empty(self) -> bool:
        """An empty list."""
        return self.many and not self.classes

    @property
    def variable_kind(self) -> str:
        """What a policy variable reading this slot resolves to: ``default`` (absent or an
        empty list), ``single`` (one value), ``none`` (several values)."""
        if self.absent or self.empty:
            return "default"
        if len(self.classes) == 1 and not self.dup_empty:
            return "single"
        return "none"


@dataclass
class Slot:
    """A resource or context key: its tests, classes and choices."""

    key: str
    name: str
    multi: bool
    atoms: tuple[Atom, ...]
    required: tuple[tuple[Atom, bool], ...]
    fixed: str | None
    """The one value the slot may carry (a check's scope), or None."""
    candidates: tuple[str, ...]
    domain: Domain = field(default_factory=lambda: Domain(()))
    empty_index: int | None = None
    values: tuple[SlotValue, ...] = ()
    uses: int = 0
    absent_only: bool = False
    """The scope asks for the key to be absent."""

    @property
    def is_resource(self) -> bool:
        """The resource slot."""
        return self.key == RESOURCE


@dataclass(frozen=True)
class TemplateInfo:
    """A template, with its default-resolved atom's index in its slot."""

    raw: RawTemplate
    default: int | None
    """Atom index when every variable is absent with a default; None: dropped then."""
    canonical: int
    """The first template with the same `RawTemplate.dependent_key` (they share a boolean)."""


@dataclass(frozen=True)
class Condition:
    """A condition with its tests as indices (``("a", atom)``, ``("t", template)``)."""

    raw: RawCondition
    slot: str
    preds: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Statement:
    """A statement with its resource tests and conditions as indices."""

    raw: RawStatement
    resource: tuple[tuple[str, int], ...] | None
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class SideLayout:
    """Which statements decide one side of a question: "allowed" is no ``deny`` applies, and
    some ``identity`` statement applies (None: always), and some ``boundary`` statement
    applies (None: no boundary). A side of the diff is its own statements in these roles;
    `lspolicy.diff.split` builds sides from parts of both (each part a sound case)."""

    deny: tuple[RawStatement, ...]
    identity: tuple[RawStatement, ...] | None
    boundary: tuple[RawStatement, ...] | None
    must: tuple[RawStatement, ...] = ()
    """Statements that must apply for a solution (searched first: their slots prune most)."""


@dataclass(frozen=True)
class SlotChoices:
    """A slot's choices (`Problem._values`) for one number of classes and shape."""

    values: tuple[SlotValue, ...]
    capped: bool
    """Lists were cut at 3 classes (the problem is then inexact)."""


class Problem:
    """The statements of one group of actions, with every slot they read and its classes."""

    def __init__(
        self,
        statements: Sequence[RawStatement],
        *,
        boundaries: Mapping[str, bool],
        multi: Mapping[str, bool],
        names: Mapping[str, str],
        resource_required: Sequence[tuple[Atom, bool]],
        resource_candidates: Sequence[str],
        fixed: Mapping[str, str | None],
        resource_types: Sequence[str] = (),
        domains: dict[object, Domain] | None = None,
        layout: Mapping[str, SideLayout] | None = None,
        parent: Problem | None = None,
        shared: SharedStrings | None = None,
        values: dict[object, SlotChoices] | None = None,
        share: bool = True,
        per_atom: AtomMemo | None = None,
    ) -> None:
        self.boundaries = dict(boundaries)
        self.shared = shared
        """The resource's classes under every kind of resource of a diff, explored at once
        (None, or when it does not apply: the slot's own computation)."""
        self.parent = parent
        """The whole question this one is a case of: its slots' classes, projected onto this
        case's atoms, are this case's classes (no string product is explored again)."""
        self.layout = None if layout is None else dict(layout)
        """Each side's statements by role (None: each side's own, by effect and layer)."""
        self.inexact: list[str] = []
        self.memo: dict[object, object] = {}
        """Work shared by the leaves of a search (automata, solved variable sub-problems)."""
        self._domains = {} if domains is None else domains
        self.share = share
        """Reuse a slot's projected classes and choices across the problems that ask for
        the same (False: build them for each, as the property tests compare)."""
        self._choices: dict[object, SlotChoices] = {} if values is None or not share else values
        """A slot's choices by its number of classes and shape, shared like ``domains``."""
        self._per_atom: AtomMemo = {} if per_atom is None else per_atom
        """Candidate values read off each atom, shared like ``domains``."""
        self._projections: dict[object, Domain | None] = {}
        """The classes of a case's slot read off this problem's (`_projected`), by the
        slot's tests: every case of a group asks for the same few."""
        self._atom_at: dict[str, dict[tuple[Any, ...], int]] = {}
        atoms: dict[str, dict[tuple[Any, ...], Atom]] = {}
        templates: dict[int, RawTemplate] = {}
        qualified: set[str] = set()
        uses: dict[str, int] = {}

        def note(slot: str, preds: Iterable[tuple[str, Any]]) -> None:
            bucket = atoms.setdefault(slot, {})
            for kind, pred in preds:
                if kind == "a":
                    bucket.setdefault(pred.key, pred)
                else:
                    templates.setdefault(id(pred), pred)
                    for var in pred.variables:
                        atoms.setdefault(var.key, {})
                        uses[var.key] = uses.get(var.key, 0) + 1

        atoms.setdefault(RESOURCE, {})
        for st in statements:
            if st.resource_preds is not None:
                note(RESOURCE, st.resource_preds)
            for cond in st.conditions:
                note(cond.slot, cond.preds)
                atoms.setdefault(cond.slot, {})
                uses[cond.slot] = uses.get(cond.slot, 0) + 1
                if cond.mode in ("any", "all"):
                    qualified.add(cond.slot)
        for key in fixed:
            atoms.setdefault(key, {})
        ordered_templates = sorted(templates.values(), key=lambda t: t.sort_key)
        defaults: dict[int, Atom] = {}
        for t in ordered_templates:
            default = t.default_atom()
            if isinstance(default, Atom):
                atoms[t.slot].setdefault(default.key, default)
                defaults[id(t)] = default
        self.slots: dict[str, Slot] = {}
        for key in sorted(atoms):
            is_multi = key != RESOURCE and multi.get(key, False)
            bucket = atoms[key]
            if key != RESOURCE and (is_multi or key in qualified):
                empty = empty_atom()
                bucket.setdefault(empty.key, empty)
            slot_atoms = tuple(sorted(bucket.values(), key=lambda a: a.sort_key))
            # the same tests give the same candidates: built once per comparison
            memo = (
                "candidates",
                key,
                tuple(a.key for a in slot_atoms),
                *((tuple(resource_candidates), tuple(resource_types)) if key == RESOURCE else ()),
            )
            cached = self._domains.get(memo)
            if cached is not None:
                candidates = list(cast(tuple[str, ...], cached))
            elif key == RESOURCE:
                candidates = _dedup(
                    [
                        *resource_candidates[:1],
                        *_atom_candidates(slot_atoms, self._per_atom),
                        *_structured_resources(slot_atoms, resource_types, self._per_atom),
                        *resource_candidates,
                    ]
                )
            else:
                candidates = _dedup(
                    [
                        *_atom_candidates(slot_atoms, self._per_atom),
                        *_KEY_DEFAULTS.get(key, ()),
                        *_FILLERS,
                    ]
                )
            if cached is None:
                self._domains[memo] = tuple(candidates)  # type: ignore[assignment]
            required = tuple(resource_required) if key == RESOURCE else ()
            self.slots[key] = Slot(
                key=key,
                name=names.get(key, key) if key != RESOURCE else "Resource",
                multi=is_multi,
                atoms=slot_atoms,
                required=required,
                fixed=fixed.get(key),
                absent_only=key in fixed and fixed[key] is None,
                candidates=tuple(candidates),
                uses=uses.get(key, 0),
            )
        first_of: dict[tuple[object, ...], int] = {}
        for i, t in enumerate(ordered_templates):
            first_of.setdefault(t.dependent_key, i)
        self.templates: tuple[TemplateInfo, ...] = tuple(
            TemplateInfo(
                raw=t,
                default=(self._atom_index(t.slot, defaults[id(t)]) if id(t) in defaults else None),
                canonical=first_of[t.dependent_key],
            )
            for t in ordered_templates
        )
        template_index = {id(info.raw): i for i, info in enumerate(self.templates)}

        def index(slot: str, preds: Iterable[tuple[str, Any]]) -> tuple[tuple[str, int], ...]:
            out: list[tuple[str, int]] = []
            for kind, pred in preds:
                if kind == "a":
                    out.append(("a", self._atom_index(slot, pred)))
                else:
                    out.append(("t", template_index[id(pred)]))
            return tuple(out)

        self.statements: tuple[Statement, ...] = tuple(
            Statement(
                raw=st,
                resource=None if st.resource_preds is None else index(RESOURCE, st.resource_preds),
                conditions=tuple(
                    Condition(raw=c, slot=c.slot, preds=index(c.slot, c.preds))
                    for c in st.conditions
                ),
            )
            for st in statements
        )
        self.variable_slots = frozenset(
            v.key for info in self.templates for v in info.raw.variables
        )
        for slot in self.slots.values():
            self._compute(slot)
        for info in self.templates:
            if self.slots[info.raw.slot].multi:
                self.inexact.append(
                    f"a policy variable tested against a list key ({info.raw.label})"
                )

    def _atom_index(self, slot: str, atom: Atom) -> int:
        where = self._atom_at.get(slot)
        if where is None:
            where = self._atom_at[slot] = {a.key: i for i, a in enumerate(self.slots[slot].atoms)}
        return where[atom.key]

    def _compute(self, slot: Slot) -> None:
        # groups of actions often test a slot alike: its classes are computed once per diff
        key = (
            tuple(a.key for a in slot.atoms),
            tuple((a.key, w) for a, w in slot.required),
            slot.candidates,
            slot.fixed,
        )
        cached = self._domains.get(key)
        if cached is None:
            cached = self._projected(slot)
        if cached is None and slot.is_resource and self.shared is not None and not slot.fixed:
            cached = self.shared.domain(slot.atoms, slot.required, slot.candidates)
        if cached is None:
            try:
                cached = compute_domain(
                    slot.atoms,
                    required=slot.required,
                    candidates=slot.candidates,
                    fixed=slot.fixed,
                )
            except ComplexityError:
                cached = Domain((), exact=False, reason="too many distinct patterns")
            self._domains[key] = cached
        slot.domain = cached
        if not slot.domain.exact:
            reason = slot.domain.reason or "its values"
            self.inexact.append(f"{slot.name}: {reason}")
        for i, a in enumerate(slot.atoms):
            if a.family == "eq" and a.text == "":
                slot.empty_index = i
        # the choices are class numbers: they depend on how many classes there are, which
        # hold the empty string, and the slot's shape alone (built once per diff)
        classes = slot.domain.classes
        empty = slot.empty_index
        memo = (
            slot.is_resource,
            slot.multi,
            slot.fixed is None,
            slot.absent_only,
            len(classes),
            () if empty is None else tuple(n for n, c in enumerate(classes) if c.sig[empty]),
        )
        choices = self._choices.get(memo) if self.share else None
        if choices is None:
            before = len(self.inexact)
            values = tuple(self._values(slot))
            if any(a.cost > b.cost for a, b in itertools.pairwise(values)):
                # the search reads a slot's cheapest choice as its first
                raise AssertionError(f"{slot.name}: choices not cheapest first")
            choices = SlotChoices(values, len(self.inexact) > before)
            self._choices[memo] = choices
        elif choices.capped:
            self.inexact.append(f"{slot.name}: lists of more than 3 distinct kinds of value")
        slot.values = choices.values

    def _projected(self, slot: Slot) -> Domain | None:
        """The slot's classes read off the parent's (a finer partition of the same values:
        each of its classes passes a combination of this slot's atoms, and every
        combination some value passes is among them), or None when the parent's slot does
        not test every atom of this one under the same restrictions."""
        parent = self.parent
        if parent is None or slot.key not in parent.slots:
            return None
        memo = (
            slot.key,
            tuple(a.key for a in slot.atoms),
            tuple((a.key, w) for a, w in slot.required),
            slot.fixed,
        )
        if not self.share:
            return parent._projected_for(slot)
        if memo in parent._projections:
            return parent._projections[memo]
        got = parent._projected_for(slot)
        parent._projections[memo] = got
        return got

    def _projected_for(self, slot: Slot) -> Domain | None:
        """`_projected` for a case's ``slot``, computed from this problem's slot."""
        theirs = self.slots[slot.key]
        if (
            not theirs.domain.exact
            or theirs.fixed != slot.fixed
            or tuple(a.key for a, _ in theirs.required) != tuple(a.key for a, _ in slot.required)
            or tuple(w for _, w in theirs.required) != tuple(w for _, w in slot.required)
        ):
            return None
        where = {a.key: i for i, a in enumerate(theirs.atoms)}
        if any(a.key not in where for a in slot.atoms):
            return None
        picks = [where[a.key] for a in slot.atoms]
        classes: dict[tuple[bool, ...], ValueClass] = {}
        for c in theirs.domain.classes:
            sig = tuple(c.sig[i] for i in picks)
            classes.setdefault(sig, ValueClass(c.rep, sig))
        return Domain(tuple(classes.values()), theirs.domain.exact, theirs.domain.reason)

    def _values(self, slot: Slot) -> Iterable[SlotValue]:
        """The slot's choices, cheapest first: absent, one value, then larger lists."""
        classes = slot.domain.classes
        empty = slot.empty_index

        def is_empty_class(c: int) -> bool:
            return empty is not None and classes[c].sig[empty]

        if not slot.is_resource and slot.fixed is None:
            yield SlotValue(absent=True)
        if slot.absent_only:
            return
        if not slot.multi:
            for c in range(len(classes)):
                yield SlotValue(absent=False, classes=(c,), nullset=is_empty_class(c))
            return
        n = len(classes)
        biggest = n if n <= MAX_SUBSET_CLASSES else 3
        if n > MAX_SUBSET_CLASSES:
            self.inexact.append(f"{slot.name}: lists of more than 3 distinct kinds of value")
        for c in range(n):
            yield SlotValue(absent=False, classes=(c,), many=True, nullset=is_empty_class(c))
        yield SlotValue(absent=False, classes=(), many=True)
        for c in range(n):
            if is_empty_class(c):
                yield SlotValue(absent=False, classes=(c,), many=True, dup_empty=True)
        for size in range(2, biggest + 1):
            for combo in itertools.combinations(range(n), size):
                yield SlotValue(absent=False, classes=combo, many=True)


# -- three-valued evaluation ------------------------------------------------------------------

Assignment = dict[str, SlotValue]
Bits = dict[tuple[str, int, int], bool]
BitKey = tuple[str, int, int]

_DROPPED: Final = "dropped"
_STATIC: Final = "static"
_DEP: Final = "dep"


class Evaluator:
    """Both sides' decisions, three-valued, for a partial assignment."""

    def __init__(self, problem: Problem, direction: str) -> None:
        self.problem = problem
        self.direction = direction
        sides: dict[str, dict[str, list[Statement] | None]] = {}
        if problem.layout is None:
            own: dict[str, dict[str, list[Statement]]] = {
                s: {"deny": [], "identity": [], "boundary": []} for s in ("old", "new")
            }
            for st in problem.statements:
                bucket = "deny" if st.raw.deny else st.raw.layer
                own[st.raw.side][bucket].append(st)
            for side, groups in own.items():
                sides[side] = {
                    "deny": groups["deny"],
                    "identity": groups["identity"],
                    "boundary": groups["boundary"] if problem.boundaries[side] else None,
                }
        else:
            by_raw = {id(st.raw): st for st in problem.statements}

            def pick(raws: Sequence[RawStatement] | None) -> list[Statement] | None:
                return None if raws is None else [by_raw[id(r)] for r in raws]

            for side, lay in problem.layout.items():
                sides[side] = {
                    "deny": pick(lay.deny),
                    "identity": pick(lay.identity),
                    "boundary": pick(lay.boundary),
                }
        self.sides = sides

    def prune(
        self, asg: Mapping[str, SlotValue], bits: Bits
    ) -> dict[str, dict[str, list[Statement] | None]]:
        """The sides without the statements that cannot apply under the partial assignment
        (three-valued False stays False whatever is chosen later: dropping them from their
        disjunction changes nothing below this node, and each node then evaluates less)."""
        out: dict[str, dict[str, list[Statement] | None]] = {}
        for side, groups in self.sides.items():
            out[side] = {
                role: None
                if sts is None
                else [st for st in sts if self.applies(st, asg, bits, None) is not False]
                for role, sts in groups.items()
            }
        return out

    def template_status(
        self, info: TemplateInfo, asg: Mapping[str, SlotValue]
    ) -> tuple[str, int] | None:
        """How a template's value stands under the assignment (None: not yet known)."""
        all_default = True
        for var in info.raw.variables:
            sv = asg.get(var.key)
            if sv is None:
                return None
            kind = sv.variable_kind
            if kind == "none" or (kind == "default" and var.default is None):
                return (_DROPPED, -1)
            if kind != "default":
                all_default = False
        if all_default:
            return (_DROPPED, -1) if info.default is None else (_STATIC, info.default)
        return (_DEP, -1)

    def _match(
        self,
        slot: str,
        sig: tuple[bool, ...],
        cls: int,
        pred: tuple[str, int],
        *,
        asg: Mapping[str, SlotValue],
        bits: Bits,
        need: set[BitKey] | None,
    ) -> bool | str | None:
        kind, i = pred
        if kind == "a":
            return sig[i]
        info = self.problem.templates[i]
        status = self.template_status(info, asg)
        if status is None:
            return None
        if status[0] == _DROPPED:
            return _DROPPED
        if status[0] == _STATIC:
            return sig[status[1]]
        key = (slot, cls, info.canonical)
        got = bits.get(key)
        if got is None and need is not None:
            need.add(key)
        return got

    def _value_matches(
        self,
        slot: str,
        cls: int,
        preds: Sequence[tuple[str, int]],
        *,
        asg: Mapping[str, SlotValue],
        bits: Bits,
        need: set[BitKey] | None,
    ) -> bool | None:
        sig = self.problem.slots[slot].domain.classes[cls].sig
        unknown = False
        for pred in preds:
            m = self._match(slot, sig, cls, pred, asg=asg, bits=bits, need=need)
            if m is True:
                return True
            if m is None:
                unknown = True
        return None if unknown else False

    def condition(
        self, cond: Condition, asg: Mapping[str, SlotValue], bits: Bits, need: set[BitKey] | None
    ) -> bool | None:
        """One condition, exactly as `lspolicy.evaluate.clause` decides it."""
        sv = asg.get(cond.slot)
        if sv is None:
            return None
        return condition_outcome(
            cond.raw,
            sv,
            (
                self._value_matches(cond.slot, c, cond.preds, asg=asg, bits=bits, need=need)
                for c in sv.classes
            ),
        )

    def applies(
        self, st: Statement, asg: Mapping[str, SlotValue], bits: Bits, need: set[BitKey] | None
    ) -> bool | None:
        """Resource and every condition (the action matched when the group was formed)."""
        parts: list[bool | None] = []
        if st.resource is not None:
            sv = asg.get(RESOURCE)
            if sv is None:
                parts.append(None)
            else:
                matched = self._value_matches(
                    RESOURCE, sv.classes[0], st.resource, asg=asg, bits=bits, need=need
                )
                parts.append(xor3(matched, st.raw.resource_negated))
            if parts[-1] is False:
                return False
        for cond in st.conditions:
            v = self.condition(cond, asg, bits, need)
            if v is False:
                return False
            parts.append(v)
        return and3(parts)

    def decision(
        self, side: str, asg: Mapping[str, SlotValue], bits: Bits, need: set[BitKey] | None
    ) -> bool | None:
        """Allowed? (`lspolicy.evaluate.authorize` for identity policies and a boundary.)"""
        groups = self.sides[side]
        denied = or3(self.applies(st, asg, bits, need) for st in groups["deny"] or ())
        parts = [xor3(denied, True)]
        if parts[0] is False:
            return False
        identity = groups["identity"]
        if identity is not None:
            parts.append(or3(self.applies(st, asg, bits, need) for st in identity))
            if parts[-1] is False:
                return False
        boundary = groups["boundary"]
        if boundary is not None:
            parts.append(or3(self.applies(st, asg, bits, need) for st in boundary))
        return and3(parts)

    def goal(
        self, asg: Mapping[str, SlotValue], bits: Bits, need: set[BitKey] | None = None
    ) -> bool | None:
        """The wanted difference: allowed on one side, denied on the other."""
        allow, deny = ("new", "old") if self.direction == "new-access" else ("old", "new")
        a = self.decision(allow, asg, bits, need)
        if a is False:
            return False
        d = self.decision(deny, asg, bits, need)
        return and3([a, xor3(d, True)])


# -- the search -------------------------------------------------------------------------------


@dataclass
class Outcome:
    """A search's answer: a realised witness, or none; ``exact`` says whether "none" is proven."""

    values: dict[str, str | list[str] | None] | None
    exact: bool
    reasons: list[str]
    nodes: int = 0
    cost: int = 0
    """The witness's cost (`SlotValue.cost` summed): smaller reads better."""


def _reasons_of(problem: Problem) -> list[str]:
    """Why a search of ``problem`` that found nothing is not a proof, before it starts."""
    return _dedup(problem.inexact)


def _unlink(*functions: Callable[..., object]) -> None:
    """Empty the closure cells of nested functions that hold functions: ``dfs`` and
    ``expand`` call each other and ``assign_bits`` itself, a reference cycle that holds the
    search's narrowing tables and memos (about 450,000 objects over a 40-policy diff) until the
    cyclic collector runs. Unlinked once the search is over, all of it is freed by reference
    counting when the search returns."""
    for fn in functions:
        for cell in getattr(fn, "__closure__", None) or ():
            try:
                held = cell.cell_contents
            except ValueError:  # already emptied (cells are shared between the functions)
                continue
            if isinstance(held, types.FunctionType):
                del cell.cell_contents


def search(
    problem: Problem,
    direction: str,
    *,
    bound: int | None = None,
    floor: bool = True,
    forward: bool = True,
) -> Outcome:
    """Find the smallest request with the difference (see the module docstring).

    ``bound``: the cost of a witness already found for the same question (another case of
    it): only cheaper ones are looked for, within the improvement budget. ``floor``: cut a
    node whose cost plus a lower bound on the keys still needed cannot beat the best
    (False: only its own cost; the tests compare both, which give the same witness when
    neither runs out of budget). ``forward``: narrow every unassigned slot's choices at
    each node to those that keep the difference possible, cut the node when a slot has
    none left, and branch on the slot with the fewest (False: every choice, slots in a
    fixed order; the tests compare both, which find a witness for the same questions)."""
    from lspolicy.diff.realize import realize  # noqa: PLC0415 - realize imports this module

    ev = Evaluator(problem, direction)
    slots = problem.slots
    must: set[str] = set()
    for lay in (problem.layout or {}).values():
        for st in lay.must:
            must.update(c.slot for c in st.conditions)
    order = sorted(
        slots,
        key=lambda k: (
            k != RESOURCE,
            k not in problem.variable_slots,
            k not in must,
            -slots[k].uses,
            k,
        ),
    )
    rank = {k: n for n, k in enumerate(order)}
    if forward and ev.goal({}, {}, None) is False:
        # no request at all (most cases of most groups): nothing to narrow
        return Outcome(None, not _reasons_of(problem), _reasons_of(problem), 1)
    narrowing = Narrowing(ev, problem)
    asg: dict[str, SlotValue] = {}
    bits: Bits = {}
    reasons: list[str] = list(problem.inexact)
    state = {"nodes": 0, "best_cost": 1 << 30, "first_at": -1, "stop": False}
    if bound is not None:
        state["best_cost"], state["first_at"] = bound, 0
    best: list[dict[str, str | list[str] | None]] = []
    leaf_inexact: list[str] = []

    def budget() -> bool:
        nodes = state["nodes"]
        if not nodes & 255 and expired():
            state["timed_out"] = True
            return False
        if state["first_at"] >= 0:
            return nodes - state["first_at"] < MAX_IMPROVE_NODES
        return nodes < MAX_NODES

    def leaf(cost: int) -> None:
        found = realize(problem, asg, bits)
        if found.values is None:
            if not found.exact:
                leaf_inexact.extend(found.reasons)
            return
        if cost < state["best_cost"]:
            state["best_cost"] = cost
            best[:] = [found.values]
            if state["first_at"] < 0:
                state["first_at"] = state["nodes"]

    def assign_bits(cost: int) -> None:
        state["nodes"] += 1
        if not budget():
            state["stop"] = True
            return
        need: set[BitKey] = set()
        g = ev.goal(asg, bits, need)
        if g is False:
            return
        if g is True:
            leaf(cost)
            return
        pending = sorted(k for k in need if k not in bits)
        if not pending:  # pragma: no cover - unknown must come from an unassigned bit
            raise AssertionError("undecided with every choice made")
        key = pending[0]
        for value in (True, False):
            bits[key] = value
            assign_bits(cost)
            del bits[key]
            if state["stop"]:
                return

    def dfs(dom: Domains, cost: int, masks: Masks) -> None:
        if state["stop"] or cost >= state["best_cost"]:
            return
        state["nodes"] += 1
        if not budget():
            state["stop"] = True
            return
        need: set[BitKey] = set()
        if forward:
            masks = narrowing.refresh(masks, asg, bits)
            if not narrowing.possible(*masks):
                return
            # the template booleans to branch on (only undecided statements test them)
            if masks[1] & narrowing.impure_statements and ev.goal(asg, bits, need) is False:
                return
        elif ev.goal(asg, bits, need) is False:
            return
        if not dom:
            assign_bits(cost)
            return
        if forward:
            narrowed = narrowing.narrow(dom, masks, asg, bits)
            if narrowed is None:
                return
            dom, alone = narrowed
            if not floor or cost + least_more(dom, cost, masks) < state["best_cost"]:
                expand(dom, cost, need, masks, alone)
            return
        saved = ev.sides
        ev.sides = ev.prune(asg, bits)
        try:
            if not floor or cost + least_more(dom, cost, masks) < state["best_cost"]:
                expand(dom, cost, need, masks, {})
        finally:
            ev.sides = saved

    absent = SlotValue(absent=True)
    least = {  # the least a slot adds when it is not absent (a list key: 101)
        k: min((sv.cost for sv in slot.values if not sv.absent), default=0)
        for k, slot in slots.items()
    }
    allowing, denying = ("new", "old") if direction == "new-access" else ("old", "new")

    def least_more(dom: Domains, cost: int, masks: Masks) -> int:
        """A lower bound on what the unassigned slots add to any solution below this
        node, enough to tell whether one can still beat the best (0 before the first).

        Each of these needs a key of its own, so the sum of their least costs (100, or 101
        for a list key) is a bound: a slot that cannot be absent; a key whose absence
        already makes the difference false (three-valued: whatever is chosen later; with
        ``forward`` each slot's narrowed choices say both, at their least cost); and,
        from the statements that must all fail (the allowing side's denies; the denying
        side's allows, or its boundary, when that alone can deny it), pairwise disjoint sets
        of keys one of which must be present for that statement to fail (a statement that
        can fail otherwise gives no set)."""
        best_cost = state["best_cost"]
        if best_cost >= 1 << 30:
            return 0
        wanted = best_cost - cost  # the bound prunes once it reaches this
        total = 0
        open_keys: list[str] = []
        for key in dom:
            slot = slots[key]
            if slot.absent_only:
                continue
            if slot.is_resource or slot.fixed is not None:
                # choices come cheapest first (`Problem._values`)
                total += (dom[key][0].cost if dom[key] else 0) if forward else least[key]
            else:
                open_keys.append(key)
        taken: set[str] = set()
        if forward:
            for key in open_keys:
                lowest = dom[key][0].cost if dom[key] else 0
                if lowest:
                    total += lowest
                    taken.add(key)
        else:
            if total + sum(least[k] for k in open_keys) < wanted:
                return total  # even every open key could not reach the bound
            for key in open_keys:
                if total >= wanted:
                    return total
                asg[key] = absent
                if ev.goal(asg, bits, None) is False:
                    total += least[key]
                    taken.add(key)
                del asg[key]
        if total >= wanted:
            return total
        keys = set(open_keys)
        for st in _must_fail(masks):
            need = _fail_keys(st, keys)
            if need is not None and not need & taken:
                total += min(least[k] for k in need)
                taken |= need
                if total >= wanted:
                    break
        return total

    def _must_fail(masks: Masks) -> list[Statement]:
        mine, other = ev.sides[allowing], ev.sides[denying]
        if not forward:
            out = list(mine["deny"] or ())
            if not other["deny"]:
                if other["boundary"] is None:
                    out.extend(other["identity"] or ())
                elif other["identity"] is None:
                    out.extend(other["boundary"])
            return out
        # the evaluator's sides are not pruned: keep what may still apply
        live = masks[0] | masks[1]
        index = narrowing.index

        def keep(sts: list[Statement]) -> list[Statement]:
            return [st for st in sts if live >> index[id(st)] & 1]

        out = keep(mine["deny"] or [])
        if not keep(other["deny"] or []):
            if other["boundary"] is None:
                out.extend(keep(other["identity"] or []))
            elif other["identity"] is None:
                out.extend(keep(other["boundary"]))
        return out

    def _fail_keys(st: Statement, keys: set[str]) -> set[str] | None:
        """The keys (of ``keys``, the open ones) one of which must be present for ``st`` to
        fail; None when it can fail without any of them."""
        if st.resource is not None:
            sv = asg.get(RESOURCE)
            if sv is None:
                return None
            matched = ev._value_matches(
                RESOURCE, sv.classes[0], st.resource, asg=asg, bits=bits, need=None
            )
            if xor3(matched, st.raw.resource_negated) is not True:
                return None
        out: set[str] = set()
        for cond in st.conditions:
            if cond.slot in asg:
                if ev.condition(cond, asg, bits, None) is not True:
                    return None  # not yet decided (a template's boolean): may fail for free
                continue
            if cond.slot not in keys:
                return None  # a key that is present anyway (or never): no new key needed
            raw = cond.raw
            if raw.mode == "null":
                fails_absent = not any(raw.wants)
            elif raw.mode == "plain":
                fails_absent = not (raw.if_exists or raw.negated)
            elif raw.mode == "any":
                fails_absent = not raw.if_exists
            else:
                fails_absent = False
            if fails_absent:
                return None
            out.add(cond.slot)
        return out or None

    def expand(
        dom: Domains, cost: int, need: set[BitKey], masks: Masks, alone: Mapping[str, int]
    ) -> None:
        pending = sorted(k for k in need if k not in bits)
        if pending:
            # a template's boolean whose slots are all chosen: branch on it now, so that a
            # statement it decides prunes here rather than after every later slot
            bit = pending[0]
            for value in (True, False):
                bits[bit] = value
                dfs(dom, cost, masks)
                del bits[bit]
                if state["stop"]:
                    return
            return
        if forward:
            # the resource; a slot with one choice left; the slots a statement that must
            # apply reads (a template they test is decided as soon as they are chosen);
            # then the most constrained slot (fewest choices left)
            key = min(
                dom,
                key=lambda k: (
                    k != RESOURCE,
                    len(dom[k]) > 1,
                    k not in must,
                    len(dom[k]),
                    rank[k],
                ),
            )
        else:
            key = min(dom, key=rank.__getitem__)
        rest = {k: v for k, v in dom.items() if k != key}
        mine = alone.get(key, 0)
        for sv in dom[key]:
            asg[key] = sv
            child = narrowing.assign(masks, key, sv, mine) if forward else masks
            dfs(rest, cost + sv.cost, child)
            if state["stop"]:
                break
        asg.pop(key, None)  # a slot may have no value at all (a case no resource can meet)

    try:
        if forward:
            start = narrowing.root(asg, bits)
            dfs({k: slots[k].values for k in order}, 0, start)
        else:
            dfs({k: slots[k].values for k in order}, 0, (0, 0))
    finally:
        _unlink(dfs, expand, assign_bits)

    if best:
        return Outcome(best[0], True, [], state["nodes"], state["best_cost"])
    if state.get("timed_out"):
        reasons.append(budget_reason())
    elif state["stop"]:
        reasons.append(f"the search stopped after {state['nodes']} steps")
    reasons.extend(leaf_inexact)
    return Outcome(None, not reasons, _dedup(reasons), state["nodes"])
