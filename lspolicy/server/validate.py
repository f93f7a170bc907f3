"""The validation step: a request body's bytes in, the request's members or an `ApiError` out.

What Lightsail checks before it acts, in order, each failure an ``InvalidInputException``
(HTTP 400, "input does not conform to the validation rules of an input field":
https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html#API_StopInstance_Errors):

1. size: a body over `MAX_BODY_BYTES` is refused unread;
2. syntax: the body must be UTF-8 JSON text (RFC 8259: no ``NaN``, no repeated member names)
   whose value is an object;
3. shape: the object must conform to the operation's request schema, ``schemas/<operation in
   kebab case>-request.schema.json`` (JSON Schema draft 2020-12, kept in step with botocore's
   Lightsail model by ``tests/unit/test_server_validate.py``).

Of several schema violations the one reported is the first by path (the object itself before its
members, members by name), then by the order of `_MESSAGES` (at one path: a wrong type, a missing
member, an unknown member, then a bad value), so the same body always gets the same message. Messages name the member as Lightsail's model does
(``instanceName: must match \\w[\\w\\-]*\\w``); the value the caller sent goes in the error's
``tip``.

Schemas are read and compiled once, at import; validating a body compiles nothing. A valid body
is recognised by a plain-Python reading of its schema (`lspolicy.server.plaincheck`); only a body
that fails it goes through ``jsonschema``, for the error to report.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from jsonschema import Draft202012Validator, ValidationError

from lspolicy.server.errors import ApiError
from lspolicy.server.plaincheck import Check, Unsupported, compile_check

__all__ = ["MAX_BODY_BYTES", "REQUEST_SCHEMAS", "validate_body"]

MAX_BODY_BYTES: Final = 64 * 1024
"""The largest request body read, in bytes (64 KiB): far above any body the operations need (a
255-character name and a boolean, or a page token under 2 KiB), small enough that a hostile
body costs nothing."""

_INVALID: Final = "InvalidInputException"
_NOT_AN_OBJECT: Final = "the request body must be a JSON object"
_SHOWN_CHARS: Final = 80
"""How much of a caller's value a message or tip repeats."""

_SCHEMA_FILES: Final = MappingProxyType(
    {
        "StopInstance": "stop-instance-request.schema.json",
        "StartInstance": "start-instance-request.schema.json",
        "GetInstance": "get-instance-request.schema.json",
        "GetInstanceState": "get-instance-state-request.schema.json",
        "GetInstances": "get-instances-request.schema.json",
    }
)


def _load(filename: str) -> dict[str, Any]:
    text = (resources.files("lspolicy") / "schemas" / filename).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return schema


REQUEST_SCHEMAS: Final[Mapping[str, Mapping[str, Any]]] = MappingProxyType(
    {operation: _load(filename) for operation, filename in _SCHEMA_FILES.items()}
)
"""Each operation's request schema, as loaded from ``lspolicy/schemas/`` (read-only by
convention: the validators below were compiled from these very objects)."""

_VALIDATORS: Final = MappingProxyType(
    {operation: Draft202012Validator(schema) for operation, schema in REQUEST_SCHEMAS.items()}
)


def _plain(schema: Mapping[str, Any]) -> Check | None:
    try:
        return compile_check(schema, schema.get("$defs", {}))
    except Unsupported:
        return None


_PLAIN: Final[Mapping[str, Check | None]] = MappingProxyType(
    {operation: _plain(schema) for operation, schema in REQUEST_SCHEMAS.items()}
)
"""Each schema as a plain-Python check (`lspolicy.server.plaincheck`): a body it passes has no
schema error, so only a body it fails is walked by the validator, which says what is wrong."""


_VALID_LIMIT: Final = 4096
"""Valid bodies remembered (`_VALID`) before the memo is emptied."""
_VALID_BYTES: Final = 1024
"""Only bodies up to this size are remembered (an instance name is at most 255 characters)."""
_VALID: dict[tuple[str, str, bytes], dict[str, Any]] = {}
"""Valid bodies by (scope, operation, bytes) -> their members: validity and members are a
function of the operation and the bytes alone, and an SDK sends the same bytes for the same call
again and again. The scope (the server passes the caller's account) keeps one account's bodies
apart from another's: that a body was sent before shows in the time of its answer, and only
within the account that sent it."""


