"""All condition operators in one table, and the parser for operator names.

An operator name in a policy is ``[ForAllValues:|ForAnyValue:]<Operator>[IfExists]``.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from types import MappingProxyType

from lspolicy.conditions import arn, boolean, date, ip, numeric, string
from lspolicy.conditions.base import OperatorSpec

__all__ = ["OPERATORS", "QUALIFIERS", "OperatorRef", "UnknownOperator", "parse_operator"]

QUALIFIERS = ("ForAllValues", "ForAnyValue")


def _join(*tables: tuple[OperatorSpec, ...]) -> MappingProxyType[str, OperatorSpec]:
    out: dict[str, OperatorSpec] = {}
    for table in tables:
        for spec in table:
            if spec.name in out:
                raise RuntimeError(f"condition operator {spec.name!r} is registered twice")
            out[spec.name] = spec
    return MappingProxyType(out)


OPERATORS = _join(
    string.OPERATORS,
    numeric.OPERATORS,
    date.OPERATORS,
    boolean.OPERATORS,
    ip.OPERATORS,
    arn.OPERATORS,
)


@dataclass(frozen=True, slots=True)
class OperatorRef:
    """A parsed operator name: its table entry, set qualifier and ``IfExists`` flag."""

    spec: OperatorSpec
    qualifier: str | None
    if_exists: bool

    @property
    def name(self) -> str:
        """The name as written in a policy."""
        text = self.spec.name + ("IfExists" if self.if_exists else "")
        return f"{self.qualifier}:{text}" if self.qualifier else text


@dataclass(frozen=True, slots=True)
class UnknownOperator:
    """Why an operator name is not valid, with a suggestion when one is close."""

    message: str
    hint: str | None


def _suggest(word: str, choices: list[str]) -> str | None:
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return lowered[word.lower()]
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.75)
    return close[0] if close else None


def _all_names() -> list[str]:
    names = list(OPERATORS)
    names += [n + "IfExists" for n, s in OPERATORS.items() if s.supports_if_exists]
    return names


def parse_operator(text: str) -> OperatorRef | UnknownOperator:
    """Parse an operator name exactly (operator names are case-sensitive in policy grammar)."""
    qualifier: str | None = None
    name = text
    if ":" in text:
        qualifier, _, name = text.partition(":")
        if qualifier not in QUALIFIERS:
            hint = _suggest(qualifier, list(QUALIFIERS))
            return UnknownOperator(
                f"unknown set qualifier {qualifier!r}; expected ForAllValues or ForAnyValue",
                f"did you mean {hint!r}?" if hint else None,
            )
    if_exists = False
    spec = OPERATORS.get(name)
    if spec is None and name.endswith("IfExists"):
        spec = OPERATORS.get(name[: -len("IfExists")])
        if spec is not None:
            if not spec.supports_if_exists:
                return UnknownOperator(f"{spec.name} cannot take IfExists", None)
            if_exists = True
    if spec is None:
        hint = _suggest(name, _all_names())
        return UnknownOperator(
            f"unknown condition operator {name!r}",
            f"did you mean {(qualifier + ':' if qualifier else '') + hint!r}?" if hint else None,
        )
    if qualifier and spec.name == "Null":
        return UnknownOperator(f"{qualifier}:Null is not valid: Null takes no set qualifier", None)
    return OperatorRef(spec, qualifier, if_exists)
