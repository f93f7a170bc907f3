"""``schemas/policy-document.schema.json`` says what `parse_policy` says, for the grammar.

The schema (JSON Schema draft 2020-12) describes identity-based policy documents; a document
is schema-valid exactly when ``parse_policy(doc, kind="identity")`` accepts it, leaving out the
rules a schema cannot express (listed in the schema's ``$comment``: size quota, unique Sids,
duplicate keys, values valid for their operator's type).

The operator enum is generated from the registry. Run this file to regenerate it:

    python tests/unit/test_policy_schema.py
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

import lspolicy
from lspolicy.conditions.base import ValueType
from lspolicy.conditions.registry import OPERATORS, QUALIFIERS, OperatorRef, parse_operator
from lspolicy.strategies import JsonObject, invalid_policy_documents, policy_documents

SCHEMA_PATH = Path(lspolicy.__file__).parent / "schemas" / "policy-document.schema.json"
SCHEMA: JsonObject = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def operator_names() -> list[str]:
    """Every operator name `parse_operator` accepts: qualifier, operator, ``IfExists``."""
    candidates = [
        f"{qualifier}{name}{suffix}"
        for qualifier in ("", *(q + ":" for q in QUALIFIERS))
        for name in OPERATORS
        for suffix in ("", "IfExists")
    ]
    return [c for c in candidates if isinstance(parse_operator(c), OperatorRef)]


def write_operator_enum() -> None:
    """Rewrite the schema file with the registry's operator names."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    schema["$defs"]["operator"]["enum"] = operator_names()
    SCHEMA_PATH.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", "utf-8")


def schema_accepts(doc: object) -> bool:
    return bool(VALIDATOR.is_valid(doc))


def parser_accepts(doc: object) -> bool:
    given_as = doc if isinstance(doc, dict) else json.dumps(doc)  # the API takes mappings or text
    try:
        lspolicy.parse_policy(given_as, kind="identity", max_size=0)  # the quota is not grammar
    except lspolicy.PolicyParseError:
        return False
    return True


# -- the schema itself -------------------------------------------------------------------------


def test_schema_is_valid_draft_2020_12() -> None:
    """The file is a valid JSON Schema of the draft it names."""
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_operator_enum_is_in_step_with_the_registry() -> None:
    """The schema names exactly the operators `lspolicy.conditions.OPERATORS` defines, with
    their qualifiers and ``IfExists`` (regenerate with ``python tests/unit/test_policy_schema.py``)."""
    assert SCHEMA["$defs"]["operator"]["enum"] == operator_names()


def test_schema_file_is_in_the_generated_layout() -> None:
    """The file is exactly what the generator writes, so regenerating changes only the enum."""
    expected = json.dumps(SCHEMA, indent=2, ensure_ascii=False) + "\n"
    assert SCHEMA_PATH.read_text(encoding="utf-8") == expected


# -- hand-written cases --------------------------------------------------------------------------

ALLOW: JsonObject = {"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*"}


def doc_with(**statement: Any) -> JsonObject:
    """A 2012-10-17 document of one statement: ``ALLOW`` updated (None values removed)."""
    merged = {**ALLOW, **statement}
    return {
        "Version": "2012-10-17",
        "Statement": {k: v for k, v in merged.items() if v is not None},
    }


ACCEPTED: dict[str, JsonObject] = {
    "minimal": {"Statement": ALLOW},
    "statement list": {"Version": "2012-10-17", "Statement": [ALLOW, {**ALLOW, "Effect": "Deny"}]},
    "version 2008 and an Id": {"Version": "2008-10-17", "Id": "x", "Statement": [ALLOW]},
    "NotAction and NotResource": doc_with(
        Action=None, NotAction=["lightsail:Get*"], Resource=None, NotResource="arn:a:b:c:d:e"
    ),
    "wildcard action": doc_with(Action=["*", "lightsail:*", "lightsail:?top*", "ec2:Stop_x-1"]),
    "instance ARN": doc_with(Resource="arn:aws:lightsail:us-east-1:111122223333:Instance/ab"),
    "ARN with empty parts": doc_with(Resource="arn:::::"),
    "ARN prefix ending in a star": doc_with(Resource=["arn:aws:lightsail:*", "arn:*"]),
    "Sid": doc_with(Sid="AllowStop"),
    "empty Condition": doc_with(Condition={}),
    "every kind of condition value": doc_with(
        Condition={
            "StringEquals": {"aws:ResourceTag/env": "dev", "aws:username": ["a", "b"]},
            "ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["env", "t*"]},
            "NumericLessThan": {"aws:MultiFactorAuthAge": 3600},
            "NumericGreaterThan": {"aws:MultiFactorAuthAge": [1.5, "2"]},
            "Bool": {"aws:MultiFactorAuthPresent": True},
            "DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"},
            "IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]},
            "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/${aws:username}"},
            "Null": {"aws:ResourceTag/team": "false"},
            "BinaryEquals": {"aws:PrincipalTag/cert": "QmluYXJ5"},
        }
    ),
}

