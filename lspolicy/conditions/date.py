"""Date condition operators: ISO 8601 dates and times, or epoch (UNIX) seconds.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date
Values are compared as instants. A date or time without a zone is taken as UTC, the zone IAM's
own date keys (``aws:CurrentTime``) are written in.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from lspolicy.conditions.base import OperatorSpec, ValueType

__all__ = ["OPERATORS", "parse_date"]

_MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z


@lru_cache(maxsize=4096)
def parse_date(text: str) -> float | None:
    """Seconds since the epoch for an ISO 8601 value or an epoch number; None if neither."""
    text = text.strip()
    if not text:
        return None
    if text.lstrip("-").replace(".", "", 1).isdigit():
        try:
            seconds = float(text)
        except ValueError:
            return None
        return seconds if abs(seconds) <= _MAX_EPOCH else None
    try:
        if "T" in text or "t" in text or " " in text:
            moment = datetime.fromisoformat(text)
        else:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _date(name: str, cmp: Callable[[float, float], bool], negated: bool = False) -> OperatorSpec:
    def test(expected: Any, actual: str) -> bool:
        value = parse_date(actual)
        return value is not None and cmp(value, expected)

    return OperatorSpec(
        name,
        ValueType.DATE,
        parse_date,
        test,
        negated=negated,
        positive="DateEquals" if negated else None,
    )


OPERATORS: tuple[OperatorSpec, ...] = (
    _date("DateEquals", operator.eq),
    _date("DateNotEquals", operator.eq, negated=True),
    _date("DateLessThan", operator.lt),
    _date("DateLessThanEquals", operator.le),
    _date("DateGreaterThan", operator.gt),
    _date("DateGreaterThanEquals", operator.ge),
)
