"""Properties of the parser: round trips, and how it rejects what is not a policy.

Grammar: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
Errors are data with a location (STYLE.md, habit 6): every problem names a JSON path and a line.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import lspolicy
from lspolicy import PolicyParseError
from lspolicy.strategies import JsonObject, invalid_policy_documents, policy_documents

VALID_DOC: JsonObject = {
    "Version": "2012-10-17",
    "Statement": {"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*"},
}

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["*", "Allow", "2012-10-17", "lightsail:StopInstance", "arn:aws:x:::y"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def without_spans(value: Any) -> Any:
    """The model's dump with source positions dropped (they depend on the text's layout)."""
    if isinstance(value, dict):
        return {k: without_spans(v) for k, v in value.items() if k not in ("span", "source")}
    if isinstance(value, (list, tuple)):
        return [without_spans(v) for v in value]
    return value


@given(policy_documents(), st.sampled_from([None, 2]))
def test_serialising_and_parsing_again_gives_the_same_policy(
    doc: JsonObject, indent: int | None
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html — a
    string and a one-element list are the same value ("strings-or-lists"), so ``to_json`` may
    write lists: parsing its output gives back the same policy, and serialising that gives the
    same JSON (a fixed point)."""
    policy = lspolicy.parse_policy(doc)
    text = json.dumps(policy.to_json(), indent=indent)
    again = lspolicy.parse_policy(text)
    assert without_spans(again.model_dump()) == without_spans(policy.model_dump())
    assert again.to_json() == policy.to_json()


def resolve(doc: Any, path: str) -> bool:
    """Whether a problem's JSON path (``Statement[0].Condition.StringEquals``) names a value."""
    node = doc
    for part in _path_parts(path):
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return False
        elif not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _path_parts(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for dotted in path.split("."):
        name, *indexes = dotted.split("[")
        if name:
            parts.append(name)
        parts.extend(int(i.rstrip("]")) for i in indexes)
    return parts


@given(invalid_policy_documents(), st.sampled_from([None, 2]))
def test_invalid_documents_are_rejected_with_located_problems(
    doc: JsonObject, indent: int | None
) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html — each
    generated document breaks one rule of the grammar (or of IAM's quotas): parsing raises
    `PolicyParseError`, and each of its problems has a message, a line and column in the text,
    and a JSON path naming a value that is in the document."""
    text = json.dumps(doc, indent=indent)
    lines = text.split("\n")
    for given_as in (doc, text):
        try:
            lspolicy.parse_policy(given_as)
        except PolicyParseError as error:
            assert error.problems
            for problem in error.problems:
                assert problem.message.strip()
                assert problem.location.line >= 1
                assert isinstance(problem.location.path, str)
                assert resolve(doc, problem.location.path), problem
                if given_as is text:
                    assert problem.location.line <= len(lines)
                    assert 1 <= problem.location.column <= len(lines[problem.location.line - 1])
        else:
            raise AssertionError(f"accepted an invalid document: {text}")


def parse_or_parse_error(document: Any) -> None:
    """Parse; a `PolicyParseError` is fine (with well-formed problems), anything else is not."""
    try:
        lspolicy.parse_policy(document)
    except PolicyParseError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.message.strip()
            assert isinstance(problem.location.path, str)
            if isinstance(document, str):
                assert problem.location.line >= 1


@given(st.text())
def test_arbitrary_text_raises_only_parse_errors(text: str) -> None:
    """Errors are data (STYLE.md habit 6): whatever the text, `parse_policy` returns a policy or
    raises `PolicyParseError`, never another exception."""
    parse_or_parse_error(text)


@given(st.binary())
def test_arbitrary_bytes_raise_only_parse_errors(data: bytes) -> None:
    """As for text: bytes that are not UTF-8 are a located problem, not a crash."""
    parse_or_parse_error(data)


@given(json_values)
def test_arbitrary_json_raises_only_parse_errors(value: Any) -> None:
    """Any JSON value, as text and (for objects) as an already-decoded mapping, parses or
    raises `PolicyParseError`."""
    parse_or_parse_error(json.dumps(value))
    if isinstance(value, dict):
        parse_or_parse_error(value)


@pytest.mark.parametrize("value", [[], None, 7, True], ids=["list", "null", "number", "bool"])
def test_decoded_json_that_is_not_an_object_raises_a_parse_error(value: Any) -> None:
    """``parse_policy(json.load(f))`` is how a file is read; a file holding a list or a number
    is a policy problem ("a policy document must be a JSON object"), not a crash."""
    with pytest.raises(PolicyParseError):
        lspolicy.parse_policy(value)


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, (*prefix, i)))
    return out


@st.composite
def mutated_documents(draw: st.DrawFn) -> JsonObject:
    """A valid document with one value, anywhere in it, replaced by arbitrary JSON."""
    doc = copy.deepcopy(draw(policy_documents()))
    path = draw(st.sampled_from(_paths(doc)[1:]))
    node: Any = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = draw(json_values)
    return doc


HUGE_INT_VALUE = copy.deepcopy(VALID_DOC)
HUGE_INT_VALUE["Statement"]["Condition"] = {"NumericLessThan": {"aws:MultiFactorAuthAge": 10**400}}


@given(mutated_documents())
@example(HUGE_INT_VALUE)
def test_damaged_documents_raise_only_parse_errors(doc: JsonObject) -> None:
    """Documents close to valid ones, with any one value replaced by any JSON, parse or raise
    `PolicyParseError` (as a mapping and as text)."""
    parse_or_parse_error(doc)
    parse_or_parse_error(json.dumps(doc, indent=1))


LONG_NUMBER_TEXT = '{"Version": "2012-10-17", "Statement": [' + "1" * 4301 + "]}"


@given(st.sampled_from(['{"Statement": 1e999}', '{"Id": -0.0e-0}', "[" * 70 + "]" * 70]))
@example(LONG_NUMBER_TEXT)
def test_extreme_json_numbers_and_nesting_raise_only_parse_errors(text: str) -> None:
    """RFC 8259 allows numbers of any size and nesting of any depth; the parser must answer
    with a policy or a `PolicyParseError` (STYLE.md habit 6), never crash."""
    parse_or_parse_error(text)
