"""Helpers shared by the readers: a sub-document's spans, problems located in the file."""

from __future__ import annotations

from collections.abc import Mapping

from lspolicy.errors import Location, Problem
from lspolicy.parse.jsonpos import JsonPath, LoadedJson, Span, format_path

__all__ = ["at", "nearest_span", "source_problem", "subtree"]


def at(value: object, path: JsonPath) -> object:
    """The value at ``path`` inside ``value`` (``None`` when absent)."""
    for part in path:
        if isinstance(part, int) and isinstance(value, list) and 0 <= part < len(value):
            value = value[part]
        elif isinstance(part, str) and isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def subtree(loaded: LoadedJson, prefix: JsonPath, value: object) -> LoadedJson:
    """``value`` (the document found at ``prefix``) with the spans and duplicates under
    ``prefix``, re-keyed by paths inside the document."""
    n = len(prefix)
    spans = {p[n:]: s for p, s in loaded.spans.items() if p[:n] == prefix}
    dups = tuple(d[n:] for d in loaded.duplicates if d[:n] == prefix)
    return LoadedJson(value, spans, dups)


def nearest_span(spans: Mapping[JsonPath, Span], path: JsonPath) -> Span | None:
    """The span of ``path``, or of its nearest enclosing value that has one."""
    while True:
        span = spans.get(path)
        if span is not None or not path:
            return span
        path = path[:-1]


LIMIT = "limit"
"""The code of a problem met because a source went past an input limit (alias expansion,
nesting, number length, size): such a file is refused as input, not reported as a policy
finding, so the gate exits 2 for it, as for any input it cannot read."""


def source_problem(
    file: str,
    path: JsonPath | str,
    span: Span | None,
    message: str,
    hint: str | None = None,
    *,
    limit: bool = False,
) -> Problem:
    """A ``source`` problem at ``path`` (a file path, or an already formatted name); with
    ``limit``, a `LIMIT` problem: the text went past one of lspolicy's input limits."""
    where = path if isinstance(path, str) else format_path(path)
    loc = Location(file, where, span.line if span else 0, span.column if span else 0)
    return Problem(message, loc, hint, code=LIMIT if limit else "source")
