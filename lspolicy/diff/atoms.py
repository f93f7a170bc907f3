"""Atoms: the individual tests one value is put to, read from the engine's own compiled facts.

An atom is "does this one string pass this one policy value under this operator" (before any
negation, ``IfExists`` or set qualifier: those are the condition's, see `lspolicy.diff.problem`).
Each atom carries

- its *family* (from the operator's table entry, `lspolicy.conditions.OPERATORS`): the string
  families ``eq``, ``ieq``, ``glob``, ``arn``, ``res`` (a Resource entry) and ``seq`` (a shape
  the diff itself imposes), decided over characters by `lspolicy.diff.automata`; the typed
  families ``num``, ``date``, ``bool``, ``bin``, ``ip``, decided over the parsed value;
- a canonical ``key`` (two atoms with one key are the same test);
- ``test``: the engine's own predicate for a concrete string, used to check every witness.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from lspolicy.conditions.arn import compile_arn_pattern
from lspolicy.conditions.base import OperatorSpec, ValueType
from lspolicy.conditions.registry import OPERATORS
from lspolicy.diff.automata import (
    VAR,
    Element,
    TemplateToken,
    arn_elements,
    glob_elements,
    resource_elements,
)
from lspolicy.evaluate.resource import compile_resource_pattern
from lspolicy.glob import ANY, STAR, Glob, Token

__all__ = [
    "STRING_FAMILIES",
    "TYPED_FAMILIES",
    "Atom",
    "atom_from_prepared",
    "atom_from_tokens",
    "comparison",
    "empty_atom",
    "family_of",
    "resource_atom",
    "sequence_atom",
    "word_set_atom",
]

STRING_FAMILIES: Final = frozenset({"eq", "ieq", "glob", "arn", "res", "seq", "set"})
TYPED_FAMILIES: Final = frozenset({"num", "date", "bool", "bin", "ip"})


@dataclass(frozen=True, slots=True)
class Atom:
    """One test of one string value."""

    family: str
    key: tuple[Any, ...]
    label: str
    test: Callable[[str], bool] = field(compare=False, repr=False)
    text: str | None = field(default=None, compare=False)
    """``eq``/``ieq``: the word (lower case for ``ieq``)."""
    elements: tuple[tuple[Element, ...], ...] | None = field(default=None, compare=False)
    """String families but ``eq``/``ieq``: the element sequences (a union of branches)."""
    value: Any = field(default=None, compare=False)
    """Typed families: the prepared policy value (a float, bool, bytes or network)."""
    cmp: str | None = field(default=None, compare=False)
    """``num``/``date``: ``lt``, ``le``, ``eq``, ``gt`` or ``ge`` (value OP constant)."""
    words: tuple[str, ...] | None = field(default=None, compare=False)
    """``set``: the words (the value is one of them)."""
    source: str | None = field(default=None, compare=False)
    """Typed families: the value as the policy wrote it."""

    @property
    def sort_key(self) -> str:
        """A total order on atoms, the same whichever policy mentions them first."""
        return repr(self.key)


# -- families, as data --------------------------------------------------------------------------


def _string_family(spec: OperatorSpec) -> str:
    if spec.wildcards:
        return "glob"
    return "ieq" if spec.ignore_case else "eq"


_FAMILY_OF_TYPE: Final[dict[ValueType, Callable[[OperatorSpec], str]]] = {
    ValueType.STRING: _string_family,
    ValueType.ARN: lambda _s: "arn",
    ValueType.NUMERIC: lambda _s: "num",
    ValueType.DATE: lambda _s: "date",
    ValueType.BOOLEAN: lambda _s: "bool",
    ValueType.BINARY: lambda _s: "bin",
    ValueType.IP: lambda _s: "ip",
    ValueType.NULL: lambda _s: "null",
}


def family_of(spec: OperatorSpec) -> str:
    """The atom family an operator's values make (read from its table entry)."""
    return _FAMILY_OF_TYPE[spec.value_type](spec)


_PROBES: Final = ("-1", "0", "1")
_CMP_OF_PROBE: Final[dict[tuple[bool, ...], str]] = {
    (True, False, False): "lt",
    (True, True, False): "le",
    (False, True, False): "eq",
    (False, False, True): "gt",
    (False, True, True): "ge",
}


@functools.cache
def comparison(spec_name: str) -> str:
    """How a numeric or date operator compares, asked of the operator itself: its test run on
    -1, 0 and 1 against the policy value 0 (so the diff can never disagree with the engine)."""
    spec = OPERATORS[spec_name]
    probe = tuple(bool(spec.test(0.0, text)) for text in _PROBES)
    return _CMP_OF_PROBE[probe]


