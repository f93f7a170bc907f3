"""Character automata for the string tests of a policy, and exhaustive search over their product.

Every string test the engine makes is a regular language over characters:

- ``StringEquals`` / a literal ``Resource``: one word; several of them share one trie
  (`LiteralSet`);
- ``StringEqualsIgnoreCase``: the words whose ``str.lower()`` is the policy value (`LowerEq`;
  ``str.lower`` may map one character to two, e.g. ``'İ'``, and several characters to one
  letter, e.g. the Kelvin sign ``'K'`` to ``'k'``: both are followed exactly);
- ``StringLike``: ``*`` any run, ``?`` one character (`glob_elements`);
- ``ArnLike``/``ArnEquals``: six colon-separated components matched separately, wildcards in
  the first five never cross a colon (`arn_elements`, mirroring ``compile_arn_pattern``);
- ``Resource``: segments split at colons, a segment's trailing ``*`` may span colons
  (`resource_elements`, mirroring ``compile_resource_pattern``).

The last three are sequences of elements (a literal character, one character, a run), run as
a position-set NFA (`SeqNFA`). A product of automata is explored breadth first
(`explore`, `find`): it visits every reachable tuple of states, so it finds *every* combination
of tests that some string passes (a "signature"), each with a shortest string. Characters that
no automaton names are interchangeable, so each state branches only on the characters its
automata name plus one fresh character: the search is exact and small.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from lspolicy.budget import expired, reason
from lspolicy.glob import ANY, STAR, Token

__all__ = [
    "VAR",
    "Automaton",
    "ComplexityError",
    "Element",
    "LiteralSet",
    "LowerEq",
    "Product",
    "SeqNFA",
    "TaggedNFA",
    "arn_elements",
    "coreachable",
    "explore",
    "find",
    "fresh_char",
    "glob_elements",
    "lower_preimages",
    "reachable",
    "resource_elements",
    "run",
]

State = Any
"""An automaton's state: hashable; its meaning is the automaton's own."""

MAX_STATES: Final = 200_000
"""Product states one search may visit before it gives up (then the caller says "unknown")."""
MAX_CLASS_STATES: Final = 40_000
"""Product states `explore` visits for one slot's classes before it gives up."""


class ComplexityError(Exception):
    """A search would visit more states than its limit; ``partial`` holds what `explore`
    had found by then (signature -> string), for a caller that can use an incomplete answer."""

    def __init__(self, message: str, partial: dict[tuple[bool, ...], str] | None = None) -> None:
        super().__init__(message)
        self.partial = partial or {}


class _Var:
    __slots__ = ()

    def __repr__(self) -> str:
        return "VAR"


VAR: Final = _Var()
"""Placeholder token/element for the value of a policy variable inside a template."""

Element = tuple[str, Any]
"""``("l", char)`` a literal character; ``("o", colon_ok)`` one character; ``("s", colon_ok)``
any run of characters; ``("v", None)`` the variable's value (templates only). ``colon_ok``
False: the wildcard never matches ':' (ARN components and resource segments)."""


class Automaton(Protocol):
    """What the product search needs of an automaton over characters."""

    @property
    def start(self) -> State: ...

    @property
    def chars(self) -> frozenset[str]: ...

    def step(self, state: State, ch: str) -> State: ...

    def interesting(self, state: State) -> Iterable[str]: ...


# -- str.lower, inverted ---------------------------------------------------------------------


@functools.cache
def _lower_table() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    for code in range(0x110000):
        c = chr(code)
        low = c.lower()
        if low != c:
            for t in low:
                table.setdefault(t, set()).add(c)
    return {t: frozenset(cs) for t, cs in table.items()}


def lower_preimages(ch: str) -> frozenset[str]:
    """Every character whose ``lower()`` contains ``ch`` (and ``ch`` itself)."""
    return _lower_table().get(ch, frozenset()) | {ch}


# -- automata ---------------------------------------------------------------------------------


