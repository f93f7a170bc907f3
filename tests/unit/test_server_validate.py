"""The endpoint's request and response schemas, and `validate_body`, in step with botocore.

The schemas under ``lspolicy/schemas/`` (JSON Schema draft 2020-12) are *generated* from
botocore's Lightsail model by `schema_for` below, plus the few facts the model does not carry
(`SHAPE_RULES`: the anchored ASCII name pattern and its maximum length). A test asserts each
checked-in file equals what the installed botocore says, so a botocore upgrade that changes the
model fails here with the differing paths listed. Regenerate, then review the diff:

    python tests/unit/test_server_validate.py

Behaviour: the Lightsail API reference,
https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html (request
members, errors) and https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import botocore
import botocore.session
import jsonschema
import pytest
from botocore.model import ListShape, Shape, StringShape, StructureShape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from botocore.validate import ParamValidator
from hypothesis import event, example, find, given
from hypothesis import strategies as st

import lspolicy
from lspolicy.server import body_strategies
from lspolicy.server.body_strategies import (
    instance_names,
    invalid_instance_names,
    invalid_stop_instance_bodies,
    valid_stop_instance_bodies,
)
from lspolicy.server.errors import ApiError
from lspolicy.server.validate import MAX_BODY_BYTES, REQUEST_SCHEMAS, validate_body

JsonObject = dict[str, Any]

SERVICE = botocore.session.get_session().get_service_model("lightsail")
SCHEMA_DIR = Path(lspolicy.__file__).parent / "schemas"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
API = "https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference"

REQUESTS = ("StopInstance", "StartInstance", "GetInstance", "GetInstanceState")
LISTINGS = ("GetInstances",)
"""Requests that name no instance (only an optional ``pageToken``)."""
RESPONSES = ("StopInstance",)

# -- the generator: botocore's model, plus what the model does not say ---------------------------

MODEL_NAME_PATTERN = r"\w[\w\-]*\w"
"""The model's ``ResourceName`` pattern that `SHAPE_RULES` was written against."""

MAX_NAME_LENGTH = 255
"""Neither botocore's model nor the API reference bounds instance names; 255 is the longest
resource name Lightsail documents (``relationalDatabaseName``, "from 2 to 255 alphanumeric
characters, or hyphens":
https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_CreateRelationalDatabase.html)."""

SHAPE_RULES: dict[str, JsonObject] = {
    "ResourceName": {
        "description": (
            f"2 to {MAX_NAME_LENGTH} ASCII letters, digits, underscores and hyphens, "
            "with no hyphen first or last"
        ),
        "$comment": (
            "Lightsail's model gives the pattern \\w[\\w\\-]*\\w, kept verbatim in "
            "x-lightsail-pattern (messages quote it). Model patterns are ECMA-262 and unanchored, "
            "but Lightsail matches the whole name (the API reference: the name must match it, so "
            "at least 2 characters with no hyphen at either end), so this one is anchored. \\w is "
            "spelled [A-Za-z0-9_] because ECMA-262's \\w is ASCII while Python's re, which the "
            "jsonschema package uses, matches any Unicode word character: '\uff57\uff45\uff42' or 'naïve' "
            "would pass there. The pattern ends with (?![\\s\\S]) rather than $, which in "
            "Python's re also matches before a final newline ('ab\\n'). maxLength: neither the "
            "model nor the API reference gives a maximum for instance names; "
            f"{MAX_NAME_LENGTH} is the longest resource name Lightsail documents "
            "(relationalDatabaseName: 'from 2 to 255 alphanumeric characters, or hyphens', "
            f"{API}/API_CreateRelationalDatabase.html)."
        ),
        "pattern": r"^[A-Za-z0-9_][A-Za-z0-9_\-]*[A-Za-z0-9_](?![\s\S])",
        "maxLength": MAX_NAME_LENGTH,
    },
}
"""Facts the model lacks, by botocore shape name; a rule's ``pattern`` replaces the model's,
which is kept as ``x-lightsail-pattern``."""

FULLWIDTH_WEB = "\uff57\uff45\uff42"
"""``web`` in fullwidth letters: word characters to Python's ``re``, not to ECMA-262."""

RESPONSE_REQUIRED = {"StopInstance": ["operations"]}
"""The model requires no output member; the emulator always answers with these."""

