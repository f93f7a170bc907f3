"""Spellings of a value under IAM's ``...IgnoreCase`` operators: the other members of a value's
case class, for the exact proof (`lspolicy.generate.classes`).

``StringEqualsIgnoreCase`` is "exact matching, ignoring case" and ``StringNotEqualsIgnoreCase``
its negation
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String);
the page does not say how case is folded. lspolicy's engine (`lspolicy.conditions.string`) and
the intent's reading (`lspolicy.generate.semantics`) both lower-case both sides with Python's
``str.lower``, so a value's case class here is every string with the same ``lower()``.

``str.lower`` maps one character to one character, except capital I with dot above (U+0130, to
``i`` + U+0307) and a final capital sigma (U+03A3 lowers to final sigma U+03C2 at the end of a
word, to U+03C3 elsewhere); values whose lower-cased form holds U+0307, U+03C3 or U+03C2 are not
decided here (`members` answers
None and the proof says it is not exact). Otherwise the spellings of a lower-cased form are the
product, per character, of the characters that lower to it: the character itself, its upper and
title case, and the few that are neither (`_OTHER_UPPER`, checked against a full scan of
Unicode by the tests).
"""

from __future__ import annotations

import functools
from collections.abc import Collection

__all__ = ["members", "other_spelling", "spelling_options"]

_OTHER_UPPER: dict[str, str] = {
    "k": "\u212a",  # KELVIN SIGN
    "\u00e5": "\u212b",  # ANGSTROM SIGN
    "\u03c9": "\u2126",  # OHM SIGN
    "\u03b8": "\u03f4",  # GREEK CAPITAL THETA SYMBOL
    "\u00df": "\u1e9e",  # LATIN CAPITAL LETTER SHARP S
}
"""Characters that lower to a character without being its ``upper()`` or ``title()``
(Unicode 14.0, Python 3.11)."""

_UNDECIDED = frozenset("\u0307\u03c3\u03c2")
"""Lower-cased characters whose spellings are not one character for one (see above)."""


@functools.cache
def spelling_options(ch: str) -> tuple[str, ...]:
    """Every single character whose ``lower()`` is ``ch``, ``ch`` first when it is one."""
    candidates = [ch, ch.upper(), ch.title(), *_OTHER_UPPER.get(ch, "")]
    return tuple(dict.fromkeys(x for x in candidates if len(x) == 1 and x.lower() == ch))


def other_spelling(text: str) -> str | None:
    """A different string that ignoring case makes equal to ``text``: its ``swapcase()`` when
    that differs and lowers alike, else ``text`` with its first character that has another
    spelling respelled; None when ``text`` has no other spelling (``"123"``)."""
    swapped = text.swapcase()
    if swapped != text and swapped.lower() == text.lower():
        return swapped
    for i, ch in enumerate(text):
        for x in spelling_options(ch.lower()):
            if x != ch:
                out = text[:i] + x + text[i + 1 :]
                if out.lower() == text.lower():
                    return out
    return None


def members(
    folded: str,
    *,
    start: str = "",
    avoid_prefixes: Collection[str] = (),
    avoid: Collection[str] = (),
    need: int = 1,
) -> list[str] | None:
    """Up to ``need`` distinct strings ``w`` with ``w.lower() == folded`` that start with
    ``start``, start with none of ``avoid_prefixes`` and are none of ``avoid``; fewer when fewer
    exist (the search is complete: an empty answer means there is none). None when ``folded``
    is not decided here (see the module docstring)."""
    if any(ch in _UNDECIDED for ch in folded) or folded.lower() != folded:
        return None
    options = [spelling_options(ch) for ch in folded]
    if any(not o for o in options):
        return None
    if len(start) > len(folded) or any(s not in options[i] for i, s in enumerate(start)):
        return []
    # only strings of the same length as ``folded`` can be its spellings
    blocked = [p for p in avoid_prefixes if len(p) <= len(folded)]
    whole = {a for a in avoid if len(a) == len(folded)}
    out: list[str] = []

    def walk(partial: str) -> None:
        if len(out) >= need:
            return
        if any(partial.startswith(p) for p in blocked):
            return
        if len(partial) == len(folded):
            if partial not in whole:
                out.append(partial)
            return
        constrained = any(p.startswith(partial) for p in blocked) or any(
            a.startswith(partial) for a in whole
        )
        if not constrained:
            # every completion qualifies: the first ``need`` of them, varying the last
            # positions that have a choice
            rest = options[len(partial) :]
            for tail in _completions(rest, need - len(out)):
                out.append(partial + tail)
            return
        for x in options[len(partial)]:
            walk(partial + x)

    walk(start)
    return out


def _completions(options: list[tuple[str, ...]], need: int) -> list[str]:
    """Up to ``need`` distinct strings taking one character of each position's options."""
    base = [o[0] for o in options]
    out = ["".join(base)]
    for i in range(len(options) - 1, -1, -1):
        for x in options[i][1:]:
            if len(out) >= need:
                return out
            out.append("".join([*base[:i], x, *base[i + 1 :]]))
    return out[:need]