class SeqNFA:
    """A union of element sequences, run as sets of ``(branch, position)``."""

    __slots__ = ("_memo", "branches", "chars", "start")

    def __init__(self, branches: Sequence[Sequence[Element]]) -> None:
        self.branches: tuple[tuple[Element, ...], ...] = tuple(tuple(b) for b in branches)
        chars: set[str] = set()
        for branch in self.branches:
            for el in branch:
                if el[0] == "l":
                    chars.add(el[1])
                elif el[0] in ("o", "s") and not el[1]:
                    chars.add(":")
                elif el[0] == "v":
                    raise ValueError("a template element cannot be run")
        self.chars = frozenset(chars)
        self._memo: dict[tuple[frozenset[tuple[int, int]], str], frozenset[tuple[int, int]]] = {}
        self.start: frozenset[tuple[int, int]] = self._close((b, 0) for b in range(len(branches)))

    def _close(self, positions: Iterable[tuple[int, int]]) -> frozenset[tuple[int, int]]:
        out: set[tuple[int, int]] = set()
        for b, first in positions:
            branch = self.branches[b]
            i = first
            out.add((b, i))
            while i < len(branch) and branch[i][0] == "s":
                i += 1
                out.add((b, i))
        return frozenset(out)

    def step(self, state: State, ch: str) -> State:
        key = (state, ch)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        nxt: list[tuple[int, int]] = []
        for b, i in state:
            branch = self.branches[b]
            if i >= len(branch):
                continue
            el = branch[i]
            kind = el[0]
            if kind == "l":
                if el[1] == ch:
                    nxt.append((b, i + 1))
            elif el[1] or ch != ":":
                nxt.append((b, i if kind == "s" else i + 1))
        out = self._close(nxt)
        self._memo[key] = out
        return out

    def accepts(self, state: State) -> bool:
        """Whether some branch has been read to its end."""
        return any(i == len(self.branches[b]) for b, i in state)

    def interesting(self, state: State) -> Iterable[str]:
        out: set[str] = set()
        for b, i in state:
            branch = self.branches[b]
            if i < len(branch):
                el = branch[i]
                if el[0] == "l":
                    out.add(el[1])
                elif not el[1]:
                    out.add(":")
        return out


class TaggedNFA:
    """Several `SeqNFA` run as one: a state is the tuple of ``(number, state)`` of the
    automata whose own state is not empty, in order, so that an automaton that can never
    accept again costs nothing. It stands for exactly the tuple of every automaton's state
    (the others' being empty), so a product holding this in place of them visits the same
    states in the same order."""

    __slots__ = ("_accepting", "_interesting", "_memo", "automata", "chars", "start")

    def __init__(self, automata: Sequence[SeqNFA]) -> None:
        self.automata = tuple(automata)
        self.chars = frozenset(ch for a in automata for ch in a.chars)
        self._memo: dict[tuple[State, str], State] = {}
        self._accepting: dict[tuple[int, State], bool] = {}
        self._interesting: dict[tuple[int, State], frozenset[str]] = {}
        self.start: tuple[tuple[int, State], ...] = tuple(
            (t, a.start) for t, a in enumerate(automata) if a.start
        )

    def step(self, state: State, ch: str) -> State:
        """Each automaton's `SeqNFA.step`; those left with an empty state are dropped."""
        key = (state, ch)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        automata = self.automata
        out = []
        for t, own in state:
            nxt = automata[t].step(own, ch)
            if nxt:
                out.append((t, nxt))
        got = tuple(out)
        self._memo[key] = got
        return got

    def accepting(self, state: State) -> list[int]:
        """The automata (by number) that accept in ``state``."""
        memo = self._accepting
        out: list[int] = []
        for pair in state:
            hit = memo.get(pair)
            if hit is None:
                hit = memo[pair] = self.automata[pair[0]].accepts(pair[1])
            if hit:
                out.append(pair[0])
        return out

    def live(self, state: State) -> frozenset[int]:
        """The automata (by number) whose own state is not empty."""
        return frozenset(t for t, _ in state)

    def interesting(self, state: State) -> Iterable[str]:
        memo = self._interesting
        out: set[str] = set()
        for pair in state:
            hit = memo.get(pair)
            if hit is None:
                hit = memo[pair] = frozenset(self.automata[pair[0]].interesting(pair[1]))
            out |= hit
        return out


