"""Numeric condition operators.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Numeric
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from lspolicy.conditions.base import OperatorSpec, ValueType

__all__ = ["OPERATORS", "parse_number"]


@lru_cache(maxsize=4096)
def parse_number(text: str) -> float | None:
    """A decimal number (integer or fraction), or None; no ``inf``/``nan``, no hex."""
    text = text.strip()
    if not text or any(ch not in "0123456789+-.eE" for ch in text):
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _numeric(name: str, cmp: Callable[[float, float], bool], negated: bool = False) -> OperatorSpec:
    def test(expected: Any, actual: str) -> bool:
        value = parse_number(actual)
        return value is not None and cmp(value, expected)

    return OperatorSpec(
        name,
        ValueType.NUMERIC,
        parse_number,
        test,
        negated=negated,
        positive="NumericEquals" if negated else None,
    )


OPERATORS: tuple[OperatorSpec, ...] = (
    _numeric("NumericEquals", operator.eq),
    _numeric("NumericNotEquals", operator.eq, negated=True),
    _numeric("NumericLessThan", operator.lt),
    _numeric("NumericLessThanEquals", operator.le),
    _numeric("NumericGreaterThan", operator.gt),
    _numeric("NumericGreaterThanEquals", operator.ge),
)
