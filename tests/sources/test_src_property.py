"""Round trip: any policy document written into a template or a plan extracts back exactly,
and every span points at text that reads back to the value at that path."""

from __future__ import annotations

import json
import math

import yaml
from hypothesis import given
from hypothesis import strategies as st

from lspolicy.parse.jsonpos import JsonPath, Span
from lspolicy.sources import extract
from lspolicy.sources.textmap import LineIndex
from lspolicy.strategies import policy_documents

_json_leaves = (
    st.none() | st.booleans() | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False).filter(math.isfinite)
    | st.text(max_size=12)
)  # fmt: skip
# keys CloudFormation reads as an intrinsic function are not literal policy text
_keys = st.text(max_size=6).filter(
    lambda k: k not in ("Ref", "Condition") and not k.startswith("Fn::")
)
_extra = st.recursive(
    _json_leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=8,
)
documents = policy_documents() | st.dictionaries(
    st.sampled_from(["Version", "Statement", "Id", "Extra"]), _extra, min_size=1
)


def _slice(text: str, span: Span) -> str:
    lines = LineIndex(text)
    return text[lines.offset(span.line, span.column) : lines.offset(span.end_line, span.end_column)]


def _at(value: object, path: JsonPath) -> object:
    for part in path:
        value = value[part]  # type: ignore[index]
    return value


def _one(name: str, text: str) -> tuple[object, dict[JsonPath, Span]]:
    got = extract(name, text)
    assert got is not None
    assert got.problems == ()
    (sp,) = got.policies
    assert sp.symbolic == ()
    return sp.loaded.value, sp.loaded.spans


def _template(doc: object) -> dict[str, object]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "P": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": doc}}
        },
    }


@given(documents)
def test_json_template_round_trip(doc: dict[str, object]) -> None:
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-managedpolicy.html
    (PolicyDocument is JSON)."""
    text = json.dumps(_template(doc), indent=2)
    value, spans = _one("t.json", text)
    assert value == doc
    for path, span in spans.items():
        assert json.loads(_slice(text, span)) == _at(doc, path)


@given(documents)
def test_yaml_template_round_trip(doc: dict[str, object]) -> None:
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-formats.html
    (YAML templates)."""
    text = yaml.safe_dump(_template(doc), sort_keys=False, width=10**9, allow_unicode=False)
    value, spans = _one("t.yaml", text)
    assert value == doc
    for path, span in spans.items():
        leaf = _at(doc, path)
        if not isinstance(leaf, (dict, list)):
            assert yaml.safe_load(_slice(text, span)) == leaf


@given(documents)
def test_plan_embedded_string_round_trip(doc: dict[str, object]) -> None:
    """https://developer.hashicorp.com/terraform/internals/json-format (a policy is a string
    attribute of the resource's values)."""
    plan = {
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": [{
            "address": "aws_iam_policy.p", "mode": "managed", "type": "aws_iam_policy",
            "name": "p", "values": {"policy": json.dumps(doc, indent=1)},
        }]}},
    }  # fmt: skip
    text = json.dumps(plan, separators=(",", ":"))
    value, spans = _one("plan.json", text)
    assert value == doc
    for path, span in spans.items():
        raw = _slice(text, span)
        assert json.loads(json.loads(f'"{raw}"')) == _at(doc, path)