class LiteralSet:
    """A trie of words; ``ends[i]`` is the state reached by exactly the i-th word."""

    __slots__ = ("_children", "chars", "ends", "start")

    def __init__(self, words: Sequence[str]) -> None:
        self._children: list[dict[str, int]] = [{}]
        ends: list[int] = []
        for word in words:
            node = 0
            for ch in word:
                nxt = self._children[node].get(ch)
                if nxt is None:
                    nxt = len(self._children)
                    self._children.append({})
                    self._children[node][ch] = nxt
                node = nxt
            ends.append(node)
        self.ends = tuple(ends)
        self.chars = frozenset(ch for word in words for ch in word)
        self.start: int = 0

    def step(self, state: State, ch: str) -> State:
        if state == -1:
            return -1
        return self._children[state].get(ch, -1)

    def interesting(self, state: State) -> Iterable[str]:
        return () if state == -1 else self._children[state].keys()


class LowerEq:
    """Strings ``s`` with ``s.lower() == target`` (``target`` already lower case)."""

    __slots__ = ("chars", "start", "target")

    def __init__(self, target: str) -> None:
        self.target = target
        chars: set[str] = set()
        for ch in target:
            chars |= lower_preimages(ch)
        self.chars = frozenset(chars)
        self.start: int = 0

    def step(self, state: State, ch: str) -> State:
        if state == -1:
            return -1
        low = ch.lower()
        pos: int = state
        return pos + len(low) if self.target.startswith(low, pos) else -1

    def accepts(self, state: State) -> bool:
        """Whether the lower-cased string read so far is the target."""
        return bool(state == len(self.target))

    def interesting(self, state: State) -> Iterable[str]:
        if state == -1 or state == len(self.target):
            return ()
        return lower_preimages(self.target[state])


# -- element sequences from engine tokens -----------------------------------------------------

TemplateToken = Token | _Var


def glob_elements(tokens: Sequence[TemplateToken]) -> tuple[Element, ...]:
    """``StringLike``: ``*`` any run, ``?`` one character, everything else literal."""
    out: list[Element] = []
    for tok in tokens:
        if tok is STAR:
            out.append(("s", True))
        elif tok is ANY:
            out.append(("o", True))
        elif tok is VAR:
            out.append(("v", None))
        else:
            assert isinstance(tok, str)
            out.extend(("l", c) for c in tok)
    return tuple(out)


def literal_elements(text: str) -> tuple[Element, ...]:
    """One word."""
    return tuple(("l", c) for c in text)


def _split_segments(tokens: Sequence[TemplateToken]) -> list[list[TemplateToken]]:
    # exactly `lspolicy.evaluate.resource.compile_resource_pattern`'s split
    segments: list[list[TemplateToken]] = [[]]
    for tok in tokens:
        if isinstance(tok, str) and ":" in tok:
            for i, piece in enumerate(tok.split(":")):
                if i:
                    segments.append([])
                if piece:
                    segments[-1].append(piece)
        else:
            segments[-1].append(tok)
    return segments


def resource_elements(tokens: Sequence[TemplateToken]) -> tuple[Element, ...] | None:
    """A ``Resource`` pattern: wildcards stay inside a segment, except a ``*`` that ends its
    segment, which may run on over colons. None when a ``*`` stands right before a variable
    (whether it ends its segment then depends on the variable's value)."""
    out: list[Element] = []
    for n, segment in enumerate(_split_segments(tokens)):
        if n:
            out.append(("l", ":"))
        for i, tok in enumerate(segment):
            if tok is STAR:
                last = i == len(segment) - 1
                if not last and segment[i + 1] is VAR:
                    return None
                out.append(("s", last))
            elif tok is ANY:
                out.append(("o", False))
            elif tok is VAR:
                out.append(("v", None))
            else:
                assert isinstance(tok, str)
                out.extend(("l", c) for c in tok)
    return tuple(out)