GENERATED = (
    "Generated from botocore's Lightsail model by tests/unit/test_server_validate.py: run it to "
    "regenerate (a test fails while this file and the installed botocore disagree). "
)
REQUEST_COMMENT = (
    "additionalProperties is false: botocore never sends a member outside the model, so an "
    "unknown member is a caller's mistake, answered with InvalidInputException."
)
RESPONSE_COMMENT = (
    "Timestamps are numbers, epoch seconds: the JSON 1.1 protocol's default "
    "(https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html). additionalProperties is "
    "false so that a misspelt member in the emulator's answer fails a test (botocore would "
    "silently drop it). The model requires no member; the emulator always sends "
    "'operations', so it is required here."
)


def kebab(operation: str) -> str:
    """``GetInstanceState`` -> ``get-instance-state``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", operation).lower()


def schema_path(operation: str, direction: str) -> Path:
    return SCHEMA_DIR / f"{kebab(operation)}-{direction}.schema.json"


def _is_named(shape: Shape) -> bool:
    """Structures and constrained strings get a ``$defs`` entry named after their shape."""
    if isinstance(shape, StructureShape):
        return True
    return isinstance(shape, StringShape) and bool(
        shape.enum or {"pattern", "min", "max"} & set(shape.metadata)
    )


def _string_body(shape: StringShape) -> JsonObject:
    rules = SHAPE_RULES.get(shape.name, {})
    meta = shape.metadata
    out: JsonObject = {k: rules[k] for k in ("description", "$comment") if k in rules}
    out["type"] = "string"
    if shape.enum:
        out["enum"] = list(shape.enum)
    if "pattern" in meta:
        out["pattern"] = meta["pattern"]
    if "min" in meta:
        out["minLength"] = meta["min"]
    if "max" in meta:
        out["maxLength"] = meta["max"]
    if "pattern" in rules and "pattern" in meta:
        out["x-lightsail-pattern"] = meta["pattern"]
    out.update({k: v for k, v in rules.items() if k not in ("description", "$comment")})
    return out


def _body(shape: Shape, defs: dict[str, JsonObject]) -> JsonObject:
    if isinstance(shape, StructureShape):
        out: JsonObject = {
            "type": "object",
            "properties": {name: _member(m, defs) for name, m in shape.members.items()},
        }
        if shape.required_members:
            out["required"] = list(shape.required_members)
        out["additionalProperties"] = False
        return out
    if isinstance(shape, ListShape):
        out = {"type": "array", "items": _member(shape.member, defs)}
        if "min" in shape.metadata:
            out["minItems"] = shape.metadata["min"]
        if "max" in shape.metadata:
            out["maxItems"] = shape.metadata["max"]
        return out
    if isinstance(shape, StringShape):
        return _string_body(shape)
    scalar = {"boolean": "boolean", "timestamp": "number", "integer": "integer", "long": "integer"}
    scalar |= {"float": "number", "double": "number"}
    if shape.type_name not in scalar:
        raise NotImplementedError(f"no JSON Schema for botocore type {shape.type_name!r}")
    return {"type": scalar[shape.type_name]}


def _member(shape: Shape, defs: dict[str, JsonObject]) -> JsonObject:
    if not _is_named(shape):
        return _body(shape, defs)
    if shape.name not in defs:
        defs[shape.name] = {}  # claimed before recursing, so a recursive shape terminates
        defs[shape.name] = _body(shape, defs)
    return {"$ref": f"#/$defs/{shape.name}"}


def schema_for(operation: str, direction: str) -> JsonObject:
    """The schema of ``operation``'s request or response body, as botocore's model says."""
    model = SERVICE.operation_model(operation)
    shape = model.input_shape if direction == "request" else model.output_shape
    defs: dict[str, JsonObject] = {}
    root = _body(shape, defs)
    if direction == "response":
        root = {**root, "required": RESPONSE_REQUIRED[operation]}
        root["additionalProperties"] = root.pop("additionalProperties")
    return {
        "$schema": DRAFT,
        "$id": f"urn:lspolicy:schema:{kebab(operation)}-{direction}",
        "title": f"Lightsail {operation} {direction}",
        "description": (
            f"The JSON body of a {operation} {direction} (Lightsail API 2016-11-28, JSON 1.1): "
            f"{API}/API_{operation}.html"
        ),
        "$comment": GENERATED + (REQUEST_COMMENT if direction == "request" else RESPONSE_COMMENT),
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def all_schemas() -> dict[Path, JsonObject]:
    out = {schema_path(op, "request"): schema_for(op, "request") for op in REQUESTS + LISTINGS}
    out |= {schema_path(op, "response"): schema_for(op, "response") for op in RESPONSES}
    return out


def write_schemas() -> None:
    for path, schema in all_schemas().items():
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", "utf-8")


def _short(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:60] + "..."


def differences(actual: object, expected: object, path: str = "$") -> list[str]:
    """Where a checked-in schema and botocore's differ, one line per JSON path."""
    if isinstance(actual, dict) and isinstance(expected, dict):
        out: list[str] = []
        for key in [*expected, *(k for k in actual if k not in expected)]:
            where = f"{path}.{key}"
            if key not in actual:
                out.append(f"{where}: missing here; botocore says {_short(expected[key])}")
            elif key not in expected:
                out.append(f"{where}: not in botocore's model ({_short(actual[key])})")
            else:
                out += differences(actual[key], expected[key], where)
        return out
    if isinstance(actual, list) and isinstance(expected, list) and actual != expected:
        new = [x for x in expected if x not in actual]
        gone = [x for x in actual if x not in expected]
        if new or gone:
            return [f"{path}: botocore adds {_short(new)}, drops {_short(gone)}"]
        return [f"{path}: same values, botocore orders them {_short(expected)}"]
    return (
        []
        if actual == expected
        else [f"{path}: {_short(actual)} here, botocore says {_short(expected)}"]
    )


