"""Wildcard matching for IAM's ``*`` and ``?``, in linear time, with no regular expressions.

IAM patterns (actions, resources, ``StringLike``, ``ArnLike``) use ``*`` for any run of characters
and ``?`` for one character. Translating them into regular expressions by string replacement is
how older tools got both escaping bugs and catastrophic backtracking (``a*a*a*a*b``). Here a
pattern is split at its stars into fixed-length pieces; the first piece is anchored at the start,
the last at the end, and each middle piece is found at its leftmost place after the previous one.
Because pieces have fixed length, leftmost placement is always optimal, so one left-to-right
pass decides the match: O(len(text) * len(pattern)) at worst, usually ``str.find``'s speed. A
piece with ``?`` holes is checked run by run between its holes, so a placement costs the
piece's length, not its length times its number of holes (``*a?a?a?...b*`` stays
len(text) * len(pattern): ``bench/pathological.py`` prints the growth exponent).

A pattern arrives as tokens, not text, so that a literal ``*`` produced by the policy variable
``${*}`` (or by a substituted value) is never mistaken for a wildcard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["ANY", "STAR", "Glob", "Token", "compile_glob", "has_wildcard", "tokens_of"]


class _Wild:
    __slots__ = ("symbol",)

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol

    def __repr__(self) -> str:
        return self.symbol


STAR: Final = _Wild("*")
"""Token for ``*``: any run of characters, including none."""
ANY: Final = _Wild("?")
"""Token for ``?``: exactly one character."""

Token = str | _Wild


def tokens_of(text: str) -> list[Token]:
    """Tokens of a pattern written in a policy: ``*`` and ``?`` are wildcards, all else literal."""
    out: list[Token] = []
    buf: list[str] = []
    for ch in text:
        if ch in "*?":
            if buf:
                out.append("".join(buf))
                buf.clear()
            out.append(STAR if ch == "*" else ANY)
        else:
            buf.append(ch)
    if buf:
        out.append("".join(buf))
    return out


def has_wildcard(tokens: Iterable[Token]) -> bool:
    """Whether any token is a wildcard."""
    return any(isinstance(t, _Wild) for t in tokens)


@dataclass(frozen=True, slots=True)
class _Piece:
    """A star-free run: ``text`` with ``?`` positions in ``holes`` (their chars are ignored)."""

    text: str
    holes: tuple[int, ...]
    anchor: str  # the longest hole-free run, used to find candidates quickly
    anchor_at: int
    runs: tuple[tuple[int, str], ...]
    """The hole-free runs with their offsets: a placement is checked run by run, so one check
    costs O(len(text)) whatever the number of ``?`` (not O(len * holes))."""
    shift_masks: tuple[dict[str, int], int]
    """Shift-And's masks (positions of each character) and the holes' bits, built once."""

    def at(self, text: str, i: int) -> bool:
        n = len(self.text)
        if i < 0 or i + n > len(text):
            return False
        if not self.holes:
            return text.startswith(self.text, i)
        return all(text.startswith(run, i + off) for off, run in self.runs)

    def find(self, text: str, start: int, end: int) -> int:
        """Leftmost i >= start with the piece at i and ending by ``end``; -1 if none."""
        n = len(self.text)
        last = end - n
        if not self.holes:
            return text.find(self.text, start, end)
        if not self.anchor:  # all holes: any position works
            return start if start <= last else -1
        if len(self.runs) > _SHIFT_AND_RUNS:
            return self._shift_and(text, start, end)
        i = start
        while i <= last:
            j = text.find(self.anchor, i + self.anchor_at, last + self.anchor_at + len(self.anchor))
            if j < 0:
                return -1
            cand = j - self.anchor_at
            if self.at(text, cand):
                return cand
            i = cand + 1
        return -1

    def _shift_and(self, text: str, start: int, end: int) -> int:
        """The leftmost placement by the Shift-And automaton: one pass over the text with the
        piece's prefixes as bits of an integer, O(len(text) * len(piece) / word) whatever the
        number of holes (the candidate search would check many runs at every position)."""
        n = len(self.text)
        masks, holes = self.shift_masks
        goal = 1 << (n - 1)
        state = 0
        for idx in range(start, end):
            state = ((state << 1) | 1) & (masks.get(text[idx], 0) | holes)
            if state & goal:
                return idx - n + 1
        return -1


_SHIFT_AND_RUNS = 8
"""A piece with more hole-free runs than this is searched by Shift-And: below it, finding the
longest run with ``str.find`` and checking the few runs is faster on real policies."""


def _piece(tokens: Sequence[Token], ignore_case: bool) -> _Piece:
    chars: list[str] = []
    holes: list[int] = []
    for t in tokens:
        if t is ANY:
            holes.append(len(chars))
            chars.append("?")
        else:
            assert isinstance(t, str)
            chars.extend(t.lower() if ignore_case else t)
    text = "".join(chars)
    # longest run without holes, for candidate search
    best, best_at, run_at = "", 0, 0
    runs: list[tuple[int, str]] = []
    bounds = [*holes, len(text)]
    for h in bounds:
        run = text[run_at:h]
        if run:
            runs.append((run_at, run))
        if len(run) > len(best):
            best, best_at = run, run_at
        run_at = h + 1
    masks: dict[str, int] = {}
    for off, run in runs:
        for k, ch in enumerate(run):
            masks[ch] = masks.get(ch, 0) | (1 << (off + k))
    hole_bits = sum(1 << j for j in holes)
    return _Piece(text, tuple(holes), best, best_at, tuple(runs), (masks, hole_bits))


class Glob:
    """A compiled pattern. ``glob(text)`` says whether ``text`` matches the whole pattern."""

    __slots__ = ("__call__", "ignore_case", "pattern")

    def __init__(self, tokens: Sequence[Token], *, ignore_case: bool = False) -> None:
        self.ignore_case = ignore_case
        self.pattern = "".join(t if isinstance(t, str) else t.symbol for t in tokens)
        self.__call__: Callable[[str], bool] = _compile(tokens, ignore_case)

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r})"


def _split(tokens: Sequence[Token]) -> list[list[Token]]:
    pieces: list[list[Token]] = [[]]
    for t in tokens:
        if t is STAR:
            pieces.append([])
        else:
            pieces[-1].append(t)
    return pieces


def _compile(tokens: Sequence[Token], ignore_case: bool) -> Callable[[str], bool]:
    raw = _split(tokens)
    pieces = [_piece(p, ignore_case) for p in raw]
    fold: Callable[[str], str] = str.lower if ignore_case else str
    if len(pieces) == 1:
        only = pieces[0]
        if not only.holes:
            lit = only.text
            if ignore_case:
                return lambda s: s.lower() == lit
            return lit.__eq__
        n = len(only.text)

        def one_piece(s: str) -> bool:
            s = fold(s)  # fold first: lower-casing can change the length ('İ' -> 'i̇')
            return len(s) == n and only.at(s, 0)

        return one_piece
    first, last, middle = pieces[0], pieces[-1], pieces[1:-1]
    need = sum(len(p.text) for p in pieces)
    if not middle and not first.holes and not last.holes:
        head, tail = first.text, last.text
        if not tail:
            if not head:
                return lambda s: True
            if ignore_case:
                return lambda s: s.lower().startswith(head)
            return lambda s: s.startswith(head)
        if not head:
            if ignore_case:
                return lambda s: s.lower().endswith(tail)
            return lambda s: s.endswith(tail)
        if ignore_case:

            def head_tail(s: str) -> bool:
                s = s.lower()
                return len(s) >= need and s.startswith(head) and s.endswith(tail)

            return head_tail
        return lambda s: len(s) >= need and s.startswith(head) and s.endswith(tail)

    def match(s: str) -> bool:
        if ignore_case:
            s = s.lower()
        n = len(s)
        if n < need or not first.at(s, 0) or not last.at(s, n - len(last.text)):
            return False
        pos = len(first.text)
        end = n - len(last.text)
        for piece in middle:
            i = piece.find(s, pos, end)
            if i < 0:
                return False
            pos = i + len(piece.text)
        return True

    return match


def compile_glob(pattern: str | Sequence[Token], *, ignore_case: bool = False) -> Glob:
    """Compile a pattern (policy text, or tokens) once; call the result to match strings."""
    tokens = tokens_of(pattern) if isinstance(pattern, str) else pattern
    return Glob(tokens, ignore_case=ignore_case)
