"""What a condition operator is, as data: the facts the evaluator, linter and diff all read.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lspolicy.glob import Token

__all__ = ["OperatorSpec", "Prepare", "PrepareTokens", "Test", "ValueType"]


class ValueType(StrEnum):
    """The type an operator reads its values as (the simulator's ``ContextKeyType`` families)."""

    STRING = "string"
    NUMERIC = "numeric"
    DATE = "date"
    BOOLEAN = "boolean"
    BINARY = "binary"
    IP = "ip"
    ARN = "arn"
    NULL = "null"


Prepare = Callable[[str], Any]
"""Turn one policy value into its compiled form; return None when the value is invalid."""
PrepareTokens = Callable[[Sequence[Token]], Any]
"""Compile a wildcard value from tokens, so escaped characters stay literal."""
Test = Callable[[Any, str], bool]
"""Does one context value match one compiled policy value (before negation)?"""


@dataclass(frozen=True, slots=True)
class OperatorSpec:
    """One condition operator (without ``IfExists`` and without a set qualifier).

    ``negated`` operators (``StringNotEquals``...) match when no policy value matches; with a
    missing key they return true. ``wildcards`` says whether ``*``/``?`` in values are
    wildcards (``StringLike``, ``ArnLike``...), which also decides how policy variables resolve.
    """

    name: str
    value_type: ValueType
    prepare: Prepare
    test: Test
    negated: bool = False
    wildcards: bool = False
    ignore_case: bool = False
    supports_if_exists: bool = True
    positive: str | None = None
    """For a negated operator, the operator it negates (``StringNotLike`` -> ``StringLike``)."""
    description: str = ""
    prepare_tokens: PrepareTokens | None = None
    """For wildcard operators: compile a value given as glob tokens (keeps ``${*}`` literal)."""
