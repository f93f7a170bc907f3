"""Write a JSON document back in the style its file was written in.

A fix (`lspolicy.lint.finding.Fix`) is a whole document; writing it with ``json.dumps(indent=2)``
would re-indent every line of a file that used tabs or four spaces, unfold a compact one-liner,
expand every ``["a", "b"]`` and drop the trailing newline, so a one-word fix would show as a
whole-file diff in review. `JsonStyle.of` reads the style of the text as written — indentation
unit, separators, which containers were on one line, trailing newline, byte-order mark, whether
non-ASCII was escaped — and `JsonStyle.render` writes a document back in it. Key order is the
document's own (Python dicts keep it). Rendering the unchanged document gives the text back for
files written by ``json.dumps`` (any indent) and most hand-written ones.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from lspolicy.parse.jsonpos import JsonPath, load_json

__all__ = ["JsonStyle"]

_INDENT = re.compile(r"\n([ \t]+)\S")


def _separators(text: str) -> tuple[str, str]:
    """The item and key separators used outside strings (``", "``/``","``, ``": "``/``":"``)."""
    spaced = {",": 0, ":": 0}
    tight = {",": 0, ":": 0}
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in spaced:
            after = text[i + 1 : i + 2]
            if after == " ":
                spaced[ch] += 1
            elif after not in ("\n", "\r"):
                tight[ch] += 1
    item = ", " if spaced[","] >= tight[","] else ","
    key = ": " if spaced[":"] >= tight[":"] else ":"
    return item, key


@dataclass(frozen=True, slots=True)
class JsonStyle:
    """How a JSON file is laid out."""

    indent: str | None
    """One level of indentation (``"  "``, ``"\\t"``...); None for a one-line document."""
    item_separator: str = ", "
    key_separator: str = ": "
    inline: frozenset[JsonPath] = frozenset()
    """Containers written on one line in a multi-line document."""
    newline_at_end: bool = True
    bom: bool = False
    ensure_ascii: bool = False
    crlf: bool = False

    @classmethod
    def of(cls, text: str) -> JsonStyle:
        """The style of ``text`` (a JSON document)."""
        bom = text.startswith("\ufeff")
        body = text.lstrip("\ufeff")
        crlf = "\r\n" in body
        body = body.replace("\r\n", "\n")
        item, key = _separators(body)
        stripped = body.strip()
        ensure_ascii = stripped.isascii() and "\\u" in stripped
        if "\n" not in stripped:
            return cls(None, item, key, frozenset(), body.endswith("\n"), bom, ensure_ascii, crlf)
        units = [m.group(1) for m in _INDENT.finditer(stripped)]
        unit = min(units, key=len) if units else "  "
        inline: set[JsonPath] = set()
        try:
            spans = load_json(stripped).spans
        except ValueError:
            spans = {}
        for path, span in spans.items():
            if span.line == span.end_line:
                inline.add(path)
        return cls(unit, item, key, frozenset(inline), body.endswith("\n"), bom, ensure_ascii, crlf)

    def _scalar(self, value: object) -> str:
        return json.dumps(value, ensure_ascii=self.ensure_ascii)

    def _encode(self, value: object, path: JsonPath, level: int) -> str:
        if isinstance(value, dict):
            items = [
                f"{self._scalar(k)}{self.key_separator}{self._encode(v, (*path, k), level + 1)}"
                for k, v in value.items()
            ]
            return self._container("{", "}", items, path, level)
        if isinstance(value, list):
            items = [self._encode(v, (*path, i), level + 1) for i, v in enumerate(value)]
            return self._container("[", "]", items, path, level)
        return self._scalar(value)

    def _container(
        self, open_: str, close: str, items: list[str], path: JsonPath, level: int
    ) -> str:
        if not items:
            return open_ + close
        if self.indent is None or (path in self.inline and all("\n" not in i for i in items)):
            return open_ + self.item_separator.join(items) + close
        pad = "\n" + self.indent * (level + 1)
        return open_ + pad + ("," + pad).join(items) + "\n" + self.indent * level + close

    def render(self, document: object) -> str:
        """``document`` as JSON text in this style."""
        text = self._encode(document, (), 0) + ("\n" if self.newline_at_end else "")
        if self.crlf:
            text = text.replace("\n", "\r\n")
        return ("\ufeff" if self.bom else "") + text
