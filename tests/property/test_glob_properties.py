"""The wildcard matcher agrees with the standard library's ``fnmatch`` on ``*`` and ``?``.

IAM's wildcards: ``*`` matches any run of characters (also none), ``?`` exactly one character
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
``fnmatch.fnmatchcase`` has the same two wildcards plus ``[...]`` sets, so over an alphabet
without ``[`` the two must agree on every pattern and string.
"""

from __future__ import annotations

import fnmatch
import re

from hypothesis import example, given
from hypothesis import strategies as st

from lspolicy.evaluate.resource import compile_resource_pattern
from lspolicy.glob import compile_glob, tokens_of

# ":" and "/" as in ARNs; "." and "\\" are special to regular expressions, never to IAM
patterns = st.text(alphabet="ab:/.\\*?", max_size=12)
texts = st.text(alphabet="ab:/.\\", max_size=14)
mixed_case_patterns = st.text(alphabet="abAB:*?", max_size=10)
mixed_case_texts = st.text(alphabet="abAB:", max_size=12)


@given(patterns, texts)
@example("a*a*a*a*a*b", "a" * 40)
@example("*?*", "")
@example("?", "\\")
def test_glob_agrees_with_fnmatch(pattern: str, text: str) -> None:
    """Case-sensitive matching, as ``StringLike`` and ``ArnLike`` do it."""
    assert compile_glob(pattern)(text) == fnmatch.fnmatchcase(text, pattern)


@given(patterns, st.data())
def test_a_pattern_matches_strings_it_spells(pattern: str, data: st.DataObject) -> None:
    """A string built from the pattern by replacing each ``*`` with any text and each ``?``
    with one character matches it (random strings rarely match, so this aims at matches)."""
    out = []
    for ch in pattern:
        if ch == "*":
            out.append(data.draw(texts, label="for *"))
        elif ch == "?":
            out.append(data.draw(st.sampled_from("ab:/"), label="for ?"))
        else:
            out.append(ch)
    text = "".join(out)
    assert compile_glob(pattern)(text)
    assert fnmatch.fnmatchcase(text, pattern)


@given(mixed_case_patterns, mixed_case_texts)
@example("İ?", "İx")
def test_ignore_case_agrees_with_lower_casing_both(pattern: str, text: str) -> None:
    """Case-insensitive matching (IAM action names:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html)
    is matching after lower-casing both the pattern and the text."""
    expected = fnmatch.fnmatchcase(text.lower(), pattern.lower())
    assert compile_glob(pattern, ignore_case=True)(text) == expected


def documented_resource_match(pattern: str, arn: str) -> bool:
    """The Resource element's rule read literally, as a regular expression (a test oracle):
    ``*`` and ``?`` stay within one colon-separated segment, except that a ``*`` ending a
    segment "can expand to match beyond the colon boundaries"."""
    out = []
    for segment in pattern.split(":"):
        parts = []
        for i, ch in enumerate(segment):
            if ch == "*":
                parts.append(".*" if i == len(segment) - 1 else "[^:]*")
            elif ch == "?":
                parts.append("[^:]")
            else:
                parts.append(re.escape(ch))
        out.append("".join(parts))
    return re.fullmatch(":".join(out), arn, flags=re.DOTALL) is not None


@given(st.text(alphabet="ab:*?", max_size=12), st.text(alphabet="ab:", max_size=12))
@example("arn:aws:lightsail:*", "arn:aws:lightsail:us-east-1:111122223333:Instance/x")
@example("a*:b", "ab:a:b")
@example("a*b*:", "ab:b:")
def test_resource_patterns_follow_the_documented_segment_rule(pattern: str, arn: str) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    — "You can use wildcard characters (* and ?) within the individual segments of an ARN (the
    parts separated by colons) ... If the * wildcard is the last character of a resource ARN
    segment, it can expand to match beyond the colon boundaries." """
    matcher = compile_resource_pattern(tokens_of(pattern))
    assert matcher(arn) == documented_resource_match(pattern, arn)


@given(
    st.lists(st.text(alphabet="ab?", min_size=1, max_size=6), min_size=1, max_size=5),
    st.text(alphabet="ab", max_size=40),
    st.booleans(),
)
@example(["a?a?a?a?a?a?a?a?a?a?b"], "a" * 30, False)
@example(["?a?", "a?a?a?a?a?a?a?a?a?a?"], "ba" * 20, True)
def test_pieces_with_many_holes_agree_with_fnmatch(
    pieces: list[str], text: str, ignore_case: bool
) -> None:
    """Middle pieces with many ``?`` holes take the Shift-And search (more than 8 hole-free
    runs); forced here for every piece, it must still find exactly what ``fnmatch`` finds."""
    import lspolicy.glob as glob_module  # noqa: PLC0415

    pattern = "*" + "*".join(pieces) + "*"
    saved = glob_module._SHIFT_AND_RUNS
    glob_module._SHIFT_AND_RUNS = 0
    try:
        got = compile_glob(pattern, ignore_case=ignore_case)(text.upper() if ignore_case else text)
    finally:
        glob_module._SHIFT_AND_RUNS = saved
    assert got == fnmatch.fnmatchcase(text, pattern)
