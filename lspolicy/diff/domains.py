"""Value classes of one slot: every combination of atoms some value passes, with a witness.

Two values in one class pass exactly the same atoms, so every condition decides them alike: a
slot's classes are all the diff ever needs to know about its values. For each family the
classes are found exactly:

- strings (``eq``, ``ieq``, ``glob``, ``arn``, ``res``, ``seq``): breadth-first search of the
  product of the atoms' automata visits every reachable state, so every realisable signature is
  found, each with a shortest string (`lspolicy.diff.automata`);
- ``num`` and ``date``: the engine parses a value to a float and compares it with constants, so
  the classes are "does not parse", each constant, and each open interval between neighbouring
  constants (skipped when no float lies inside); one value of each is formatted and parsed back;
- ``ip``: per address family, the address space cut at every network's first and last address,
  plus "does not parse";
- ``bool``: ``true``, ``false``, anything else; ``bin``: each constant's bytes, other valid
  base64, invalid base64.

A slot tested by two families at once (``StringEquals`` and ``NumericLessThan`` on one key) is
covered by the union of both families' witnesses; that is not proven complete, so the domain is
marked inexact and a "no difference" that depends on it is reported as unknown.
"""

from __future__ import annotations

import base64
import ipaddress
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from lspolicy.conditions.date import parse_date
from lspolicy.conditions.numeric import parse_number
from lspolicy.diff.atoms import STRING_FAMILIES, Atom
from lspolicy.diff.automata import (
    ComplexityError,
    LiteralSet,
    LowerEq,
    Product,
    SeqNFA,
    State,
    TaggedNFA,
    explore,
    find,
    run,
)

__all__ = [
    "DiffInternalError",
    "Domain",
    "SharedStrings",
    "StringSpace",
    "ValueClass",
    "compute_domain",
]

Signature = tuple[bool, ...]


class DiffInternalError(AssertionError):
    """The diff's own reasoning disagreed with the engine: a bug in the diff, never ignored."""


@dataclass(frozen=True, slots=True)
class ValueClass:
    """One class of values: a representative and the atoms it passes (in the slot's order)."""

    rep: str
    sig: Signature


@dataclass(frozen=True, slots=True)
class Domain:
    """The classes of one slot's values, and whether the list is proven complete."""

    classes: tuple[ValueClass, ...]
    exact: bool = True
    reason: str | None = None


# -- strings ----------------------------------------------------------------------------------


class StringSpace:
    """The product automaton of a list of string atoms, with one view per atom."""

    def __init__(self, atoms: Sequence[Atom]) -> None:
        self.atoms = tuple(atoms)
        automata: list[Any] = []
        views: list[Callable[[tuple[State, ...]], bool]] = []
        words = [a.text for a in self.atoms if a.family == "eq"]
        literal_index = -1
        ends: tuple[int, ...] = ()
        if words:
            literal = LiteralSet([w for w in words if w is not None])
            literal_index = len(automata)
            automata.append(literal)
            ends = literal.ends
        word_no = 0
        self.nfa_index: dict[int, int] = {}
        """Atom position -> its automaton, for atoms run as one `SeqNFA` of their own."""
        for atom in self.atoms:
            if atom.family == "eq":
                views.append(_literal_view(literal_index, ends[word_no]))
                word_no += 1
            elif atom.family == "set":
                assert atom.words is not None
                words_set = LiteralSet(atom.words)
                finals = frozenset(words_set.ends)
                views.append(_set_view(len(automata), finals))
                automata.append(words_set)
            elif atom.family == "ieq":
                assert atom.text is not None
                lower = LowerEq(atom.text)
                views.append(_accept_view(len(automata), lower.accepts))
                automata.append(lower)
            elif atom.family in STRING_FAMILIES:
                assert atom.elements is not None
                nfa = SeqNFA(atom.elements)
                views.append(_accept_view(len(automata), nfa.accepts))
                self.nfa_index[len(views) - 1] = len(automata)
                automata.append(nfa)
            else:
                raise ValueError(f"not a string atom: {atom.label}")
        self.views = tuple(views)
        self.product = Product(automata)

    def signature(self, state: tuple[State, ...]) -> Signature:
        """Which atoms the string that reached ``state`` passes."""
        return tuple(view(state) for view in self.views)

    def sig_of(self, text: str) -> Signature:
        """Which atoms ``text`` passes (by the automata)."""
        return self.signature(run(self.product, text))

    def find(self, wanted: Sequence[bool | None], *, candidates: Iterable[str] = ()) -> str | None:
        """A string passing exactly the atoms ``wanted`` says (None entries: either way)."""
        views = self.views
        pairs = [(views[i], w) for i, w in enumerate(wanted) if w is not None]

        def goal(state: tuple[State, ...]) -> bool:
            return all(view(state) == w for view, w in pairs)

        return find(self.product, goal, candidates=candidates)


