"""Positions across layers of text: a policy written as a string inside another file.

A terraform plan holds a policy as a JSON *string* inside the plan's JSON; a ``.tf`` heredoc holds
it as raw text inside HCL. `MappedText` is the decoded text plus, for every decoded character,
the offset in the file where that character was written (an escape ``\\"`` maps to its
backslash), so the spans `load_json` gives for the decoded policy move back to the file exactly.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from lspolicy.parse.jsonpos import JsonPath, LoadedJson, Span

__all__ = ["LineIndex", "MappedText", "decode_json_string", "remap"]

_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}  # fmt: skip


class LineIndex:
    """1-based line/column <-> 0-based offset in one text."""

    def __init__(self, text: str) -> None:
        self.starts = [0]
        self.starts.extend(i + 1 for i, ch in enumerate(text) if ch == "\n")

    def position(self, offset: int) -> tuple[int, int]:
        """The 1-based line and column of ``offset``."""
        line = bisect.bisect_right(self.starts, offset) - 1
        return line + 1, offset - self.starts[line] + 1

    def offset(self, line: int, column: int) -> int:
        """The offset of a 1-based line and column."""
        return self.starts[line - 1] + column - 1


@dataclass(frozen=True, slots=True)
class MappedText:
    """Decoded ``text``; ``origin[i]`` is the file offset of decoded character ``i``.

    ``origin`` has one more entry than ``text``: where the text ends in the file.
    """

    text: str
    origin: tuple[int, ...]


def decode_json_string(raw: str, start: int) -> MappedText:
    """Decode the inside of a JSON string literal (``raw``, quotes excluded) found at file
    offset ``start``; escapes are RFC 8259's (the file was already read as valid JSON)."""
    out: list[str] = []
    origin: list[int] = []
    i = 0
    n = len(raw)
    while i < n:
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            origin.append(start + i)
            i += 1
            continue
        esc = raw[i + 1]
        if esc != "u":
            out.append(_SIMPLE_ESCAPES[esc])
            origin.append(start + i)
            i += 2
            continue
        code = int(raw[i + 2 : i + 6], 16)
        width = 6
        if 0xD800 <= code < 0xDC00 and raw.startswith("\\u", i + 6):
            low = int(raw[i + 8 : i + 12], 16)
            if 0xDC00 <= low < 0xE000:
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                width = 12
        out.append(chr(code))
        origin.append(start + i)
        i += width
    origin.append(start + n)
    return MappedText("".join(out), tuple(origin))


def remap(loaded: LoadedJson, mapped: MappedText, file_lines: LineIndex) -> LoadedJson:
    """Move the spans of JSON decoded from ``mapped.text`` to positions in the file."""
    inner = LineIndex(mapped.text)
    spans: dict[JsonPath, Span] = {}
    for path, s in loaded.spans.items():
        start = mapped.origin[inner.offset(s.line, s.column)]
        end_at = inner.offset(s.end_line, s.end_column)
        # the end is exclusive: the last character's origin plus its written width
        end = mapped.origin[end_at] if end_at < len(mapped.text) else mapped.origin[-1]
        line, column = file_lines.position(start)
        end_line, end_column = file_lines.position(end)
        spans[path] = Span(line, column, end_line, end_column)
    return LoadedJson(loaded.value, spans, loaded.duplicates)
