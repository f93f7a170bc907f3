"""A plain-Python reading of a few JSON Schema keywords: a fast "is this instance valid?" for
the schemas lspolicy ships, which answers True only when the JSON Schema validator would find no
error. A False answer only means "ask the validator", which also says where and why: callers
validate a valid document with this check alone and an invalid one with ``jsonschema``.

Used for world files (`lspolicy.server.world`) and for request bodies
(`lspolicy.server.validate`); the tests compare it with the validator on both.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Check", "Unsupported", "compile_check"]

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description"})
"""Keywords that do not constrain an instance; so do extension keywords (``x-...``), which a
validator ignores as it ignores every keyword it does not know."""


def compile_check(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Check:
    """A plain-Python check of ``schema`` that answers True only for an instance the JSON
    Schema validator finds no error in (raise `Unsupported` at a keyword it does not know).

    The world schema uses a few keywords; each is checked here as draft 2020-12 defines it
    (https://json-schema.org/draft/2020-12/json-schema-validation): ``type`` (a ``number`` is
    finite, as `_finite_number` says; booleans are not numbers), ``enum``, ``pattern`` (searched,
    not anchored), ``minLength``/``maxLength`` (code points), ``minimum``/``maximum``,
    ``minItems``, ``uniqueItems`` (strings only; anything else is left to the validator),
    ``required``, ``properties``, ``additionalProperties``, ``propertyNames``, ``items``,
    ``oneOf`` and local ``$ref``. A False answer only means "ask the validator", which also
    says where.

    The world schema's ``number`` is finite: a YAML ``.nan`` or ``.inf`` is refused there
    (``world._finite_number``); a JSON request body cannot hold one at all.
    """
    checks: list[Check] = []
    for key, value in schema.items():
        if key in _ANNOTATIONS or key.startswith("x-"):
            continue
        checks.append(_keyword(key, value, schema, defs))

    def check(instance: Any) -> bool:
        return all(c(instance) for c in checks)

    return checks[0] if len(checks) == 1 else check


class Unsupported(Exception):
    """A schema keyword the plain check does not model: always use the validator."""


def _is_type(name: str, x: Any) -> bool:
    if name == "object":
        return isinstance(x, dict)
    if name == "array":
        return isinstance(x, list)
    if name == "string":
        return isinstance(x, str)
    if name == "boolean":
        return isinstance(x, bool)
    if name == "number":
        return (
            isinstance(x, (int, float))
            and not isinstance(x, bool)
            and (not isinstance(x, float) or math.isfinite(x))
        )
    raise Unsupported(name)


def _keyword(key: str, value: Any, schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Check:
    if key == "type":
        if value not in ("object", "array", "string", "boolean", "number"):
            raise Unsupported(key)
        return functools.partial(_is_type, value)
    if key == "enum":
        allowed = list(value)
        if not all(isinstance(v, str) for v in allowed):
            raise Unsupported(key)
        return lambda x: isinstance(x, str) and x in allowed
    if key == "pattern":
        search = re.compile(value).search
        return lambda x: not isinstance(x, str) or search(x) is not None
    if key in ("minLength", "maxLength"):
        n = int(value)
        if key == "minLength":
            return lambda x: not isinstance(x, str) or len(x) >= n
        return lambda x: not isinstance(x, str) or len(x) <= n
    if key in ("minimum", "maximum"):
        bound = value

        def within(x: Any) -> bool:
            if not _is_type("number", x):
                return True
            return bool(x >= bound) if key == "minimum" else bool(x <= bound)

        return within
    if key == "minItems":
        return lambda x: not isinstance(x, list) or len(x) >= int(value)
    if key == "uniqueItems":
        if not value:
            return lambda _x: True
        return lambda x: (
            not isinstance(x, list)
            or (all(isinstance(v, str) for v in x) and len(set(x)) == len(x))
        )
    if key == "required":
        names = tuple(value)
        return lambda x: not isinstance(x, dict) or all(n in x for n in names)
    if key == "properties":
        props = {k: compile_check(v, defs) for k, v in value.items()}

        def properties(x: Any) -> bool:
            if not isinstance(x, dict):
                return True
            for k, v in x.items():
                check = props.get(k)
                if check is not None and not check(v):
                    return False
            return True

        return properties
    if key == "additionalProperties":
        known = frozenset(schema.get("properties", {}))
        if schema.get("patternProperties"):
            raise Unsupported(key)
        if value is False:
            return lambda x: not isinstance(x, dict) or all(k in known for k in x)
        extra = compile_check(value, defs)
        return lambda x: (
            not isinstance(x, dict) or all(extra(v) for k, v in x.items() if k not in known)
        )
    if key == "propertyNames":
        names_ok = compile_check(value, defs)
        return lambda x: not isinstance(x, dict) or all(names_ok(k) for k in x)
    if key == "items":
        if "prefixItems" in schema:
            raise Unsupported(key)
        item = compile_check(value, defs)
        return lambda x: not isinstance(x, list) or all(item(v) for v in x)
    if key == "oneOf":
        # options of distinct types: at most one can hold, so "exactly one" is "one holds"
        kinds = [v.get("type") for v in value]
        if not all(isinstance(k, str) for k in kinds) or len(set(kinds)) != len(kinds):
            raise Unsupported(key)
        options = [compile_check(v, defs) for v in value]
        return lambda x: sum(1 for o in options if o(x)) == 1
    if key == "$ref":
        if not value.startswith("#/$defs/") or len(schema) != 1:
            raise Unsupported(key)
        return compile_check(defs[value.removeprefix("#/$defs/")], defs)
    raise Unsupported(key)