def _token_key(tokens: Sequence[TemplateToken]) -> tuple[tuple[int, object], ...]:
    out: list[tuple[int, object]] = []
    for tok in tokens:
        if tok is STAR:
            out.append((1, "*"))
        elif tok is ANY:
            out.append((1, "?"))
        elif tok is VAR:
            out.append((2, "$"))
        else:
            out.append((0, tok))
    return tuple(out)


def _spell(tokens: Sequence[Token]) -> str:
    return "".join(t if isinstance(t, str) else repr(t) for t in tokens)


# -- constructors ----------------------------------------------------------------------------


def _eq(text: str, operator: str) -> Atom:
    return Atom("eq", ("eq", text), f'{operator} "{text}"', text.__eq__, text=text)


def empty_atom() -> Atom:
    """The value is the empty string (a "null dataset" for the set qualifiers)."""
    return _eq("", "is")


def _ieq(lowered: str, operator: str) -> Atom:
    return Atom(
        "ieq",
        ("ieq", lowered),
        f'{operator} "{lowered}"',
        lambda v: v.lower() == lowered,
        text=lowered,
    )


def _glob(tokens: Sequence[Token], operator: str) -> Atom:
    if not any(t is STAR or t is ANY for t in tokens):
        return _eq("".join(t for t in tokens if isinstance(t, str)), operator)
    matcher = Glob(tokens)
    return Atom(
        "glob",
        ("glob", _token_key(tokens)),
        f'{operator} "{_spell(tokens)}"',
        lambda v: bool(matcher(v)),
        elements=(glob_elements(tokens),),
    )


def _arn(tokens: Sequence[Token], operator: str) -> Atom | None:
    shape = arn_elements(tokens)
    compiled = compile_arn_pattern(tokens)
    if shape.elements is None or compiled is None:
        return None  # fewer than six components: the engine drops the value
    return Atom(
        "arn",
        ("arn", _token_key(tokens)),
        f'{operator} "{_spell(tokens)}"',
        lambda v: bool(compiled(v)),
        elements=(shape.elements,),
    )


def resource_atom(tokens: Sequence[Token], label: str) -> Atom:
    """One ``Resource``/``NotResource`` entry (wildcards as `compile_resource_pattern`)."""
    elements = resource_elements(tokens)
    assert elements is not None  # concrete tokens hold no variable
    if not any(t is STAR or t is ANY for t in tokens):
        text = "".join(t for t in tokens if isinstance(t, str))
        return Atom("eq", ("eq", text), label, text.__eq__, text=text)
    compiled = compile_resource_pattern(tokens)
    return Atom(
        "res",
        ("res", _token_key(tokens)),
        label,
        lambda v: bool(compiled(v)),
        elements=(elements,),
    )


def sequence_atom(name: str, branches: Sequence[Sequence[Element]], label: str) -> Atom:
    """A shape imposed by the diff itself (the ARN form of an action's resources...)."""
    from lspolicy.diff.automata import SeqNFA  # noqa: PLC0415 - a tiny cycle-free import

    nfa = SeqNFA(branches)

    def test(v: str) -> bool:
        state = nfa.start
        for ch in v:
            state = nfa.step(state, ch)
        return nfa.accepts(state)

    return Atom(
        "seq",
        ("seq", name),
        label,
        test,
        elements=tuple(tuple(b) for b in branches),
    )


def word_set_atom(name: str, words: Sequence[str], label: str) -> Atom:
    """The value is one of ``words`` (a finite set, as one trie)."""
    frozen = frozenset(words)
    return Atom(
        "set",
        ("set", name),
        label,
        frozen.__contains__,
        words=tuple(sorted(frozen)),
    )


def atom_from_tokens(spec: OperatorSpec, tokens: Sequence[Token]) -> Atom | None:
    """The atom of a wildcard operator's value given as glob tokens (None: the engine drops it)."""
    family = family_of(spec)
    if family == "arn":
        return _arn(tokens, spec.name)
    return _glob(tokens, spec.name)


def atom_from_prepared(spec: OperatorSpec, prepared: Any, text: str) -> Atom | None:
    """The atom of a non-wildcard operator's prepared value (None: the engine drops it)."""
    if prepared is None:
        return None
    family = family_of(spec)
    name = spec.name
    if family == "eq":
        return _eq(str(prepared), name)
    if family == "ieq":
        return _ieq(str(prepared), name)
    test = spec.test

    def concrete(v: str) -> bool:
        return bool(test(prepared, v))

    if family in ("num", "date"):
        cmp = comparison(name)
        return Atom(
            family,
            (family, cmp, float(prepared)),
            f'{name} "{text}"',
            concrete,
            value=float(prepared),
            cmp=cmp,
            source=text,
        )
    key = (family, str(prepared)) if family == "ip" else (family, prepared)
    return Atom(family, key, f'{name} "{text}"', concrete, value=prepared, source=text)
