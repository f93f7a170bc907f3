"""A request-context value IAM cannot compare is refused with a clear error, on every path.

IAM's context values are strings, one or a list (``ContextKeyValues``: "Type: Array of
strings"), https://docs.aws.amazon.com/IAM/latest/APIReference/API_ContextEntry.html; lspolicy
also takes a number or a boolean (compared as IAM writes it, ``true``/``false``, decimal), one
or a list. Anything else (``None``, a mapping, a set, bytes, a list holding one of those)
raises `lspolicy.ContextValueError`, a ``TypeError`` too, naming the key where it is known:
before, ``None`` raised a bare ``TypeError`` ("'NoneType' object is not iterable"), and a
mapping or a set was silently read as its keys (a set in an arbitrary order).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import lspolicy
from lspolicy import PolicySet, Request, RequestPart, decide_requests
from lspolicy.evaluate import authorize

# the batches decided here: by the C loop and by the pure-Python loop (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("stream_loops")

ACCOUNT = "111122223333"
CALLER = f"arn:aws:iam::{ACCOUNT}:user/alice"
ARN = f"arn:aws:lightsail:us-east-1:{ACCOUNT}:Instance/i-1"
STOP = "lightsail:StopInstance"
KEY = "aws:SourceIp"

BAD: dict[str, Any] = {
    "None": None,
    "a mapping": {"10.0.0.1": "yes"},
    "a set": {"10.0.0.1", "10.0.0.2"},
    "bytes": b"10.0.0.1",
    "a list holding None": ["10.0.0.1", None],
    "a list holding a list": [["10.0.0.1"]],
    "an object": object(),
}
GOOD: dict[str, tuple[Any, tuple[str, ...]]] = {
    "a string": ("10.0.0.1", ("10.0.0.1",)),
    "a boolean": (True, ("true",)),
    "a whole float": (2.0, ("2",)),
    "an int": (7, ("7",)),
    "a list of scalars": (["a", 1, False], ("a", "1", "false")),
    "a tuple": (("a", "b"), ("a", "b")),
    "an empty list": ([], ()),
}


def _rules(n_statements: int) -> PolicySet:
    """An identity policy of ``n_statements`` statements, each reading ``aws:SourceIp``:
    one statement (inlined at once: a layered function in a batch), or more than
    ``_EAGER`` (a batch calls the raw form of its generic function)."""
    statements = [
        {
            "Effect": "Allow",
            "Action": "lightsail:*",
            "Resource": "*",
            "Condition": {"IpAddress": {KEY: f"10.{n}.0.0/16"}},
        }
        for n in range(n_statements)
    ]
    return PolicySet(
        [
            lspolicy.parse_policy(
                json.dumps({"Version": "2012-10-17", "Statement": statements}), source="<test>"
            )
        ]
    )


@pytest.mark.parametrize("value", BAD.values(), ids=BAD.keys())
def test_a_value_iam_cannot_compare_is_refused_naming_its_key(value: Any) -> None:
    """`Request`, `RequestPart` and `Request.from_parts` (the request's own keys) refuse the
    value with `ContextValueError` (a `TypeError` and an `LspolicyError`), naming the key
    as given and the value's type."""
    builders = {
        "Request": lambda: Request(STOP, ARN, {KEY: value}, caller_arn=CALLER),
        "RequestPart": lambda: RequestPart({KEY: value}, resource=ARN).values,
        "from_parts": lambda: Request.from_parts(
            STOP, RequestPart({}, caller_arn=CALLER), RequestPart({}, resource=ARN),
            context={KEY: value},
        ),
    }  # fmt: skip
    for name, build in builders.items():
        with pytest.raises(lspolicy.ContextValueError) as caught:
            build()
        err = caught.value
        assert isinstance(err, TypeError) and isinstance(err, lspolicy.LspolicyError), name
        assert err.key == KEY, name
        assert f"context key {KEY!r}" in str(err), name
        assert "a value must be a string, a number, a boolean or a list of them" in str(err)
        if isinstance(value, list):  # the item that is not a scalar is named
            held = next(item for item in value if not isinstance(item, str))
            assert str(err).endswith(f"not a list holding {type(held).__name__}"), name
            assert err.kind == type(held).__name__, name
        else:
            assert str(err).endswith(f"not {type(value).__name__}"), name
            assert err.kind == type(value).__name__, name


@pytest.mark.parametrize("size", [1, authorize._EAGER + 4], ids=["layered", "raw"])
@pytest.mark.parametrize("value", BAD.values(), ids=BAD.keys())
def test_a_batch_refuses_the_value_where_a_plan_reads_the_key(size: int, value: Any) -> None:
    """`decide_requests` and ``is_allowed_many`` normalise a request's own key when the
    plan's function reads it (a small plan's layered function, a large plan's raw form):
    the value is refused there with the same error, naming the key as the request spells
    it, not read as something else."""
    rules = _rules(size)
    principal = RequestPart({}, caller_arn=CALLER)
    instance = RequestPart({}, resource=ARN)
    for given in (KEY, KEY.upper()):  # the key is named as the request gives it
        own = {given: value}
        calls = {
            "decide_requests": lambda own=own: decide_requests(
                [(0, STOP, 0, own)], [rules], [principal], [instance]
            ),
            "is_allowed_many": lambda own=own: rules.is_allowed_many(
                [(STOP, instance, own)], principal=principal
            ),
        }
        for name, call in calls.items():
            with pytest.raises(lspolicy.ContextValueError) as caught:
                call()
            assert caught.value.key == given, name
            assert f"context key {given!r}" in str(caught.value), name


@pytest.mark.parametrize(("value", "strings"), GOOD.values(), ids=GOOD.keys())
def test_a_value_iam_can_compare_is_read_as_its_strings(
    value: Any, strings: tuple[str, ...]
) -> None:
    """Strings, numbers and booleans, one or a sequence, are the strings IAM compares
    (``true``/``false``, whole floats without a fraction), on every path."""
    assert Request(STOP, ARN, {KEY: value}).context[KEY.lower()] == strings
    assert RequestPart({KEY: value}).values[KEY.lower()] == strings
    built = Request.from_parts(STOP, RequestPart({}), RequestPart({}), context={KEY: value})
    assert built.context[KEY.lower()] == strings


def test_an_allowing_answer_is_unchanged_by_the_check() -> None:
    """The check refuses only what it must: a request whose value is a list of strings in
    the policy's network is allowed on every path, one outside it is not."""
    for size in (1, authorize._EAGER + 4):
        rules = _rules(size)
        principal = RequestPart({}, caller_arn=CALLER)
        instance = RequestPart({}, resource=ARN)
        contexts = [{KEY: ["10.0.0.9"]}, {KEY: ["192.0.2.1"]}]
        reqs = [(0, STOP, 0, c) for c in contexts]
        evaluated = [
            rules.evaluate(Request.from_parts(STOP, principal, instance, context=c)).allowed
            for c in contexts
        ]
        assert evaluated == [True, False]
        assert decide_requests(reqs, [rules], [principal], [instance]) == evaluated