def load(path: Path) -> JsonObject:
    schema: JsonObject = json.loads(path.read_text(encoding="utf-8"))
    return schema


def resolve(schema: JsonObject, node: JsonObject) -> JsonObject:
    """Follow a local ``$ref``."""
    ref = node.get("$ref")
    return node if ref is None else resolve(schema, schema["$defs"][ref.removeprefix("#/$defs/")])


# -- the schemas themselves ----------------------------------------------------------------------

SCHEMA_FILES = sorted(all_schemas(), key=lambda p: p.name)


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_is_valid_draft_2020_12(path: Path) -> None:
    """Each file is a valid JSON Schema of the draft it names (its patterns compile in Python),
    describing a body of https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html
    and its siblings."""
    schema = load(path)
    assert schema["$schema"] == DRAFT
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_file_is_what_botocore_says(path: Path) -> None:
    """The checked-in file equals the schema generated from the installed botocore's model:
    members, types, required members, patterns and enums (resource types, operation types,
    statuses, region names) included. Shapes: https://github.com/boto/botocore, file
    ``botocore/data/lightsail/2016-11-28/service-2.json``; the same facts in prose:
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_Operation.html."""
    expected = all_schemas()[path]
    found = differences(load(path), expected)
    assert not found, (
        f"{path.name} is out of step with botocore {botocore.__version__}'s Lightsail model:\n  "
        + "\n  ".join(found[:30])
        + "\nregenerate with `python tests/unit/test_server_validate.py` and review the diff"
    )


def test_a_model_change_would_be_reported_by_path() -> None:
    """If botocore drops a region or retypes a member, the failure names the path and values
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_ResourceLocation.html)."""
    expected = schema_for("StopInstance", "response")
    changed = json.loads(json.dumps(expected))
    changed["$defs"]["RegionName"]["enum"].remove("us-east-1")
    changed["$defs"]["Operation"]["properties"]["isTerminal"]["type"] = "string"
    found = differences(changed, expected)
    assert found == [
        '$.$defs.Operation.properties.isTerminal.type: "string" here, botocore says "boolean"',
        '$.$defs.RegionName.enum: botocore adds ["us-east-1"], drops []',
    ]


def test_validate_loads_exactly_these_request_schemas() -> None:
    """`validate_body` knows the five operations and validates with the files tested here
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstanceState.html)."""
    assert set(REQUEST_SCHEMAS) == set(REQUESTS + LISTINGS)
    for operation in REQUESTS + LISTINGS:
        assert REQUEST_SCHEMAS[operation] == load(schema_path(operation, "request"))


# -- agreement with botocore, spelled out --------------------------------------------------------

SCALARS = {"string": "string", "boolean": "boolean", "timestamp": "number", "list": "array"}
SCALARS |= {"structure": "object"}


def _assert_members_agree(schema: JsonObject, node: JsonObject, shape: StructureShape) -> None:
    node = resolve(schema, node)
    assert list(node["properties"]) == list(shape.members), shape.name
    for name, member in shape.members.items():
        prop = resolve(schema, node["properties"][name])
        assert prop["type"] == SCALARS[member.type_name], f"{shape.name}.{name}"
        if isinstance(member, StructureShape):
            _assert_members_agree(schema, prop, member)
        if isinstance(member, ListShape) and isinstance(member.member, StructureShape):
            _assert_members_agree(schema, prop["items"], member.member)


