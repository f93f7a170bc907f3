"""`RequestPart` normalises a context as `normalize_context` does (its fast path for contexts of
plain strings included): keys folded to lower case, values as tuples of strings, the later of
two spellings of one key winning, the first spelling kept as the key's name; and
`Request.from_parts` equals `Request` on the merged plain dicts.

Condition key names are case-insensitive: IAM User Guide, "IAM JSON policy elements:
Condition", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html .
AWS documents no rule for one request giving a key twice in different case; the engine's rule
(later wins) is checked here for consistency between its two constructors. Likewise AWS has
no notion of request "parts": which of the principal's, the instance's and the request's values
of one key counts is the engine's rule (the merged dict, request last), which the batch path
must keep while reading the three without merging them.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lspolicy
from lspolicy import PolicySet, Request, RequestPart
from lspolicy.evaluate import authorize
from lspolicy.model.request import normalize_context

# the batches decided here: by the C loop and by the pure-Python loop (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("stream_loops")

KEYS = ["aws:ResourceTag/env", "AWS:RESOURCETAG/ENV", "aws:username", "aws:TagKeys", "Owner"]
VALUES = st.one_of(
    st.sampled_from(["dev", "prod", ""]),
    st.integers(-3, 3),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.lists(st.sampled_from(["a", "b", 1, True]), max_size=3),
)
contexts = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=5)
plain_strings = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(["x", "y"]), max_size=5)


def _reference(context: dict[str, Any]) -> tuple[dict[str, Any], set[str], dict[str, str]]:
    """The rule, spelled out: keys folded to lower case in order (a later spelling's value
    replaces an earlier one's, the first spelling names the key); ``true``/``false`` for
    booleans, integral floats without a fraction; a list is a multivalued key."""

    def text(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    values: dict[str, Any] = {}
    multi: set[str] = set()
    names: dict[str, str] = {}
    for key, value in context.items():
        lower = key.lower()
        names.setdefault(lower, key)
        if isinstance(value, list):
            values[lower] = tuple(text(v) for v in value)
            multi.add(lower)
        else:
            values[lower] = (text(value),)
            multi.discard(lower)
    return values, multi, names


@settings(max_examples=200)
@given(st.one_of(contexts, plain_strings))
def test_part_normalises_as_normalize_context(context: dict[str, Any]) -> None:
    values, multi, names = normalize_context(context)
    ref_values, ref_multi, ref_names = _reference(context)
    assert values == ref_values
    assert list(names.items()) == list(ref_names.items())
    assert ref_multi <= multi  # every key whose final value is a list is multivalued
    part = RequestPart(context)
    assert part.values == values
    assert part.multivalued == multi
    assert part.names == names
    assert part.duplicates == (len(names) < len(context))


@settings(max_examples=150)
@given(st.one_of(contexts, plain_strings), st.one_of(contexts, plain_strings), contexts)
def test_from_parts_equals_the_merged_request(
    principal: dict[str, Any], instance: dict[str, Any], extra: dict[str, Any]
) -> None:
    caller = "arn:aws:iam::111122223333:user/alice"
    arn = "arn:aws:lightsail:us-east-1:111122223333:Instance/i-1"
    combined = Request.from_parts(
        "lightsail:StopInstance",
        RequestPart(principal, caller_arn=caller),
        RequestPart(instance, resource=arn),
        context=extra,
    )
    merged = Request(
        "lightsail:StopInstance", arn, {**principal, **instance, **extra}, caller_arn=caller
    )
    assert combined.context == merged.context
    assert combined.multivalued == merged.multivalued
    assert dict(combined.key_names) == dict(merged.key_names)


KEY_POOL = ["aws:ResourceTag/team", "aws:ResourceTag/owner", "aws:username", "aws:ResourceTag/env"]
small = st.dictionaries(st.sampled_from(KEY_POOL), st.sampled_from(["web", "alice", "prod"]))


def _rules() -> PolicySet:
    return PolicySet(
        [
            lspolicy.parse_policy(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "lightsail:StopInstance",
                            "Resource": "*",
                            "Condition": {
                                "StringEquals": {
                                    "aws:ResourceTag/team": "web",
                                    "aws:ResourceTag/owner": "${aws:username}",
                                }
                            },
                        },
                        {
                            "Effect": "Deny",
                            "Action": "lightsail:StopInstance",
                            "Resource": "*",
                            "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}},
                        },
                    ],
                }
            )
        ]
    )


RULES = _rules()


@settings(max_examples=150)
@given(st.lists(st.tuples(small, small, small), min_size=1, max_size=6))
def test_batch_reads_the_request_then_the_instance_then_the_principal(
    triples: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]],
) -> None:
    """Each key given by the principal, the instance and the request: the request's value wins,
    then the instance's (the merged dict ``{**principal, **instance, **request}``), on the
    compiled (inlined) path of ``is_allowed_many``, which reads the three without merging."""
    caller = "arn:aws:iam::111122223333:user/alice"
    arn = "arn:aws:lightsail:us-east-1:111122223333:Instance/i-1"
    warm = Request("lightsail:StopInstance", arn, {}, caller_arn=caller)
    for _ in range(authorize._HOT):
        RULES.is_allowed(warm)
    for principal, instance, extra in triples:
        expected = RULES.evaluate(
            Request(
                "lightsail:StopInstance",
                arn,
                {**principal, **instance, **extra},
                caller_arn=caller,
            )
        ).allowed
        part = RequestPart(principal, caller_arn=caller)
        got = RULES.is_allowed_many(
            [("lightsail:StopInstance", RequestPart(instance, resource=arn), extra)],
            principal=part,
        )
        assert got == [expected]