def _arn_components(tokens: Sequence[TemplateToken]) -> list[list[TemplateToken]] | None:
    # exactly `lspolicy.conditions.arn.compile_arn_pattern`'s split
    components: list[list[TemplateToken]] = [[]]
    for tok in tokens:
        if isinstance(tok, str) and ":" in tok and len(components) < 6:
            for i, piece in enumerate(tok.split(":")):
                if i:
                    if len(components) < 6:
                        components.append([])
                    else:
                        components[-1].append(":")
                if piece:
                    components[-1].append(piece)
        else:
            components[-1].append(tok)
    if len(components) != 6:
        if len(components) == 1 and list(components[0]) == [STAR]:
            return [[STAR] for _ in range(6)]
        return None
    return components


@dataclass(frozen=True, slots=True)
class ArnShape:
    """An ARN pattern's elements, or why it has none."""

    elements: tuple[Element, ...] | None
    """None: the pattern has fewer than six components and matches nothing."""
    simple: bool = True
    """False for a template whose variable sits before the sixth component: the variable's own
    colons would then move the component boundaries."""


def arn_elements(tokens: Sequence[TemplateToken]) -> ArnShape:
    """``ArnLike``/``ArnEquals``: ``C1:C2:C3:C4:C5:C6``, wildcards of C1..C5 never match ':'."""
    components = _arn_components(tokens)
    if components is None:
        return ArnShape(None, simple=not any(t is VAR for t in tokens))
    out: list[Element] = []
    for n, component in enumerate(components):
        if n:
            out.append(("l", ":"))
        colon_ok = n == 5
        for tok in component:
            if tok is STAR:
                out.append(("s", colon_ok))
            elif tok is ANY:
                out.append(("o", colon_ok))
            elif tok is VAR:
                if not colon_ok:
                    return ArnShape(None, simple=False)
                out.append(("v", None))
            else:
                assert isinstance(tok, str)
                out.extend(("l", c) for c in tok)
    return ArnShape(tuple(out))


# -- products and search ----------------------------------------------------------------------

_FRESH_CANDIDATES: Final = "xyzqjkwvfgmnhpbcdrstluoeai0123456789_~"


def fresh_char(used: Iterable[str]) -> str:
    """A character that none of the automata names (nor, lower-cased, any of their letters)."""
    taken = set(used)
    for ch in _FRESH_CANDIDATES:
        if ch not in taken and not (set(ch.lower()) & taken):
            return ch
    code = 0x4E00  # CJK: far from anything a policy names
    while chr(code) in taken:
        code += 1
    return chr(code)


class Product:
    """Several automata read the same string; a state is the tuple of their states."""

    __slots__ = ("automata", "chars", "fresh", "start")

    def __init__(self, automata: Sequence[Automaton], *, extra_chars: Iterable[str] = ()) -> None:
        self.automata = tuple(automata)
        chars: set[str] = set(extra_chars)
        for a in self.automata:
            chars |= a.chars
        self.chars = frozenset(chars)
        self.fresh = fresh_char(chars)
        self.start: tuple[State, ...] = tuple(a.start for a in self.automata)

    def step(self, state: tuple[State, ...], ch: str) -> tuple[State, ...]:
        """Every automaton reads ``ch``."""
        return tuple(a.step(s, ch) for a, s in zip(self.automata, state, strict=True))

    def successors(self, state: tuple[State, ...]) -> list[str]:
        """The characters worth trying from ``state``: those some automaton names there, in a
        stable order, and one fresh character standing for all the others."""
        chars: set[str] = set()
        for a, s in zip(self.automata, state, strict=True):
            chars.update(a.interesting(s))
        return [*sorted(chars), self.fresh]


def run(product: Product, text: str) -> tuple[State, ...]:
    """The product's state after reading ``text``."""
    state = product.start
    for ch in text:
        state = product.step(state, ch)
    return state


Signature = tuple[bool, ...]