@pytest.mark.parametrize("operation", REQUESTS)
def test_request_members_types_and_required_agree_with_botocore(operation: str) -> None:
    """Same member names, JSON types and required members as botocore's input shape
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html:
    ``instanceName`` string, required; ``force`` boolean, optional)."""
    schema = load(schema_path(operation, "request"))
    shape = SERVICE.operation_model(operation).input_shape
    _assert_members_agree(schema, schema, shape)
    assert schema.get("required", []) == list(shape.required_members) == ["instanceName"]
    assert schema["additionalProperties"] is False


def test_response_members_and_types_agree_with_botocore() -> None:
    """Operation's members and their types, as botocore's output shape has them
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_Operation.html)."""
    schema = load(schema_path("StopInstance", "response"))
    _assert_members_agree(schema, schema, SERVICE.operation_model("StopInstance").output_shape)
    operation = schema["$defs"]["Operation"]["properties"]
    assert {name for name in operation if resolve(schema, operation[name])["type"] == "number"} == {
        "createdAt",
        "statusChangedAt",
    }


@pytest.mark.parametrize(
    ("shape_name", "where"),
    [
        ("ResourceType", "resourceType"),
        ("OperationType", "operationType"),
        ("OperationStatus", "status"),
        ("RegionName", "location.regionName"),
    ],
)
def test_enums_equal_botocores(shape_name: str, where: str) -> None:
    """Each enum holds exactly botocore's values, in botocore's order
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_Operation.html)."""
    schema = load(schema_path("StopInstance", "response"))
    node = resolve(schema, schema["$defs"]["Operation"])
    for step in where.split("."):
        node = resolve(schema, node["properties"][step])
    assert node["enum"] == list(SERVICE.shape_for(shape_name).enum)


def test_the_name_pattern_is_the_one_the_rules_were_written_for() -> None:
    """Our anchored ASCII pattern stands in for the model's ``\\w[\\w\\-]*\\w``; if botocore
    changes that pattern, `SHAPE_RULES` must be reviewed by hand
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html)."""
    for operation in REQUESTS:
        member = SERVICE.operation_model(operation).input_shape.members["instanceName"]
        assert member.name == "ResourceName"
        assert member.metadata["pattern"] == MODEL_NAME_PATTERN
    for path in SCHEMA_FILES:
        if path in {schema_path(op, "request") for op in LISTINGS}:
            continue  # no name member
        assert load(path)["$defs"]["ResourceName"]["x-lightsail-pattern"] == MODEL_NAME_PATTERN


NAME_VALIDATOR = jsonschema.Draft202012Validator(
    {**load(schema_path("StopInstance", "request"))["$defs"]["ResourceName"]}
)


def model_accepts_name(name: str) -> bool:
    """The model's pattern matched against the whole name, with ECMA-262's ASCII ``\\w``."""
    return bool(re.fullmatch(MODEL_NAME_PATTERN, name, re.ASCII)) and len(name) <= MAX_NAME_LENGTH


@given(st.one_of(st.text(), instance_names(), invalid_instance_names()))
@example("ab\n")
@example(FULLWIDTH_WEB)
@example("naïve")
@example("x!ab")
def test_name_pattern_means_the_models_pattern_matching_the_whole_name(name: str) -> None:
    """The schema accepts a name exactly when the model's ``\\w[\\w\\-]*\\w`` matches all of it
    (ASCII ``\\w``) and it is not over the maximum length.

    Why anchored: in the model (and in JSON Schema) a pattern is unanchored, so ``x!ab``
    "matches" because ``ab`` does; but botocore does not check patterns client-side (it sends
    ``x!ab`` as is), so only the service decides, and Lightsail requires the name itself to
    match: the API reference says the name "must match" ``\\w[\\w\\-]*\\w`` and our spec reads
    that as at least 2 characters with no hyphen at either end
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html).
    Why ASCII: ECMA-262 (the model's and JSON Schema's dialect) defines ``\\w`` as
    ``[A-Za-z0-9_]``; Python's ``re`` would also accept a fullwidth ``web`` and ``naïve``."""
    assert NAME_VALIDATOR.is_valid(name) == model_accepts_name(name)


