#!/usr/bin/env python3
"""Refresh ``lspolicy/lightsail/data/service.json`` from AWS's Service Authorization Reference.

The page https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
holds three tables: the actions (access level, resource types with ``*`` marking the required
ones, condition keys, dependent actions), the resource types (ARN format, resource condition
keys) and the condition keys (type, description). This script downloads the page (or reads a
saved copy with ``--from-file``), parses those tables with the standard library's
``html.parser``, and writes the data file in one stable byte form (sorted keys, two-space
indent, trailing newline), so a refresh that changes nothing changes no byte.

Fields a person curates (``notes``, ``operation_extra_actions``, ``operations_without_action``,
``actions_without_operation``) are not on the page: a refresh keeps them from the existing file,
and so it keeps any action recorded with ``"provenance": "botocore-model"`` that the page does
not (yet) list. ``--check`` reports the differences and exits 1 without writing.

Usage::

    python scripts/refresh_lightsail_data.py                 # download and write
    python scripts/refresh_lightsail_data.py --from-file PAGE.html --retrieved 2026-01-31
    python scripts/refresh_lightsail_data.py --from-file PAGE.html --check
"""

from __future__ import annotations

import argparse
import datetime
import difflib
import importlib
import json
import sys
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

PAGE_URL = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html"
)
PAGE_TITLE = "Actions, resources, and condition keys for Amazon Lightsail"
SERVICE = "lightsail"
DATA_PATH = (
    Path(__file__).resolve().parent.parent / "lspolicy" / "lightsail" / "data" / "service.json"
)
SAR_PROVENANCE = "service-authorization-reference"
BOTOCORE_PROVENANCE = "botocore-model"
# Curated by people, absent from the page: carried over from the existing file on refresh.
CURATED_FIELDS = (
    "notes",
    "operation_extra_actions",
    "operations_without_action",
    "actions_without_operation",
)
_PARAGRAPH_TAGS = frozenset({"p", "br", "li", "div"})


class PageParseError(ValueError):
    """The page does not have the tables this script knows how to read."""


# --------------------------------------------------------------------------- HTML tables


@dataclass
class _Cell:
    rowspan: int
    header: bool
    paragraphs: list[list[str]] = field(default_factory=lambda: [[]])

    def items(self) -> list[str]:
        """The cell's paragraphs (``<p>`` blocks), each with its whitespace collapsed."""
        out = [" ".join("".join(chunks).split()) for chunks in self.paragraphs]
        return [item for item in out if item]

    def text(self) -> str:
        """The whole cell as one line of text."""
        return " ".join(self.items())

    def compact(self) -> str:
        """The cell with every whitespace character removed (the page splits ARNs over spans)."""
        return "".join(self.text().split())


@dataclass
class _Table:
    rows: list[list[_Cell]] = field(default_factory=list)