def validate_body(operation: str, body: bytes, *, scope: str = "") -> dict[str, Any] | ApiError:
    """Return the request's members, exactly as the body gives them, or the error to answer.

    Never raises for any ``body``; raises `KeyError` for an ``operation`` without a request
    schema (routing unknown targets is the router's job, and an unknown name here is a bug).
    A valid body sent again in the same ``scope`` gets the same members object (`_VALID`): read
    it, never change it.
    """
    validator = _VALIDATORS[operation]
    remembered = _VALID.get((scope, operation, body))
    if remembered is not None:
        return remembered
    if len(body) > MAX_BODY_BYTES:
        return ApiError(
            _INVALID,
            f"the request body must be at most {MAX_BODY_BYTES} bytes (64 KiB)",
            f"got {len(body)} bytes",
        )
    document = _parse(body)
    if isinstance(document, ApiError):
        return document
    plain = _PLAIN[operation]
    if plain is not None and plain(document):
        if len(body) <= _VALID_BYTES:
            if len(_VALID) >= _VALID_LIMIT:
                _VALID.clear()
            _VALID[scope, operation, body] = document
        return document
    errors = sorted(validator.iter_errors(document), key=_error_order)
    if not errors:
        return document
    message, tip = _describe(errors[0])
    return ApiError(_INVALID, message, tip)


# -- syntax --------------------------------------------------------------------------------------


class _NotJsonError(ValueError):
    """Text Python's `json` module accepts but RFC 8259 does not, or an ambiguous object."""


def _reject_constant(name: str) -> Any:
    raise _NotJsonError(f"{name} is not a JSON value")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise _NotJsonError(f"member {_quote(name)} appears more than once")
            seen.add(name)
    return members


_DECODE: Final = json.JSONDecoder(
    parse_constant=_reject_constant, object_pairs_hook=_unique_members
).decode
"""``json.loads(text, parse_constant=..., object_pairs_hook=...)`` with the decoder built once
(``json.loads`` builds a new one per call when given any option)."""


def _parse(body: bytes) -> dict[str, Any] | ApiError:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        return ApiError(_INVALID, _NOT_AN_OBJECT, f"not UTF-8: byte {error.start} is invalid")
    try:
        if text.startswith("\ufeff"):  # what json.loads checks before decoding
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        document = _DECODE(text)
    except json.JSONDecodeError as error:
        reason = error.msg[:1].lower() + error.msg[1:]
        where = f"line {error.lineno}, column {error.colno}"
        return ApiError(_INVALID, _NOT_AN_OBJECT, f"not valid JSON: {reason} ({where})")
    except ValueError as error:  # _NotJsonError, or an integer past Python's digit limit
        return ApiError(_INVALID, _NOT_AN_OBJECT, f"not valid JSON: {error}")
    except RecursionError:
        return ApiError(_INVALID, _NOT_AN_OBJECT, "not valid JSON: nested too deeply")
    if not isinstance(document, dict):
        return ApiError(_INVALID, _NOT_AN_OBJECT, f"got a JSON {_json_kind(document)}")
    return document


# -- shape: which error, and what to say ---------------------------------------------------------


class _Problem(NamedTuple):
    """One schema violation, typed: jsonschema's error leaves its fields possibly unset."""

    field: str  # the member as a message names it ("instanceName"), or "the request body"
    path: tuple[str | int, ...]  # where the offending value sits
    rule: Any  # the keyword's value in the schema
    value: Any  # the offending value
    schema: Mapping[str, Any]  # the (sub)schema holding the keyword


_Describe = Callable[[_Problem], tuple[str, str]]
"""A violation -> (message, tip)."""