class _Explorer:
    """`StringSpace`'s product for `explore`, with every `SeqNFA` atom run in one
    `TaggedNFA`: its states stand for exactly the states of the product of separate automata
    (the same characters tried, the same successors, the same signatures), so the
    exploration finds the same classes with the same strings, without stepping automata that
    can never accept again."""

    def __init__(self, atoms: Sequence[Atom]) -> None:
        self.atoms = tuple(atoms)
        automata: list[Any] = []
        self._views: list[tuple[int, Callable[[tuple[State, ...]], bool]]] = []
        words = [a.text for a in self.atoms if a.family == "eq"]
        ends: tuple[int, ...] = ()
        literal_index = -1
        if words:
            literal = LiteralSet([w for w in words if w is not None])
            literal_index = len(automata)
            automata.append(literal)
            ends = literal.ends
        word_no = 0
        seqs: list[SeqNFA] = []
        self.tag_of: dict[int, int] = {}
        """Atom position -> its automaton's number in the tagged NFA."""
        self._literal = literal_index
        self._words: dict[int, list[int]] = {}
        """The trie's state -> the positions of the words that end there."""
        for pos, atom in enumerate(self.atoms):
            if atom.family == "eq":
                self._words.setdefault(ends[word_no], []).append(pos)
                word_no += 1
            elif atom.family == "set":
                assert atom.words is not None
                words_set = LiteralSet(atom.words)
                self._views.append((pos, _set_view(len(automata), frozenset(words_set.ends))))
                automata.append(words_set)
            elif atom.family == "ieq":
                assert atom.text is not None
                lower = LowerEq(atom.text)
                self._views.append((pos, _accept_view(len(automata), lower.accepts)))
                automata.append(lower)
            elif atom.family in STRING_FAMILIES:
                assert atom.elements is not None
                self.tag_of[pos] = len(seqs)
                seqs.append(SeqNFA(atom.elements))
            else:
                raise ValueError(f"not a string atom: {atom.label}")
        self.tagged = TaggedNFA(seqs)
        self._at = len(automata)
        automata.append(self.tagged)
        self._position = tuple(sorted(self.tag_of, key=self.tag_of.__getitem__))
        self.product = Product(automata)

    def signature(self, state: tuple[State, ...]) -> Signature:
        """Which atoms the string that reached ``state`` passes."""
        out = [False] * len(self.atoms)
        position = self._position
        for tag in self.tagged.accepting(state[self._at]):
            out[position[tag]] = True
        if self._literal >= 0:
            for pos in self._words.get(state[self._literal], ()):
                out[pos] = True
        for pos, view in self._views:
            out[pos] = view(state)
        return tuple(out)

    def alive(self, needs: Sequence[Iterable[int]]) -> Callable[[tuple[State, ...]], bool] | None:
        """A state is alive while, for some need, every automaton of that need's atoms (by
        position; only atoms run as a `SeqNFA` count) can still accept; None when some need
        names no such atom (every state is then alive; with no need, none is)."""
        sets = [frozenset(self.tag_of[p] for p in need if p in self.tag_of) for need in needs]
        if not all(sets):
            return None
        if not sets:  # no need at all can be met
            return lambda _state: False
        tagged, at = self.tagged, self._at
        if len(sets) == 1:
            (only,) = sets
            return lambda state: only <= tagged.live(state[at])
        return lambda state: any(need <= tagged.live(state[at]) for need in sets)


def _literal_view(index: int, end: int) -> Callable[[tuple[State, ...]], bool]:
    return lambda state: state[index] == end


def _set_view(index: int, finals: frozenset[int]) -> Callable[[tuple[State, ...]], bool]:
    return lambda state: state[index] in finals