class _TableCollector(HTMLParser):
    """Collects every ``<table>`` of a page as rows of cells, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[_Table] = []
        self._open: list[_Table] = []
        self._cell: _Cell | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            table = _Table()
            self.tables.append(table)
            self._open.append(table)
        elif not self._open:
            return
        elif tag == "tr":
            self._open[-1].rows.append([])
        elif tag in ("td", "th"):
            span = dict(attrs).get("rowspan") or "1"
            self._cell = _Cell(rowspan=max(1, int(span)), header=tag == "th")
            if not self._open[-1].rows:
                self._open[-1].rows.append([])
            self._open[-1].rows[-1].append(self._cell)
        elif tag in _PARAGRAPH_TAGS and self._cell is not None:
            self._cell.paragraphs.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._open:
            self._open.pop()
            self._cell = None
        elif tag in ("td", "th"):
            self._cell = None
        elif tag in _PARAGRAPH_TAGS and self._cell is not None:
            self._cell.paragraphs.append([])

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.paragraphs[-1].append(data)


def _expand_rowspans(rows: Sequence[Sequence[_Cell]]) -> Iterator[list[_Cell]]:
    """Yield each row with the cells that earlier rows span into it put back in their columns."""
    pending: dict[int, tuple[_Cell, int]] = {}
    for row in rows:
        cells = iter(row)
        out: list[_Cell] = []
        column = 0
        while True:
            if column in pending:
                cell, left = pending.pop(column)
                if left > 1:
                    pending[column] = (cell, left - 1)
            else:
                nxt = next(cells, None)
                if nxt is None:
                    if any(c > column for c in pending):
                        column += 1
                        continue
                    break
                cell = nxt
                if cell.rowspan > 1:
                    pending[column] = (cell, cell.rowspan - 1)
            out.append(cell)
            column += 1
        yield out


def _header_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _classify(table: _Table) -> tuple[str, dict[str, int]] | None:
    """Name a table by its header row: ``actions``, ``resource_types`` or ``condition_keys``."""
    if not table.rows or not all(cell.header for cell in table.rows[0]):
        return None
    headers = [_header_key(cell.text()) for cell in table.rows[0]]
    columns = {name: index for index, name in enumerate(headers)}
    if headers and headers[0] == "actions" and "access level" in columns:
        return "actions", columns
    if headers[:2] == ["resource types", "arn"]:
        return "resource_types", columns
    if headers[:1] == ["condition keys"] and "type" in columns:
        return "condition_keys", columns
    return None


def _column(columns: dict[str, int], *prefixes: str) -> int:
    for prefix in prefixes:
        for name, index in columns.items():
            if name.startswith(prefix):
                return index
    raise PageParseError(f"the table has no column named {prefixes[0]!r}")


# --------------------------------------------------------------------------- the three tables


def _parse_actions(table: _Table, columns: dict[str, int]) -> dict[str, Any]:
    name_col = _column(columns, "actions")
    desc_col = _column(columns, "description")
    level_col = _column(columns, "access level")
    res_col = _column(columns, "resource types")
    keys_col = _column(columns, "condition keys")
    deps_col = _column(columns, "dependent actions")
    actions: dict[str, Any] = {}
    current: dict[str, Any] | None = None
    current_cell: _Cell | None = None
    for row in _expand_rowspans(table.rows[1:]):
        if len(row) <= max(name_col, desc_col, level_col, res_col, keys_col, deps_col):
            raise PageParseError(f"an actions row has {len(row)} cells")
        if row[name_col] is not current_cell:
            current_cell = row[name_col]
            name = current_cell.text()
            if not name:
                raise PageParseError("an actions row has no action name")
            if name in actions:
                raise PageParseError(f"the page lists the action {name!r} twice")
            current = {
                "access_level": row[level_col].text(),
                "condition_keys": [],
                "dependent_actions": [],
                "description": row[desc_col].text(),
                "provenance": SAR_PROVENANCE,
                "resource_types": [],
            }
            actions[name] = current
        assert current is not None
        keys = row[keys_col].items()
        resources = row[res_col].items()
        for resource in resources:
            required = resource.endswith("*")
            current["resource_types"].append(
                {
                    "condition_keys": list(keys),
                    "name": resource.rstrip("*").strip(),
                    "required": required,
                }
            )
        if not resources:
            _extend_unique(current["condition_keys"], keys)
        _extend_unique(current["dependent_actions"], row[deps_col].items())
    return actions


def _extend_unique(target: list[str], items: Sequence[str]) -> None:
    for item in items:
        if item not in target:
            target.append(item)


def _parse_resource_types(table: _Table, columns: dict[str, int]) -> dict[str, Any]:
    name_col = _column(columns, "resource types")
    arn_col = _column(columns, "arn")
    keys_col = _column(columns, "condition keys")
    out: dict[str, Any] = {}
    for row in _expand_rowspans(table.rows[1:]):
        name = row[name_col].text()
        if name in out:
            raise PageParseError(f"the page lists the resource type {name!r} twice")
        out[name] = {"arn": row[arn_col].compact(), "condition_keys": row[keys_col].items()}
    return out


def _parse_condition_keys(table: _Table, columns: dict[str, int]) -> dict[str, Any]:
    name_col = _column(columns, "condition keys")
    desc_col = _column(columns, "description")
    type_col = _column(columns, "type")
    out: dict[str, Any] = {}
    for row in _expand_rowspans(table.rows[1:]):
        name = row[name_col].compact()
        if name in out:
            raise PageParseError(f"the page lists the condition key {name!r} twice")
        out[name] = {"description": row[desc_col].text(), "type": row[type_col].text()}
    return out


_TABLE_PARSERS = {
    "actions": _parse_actions,
    "resource_types": _parse_resource_types,
    "condition_keys": _parse_condition_keys,
}


def parse_page(html: str) -> dict[str, Any]:
    """Parse the page's three tables into ``{"actions", "resource_types", "condition_keys"}``.

    Tables are recognised by their header row, not their position, so the newer page layout
    (which adds an "API operations" table first) parses the same way.
    """
    collector = _TableCollector()
    collector.feed(html)
    collector.close()
    found: dict[str, Any] = {}
    for table in collector.tables:
        kind = _classify(table)
        if kind is None:
            continue
        name, columns = kind
        if name in found:
            raise PageParseError(f"the page has two {name.replace('_', ' ')} tables")
        found[name] = _TABLE_PARSERS[name](table, columns)
    missing = [name for name in _TABLE_PARSERS if name not in found]
    if missing:
        raise PageParseError(f"the page has no {', '.join(missing)} table")
    return found


# --------------------------------------------------------------------------- the document


def build_document(
    page: dict[str, Any], *, retrieved: str, previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Combine parsed page tables with the curated fields of the previous data file."""
    previous = previous or {}
    actions = dict(page["actions"])
    for name, action in previous.get("actions", {}).items():
        if action.get("provenance") == BOTOCORE_PROVENANCE and name not in actions:
            actions[name] = action
    doc: dict[str, Any] = {
        "service": SERVICE,
        "source": {"retrieved": retrieved, "title": PAGE_TITLE, "url": PAGE_URL},
        "actions": actions,
        "resource_types": page["resource_types"],
        "condition_keys": page["condition_keys"],
    }
    for name in CURATED_FIELDS:
        doc[name] = previous.get(name, [] if name == "notes" else {})
    return doc


