"""Condition operators: one module per family, joined into one table by `registry`."""

from lspolicy.conditions.base import OperatorSpec, ValueType
from lspolicy.conditions.registry import OPERATORS, OperatorRef, parse_operator

__all__ = ["OPERATORS", "OperatorRef", "OperatorSpec", "ValueType", "parse_operator"]