def test_botocore_does_not_check_the_pattern_itself() -> None:
    """botocore's client-side validation checks types and required members only, so a bad name
    reaches the service and validation is ours to do
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html)."""
    shape = SERVICE.operation_model("StopInstance").input_shape
    report = ParamValidator().validate({"instanceName": "bad name!"}, shape)
    assert not report.has_errors()


# -- validate_body: accepted and rejected --------------------------------------------------------

STOP_PAGE = "https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"


def body(document: object) -> bytes:
    return json.dumps(document).encode()


def rejected(operation: str, data: bytes) -> ApiError:
    result = validate_body(operation, data)
    assert isinstance(result, ApiError), result
    assert result.code == "InvalidInputException"
    assert result.status == 400
    return result


VALID_NAMES = ["ab", "web-1", "a_b", "A9", "__", "9-9", "a--b", "x" * MAX_NAME_LENGTH]


@pytest.mark.parametrize("name", VALID_NAMES)
@pytest.mark.parametrize("force", [None, True, False])
def test_valid_stop_instance_bodies_come_back_unchanged(name: str, force: bool | None) -> None:
    """``instanceName`` matching ``\\w[\\w\\-]*\\w`` and an optional boolean ``force`` is a valid
    StopInstance request (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html)."""
    document: JsonObject = {"instanceName": name} | ({} if force is None else {"force": force})
    assert validate_body("StopInstance", body(document)) == document


@pytest.mark.parametrize("operation", REQUESTS)
def test_each_operation_accepts_a_valid_name(operation: str) -> None:
    """StartInstance, GetInstance and GetInstanceState take ``instanceName`` alone
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstanceState.html)."""
    assert validate_body(operation, b'{"instanceName": "web-1"}') == {"instanceName": "web-1"}


BAD_PATTERN = "instanceName: must match \\w[\\w\\-]*\\w"


@pytest.mark.parametrize(
    "name",
    [
        "",
        "a",
        "-",
        "-ab",
        "ab-",
        "bad name!",
        FULLWIDTH_WEB,
        "naïve",
        "a\nb",
        "ab\n",
        "\nab",
        "a.b",
        "x!ab",
    ],
)
@pytest.mark.parametrize("operation", REQUESTS)
def test_names_that_do_not_match_are_invalid_input(operation: str, name: str) -> None:
    """A name must match ``\\w[\\w\\-]*\\w`` whole, ASCII word characters only; otherwise
    InvalidInputException, "input does not conform to the validation rules of an input field"
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html)."""
    error = rejected(operation, body({"instanceName": name}))
    assert error.message == BAD_PATTERN
    assert error.tip.startswith(f"got {json.dumps(name)}; 2 to {MAX_NAME_LENGTH} ASCII letters")


@pytest.mark.parametrize("length", [MAX_NAME_LENGTH + 1, 1000, 60_000])
def test_very_long_names_are_invalid_input(length: int) -> None:
    """Names over the documented maximum are refused
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_CreateRelationalDatabase.html:
    resource names of "2 to 255" characters)."""
    error = rejected("StopInstance", body({"instanceName": "a" * length}))
    assert error.message == f"instanceName: must be at most {MAX_NAME_LENGTH} characters"
    assert error.tip == f"got {length} characters"


@pytest.mark.parametrize("value", ["true", "false", 1, 0, None, 1.0, [], {}, [True]])
def test_force_must_be_a_boolean(value: object) -> None:
    """``force`` is a boolean (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html)."""
    error = rejected("StopInstance", body({"instanceName": "web-1", "force": value}))
    assert error.message == "force: must be a boolean"
    assert error.tip.startswith("got ")


@pytest.mark.parametrize("value", [1, None, True, ["web-1"], {"name": "web-1"}, 2.5])
def test_instance_name_must_be_a_string(value: object) -> None:
    """``instanceName`` is a string (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html)."""
    error = rejected("StopInstance", body({"instanceName": value}))
    assert error.message == "instanceName: must be a string"


@pytest.mark.parametrize("document", [{}, {"force": True}, {"InstanceName": "web-1"}])
def test_instance_name_is_required(document: JsonObject) -> None:
    """``instanceName`` is required, and member names are case-sensitive
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html)."""
    assert rejected("StopInstance", body(document)).message == "instanceName is required"


