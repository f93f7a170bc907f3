"""``Bool``, ``BinaryEquals`` and ``Null``.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Boolean
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_BinaryEquals
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Null
``Null`` is not a comparison: ``true`` asks that the key be absent, ``false`` that it be present.
The clause compiler handles it; its table entry carries the value parsing and the facts.
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from typing import Any

from lspolicy.conditions.base import OperatorSpec, ValueType

__all__ = ["OPERATORS", "parse_bool"]


def parse_bool(text: str) -> bool | None:
    """``true``/``false`` in any case; None otherwise."""
    lowered = text.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return None


@lru_cache(maxsize=1024)
def _parse_binary(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def _bool_test(expected: Any, actual: str) -> bool:
    value = parse_bool(actual)
    return value is not None and value == expected


def _binary_test(expected: Any, actual: str) -> bool:
    value = _parse_binary(actual)
    return value is not None and value == expected


def _null_test(expected: Any, actual: str) -> bool:  # pragma: no cover - handled by the clause
    raise AssertionError("Null is evaluated by the clause compiler")


OPERATORS: tuple[OperatorSpec, ...] = (
    OperatorSpec("Bool", ValueType.BOOLEAN, parse_bool, _bool_test),
    OperatorSpec("BinaryEquals", ValueType.BINARY, _parse_binary, _binary_test),
    OperatorSpec("Null", ValueType.NULL, parse_bool, _null_test, supports_if_exists=False),
)
