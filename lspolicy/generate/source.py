"""Read a YAML or JSON document keeping where each value is, and report JSON Schema problems
at those places.

The path -> line/column map is the emulator's (`lspolicy.server.world._Positions`), reused; what
is added here, for any input a person writes by hand:

- a key repeated in one mapping is a problem (PyYAML silently keeps the last one, which would
  let a second ``env:`` selector quietly replace the first);
- YAML timestamps stay the text that was written (``not_before: 2026-01-01T00:00:00Z`` is a
  string to validate, not a ``datetime`` the schema would reject as "not a string");
- JSON Schema errors become messages a person can act on: the unknown key is named at its own
  position with a "did you mean", a number where text is expected gets a "quote it" hint.

The world loader could use the same functions; it is not changed here.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import jsonschema
import yaml

from lspolicy.errors import Location, Problem
from lspolicy.server.world import _Positions
from lspolicy.yamlpos import YamlError, check_bounds

__all__ = ["DocPath", "Loaded", "load_document", "schema_problems"]

DocPath = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as the text written."""


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


@dataclass(frozen=True, slots=True)
class Loaded:
    """A decoded document, where each path is, and the problems found while reading it."""

    data: Any
    source: str
    positions: _Positions
    problems: tuple[Problem, ...]

    def locate(self, path: DocPath) -> Location:
        """The nearest known position of ``path`` (its own, or its closest ancestor's)."""
        return self.positions.locate(self.source, path)