@pytest.mark.parametrize(
    ("operation", "document", "member"),
    [
        ("StopInstance", {"instanceName": "web-1", "foo": 1}, "foo"),
        ("StopInstance", {"instanceName": "web-1", "InstanceName": "web-1"}, "InstanceName"),
        ("StopInstance", {"instanceName": "web-1", "zz": 1, "aa": 2}, "aa"),
        ("StartInstance", {"instanceName": "web-1", "force": True}, "force"),
        ("GetInstanceState", {"instanceName": "web-1", "state": "running"}, "state"),
    ],
)
def test_unknown_members_are_invalid_input(
    operation: str, document: JsonObject, member: str
) -> None:
    """Members outside the operation's request are refused; of several, the first by name
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StartInstance.html:
    StartInstance has no ``force``)."""
    error = rejected(operation, body(document))
    assert error.message == f"unknown member '{member}'"
    assert error.tip.startswith("the members are: ")


@pytest.mark.parametrize("document", [[], ["web-1"], "web-1", 1, 2.5, None, True])
def test_a_body_that_is_not_an_object_is_invalid_input(document: object) -> None:
    """The JSON 1.1 body is an object (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html,
    Request Syntax)."""
    error = rejected("StopInstance", body(document))
    assert error.message == "the request body must be a JSON object"
    assert error.tip.startswith("got a JSON ")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b" ",
        b"{",
        b"{'instanceName': 'web-1'}",
        b'{"instanceName": "web-1",}',
        b'{"instanceName": "web-1"} {}',
        b"NaN",
        b'{"instanceName": "web-1", "force": Infinity}',
        b'{"instanceName": "web-1", "n": -Infinity}',
        b'{"instanceName": "a\x01b"}',
        b'{"instanceName": "web-1", "instanceName": "web-2"}',
        b'{"instanceName": "web-1", "x": {"a": 1, "a": 2}}',
        b'{"instanceName": "web-1", "x": 1' + b"1" * 5000 + b"}",
        b"[" * 60_000,
        b'{"x":' * 10_000 + b"1" + b"}" * 10_000,
    ],
    ids=lambda data: repr(data[:30]),
)
def test_text_that_is_not_json_is_invalid_input(data: bytes) -> None:
    """Invalid JSON, JSON extensions Python allows (``NaN``, ``Infinity``), repeated member
    names, and nesting too deep to parse are all InvalidInputException, never an exception
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html)."""
    error = rejected("StopInstance", data)
    assert error.message == "the request body must be a JSON object"
    assert error.tip.startswith("not valid JSON: ")


@pytest.mark.parametrize(
    "data",
    [
        b'{"instanceName": "web\xff"}',
        '{"instanceName": "naïve"}'.encode("latin-1"),
        '{"instanceName": "web-1"}'.encode("utf-16"),
        b'{"instanceName": "\xed\xa0\x80"}',  # a UTF-8-encoded surrogate is not UTF-8
    ],
)
def test_bytes_that_are_not_utf8_are_invalid_input(data: bytes) -> None:
    """A JSON 1.1 body is UTF-8 text (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html)."""
    error = rejected("StopInstance", data)
    assert error.message == "the request body must be a JSON object"
    assert error.tip.startswith("not UTF-8: byte ")


def test_a_utf8_byte_order_mark_is_invalid_input() -> None:
    """RFC 8259 section 8.1: senders must not add a byte order mark
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html)."""
    error = rejected("StopInstance", b"\xef\xbb\xbf" + body({"instanceName": "web-1"}))
    assert error.tip.startswith("not valid JSON: ")


def test_a_huge_body_is_refused_unread() -> None:
    """Bodies over 64 KiB are InvalidInputException before parsing: even a body that would be
    valid, and however malformed its content
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html)."""
    valid = body({"instanceName": "web-1"})
    at_limit = valid + b" " * (MAX_BODY_BYTES - len(valid))
    assert validate_body("StopInstance", at_limit) == {"instanceName": "web-1"}
    for data in (at_limit + b" ", b"\xff" * (MAX_BODY_BYTES + 1), b"[" * 10_000_000):
        error = rejected("StopInstance", data)
        assert error.message == f"the request body must be at most {MAX_BODY_BYTES} bytes (64 KiB)"
        assert error.tip == f"got {len(data)} bytes"


