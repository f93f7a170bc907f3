"""Date conditions compare canonical request times as text (`lspolicy.evaluate.dates`) with the
same verdicts as parsing both instants (`lspolicy.conditions.date.parse_date`).

IAM User Guide, "IAM JSON policy elements: Condition operators", Date condition operators:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date
(values compared as instants; ISO 8601 or epoch seconds). ``aws:CurrentTime`` is written as
``YYYY-MM-DDTHH:MM:SSZ``: "AWS global condition context keys", aws:CurrentTime,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-currenttime .
AWS documents no behaviour for malformed dates; the engine's rule (an unparseable value matches
no positive date operator) is what the fast path must keep.
"""

from __future__ import annotations

import json
import operator

import pytest
from hypothesis import given
from hypothesis import strategies as st

import lspolicy
from lspolicy import PolicySet, Request
from lspolicy.conditions.date import parse_date
from lspolicy.conditions.registry import OPERATORS
from lspolicy.evaluate.dates import canonical_test

# the batches decided here: by the C loop and by the pure-Python loop (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("stream_loops")

NAMES = [
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
]
CMP = {
    "DateEquals": operator.eq,
    "DateNotEquals": operator.eq,
    "DateLessThan": operator.lt,
    "DateLessThanEquals": operator.le,
    "DateGreaterThan": operator.gt,
    "DateGreaterThanEquals": operator.ge,
}


@st.composite
def shaped(draw: st.DrawFn) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` with fields in and out of range (month 13, second 60...)."""
    year = draw(st.integers(0, 9999))
    month, day = draw(st.integers(0, 13)), draw(st.integers(0, 32))
    hour, minute, second = (
        draw(st.integers(0, 25)),
        draw(st.integers(0, 61)),
        draw(st.integers(0, 61)),
    )
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z"


near = st.sampled_from(
    [
        "2026-07-01T00:00:00Z",
        "2026-06-30T23:59:59Z",
        "2026-07-01T00:00:01Z",
        "2026-07-01T00:00:00+00:00",
        "2026-07-01T02:00:00+02:00",
        "2026-07-01",
        "2026-07-01T00:00:00.5Z",
        "1782864000",
        " 2026-07-01T00:00:00Z",
        "2026-07-01T00:00:0xZ",
        "2026-07-01t00:00:00Z",
        "0999-12-31T23:59:59Z",
        "",
    ]
)
requests = st.one_of(shaped(), near, st.text(max_size=22))
thresholds = st.one_of(shaped(), near, st.integers(-(10**11), 10**11).map(str))


@given(st.sampled_from(NAMES), thresholds, requests)
def test_fast_test_equals_the_parse(name: str, threshold: str, actual: str) -> None:
    spec = OPERATORS[name]
    expected = spec.prepare(threshold)
    if expected is None:  # the parser rejects the policy value
        return
    fast = canonical_test(name, expected, spec.test)
    got = fast(expected, actual)
    value = parse_date(actual)
    assert got == (value is not None and CMP[name](value, expected))
    assert got == spec.test(expected, actual)


@given(st.sampled_from(NAMES), thresholds, st.lists(requests, min_size=1, max_size=2))
def test_decisions_equal_the_explained_path(name: str, threshold: str, values: list[str]) -> None:
    """End to end: the compiled decision (`is_allowed`, and `is_allowed_many` with parts)
    equals `evaluate`, and the instants' comparison, for one Date condition."""
    if OPERATORS[name].prepare(threshold) is None:
        return
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "lightsail:StopInstance",
                "Resource": "*",
                "Condition": {name: {"aws:CurrentTime": threshold}},
            }
        ],
    }
    ps = PolicySet([lspolicy.parse_policy(json.dumps(doc), source="t.json")])
    context = {"aws:CurrentTime": values if len(values) > 1 else values[0]}
    request = Request("lightsail:StopInstance", "*", context)
    expected = ps.evaluate(request).allowed
    assert ps.is_allowed(request) == expected
    part = lspolicy.RequestPart({}, caller_arn="arn:aws:iam::111122223333:user/alice")
    many = ps.is_allowed_many(
        [("lightsail:StopInstance", lspolicy.RequestPart({}), context)] * 3, principal=part
    )
    assert many == [expected] * 3
    parsed = [parse_date(v) for v in values]
    wanted = OPERATORS[name].prepare(threshold)
    hit = any(p is not None and CMP[name](p, wanted) for p in parsed)
    assert expected == (hit != OPERATORS[name].negated)


def test_canonical_thresholds_take_the_text_comparison() -> None:
    """The fast path is taken for a whole-second canonical policy value (not for a fraction
    of a second, whose text form is not canonical), and decides at the boundary second."""
    spec = OPERATORS["DateLessThan"]
    whole = spec.prepare("2026-07-01T00:00:00Z")
    fast = canonical_test("DateLessThan", whole, spec.test)
    assert fast is not spec.test
    assert fast(whole, "2026-06-30T23:59:59Z") is True
    assert fast(whole, "2026-07-01T00:00:00Z") is False
    assert fast(whole, "2026-13-01T00:00:00Z") is False  # not a date
    fraction = spec.prepare("2026-07-01T00:00:00.5Z")
    assert canonical_test("DateLessThan", fraction, spec.test) is spec.test