def _duplicates(node: yaml.Node, path: DocPath, out: list[tuple[DocPath, yaml.Node]]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                out.append(((*path, name), key))
            seen.add(name)
            _duplicates(value, (*path, name), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _duplicates(item, (*path, i), out)


def load_document(text: str, source: str, *, code: str) -> Loaded:
    """Decode YAML (JSON is YAML) once, with positions; syntax errors and repeated keys become
    problems tagged ``code``. ``data`` is None when the text is not YAML at all."""
    positions = _Positions()
    loader: _Loader | None = None
    try:
        # aliases, nesting, cycles and huge numbers refused first, located: the position walk
        # and the duplicate-key check below would otherwise expand an alias bomb
        check_bounds(text, duplicate_keys=False)  # reported below, with their paths
        loader = _Loader(text)  # refuses NUL and other characters YAML does not allow
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except YamlError as exc:
        where = Location(source, "", exc.line, exc.column)
        return Loaded(
            None, source, positions, (Problem(f"invalid YAML: {exc.message}", where, code=code),)
        )
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        problem = getattr(exc, "problem", None) or str(exc)
        return Loaded(
            None,
            source,
            positions,
            (Problem(f"invalid YAML: {problem}", Location(source, "", line, col), code=code),),
        )
    finally:
        if loader is not None:
            loader.dispose()
    problems: list[Problem] = []
    if node is not None:
        positions.walk(node, ())
        found: list[tuple[DocPath, yaml.Node]] = []
        _duplicates(node, (), found)
        for path, key in found:
            where = positions.locate(source, path)
            problems.append(
                Problem(
                    f"key {path[-1]!r} is given twice in the same mapping",
                    Location(
                        source, where.path, key.start_mark.line + 1, key.start_mark.column + 1
                    ),
                    hint="YAML keeps only the last one; merge them or remove one",
                    code=code,
                )
            )
    return Loaded(data, source, positions, tuple(problems))


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_TYPE_NAMES = {
    "string": "a string",
    "object": "a mapping",
    "array": "a list",
    "boolean": "true or false",
    "integer": "an integer",
    "number": "a number",
}


def _expected(types: Any) -> str:
    names = [types] if isinstance(types, str) else list(types)
    return " or ".join(_TYPE_NAMES.get(t, t) for t in names)


def _message(err: jsonschema.ValidationError) -> tuple[str, str | None]:
    """An actionable message and hint for one schema error."""
    validator = err.validator
    value: Any = err.instance
    expected: Any = err.validator_value
    schema = err.schema if isinstance(err.schema, dict) else {}
    if validator == "type":
        hint = None
        if "string" in _expected(expected) and isinstance(value, (bool, int, float)):
            hint = "quote it: YAML reads unquoted digits, yes/no and on/off as numbers or booleans"
        return f"expected {_expected(expected)}, found {_describe(value)}", hint
    if validator == "required":
        missing = [k for k in expected if isinstance(value, dict) and k not in value]
        return f"missing required field {', '.join(repr(k) for k in missing)}", None
    if validator == "pattern":
        what = schema.get("description")
        return (
            f"{_describe(value)} does not have the expected form",
            what if isinstance(what, str) else f"it must match {expected}",
        )
    if validator == "enum":
        choices = ", ".join(repr(c) for c in expected)
        return f"{_describe(value)} is not one of {choices}", None
    if validator == "const":
        return (
            f"{_describe(value)} is not allowed here; the only value is {json.dumps(expected)}",
            ("leave the field out instead" if expected is True else None),
        )
    if validator == "minItems":
        return (
            "the list is empty" if not value else f"needs at least {expected} items",
            None,
        )
    if validator == "maxItems":
        return f"too many items: {len(value)}, at most {expected}", None
    if validator == "uniqueItems":
        return "the list repeats an item", "list each value once"
    if validator == "minProperties":
        if expected == 1:
            return "the mapping is empty", "remove it or fill it in"
        return f"needs at least {expected} fields", None
    if validator == "maxProperties":
        if expected == 1 and isinstance(value, dict):
            keys = ", ".join(repr(k) for k in value)
            return f"give exactly one of these, found {keys}", "split it into separate selectors"
        return f"too many fields: at most {expected}", None
    if validator in ("minLength", "maxLength"):
        return (
            f"{_describe(value)} is too {'short' if validator == 'minLength' else 'long'}"
            f" ({'at least' if validator == 'minLength' else 'at most'} {expected} characters)",
            None,
        )
    return err.message, None


def schema_problems(
    validator: jsonschema.protocols.Validator,
    loaded: Loaded,
    *,
    code: str,
    known_fields: Callable[[DocPath], Iterable[str]] | None = None,
) -> list[Problem]:
    """Every schema error as a located problem, in document order.

    An unknown key is reported at the key's own position, with the closest allowed field as a
    hint (``known_fields`` may list the fields allowed at a path when the schema's own
    ``properties`` are not at hand).
    """
    out: list[tuple[tuple[int, int], Problem]] = []

    def add(path: DocPath, message: str, hint: str | None) -> None:
        where = loaded.locate(path)
        out.append(((where.line, where.column), Problem(message, where, hint=hint, code=code)))

    for err in validator.iter_errors(loaded.data):
        path: DocPath = tuple(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = sorted(
                (err.schema.get("properties") or {}) if isinstance(err.schema, dict) else ()
            )
            if known_fields is not None:
                allowed = sorted(known_fields(path))
            extra = [k for k in err.instance if k not in allowed]
            if extra:
                for key in extra:
                    close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
                    hint = (
                        f"did you mean {close[0]!r}?"
                        if close
                        else (
                            f"expected one of {', '.join(repr(a) for a in allowed)}"
                            if allowed
                            else None
                        )
                    )
                    add((*path, str(key)), f"unknown field {key!r}", hint)
                continue
        if err.validator in ("anyOf", "oneOf") and err.context:
            best = jsonschema.exceptions.best_match(err.context)
            message, hint = _message(best)
            add((*path, *best.relative_path), message, hint)
            continue
        message, hint = _message(err)
        add(path, message, hint)
    out.sort(key=lambda item: item[0])
    seen: set[tuple[str, str]] = set()
    unique: list[Problem] = []
    for _, problem in out:
        key = (problem.location.path, problem.message)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique
