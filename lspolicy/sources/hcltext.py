"""HCL string and heredoc text, decoded with the file offset of every character.

HCL templates: https://developer.hashicorp.com/terraform/language/expressions/strings
- quoted strings take the escapes ``\\n \\r \\t \\" \\\\ \\uNNNN \\UNNNNNNNN``; heredocs take none;
- ``${ ... }`` is an interpolation and ``%{ ... }`` a directive; ``$${`` and ``%%{`` are the
  literal ``${`` and ``%{``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lspolicy.sources.textmap import MappedText

__all__ = ["Interpolation", "Piece", "join", "scan_template"]

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


@dataclass(frozen=True, slots=True)
class Interpolation:
    """A ``${...}`` (or ``%{...}`` when ``directive``) at file offsets ``start``..``end``."""

    expression: str
    start: int
    end: int
    directive: bool = False


Piece = MappedText | Interpolation


def _close(raw: str, i: int) -> int:
    """The index just past the ``}`` closing the template sequence opened before ``i``."""
    depth = 1
    n = len(raw)
    while i < n:
        ch = raw[i]
        if ch == '"':
            i += 1
            while i < n and raw[i] != '"':
                i += 2 if raw[i] == "\\" else 1
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def scan_template(raw: str, start: int, *, quoted: bool) -> list[Piece]:
    """Split template text ``raw`` (found at file offset ``start``) into literal text and
    interpolations; ``quoted`` strings have their escapes decoded."""
    pieces: list[Piece] = []
    out: list[str] = []
    origin: list[int] = []

    def flush(at: int) -> None:
        if out:
            pieces.append(MappedText("".join(out), (*origin, start + at)))
            out.clear()
            origin.clear()

    i = 0
    n = len(raw)
    while i < n:
        ch = raw[i]
        if raw.startswith(("$${", "%%{"), i):
            out.extend((ch, "{"))
            origin.extend((start + i, start + i + 1))
            i += 3
        elif raw.startswith(("${", "%{"), i):
            flush(i)
            end = _close(raw, i + 2)
            body = raw[i + 2 : end - 1].strip().strip("~").strip()
            pieces.append(Interpolation(body, start + i, start + end, directive=ch == "%"))
            i = end
        elif quoted and ch == "\\" and i + 1 < n:
            esc = raw[i + 1]
            width = {"u": 6, "U": 10}.get(esc, 2)
            if esc in "uU":
                try:
                    out.append(chr(int(raw[i + 2 : i + width], 16)))
                except ValueError:
                    out.append(raw[i : i + width])
            else:
                out.append(_ESCAPES.get(esc, esc))
            origin.append(start + i)
            i += width
        else:
            out.append(ch)
            origin.append(start + i)
            i += 1
    flush(n)
    return pieces


def join(pieces: list[Piece], replace: list[str], end: int) -> MappedText:
    """The text with the k-th interpolation replaced by ``replace[k]`` (each replacement's
    characters map to where the interpolation starts); ``end`` is the file offset of the end."""
    text: list[str] = []
    origin: list[int] = []
    k = 0
    for piece in pieces:
        if isinstance(piece, Interpolation):
            text.append(replace[k])
            origin.extend([piece.start] * len(replace[k]))
            k += 1
        else:
            text.append(piece.text)
            origin.extend(piece.origin[:-1])
    origin.append(end)
    return MappedText("".join(text), tuple(origin))