def explore(
    product: Product,
    signature: Callable[[tuple[State, ...]], Signature],
    *,
    limit: int = MAX_CLASS_STATES,
    alive: Callable[[tuple[State, ...]], bool] | None = None,
) -> dict[Signature, str]:
    """Every signature some string reaches, each with a shortest such string (exhaustive).
    ``alive``: False for a state none of whose strings the caller wants (its own signature is
    still reported; its continuations are not explored)."""
    seen: dict[tuple[State, ...], str] = {product.start: ""}
    queue: deque[tuple[State, ...]] = deque([product.start])
    found: dict[Signature, str] = {}
    popped = 0
    while queue:
        state = queue.popleft()
        popped += 1
        # every 64 states: `len(seen)` grows by several per state, so a test on it (as here
        # before) could step over every multiple and never look at the clock
        if not popped & 63 and expired():
            raise ComplexityError(reason(), found)
        text = seen[state]
        found.setdefault(signature(state), text)
        if alive is not None and not alive(state):
            continue
        for ch in product.successors(state):
            nxt = product.step(state, ch)
            if nxt not in seen:
                seen[nxt] = text + ch
                queue.append(nxt)
        if len(seen) > limit:
            raise ComplexityError(f"more than {limit} string states", found)
    return found


def reachable(
    product: Product,
    *,
    starts: Iterable[tuple[State, ...]] | None = None,
    limit: int = MAX_STATES,
) -> list[tuple[State, ...]]:
    """Every state reachable from ``starts`` (default: the product's start)."""
    first = [product.start] if starts is None else list(starts)
    seen: set[tuple[State, ...]] = set(first)
    queue: deque[tuple[State, ...]] = deque(seen)
    popped = 0
    while queue:
        state = queue.popleft()
        popped += 1
        for ch in product.successors(state):
            nxt = product.step(state, ch)
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
        if len(seen) > limit:
            raise ComplexityError(f"more than {limit} string states")
        if not popped & 63 and expired():
            raise ComplexityError(reason())
    return list(seen)


def coreachable(
    product: Product,
    starts: Iterable[tuple[State, ...]],
    goal: Callable[[tuple[State, ...]], bool],
    *,
    limit: int = MAX_STATES,
) -> set[tuple[State, ...]]:
    """The states reachable from ``starts`` from which some string leads to ``goal``."""
    back: dict[tuple[State, ...], list[tuple[State, ...]]] = {}
    seen: set[tuple[State, ...]] = set(starts)
    queue: deque[tuple[State, ...]] = deque(seen)
    popped = 0
    while queue:
        state = queue.popleft()
        popped += 1
        for ch in product.successors(state):
            nxt = product.step(state, ch)
            back.setdefault(nxt, []).append(state)
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
        if len(seen) > limit:
            raise ComplexityError(f"more than {limit} string states")
        if not popped & 63 and expired():
            raise ComplexityError(reason())
    good = {s for s in seen if goal(s)}
    todo = deque(good)
    while todo:
        state = todo.popleft()
        for prev in back.get(state, ()):
            if prev not in good:
                good.add(prev)
                todo.append(prev)
    return good


def find(
    product: Product,
    goal: Callable[[tuple[State, ...]], bool],
    *,
    candidates: Iterable[str] = (),
    start: tuple[State, ...] | None = None,
    limit: int = MAX_STATES,
) -> str | None:
    """A string whose final state satisfies ``goal``: the first candidate that does, else a
    shortest one; None when no string does (exhaustive). ``start`` replaces the start state."""
    first = product.start if start is None else start
    for text in candidates:
        state = first
        for ch in text:
            state = product.step(state, ch)
        if goal(state):
            return text
    seen: dict[tuple[State, ...], str] = {first: ""}
    queue: deque[tuple[State, ...]] = deque([first])
    popped = 0
    while queue:
        state = queue.popleft()
        popped += 1
        text = seen[state]
        if goal(state):
            return text
        for ch in product.successors(state):
            nxt = product.step(state, ch)
            if nxt not in seen:
                seen[nxt] = text + ch
                queue.append(nxt)
        if len(seen) > limit:
            raise ComplexityError(f"more than {limit} string states")
        if not popped & 63 and expired():
            raise ComplexityError(reason())
    return None