REJECTED: dict[str, object] = {
    "not an object": [ALLOW],
    "no Statement": {"Version": "2012-10-17"},
    "bad Version": {"Version": "2012-10-18", "Statement": ALLOW},
    "Version not a string": {"Version": 2012, "Statement": ALLOW},
    "Id not a string": {"Id": 7, "Statement": ALLOW},
    "unknown top-level element": {"Statement": ALLOW, "Statements": []},
    "Statement a string": {"Statement": "Allow"},
    "statement not an object": {"Statement": [ALLOW, "x"]},
    "no Effect": doc_with(Effect=None),
    "lower-case Effect": doc_with(Effect="allow"),
    "both Action and NotAction": doc_with(NotAction="lightsail:*"),
    "neither Action nor NotAction": doc_with(Action=None),
    "both Resource and NotResource": doc_with(NotResource="*"),
    "neither Resource nor NotResource": doc_with(Resource=None),
    "Principal": doc_with(Principal="*"),
    "NotPrincipal": doc_with(NotPrincipal={"AWS": "*"}),
    "unknown statement element": doc_with(Actions="lightsail:*"),
    "Sid not a string": doc_with(Sid=1),
    "action not a string": doc_with(Action=["lightsail:StopInstance", 1]),
    "empty action list": doc_with(Action=[]),
    "action without a service": doc_with(Action="StopInstance"),
    "action with a space": doc_with(Action="lightsail:Stop Instance"),
    "action with a trailing newline": doc_with(Action="lightsail:StopInstance\n"),
    "star with a trailing newline": doc_with(Action="*\n"),
    "service with a wildcard": doc_with(Action="light*:StopInstance"),
    "resource not an ARN": doc_with(Resource="instance/ab"),
    "ARN with four colons": doc_with(Resource="arn:aws:lightsail:us-east-1:111122223333"),
    "upper-case ARN prefix": doc_with(Resource="ARN:aws:lightsail:::x"),
    "short ARN, star not last": doc_with(Resource="arn:aws:lightsail:*x"),
    "short ARN, star then newline": doc_with(Resource="arn:aws:*\n"),
    "empty resource list": doc_with(Resource=[]),
    "Condition not an object": doc_with(Condition=["StringEquals"]),
    "unknown operator": doc_with(Condition={"StringEqual": {"aws:username": "a"}}),
    "operator in the wrong case": doc_with(Condition={"stringEquals": {"aws:username": "a"}}),
    "Null with IfExists": doc_with(Condition={"NullIfExists": {"aws:username": "true"}}),
    "Null with a qualifier": doc_with(Condition={"ForAnyValue:Null": {"aws:username": "true"}}),
    "unknown qualifier": doc_with(Condition={"ForAllValue:StringLike": {"aws:TagKeys": "a"}}),
    "operator without keys": doc_with(Condition={"StringEquals": {}}),
    "operator block a string": doc_with(Condition={"StringEquals": "aws:username"}),
    "empty condition key": doc_with(Condition={"StringEquals": {"": "a"}}),
    "null condition value": doc_with(Condition={"StringEquals": {"aws:username": None}}),
    "nested list value": doc_with(Condition={"StringEquals": {"aws:username": [["a"]]}}),
    "object value": doc_with(Condition={"StringEquals": {"aws:username": {"a": "b"}}}),
}


