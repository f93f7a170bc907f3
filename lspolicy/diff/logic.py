"""Three-valued logic (``None``: not decided yet) and one condition's outcome on a slot's value,
shared by the search (`lspolicy.diff.search.Evaluator`) and its forward checking
(`lspolicy.diff.narrow`), so that both decide a condition by the same rules.

The rules are those of `lspolicy.evaluate.clause` (IAM User Guide, "IAM JSON policy elements:
Condition operators": a missing key makes a condition false except with ``...IfExists`` and the
negated operators, and ``Null`` tests presence; "Set operators for multivalued context keys":
``ForAnyValue`` needs one value to match and is false on a missing key, ``ForAllValues`` needs
every value to match and is true on a missing or empty key).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the search imports this module
    from lspolicy.diff.problem import RawCondition
    from lspolicy.diff.search import SlotValue

__all__ = ["and3", "condition_outcome", "or3", "xor3"]


def or3(values: Iterable[bool | None]) -> bool | None:
    unknown = False
    for v in values:
        if v is True:
            return True
        if v is None:
            unknown = True
    return None if unknown else False


def and3(values: Iterable[bool | None]) -> bool | None:
    unknown = False
    for v in values:
        if v is False:
            return False
        if v is None:
            unknown = True
    return None if unknown else True


def xor3(value: bool | None, flip: bool) -> bool | None:
    return None if value is None else value != flip


def condition_outcome(
    raw: RawCondition, sv: SlotValue, matches: Iterable[bool | None]
) -> bool | None:
    """The condition ``raw`` on its slot's value ``sv``; ``matches``: for each class of
    ``sv.classes`` in order, whether its values pass one of the condition's tests (None: not
    decided yet), drawn lazily: only as far as the answer needs."""
    if raw.mode == "null":
        absent = sv.absent or sv.empty
        return any(w == absent for w in raw.wants)
    if sv.absent:
        if raw.mode == "plain":
            return raw.if_exists or raw.negated
        if raw.mode == "any":
            return raw.if_exists
        return True
    if raw.mode == "plain":
        return xor3(or3(matches), raw.negated)
    if sv.empty or sv.nullset:
        return raw.mode == "all"
    per_value = (xor3(m, raw.negated) for m in matches)
    return or3(per_value) if raw.mode == "any" else and3(per_value)
