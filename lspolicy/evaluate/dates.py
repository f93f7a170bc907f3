"""Date conditions on the canonical UTC form, compared as text.

``aws:CurrentTime`` comes as ``YYYY-MM-DDTHH:MM:SSZ`` (the form IAM writes its date keys in,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-currenttime),
and on a realistic stream every request carries a time never seen before, so the condition's
memo of verdicts never hits and each request paid a full parse (`conditions.date.parse_date`,
about 1.3 us, most of it ``datetime.timestamp``). Two valid instants in that fixed-width form
compare as their text does (same zone, fields from the most significant), so where the policy
value is a whole second in that form too, a request value of that shape is compared as text once
``datetime.fromisoformat`` has accepted it (an invalid date such as month 13 still fails, as
the parse does). Anything else takes the operator's own test.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = ["canonical_test"]

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "DateEquals": operator.eq,
    "DateNotEquals": operator.eq,  # the negation is the condition's, as for the parse
    "DateLessThan": operator.lt,
    "DateLessThanEquals": operator.le,
    "DateGreaterThan": operator.gt,
    "DateGreaterThanEquals": operator.ge,
}
"""Operator name -> how the request's instant compares with the policy's (`conditions.date`)."""

_SHAPE = ((4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, "Z"))


def _canonical(seconds: float) -> str | None:
    """``seconds`` in the form ``YYYY-MM-DDTHH:MM:SSZ``, when it is a whole second of the
    years 1000-9999 (four digits, so that text order is time order); else None."""
    if seconds != int(seconds):
        return None
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    if not 1000 <= moment.year <= 9999:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical_test(
    name: str, expected: Any, test: Callable[[Any, str], bool]
) -> Callable[[Any, str], bool]:
    """``test`` (the operator's ``(policy value, request value) -> bool``) for the policy
    value ``expected`` (seconds since the epoch), comparing canonical request values as text;
    ``test`` itself when the operator or the value has no canonical form."""
    compare = _COMPARE.get(name)
    text = _canonical(expected) if compare is not None and isinstance(expected, float) else None
    if compare is None or text is None:
        return test
    parse = datetime.fromisoformat

    def fast(policy: Any, actual: str) -> bool:
        if policy is not expected:  # called with another value: the operator's own test
            return test(policy, actual)
        if (
            len(actual) == 20
            and actual[19] == "Z"
            and actual[10] == "T"
            and actual[4] == "-"
            and actual[7] == "-"
            and actual[13] == ":"
            and actual[16] == ":"
            and actual.isascii()
        ):
            try:
                parse(actual)
            except ValueError:
                return False  # not a date: the parse gives None, and the test is false
            return compare(actual, text)
        return test(policy, actual)

    return fast