def test_of_several_errors_the_first_by_member_then_by_kind_is_reported() -> None:
    """The message does not depend on member order in the body: object-level errors first
    (missing before unknown), then members by name, a wrong type before a bad value
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html)."""
    cases = [
        ({"foo": 1, "bar": 2}, "instanceName is required"),
        ({"instanceName": "-", "foo": 1}, "unknown member 'foo'"),
        ({"instanceName": "-", "force": "yes"}, "force: must be a boolean"),
        (
            {"instanceName": "!" * 300},
            f"instanceName: must be at most {MAX_NAME_LENGTH} characters",
        ),
    ]
    for document, message in cases:
        reordered = dict(reversed(document.items()))
        assert rejected("StopInstance", body(document)).message == message
        assert rejected("StopInstance", body(reordered)).message == message


def test_values_are_quoted_safely_in_messages() -> None:
    """Odd member names are shown escaped and cut short, so an error body is always plain
    encodable text (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html)."""
    error = rejected("StopInstance", b'{"instanceName": "ab", "\\ud800' + b"x" * 500 + b'": 1}')
    assert error.message.startswith("unknown member '\\ud800xxx")
    assert error.message.endswith("...'")
    assert len(error.message) < 120
    json.dumps(error.body()).encode("utf-8")


def test_an_unknown_operation_is_a_key_error() -> None:
    """Routing unknown targets is the router's job (the common ``InvalidAction`` error,
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html); here an
    unknown operation is a bug."""
    with pytest.raises(KeyError):
        validate_body("RebootInstance", b"{}")


@pytest.mark.parametrize(
    "params", [{"instanceName": "web-1"}, {"instanceName": "web-1", "force": True}]
)
def test_what_botocore_sends_is_accepted(params: JsonObject) -> None:
    """The body botocore's own JSON serializer builds for StopInstance passes validation
    unchanged (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html)."""
    request = create_serializer("json").serialize_to_request(
        params, SERVICE.operation_model("StopInstance")
    )
    assert validate_body("StopInstance", request["body"]) == params


def test_a_response_in_the_schema_is_what_botocore_parses() -> None:
    """A StopInstance answer valid under the response schema is parsed by botocore into the
    documented structure, timestamps as epoch seconds
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html#API_StopInstance_ResponseSyntax)."""
    answer = {
        "operations": [
            {
                "id": "4b3c1b3e-0b4a-4b5e-9f1e-2f0e8d1c6a77",
                "resourceName": "web-1",
                "resourceType": "Instance",
                "createdAt": 1_700_000_000.5,
                "location": {"availabilityZone": "us-east-1a", "regionName": "us-east-1"},
                "isTerminal": False,
                "operationDetails": "",
                "operationType": "StopInstance",
                "status": "Started",
                "statusChangedAt": 1_700_000_000.5,
            }
        ]
    }
    validator = jsonschema.Draft202012Validator(load(schema_path("StopInstance", "response")))
    assert validator.is_valid(answer)
    parsed = create_parser("json").parse(
        {"body": body(answer), "headers": {}, "status_code": 200},
        SERVICE.operation_model("StopInstance").output_shape,
    )
    assert parsed["operations"][0]["createdAt"].timestamp() == 1_700_000_000.5
    for broken in (
        {},
        {"operations": [{"status": "Stopped"}]},
        {"operations": [{"createdAt": "2023-11-14T22:13:20Z"}]},
        {"operations": [{"location": {"regionName": "mars-1"}}]},
        {"operations": [{"resourceName": "bad name!"}]},
        {"operations": [{"isTerminal": "false"}]},
        {"operations": [{"stauts": "Started"}]},
    ):
        assert not validator.is_valid(broken), broken


# -- properties ----------------------------------------------------------------------------------

MEMBERS = {
    operation: dict(SERVICE.operation_model(operation).input_shape.members)
    for operation in REQUESTS
}
PYTHON_TYPES = {"string": str, "boolean": bool}


def conforms(operation: str, document: object) -> bool:
    """The contract written out independently of the schema: botocore's members, required
    members and types, and the name rule (the model's pattern, whole name, ASCII)."""
    members = MEMBERS[operation]
    shape = SERVICE.operation_model(operation).input_shape
    if not isinstance(document, dict) or not set(document) <= set(members):
        return False
    if not set(shape.required_members) <= set(document):
        return False
    for name, value in document.items():
        if type(value) is not PYTHON_TYPES[members[name].type_name]:
            return False
        if members[name].name == "ResourceName" and not model_accepts_name(value):
            return False
    return True


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
near_valid_objects = st.dictionaries(
    st.sampled_from(["instanceName", "force"]) | st.text(max_size=12),
    json_values | instance_names() | invalid_instance_names() | st.booleans(),
    max_size=3,
)