def dumps(doc: dict[str, Any]) -> str:
    """The one serialisation of the data file: sorted keys, two-space indent, final newline."""
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def download(url: str = PAGE_URL, *, timeout: float = 60.0) -> str:
    """Fetch the page over HTTPS."""
    request = urllib.request.Request(url, headers={"User-Agent": "lspolicy-refresh/1"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body: bytes = response.read()
        charset = response.headers.get_content_charset() or "utf-8"
    return body.decode(charset)


def botocore_gaps(doc: dict[str, Any]) -> list[str]:
    """Botocore operations that are not an action and not in ``operations_without_action``."""
    try:
        loaders = importlib.import_module("botocore.loaders")
    except ImportError:  # pragma: no cover - botocore is present where tests run
        return []
    model = loaders.Loader().load_service_model("lightsail", "service-2")
    known = set(doc["actions"]) | set(doc.get("operations_without_action", {}))
    return sorted(set(model["operations"]) - known)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--from-file", type=Path, help="parse a saved copy of the page")
    parser.add_argument("--data", type=Path, default=DATA_PATH, help="the data file to update")
    parser.add_argument("--retrieved", help="date the page was fetched (default: today, UTC)")
    parser.add_argument("--check", action="store_true", help="report differences, write nothing")
    args = parser.parse_args(argv)

    html = args.from_file.read_text(encoding="utf-8") if args.from_file else download()
    previous: dict[str, Any] | None = None
    current_text = args.data.read_text(encoding="utf-8") if args.data.exists() else ""
    if current_text:
        previous = json.loads(current_text)
    retrieved = args.retrieved or datetime.datetime.now(datetime.UTC).date().isoformat()
    if args.check and previous is not None and not args.retrieved:
        retrieved = previous["source"]["retrieved"]
    try:
        doc = build_document(parse_page(html), retrieved=retrieved, previous=previous)
    except PageParseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    new_text = dumps(doc)
    for operation in botocore_gaps(doc):
        print(f"warning: botocore operation `{operation}` has no action", file=sys.stderr)

    if args.check:
        if new_text == current_text:
            print(f"{args.data}: up to date")
            return 0
        sys.stdout.writelines(
            difflib.unified_diff(
                current_text.splitlines(keepends=True),
                new_text.splitlines(keepends=True),
                fromfile=str(args.data),
                tofile="refreshed",
            )
        )
        return 1
    args.data.parent.mkdir(parents=True, exist_ok=True)
    args.data.write_text(new_text, encoding="utf-8")
    print(f"wrote {args.data}: {len(doc['actions'])} actions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