@pytest.mark.parametrize("doc", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_accepted_by_schema_and_parser(doc: JsonObject) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html"""
    assert schema_accepts(doc)
    assert parser_accepts(doc)


@pytest.mark.parametrize("doc", REJECTED.values(), ids=REJECTED.keys())
def test_rejected_by_schema_and_parser(doc: Any) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html"""
    assert not schema_accepts(doc)
    assert not parser_accepts(doc)


def test_every_registered_operator_is_accepted_in_a_policy() -> None:
    """Each generated operator name parses in a policy and validates against the schema."""
    for name in operator_names():
        spec = OPERATORS[name.split(":")[-1].removesuffix("IfExists")]
        value = {ValueType.NUMERIC: 1, ValueType.DATE: 1704067200, ValueType.IP: "10.0.0.0/8",
                 ValueType.BINARY: "QQ==", ValueType.BOOLEAN: "true", ValueType.NULL: "true",
                 }.get(spec.value_type, "a")  # fmt: skip
        doc = doc_with(Condition={name: {"aws:username": value}})
        assert schema_accepts(doc), name
        assert parser_accepts(doc), name


# -- the equivalence property ------------------------------------------------------------------


def _statements_of(doc: JsonObject) -> list[JsonObject]:
    raw = doc.get("Statement")
    items = raw if isinstance(raw, list) else [raw]
    return [s for s in items if isinstance(s, dict)]


def _condition_entries(doc: JsonObject) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for statement in _statements_of(doc):
        condition = statement.get("Condition")
        if isinstance(condition, dict):
            for operator, block in condition.items():
                if isinstance(block, dict):
                    out.extend((operator, values) for values in block.values())
    return out


def _as_text(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value if isinstance(value, str) else None


def outside_the_grammar(doc: JsonObject) -> bool:
    """Whether ``doc`` breaks a rule the schema leaves out (see its ``$comment``)."""
    sids = [s["Sid"] for s in _statements_of(doc) if isinstance(s.get("Sid"), str)]
    if len(sids) != len(set(sids)):
        return True
    for operator, values in _condition_entries(doc):
        ref = parse_operator(operator)
        if not isinstance(ref, OperatorRef):
            continue
        if ref.spec.value_type in (ValueType.STRING, ValueType.ARN):
            continue
        for value in values if isinstance(values, list) else [values]:
            text = _as_text(value)
            if text is not None and "${" not in text and ref.spec.prepare(text) is None:
                return True
    return False


def known_engine_discrepancy(doc: JsonObject) -> bool:
    """Documents the parser accepts though the grammar does not (reported engine bugs, each
    saved as an ``@example`` below); the property skips them until the parser is fixed."""
    if doc.get("Statement") == [] or any(k in doc and doc[k] is None for k in ("Version", "Id")):
        return True
    for statement in _statements_of(doc):
        if "Sid" in statement and statement["Sid"] is None:
            return True
        for key in ("Action", "NotAction"):
            value = statement.get(key)
            for action in value if isinstance(value, list) else [value]:
                if isinstance(action, str) and not action.isascii():
                    return True
    return any(values == [] for _operator, values in _condition_entries(doc))


KEY_NAMES = (
    "Version", "Id", "Statement", "Sid", "Effect", "Action", "NotAction", "Resource",
    "NotResource", "Condition", "Principal", "NotPrincipal", "effect", "Statements", "",
    "StringEquals", "StringLikeIfExists", "ForAnyValue:StringLike", "ForAllValues:Null",
    "NullIfExists", "Null", "StringEqual", "Bool", "aws:username", "aws:TagKeys",
)  # fmt: skip
# values for the edits; some are always filtered out as known discrepancies until fixed
INTERESTING_VALUES: tuple[object, ...] = (
    "*", "", "Allow", "Deny", "allow", "2012-10-17", "2008-10-17", "dev", "true",
    "lightsail:StopInstance", "lightsail:*", "lightsail:Stop Instance", "lightsail",
    "lightsail:Stop\n", "*\n", "lightsail:Stöp", "arn:aws:lightsail:us-east-1:1:Instance/x",
    "arn:aws:lightsail:us-east-1:111122223333", "arn:::::", "arn:aws", "arn:::::\n",
    "arn:aws:*", "arn:*\n", "*x", 0, 1, 1.5, True, False, None, [], {}, ["*"],
    ["lightsail:Get*", "x"], {"StringEquals": {"aws:username": "alice"}},
    {"aws:username": "alice"}, {"aws:username": []},
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
)  # fmt: skip
INTERESTING = st.sampled_from(INTERESTING_VALUES)


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _at(doc: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


@st.composite
def mutated_documents(draw: st.DrawFn) -> JsonObject:
    """A valid document after one or two random edits: replace a value, delete a key, add a
    key, or rename one. Edits land anywhere, so the result may be valid or not."""
    doc = copy.deepcopy(draw(policy_documents(max_statements=2)))
    for _ in range(draw(st.integers(1, 2))):
        paths = _paths(doc)
        edit = draw(st.sampled_from(["replace", "delete", "add", "rename"]))
        if edit == "replace" and len(paths) > 1:
            path = draw(st.sampled_from(paths[1:]))
            _at(doc, path[:-1])[path[-1]] = copy.deepcopy(draw(INTERESTING))
            continue
        objects = [
            p for p in paths if isinstance(_at(doc, p), dict) and (edit == "add" or _at(doc, p))
        ]
        if not objects:
            continue
        target = _at(doc, draw(st.sampled_from(objects)))
        if edit == "add" or not target:
            target[draw(st.sampled_from(KEY_NAMES))] = copy.deepcopy(draw(INTERESTING))
        elif edit == "delete":
            del target[draw(st.sampled_from(sorted(target)))]
        else:
            old = draw(st.sampled_from(sorted(target)))
            target[draw(st.sampled_from(KEY_NAMES))] = target.pop(old)
    return doc


comparable_documents = (
    policy_documents() | invalid_policy_documents(grammar_only=True) | mutated_documents()
).filter(lambda d: not outside_the_grammar(d) and not known_engine_discrepancy(d))

_BUG = "engine bug: parse_policy accepts {what}, which the policy grammar does not allow"


@given(comparable_documents)
@example({"Version": None, "Statement": ALLOW})
@example({"Id": None, "Statement": ALLOW})
@example({"Statement": {**ALLOW, "Sid": None}})
@example({"Statement": []})
@example(doc_with(Condition={"StringEquals": {"aws:username": []}}))
@example(doc_with(Action="lightsäil:Stöp"))
def test_schema_and_parser_agree(doc: JsonObject) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html — the
    schema accepts a document exactly when the parser does (for the grammar's rules)."""
    verdict = schema_accepts(doc)
    event("valid" if verdict else "invalid")
    assert verdict == parser_accepts(doc), json.dumps(doc)


if __name__ == "__main__":
    write_operator_enum()
    print(f"wrote {len(operator_names())} operator names to {SCHEMA_PATH}", file=sys.stderr)
