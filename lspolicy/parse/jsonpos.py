"""JSON text to Python values plus the source span of every value, by JSON path.

The standard library's decoder gives no positions, and error messages must point at a line
and column. The scanner reuses ``json``'s own string and number scanners, so escapes and number
syntax are exactly RFC 8259's; only the structure walk (and position bookkeeping) is ours.
Duplicate object keys are reported: IAM treats them ambiguously, so we refuse to guess.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["JsonPath", "JsonSyntaxError", "LoadedJson", "Span", "format_path", "load_json"]

JsonPath = tuple[str | int, ...]

_NUMBER = json.scanner.NUMBER_RE
_scanstring: Any = json.decoder.scanstring  # type: ignore[attr-defined]
_WS = " \t\n\r"
_MAX_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_NUMBER_CHARS = 1000  # far beyond any real policy; Python refuses int() past 4,300 digits


@dataclass(frozen=True, slots=True)
class Span:
    """1-based start and end (end exclusive) line/column of a JSON value in its text."""

    line: int
    column: int
    end_line: int
    end_column: int


class JsonSyntaxError(ValueError):
    """The text is not JSON; ``line``/``column`` (1-based) say where reading stopped."""

    def __init__(
        self, message: str, line: int, column: int, path: JsonPath, *, limit: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.path = path
        self.limit = limit
        """True when the text went past one of lspolicy's input limits (nesting, number
        length) rather than breaking JSON's own rules."""


@dataclass(frozen=True, slots=True)
class LoadedJson:
    """A decoded document, the span of each value by path, and duplicate keys found."""

    value: object
    spans: dict[JsonPath, Span]
    duplicates: tuple[JsonPath, ...]


def format_path(path: JsonPath) -> str:
    """``("Statement", 2, "Condition")`` -> ``Statement[2].Condition``."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        else:
            out.append(f".{part}" if out else part)
    return "".join(out)


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                self.line_starts.append(i + 1)
        self.spans: dict[JsonPath, Span] = {}
        self.duplicates: list[JsonPath] = []

    def pos(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, offset) - 1
        return line + 1, offset - self.line_starts[line] + 1

    def fail(
        self, message: str, offset: int, path: JsonPath, *, limit: bool = False
    ) -> JsonSyntaxError:
        line, column = self.pos(min(offset, len(self.text)))
        return JsonSyntaxError(message, line, column, path, limit=limit)

    def skip(self, i: int) -> int:
        text = self.text
        n = len(text)
        while i < n and text[i] in _WS:
            i += 1
        return i

    def value(self, i: int, path: JsonPath, depth: int) -> tuple[object, int]:
        i = self.skip(i)
        if depth > _MAX_DEPTH:
            raise self.fail(f"nesting deeper than {_MAX_DEPTH} levels", i, path, limit=True)
        text = self.text
        if i >= len(text):
            raise self.fail("unexpected end of input, expected a value", i, path)
        ch = text[i]
        start = i
        result: object
        if ch == "{":
            result, i = self.obj(i + 1, path, depth)
        elif ch == "[":
            result, i = self.arr(i + 1, path, depth)
        elif ch == '"':
            result, i = self.string(i, path)
        elif text.startswith("true", i):
            result, i = True, i + 4
        elif text.startswith("false", i):
            result, i = False, i + 5
        elif text.startswith("null", i):
            result, i = None, i + 4
        else:
            m = _NUMBER.match(text, i)
            if m is None or m.end() == i:
                raise self.fail(f"unexpected character {ch!r}, expected a value", i, path)
            integer, frac, exp = m.groups()
            if m.end() - i > _MAX_NUMBER_CHARS:
                raise self.fail(
                    f"number longer than {_MAX_NUMBER_CHARS} characters", i, path, limit=True
                )
            result = float(integer + (frac or "") + (exp or "")) if frac or exp else int(integer)
            i = m.end()
        line, column = self.pos(start)
        end_line, end_column = self.pos(i)
        self.spans[path] = Span(line, column, end_line, end_column)
        return result, i

    def string(self, i: int, path: JsonPath) -> tuple[str, int]:
        try:
            text, end = _scanstring(self.text, i + 1, True)
        except json.JSONDecodeError as exc:
            raise self.fail(exc.msg.lower(), exc.pos, path) from None
        lone = _SURROGATE.search(text)
        if lone is not None:
            # "\ud800" alone decodes to no character at all: no UTF-8 text (which is what a
            # policy is, RFC 8259 section 8.1) can hold it, and printing it would fail later
            raise self.fail(
                f"lone surrogate \\u{ord(lone.group()):04x} is not a character", i, path
            )
        return str(text), int(end)

    def obj(self, i: int, path: JsonPath, depth: int) -> tuple[dict[str, object], int]:
        out: dict[str, object] = {}
        i = self.skip(i)
        if i < len(self.text) and self.text[i] == "}":
            return out, i + 1
        while True:
            i = self.skip(i)
            if i >= len(self.text) or self.text[i] != '"':
                raise self.fail("expected a property name in double quotes", i, path)
            key, i = self.string(i, path)
            i = self.skip(i)
            if i >= len(self.text) or self.text[i] != ":":
                raise self.fail(f"expected ':' after property name {key!r}", i, path)
            child = (*path, key)
            if key in out:
                self.duplicates.append(child)
            out[key], i = self.value(i + 1, child, depth + 1)
            i = self.skip(i)
            if i < len(self.text) and self.text[i] == ",":
                i += 1
                continue
            if i < len(self.text) and self.text[i] == "}":
                return out, i + 1
            raise self.fail("expected ',' or '}' after a property value", i, path)

    def arr(self, i: int, path: JsonPath, depth: int) -> tuple[list[object], int]:
        out: list[object] = []
        i = self.skip(i)
        if i < len(self.text) and self.text[i] == "]":
            return out, i + 1
        while True:
            item, i = self.value(i, (*path, len(out)), depth + 1)
            out.append(item)
            i = self.skip(i)
            if i < len(self.text) and self.text[i] == ",":
                i += 1
                continue
            if i < len(self.text) and self.text[i] == "]":
                return out, i + 1
            raise self.fail("expected ',' or ']' after an array element", i, path)


def load_json(text: str) -> LoadedJson:
    """Decode ``text`` and record the span of every value; raise `JsonSyntaxError` if invalid."""
    scanner = _Scanner(text)
    value, end = scanner.value(0, (), 0)
    end = scanner.skip(end)
    if end != len(text):
        raise scanner.fail("unexpected text after the JSON document", end, ())
    return LoadedJson(value, scanner.spans, tuple(scanner.duplicates))