def _accept_view(
    index: int, accepts: Callable[[State], bool]
) -> Callable[[tuple[State, ...]], bool]:
    return lambda state: accepts(state[index])


def _string_classes(
    atoms: Sequence[Atom], required: Sequence[tuple[Atom, bool]], candidates: Sequence[str]
) -> tuple[list[ValueClass], bool]:
    """The classes, and whether the exploration finished (else: those found so far)."""
    space = _Explorer([*atoms, *(a for a, _ in required)])
    n = len(atoms)
    wants = tuple(w for _, w in required)
    complete = True
    # a string whose required pattern automaton has died can never pass it, nor can any
    # continuation: its states need not be explored (their signatures are dropped below)
    alive = space.alive([[n + i for i, w in enumerate(wants) if w]])
    try:
        found = explore(space.product, space.signature, alive=alive)
    except ComplexityError as exc:
        found, complete = exc.partial, False
    picked = _pick(
        space, found, n, (range(n, n + len(wants)), wants), candidates, complete=complete
    )
    return picked, complete


def _pick(
    space: StringSpace | _Explorer,
    found: dict[Signature, str],
    n: int,
    restriction: tuple[Iterable[int], Sequence[bool]],
    candidates: Sequence[str],
    *,
    complete: bool,
    sigs: dict[str, Signature] | None = None,
) -> list[ValueClass]:
    """The classes over the first ``n`` atoms of ``space`` among the strings that pass its
    atoms at the restriction's positions as its wants say: readable ``candidates`` first,
    then the explored strings (``found``: every signature reached, with a shortest string;
    ``complete``: the exploration finished; ``sigs``: each text's signature over the first
    ``n`` atoms, kept across calls on the same ``space`` and ``n``)."""
    where = tuple(restriction[0])
    wanted = tuple(restriction[1])
    explored: dict[Signature, str] = {}
    for sig, text in sorted(found.items(), key=lambda item: (len(item[1]), item[1])):
        if tuple(sig[i] for i in where) == wanted:
            explored.setdefault(sig[:n], text)
    own = space.atoms[:n]
    restricting = [space.atoms[i] for i in where]
    if sigs is None:
        sigs = {}
    out: dict[Signature, str] = {}
    for text in candidates:
        # by the engine's own tests; a finished exploration reached every class, so a
        # candidate outside them all is a disagreement of the automata with the engine
        if _concrete_sig(restricting, text) != wanted:
            continue
        known = sigs.get(text)
        sig = known if known is not None else _concrete_sig(own, text)
        sigs[text] = sig
        if sig in out:
            continue
        if complete and sig not in explored:
            raise DiffInternalError(
                f"automaton and engine disagree on {text!r}: "
                + ", ".join(a.label for a in (*own, *restricting))
            )
        out[sig] = text
    for sig, text in explored.items():
        out.setdefault(sig, text)
    return [ValueClass(text, sig) for sig, text in out.items()]


class SharedStrings:
    """The classes of one string slot under several alternative restrictions (the resource
    under each kind of resource a diff's action groups ask for), from one exploration.

    The exploration expands a state while it can still pass some restriction's wanted
    atoms, so every string passing one restriction is reached along its own path, as
    `compute_domain` would reach it alone: the classes are the same, and a class's
    explored representative is a shortest string of it (the same length; among equally
    short ones, possibly another). Prefixes up to the resource type are explored once
    instead of once per kind. `domain` answers None (compute it alone) for other atoms or
    restrictions, non-string families, or when the shared exploration is too large."""

    def __init__(self, requirements: Sequence[Sequence[tuple[Atom, bool]]]) -> None:
        self.requirements = [tuple(r) for r in requirements]
        self._atoms: tuple[object, ...] | None = None
        self._space: _Explorer | None = None
        self._found: dict[Signature, str] | None = None
        self._where: dict[object, int] = {}
        self._sigs: dict[str, Signature] = {}
        """Each text's signature over the explored atoms (the kinds share most candidates)."""

    def domain(
        self,
        atoms: Sequence[Atom],
        required: Sequence[tuple[Atom, bool]],
        candidates: Sequence[str],
    ) -> Domain | None:
        """The classes `compute_domain` gives for these arguments, or None."""
        asked = tuple((a.key, w) for a, w in required)
        if not any(tuple((a.key, w) for a, w in r) == asked for r in self.requirements):
            return None
        key = tuple(a.key for a in atoms)
        if self._atoms is None:
            self._atoms = key
            self._explore(atoms)
        if key != self._atoms or self._space is None or self._found is None:
            return None
        n = len(atoms)
        positions = [self._where[a.key] for a, _ in required]
        classes = _pick(
            self._space,
            self._found,
            n,
            (positions, [w for _, w in required]),
            candidates,
            complete=True,
            sigs=self._sigs,
        )
        _check(atoms, required, classes, self._sigs)
        return Domain(tuple(classes))

    def _explore(self, atoms: Sequence[Atom]) -> None:
        extra: dict[object, Atom] = {}
        for r in self.requirements:
            for a, _ in r:
                extra.setdefault(a.key, a)
        every = [*atoms, *extra.values()]
        if any(a.family not in STRING_FAMILIES for a in every):
            return
        space = _Explorer(every)
        n = len(atoms)
        self._where = {k: n + i for i, k in enumerate(extra)}
        alive = space.alive([[self._where[a.key] for a, w in r if w] for r in self.requirements])
        try:
            self._found = explore(space.product, space.signature, alive=alive)
        except ComplexityError:
            return  # each restriction alone, as before
        self._space = space


# -- typed families ---------------------------------------------------------------------------


def _format_number(value: float) -> str | None:
    text = str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return text if parse_number(text) == value else None


def _format_epoch(value: float) -> str | None:
    text = format(Decimal(value), "f")
    return text if parse_date(text) == value else None


def _format_date(value: float) -> str | None:
    if value.is_integer():
        try:
            m = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            m = None
        if m is not None:
            text = (
                f"{m.year:04d}-{m.month:02d}-{m.day:02d}"
                f"T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"
            )
            if parse_date(text) == value:
                return text
    text = format(Decimal(value), "f")
    return text if parse_date(text) == value else None


def _between(low: float, high: float) -> float | None:
    whole = math.floor(low) + 1.0
    if low < whole < high:
        return whole
    mid = (low + high) / 2
    return mid if low < mid < high else None


def _points(constants: Iterable[float]) -> list[float]:
    values = sorted(set(constants))
    if not values:
        return [0.0]
    out: list[float] = []
    first, last = values[0], values[-1]
    below = first - 1 if first - 1 < first else math.nextafter(first, -math.inf)
    out.append(below)
    for low, high in itertools.pairwise(values):
        out.append(low)
        mid = _between(low, high)
        if mid is not None:
            out.append(mid)
    out.append(last)
    above = last + 1 if last + 1 > last else math.nextafter(last, math.inf)
    out.append(above)
    return out


def _ordered_reps(
    atoms: Sequence[Atom], fmt: Callable[[float], str | None]
) -> tuple[list[str], bool]:
    # constants first: values that appear in the policies read best
    values = [a.value for a in atoms]
    points = _points(values)
    order = sorted(points, key=lambda p: (p not in values, points.index(p)))
    texts = [fmt(p) for p in order if math.isfinite(p)]
    complete = all(t is not None for t in texts) and all(math.isfinite(p) for p in points)
    return [*(t for t in texts if t is not None), "x"], complete


def _numeric_reps(atoms: Sequence[Atom]) -> tuple[list[str], bool]:
    return _ordered_reps(atoms, _format_number)


def _date_reps(atoms: Sequence[Atom]) -> tuple[list[str], bool]:
    # written as the policies write them: epoch seconds (aws:EpochTime) or ISO 8601
    epoch = all((a.source or "").lstrip("-").replace(".", "", 1).isdigit() for a in atoms)
    return _ordered_reps(atoms, _format_epoch if epoch else _format_date)


_READABLE_ADDRESSES: Final = ("192.0.2.1", "198.51.100.1", "203.0.113.1", "10.0.0.1", "2001:db8::1")


def _ip_reps(atoms: Sequence[Atom]) -> tuple[list[str], bool]:
    out: list[str] = list(_READABLE_ADDRESSES)
    networks = [a.value for a in atoms]
    for version, size in ((4, 32), (6, 128)):
        cuts = {0, 1 << size}
        for net in networks:
            if net.version == version:
                cuts.add(int(net.network_address))
                cuts.add(int(net.broadcast_address) + 1)
        ordered = sorted(cuts)
        make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
        for low, high in itertools.pairwise(ordered):
            pick = low + 1 if high - low > 2 else low
            out.append(str(make(pick)))
    out.append("x")
    return out, True