def encode(document: object, ascii_only: bool) -> bytes:
    text = json.dumps(document, ensure_ascii=ascii_only)
    return text.encode("utf-8", errors="surrogatepass") if not ascii_only else text.encode()


bodies_of_every_kind = st.one_of(
    st.fixed_dictionaries({"instanceName": instance_names()}),
    valid_stop_instance_bodies(),
    invalid_stop_instance_bodies(),
    near_valid_objects,
    json_values,
)


@given(st.sampled_from(REQUESTS), bodies_of_every_kind, st.booleans())
def test_a_body_is_accepted_unchanged_exactly_when_it_conforms(
    operation: str, document: object, ascii_only: bool
) -> None:
    """Any body that breaks the contract is InvalidInputException; any body that keeps it comes
    back as the same dict (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html)."""
    result = validate_body(operation, encode(document, ascii_only))
    event("conforms" if conforms(operation, document) else "breaks the contract")
    if conforms(operation, document):
        assert result == document
    else:
        assert isinstance(result, ApiError), result
        assert result.code == "InvalidInputException"


@given(st.sampled_from(REQUESTS), st.binary(max_size=300))
@example("StopInstance", b'{"instanceName": "\xc0\xaf"}')
@example("StopInstance", b"{" * 5000)
def test_any_bytes_give_a_dict_or_an_api_error(operation: str, data: bytes) -> None:
    """No body makes validation raise: the result is always a conforming dict or an
    InvalidInputException (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html)."""
    result = validate_body(operation, data)
    if isinstance(result, ApiError):
        assert result.code == "InvalidInputException"
        json.dumps(result.body()).encode("utf-8")
    else:
        assert conforms(operation, result)


@given(valid_stop_instance_bodies(), st.data())
def test_corrupting_a_valid_body_never_raises(document: JsonObject, data: st.DataObject) -> None:
    """A valid body with one byte replaced, dropped or added is still a dict or an ApiError
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html)."""
    raw = bytearray(body(document))
    at = data.draw(st.integers(0, len(raw) - 1))
    edit = data.draw(st.sampled_from(["replace", "drop", "add"]))
    byte = data.draw(st.integers(0, 255))
    if edit == "replace":
        raw[at] = byte
    elif edit == "drop":
        del raw[at]
    else:
        raw.insert(at, byte)
    result = validate_body("StopInstance", bytes(raw))
    assert isinstance(result, ApiError) or conforms("StopInstance", result)


def test_the_strategies_use_the_schemas_maximum() -> None:
    """The strategies read the name rules from the schema, the same 255
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_CreateRelationalDatabase.html)."""
    assert body_strategies.MAX_NAME_LENGTH == MAX_NAME_LENGTH


@given(valid_stop_instance_bodies())
def test_valid_stop_instance_bodies_are_valid(document: JsonObject) -> None:
    """The public strategy keeps its promise (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html)."""
    assert conforms("StopInstance", document)
    assert validate_body("StopInstance", body(document)) == document


@given(invalid_stop_instance_bodies())
def test_invalid_stop_instance_bodies_are_invalid_input(document: JsonObject) -> None:
    """The public strategy keeps its promise: each body is refused with InvalidInputException
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html)."""
    assert not conforms("StopInstance", document)
    rejected("StopInstance", encode(document, ascii_only=True))


def test_valid_stop_instance_bodies_take_the_callers_names() -> None:
    """``names=`` lets a test draw names from its own pool of instances, since a name picks the
    instance (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html)."""
    found = find(valid_stop_instance_bodies(names=st.just("web-1")), lambda d: "force" in d)
    assert found["instanceName"] == "web-1"


if __name__ == "__main__":
    write_schemas()
    sys.exit(0)


def test_get_instances_request_is_an_optional_page_token() -> None:
    """GetInstances takes one optional member, ``pageToken`` (a string), and nothing else
    (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstances.html)."""
    schema = load(schema_path("GetInstances", "request"))
    shape = SERVICE.operation_model("GetInstances").input_shape
    _assert_members_agree(schema, schema, shape)
    assert "required" not in schema
    assert validate_body("GetInstances", b"{}") == {}
    assert validate_body("GetInstances", b'{"pageToken": "x"}') == {"pageToken": "x"}
    for bad in (b'{"pageToken": 3}', b'{"instanceName": "web"}', b"[]"):
        error = validate_body("GetInstances", bad)
        assert isinstance(error, ApiError)
        assert error.code == "InvalidInputException"
