"""ARN condition operators: each of the six colon-delimited components matched separately.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
"Case-sensitive matching of the ARN. Each of the six colon-delimited components of the ARN is
checked separately and each can include multi-character match wildcards (*) or single-character
match wildcards (?)." ``ArnEquals`` and ``ArnLike`` behave the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lspolicy.conditions.base import OperatorSpec, ValueType
from lspolicy.glob import STAR, Glob, Token, tokens_of

__all__ = ["OPERATORS", "ArnPattern", "compile_arn_pattern"]


class ArnPattern:
    """Six component globs; a value matches when each of its six components matches."""

    __slots__ = ("components", "pattern")

    def __init__(self, pattern: str, components: tuple[Glob, ...]) -> None:
        self.pattern = pattern
        self.components = components

    def __call__(self, value: str) -> bool:
        parts = value.split(":", 5)
        if len(parts) != 6:
            return False
        return all(g(p) for g, p in zip(self.components, parts, strict=True))


def compile_arn_pattern(tokens: Sequence[Token]) -> ArnPattern | None:
    """Split tokens at literal ``:`` into six components (the last takes the rest); None if fewer."""
    components: list[list[Token]] = [[]]
    for tok in tokens:
        if isinstance(tok, str) and ":" in tok and len(components) < 6:
            pieces = tok.split(":")
            for i, piece in enumerate(pieces):
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
            star = Glob([STAR])
            return ArnPattern("*", (star,) * 6)
        return None
    text = "".join(t if isinstance(t, str) else repr(t) for t in tokens)
    return ArnPattern(text, tuple(Glob(c) for c in components))


def _prepare(text: str) -> ArnPattern | None:
    return compile_arn_pattern(tokens_of(text))


def _test(pattern: Any, actual: str) -> bool:
    return bool(pattern(actual))


A = ValueType.ARN
OPERATORS: tuple[OperatorSpec, ...] = (
    OperatorSpec(
        "ArnEquals", A, _prepare, _test, wildcards=True, prepare_tokens=compile_arn_pattern
    ),
    OperatorSpec("ArnLike", A, _prepare, _test, wildcards=True, prepare_tokens=compile_arn_pattern),
    OperatorSpec(
        "ArnNotEquals",
        A,
        _prepare,
        _test,
        negated=True,
        wildcards=True,
        prepare_tokens=compile_arn_pattern,
        positive="ArnEquals",
    ),
    OperatorSpec(
        "ArnNotLike",
        A,
        _prepare,
        _test,
        negated=True,
        wildcards=True,
        prepare_tokens=compile_arn_pattern,
        positive="ArnLike",
    ),
)