def _wrong_type(problem: _Problem) -> tuple[str, str]:
    names = [problem.rule] if isinstance(problem.rule, str) else list(problem.rule)
    wanted = " or ".join(_ARTICLES.get(name, f"a {name}") for name in names)
    return f"{problem.field}: must be {wanted}", f"got {_shown(problem.value)}"


def _missing(problem: _Problem) -> tuple[str, str]:
    # The error belongs to the object; name the first required member it lacks.
    absent = [name for name in problem.rule if name not in problem.value]
    return f"{_join(problem.path, absent[0])} is required", ""


def _unknown(problem: _Problem) -> tuple[str, str]:
    known = problem.schema.get("properties", {})
    extra = sorted(name for name in problem.value if name not in known)
    return f"unknown member {_quote(extra[0])}", f"the members are: {', '.join(sorted(known))}"


def _too_long(problem: _Problem) -> tuple[str, str]:
    message = f"{problem.field}: must be at most {problem.rule} characters"
    return message, f"got {len(problem.value)} characters"


def _too_short(problem: _Problem) -> tuple[str, str]:
    message = f"{problem.field}: must be at least {problem.rule} characters"
    return message, f"got {len(problem.value)} characters"


def _mismatch(problem: _Problem) -> tuple[str, str]:
    # Lightsail states the model's pattern; the schema's own is its anchored ASCII spelling.
    pattern = problem.schema.get("x-lightsail-pattern", problem.rule)
    rule = problem.schema.get("description")
    tip = f"got {_shown(problem.value)}" + (f"; {rule}" if rule else "")
    return f"{problem.field}: must match {pattern}", tip


def _not_listed(problem: _Problem) -> tuple[str, str]:
    choices = ", ".join(str(choice) for choice in problem.rule)
    return f"{problem.field}: must be one of {choices}", f"got {_shown(problem.value)}"


_MESSAGES: Final[Mapping[str, _Describe]] = MappingProxyType(
    {
        "type": _wrong_type,
        "required": _missing,
        "additionalProperties": _unknown,
        "maxLength": _too_long,
        "minLength": _too_short,
        "pattern": _mismatch,
        "enum": _not_listed,
    }
)
"""What to say for each schema keyword; the order is the reporting order at one path."""

_RANK: Final = MappingProxyType({keyword: rank for rank, keyword in enumerate(_MESSAGES)})

_ARTICLES: Final = MappingProxyType(
    {"array": "an array", "integer": "an integer", "object": "an object", "null": "null"}
)


def _error_order(error: ValidationError) -> tuple[tuple[str, ...], int, str]:
    path = tuple(str(step) for step in error.absolute_path)
    keyword = str(error.validator)
    return path, _RANK.get(keyword, len(_RANK)), keyword


def _describe(error: ValidationError) -> tuple[str, str]:
    path = tuple(error.absolute_path)
    field = _join(path, None) or "the request body"
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    describe = _MESSAGES.get(str(error.validator))
    if describe is None:  # a keyword our schemas do not use yet: still deterministic
        return f"{field}: does not conform to the {error.validator} rule", ""
    return describe(_Problem(field, path, error.validator_value, error.instance, schema))


# -- small helpers ------------------------------------------------------------------------------


def _join(path: Sequence[str | int], member: str | None) -> str:
    """``location.regionName``, ``operations[0]``: how a member is named in a message."""
    out = ""
    for step in [*path, *([member] if member is not None else [])]:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


def _quote(name: str) -> str:
    """A caller's string in single quotes, escaped as JSON would, cut short if long."""
    escaped = json.dumps(name)[1:-1]
    if len(escaped) > _SHOWN_CHARS:
        escaped = escaped[:_SHOWN_CHARS] + "..."
    return f"'{escaped}'"


def _shown(value: Any) -> str:
    """A caller's scalar as JSON text, cut short if long; an array or object by its kind only
    (it may nest as deep as the parser allowed, too deep to encode again from down here)."""
    if isinstance(value, list | dict):
        return f"a JSON {_json_kind(value)}"
    text = json.dumps(value)
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "..."


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object" if isinstance(value, dict) else "array"
