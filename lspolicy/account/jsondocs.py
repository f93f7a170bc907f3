"""Reading an export file: bounded, UTF-8, one JSON document or several one after another (the
AWS CLI writes one per page with ``--no-paginate`` and repeated calls), each problem naming the
file, the document, line and column.
"""

from __future__ import annotations

import json
from pathlib import Path

from lspolicy.account.model import AccountInputError
from lspolicy.errors import Location, Problem
from lspolicy.textfile import read_bounded

__all__ = ["MAX_EXPORT_BYTES", "fail", "read_documents"]

MAX_EXPORT_BYTES = 256 << 20
"""256 MiB: a large account's authorization details are tens of megabytes; a guard only."""

_WS = " \t\r\n"


def fail(source: str, path: str, message: str, line: int = 0, column: int = 0) -> AccountInputError:
    """The error for an input that cannot be used at all."""
    return AccountInputError(
        (Problem(message, Location(source, path, line, column), code="input"),)
    )


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def read_documents(path: str | Path, *, limit: int = MAX_EXPORT_BYTES) -> list[object]:
    """Every JSON document in the file at ``path``, in order (at least one)."""
    source = str(path)
    try:
        text = read_bounded(path, limit).decode("utf-8")
    except OSError as exc:
        raise fail(source, "", f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise fail(source, "", "not UTF-8 text") from None
    text = text.lstrip("\ufeff")
    decoder = json.JSONDecoder()
    docs: list[object] = []
    i = 0
    while True:
        while i < len(text) and text[i] in _WS:
            i += 1
        if i >= len(text):
            break
        try:
            value, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError as exc:
            line, col = _line_col(text, exc.pos)
            which = f"document {len(docs) + 1}: " if docs else ""
            raise fail(
                source, "", f"{which}invalid JSON: {exc.msg.lower()} (truncated file?)", line, col
            ) from None
        except RecursionError:
            raise fail(source, "", "JSON nested too deeply") from None
        docs.append(value)
        i = end
    if not docs:
        raise fail(source, "", "empty file: expected a JSON document")
    return docs
