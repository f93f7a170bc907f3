"""String condition operators.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
``StringEquals`` is exact and case-sensitive; ``StringEqualsIgnoreCase`` ignores case; ``StringLike``
is case-sensitive with ``*`` and ``?`` wildcards anywhere in the string.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lspolicy.conditions.base import OperatorSpec, ValueType
from lspolicy.glob import Glob, Token, tokens_of

__all__ = ["OPERATORS"]


def _same(text: str) -> str:
    return text


def _lower(text: str) -> str:
    return text.lower()


def _eq(expected: Any, actual: str) -> bool:
    return bool(expected == actual)


def _eq_ignore_case(expected: Any, actual: str) -> bool:
    return bool(expected == actual.lower())


def _like(glob: Any, actual: str) -> bool:
    assert isinstance(glob, Glob)
    return glob(actual)


def _glob(text: str) -> Glob:
    return Glob(tokens_of(text))


def _glob_tokens(tokens: Sequence[Token]) -> Glob:
    return Glob(tokens)


S = ValueType.STRING
OPERATORS: tuple[OperatorSpec, ...] = (
    OperatorSpec("StringEquals", S, _same, _eq, description="exact, case-sensitive"),
    OperatorSpec(
        "StringNotEquals",
        S,
        _same,
        _eq,
        negated=True,
        positive="StringEquals",
        description="negated exact, case-sensitive",
    ),
    OperatorSpec(
        "StringEqualsIgnoreCase",
        S,
        _lower,
        _eq_ignore_case,
        ignore_case=True,
        description="exact, ignoring case",
    ),
    OperatorSpec(
        "StringNotEqualsIgnoreCase",
        S,
        _lower,
        _eq_ignore_case,
        negated=True,
        ignore_case=True,
        positive="StringEqualsIgnoreCase",
        description="negated exact, ignoring case",
    ),
    OperatorSpec(
        "StringLike",
        S,
        _glob,
        _like,
        wildcards=True,
        prepare_tokens=_glob_tokens,
        description="case-sensitive, with * and ? wildcards",
    ),
    OperatorSpec(
        "StringNotLike",
        S,
        _glob,
        _like,
        negated=True,
        wildcards=True,
        prepare_tokens=_glob_tokens,
        positive="StringLike",
        description="negated case-sensitive, with * and ? wildcards",
    ),
)