def _bool_reps(_atoms: Sequence[Atom]) -> tuple[list[str], bool]:
    return ["true", "false", "x"], True


def _binary_reps(atoms: Sequence[Atom]) -> tuple[list[str], bool]:
    constants = [a.value for a in atoms]
    out = [base64.b64encode(c).decode("ascii") for c in constants]
    for other in (b"x", b"y", b"z", b"xy"):
        if other not in constants:
            out.append(base64.b64encode(other).decode("ascii"))
            break
    out.append("!")
    return out, True


_TYPED_REPS: Final[dict[str, Callable[[Sequence[Atom]], tuple[list[str], bool]]]] = {
    "num": _numeric_reps,
    "date": _date_reps,
    "ip": _ip_reps,
    "bool": _bool_reps,
    "bin": _binary_reps,
}


# -- one slot ---------------------------------------------------------------------------------


def _concrete_sig(atoms: Sequence[Atom], text: str) -> Signature:
    return tuple(a.test(text) for a in atoms)


def compute_domain(
    atoms: Sequence[Atom],
    *,
    required: Sequence[tuple[Atom, bool]] = (),
    candidates: Sequence[str] = (),
    fixed: str | None = None,
) -> Domain:
    """The value classes of a slot tested by ``atoms``, restricted to values that pass each
    ``required`` atom as it says; ``candidates`` (readable values) become representatives
    where they fit; ``fixed`` restricts the slot to that one value."""
    if fixed is not None:
        if all(a.test(fixed) == w for a, w in required):
            return Domain((ValueClass(fixed, _concrete_sig(atoms, fixed)),))
        return Domain(())
    families = {a.family for a in atoms} | {a.family for a, _ in required}
    typed = families - STRING_FAMILIES
    # the empty string is a value of every family (it parses as nothing, or as empty bytes)
    plain = [a for a in atoms if not (a.family == "eq" and a.text == "")]
    string_families = {a.family for a in plain} & STRING_FAMILIES
    if not typed:
        classes, complete = _string_classes(atoms, required, candidates)
        _check(atoms, required, classes)
        if complete:
            return Domain(tuple(classes))
        return Domain(tuple(classes), exact=False, reason="too many distinct patterns on one key")
    reps: list[str] = list(candidates)
    complete = True
    for family in sorted(typed):
        more, ok = _TYPED_REPS[family]([a for a in atoms if a.family == family])
        reps.extend(more)
        complete = complete and ok
    reps.append("")
    exact = not string_families and len(typed) == 1 and not required and complete
    if string_families:
        strings = [a for a in atoms if a.family in STRING_FAMILIES]
        reps.extend(c.rep for c in _string_classes(strings, (), candidates)[0])
    out: dict[Signature, str] = {}
    for text in reps:
        if all(a.test(text) == w for a, w in required):
            out.setdefault(_concrete_sig(atoms, text), text)
    classes = [ValueClass(text, sig) for sig, text in out.items()]
    if exact:
        return Domain(tuple(classes))
    if not complete:
        return Domain(tuple(classes), exact=False, reason="a value too large to write down")
    names = ", ".join(sorted(families))
    return Domain(tuple(classes), exact=False, reason=f"one key tested as {names} at once")


def _check(
    atoms: Sequence[Atom],
    required: Sequence[tuple[Atom, bool]],
    classes: Sequence[ValueClass],
    sigs: dict[str, Signature] | None = None,
) -> None:
    """Every representative passes, by the engine's own tests, what its automaton said
    (``sigs``: signatures over ``atoms`` the engine gave, kept across calls)."""
    for c in classes:
        sig = None if sigs is None else sigs.get(c.rep)
        if sig is None:
            sig = _concrete_sig(atoms, c.rep)
            if sigs is not None:
                sigs[c.rep] = sig
        if sig != c.sig or not all(a.test(c.rep) == w for a, w in required):
            raise DiffInternalError(
                f"automaton and engine disagree on {c.rep!r}: " + ", ".join(a.label for a in atoms)
            )
