"""`PatternIndex` answers exactly what trying every Resource pattern on every ARN answers.

IAM User Guide, "IAM JSON policy elements: Resource": wildcards (``*``, ``?``) work within each
segment of an ARN, and a ``*`` that ends a segment "can expand to match beyond the colon
boundaries" — which is why a pattern is filed under its account only when no earlier segment can
reach past its colon. The patterns here mix literal, wildcard and variable segments in every
position, in both cases, so that the filing's shortcuts are exercised where they are unsound if
wrong.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from lspolicy.account.classes import _matcher
from lspolicy.account.patterns import PatternIndex

_REGIONS = ["us-east-1", "US-EAST-1", "eu-west-1", "us-*", "*", "us-?ast-1", "u*1", ""]
_ACCOUNTS = [
    "111122223333",
    "extra",
    "444455556666",
    "1111*",
    "*",
    "11112222333?",
    "${aws:username}",
    "",
]
_NAMES = ["Instance/web-1", "Instance/*", "Instance/web-*", "*", "Instance/${aws:username}", "x"]
_HEADS = ["arn:aws:lightsail", "arn:aws:*", "arn:*:lightsail", "ARN:aws:lightsail", "*"]


@st.composite
def _pattern(draw: st.DrawFn) -> tuple[str, bool]:
    parts = [draw(st.sampled_from(_HEADS))]
    if draw(st.booleans()):
        parts += [
            draw(st.sampled_from(_REGIONS)),
            draw(st.sampled_from(_ACCOUNTS)),
            draw(st.sampled_from(_NAMES)),
        ]
        if draw(st.integers(0, 4)) == 0:
            parts.append(draw(st.sampled_from(["extra", "*"])))
    return ":".join(parts), draw(st.booleans())


_ARNS = st.builds(
    lambda region, account, name: f"arn:aws:lightsail:{region}:{account}:Instance/{name}",
    st.sampled_from(["us-east-1", "eu-west-1", "US-EAST-1", "us-west-2"]),
    st.sampled_from(["111122223333", "444455556666", "111122223333:extra"]),
    st.sampled_from(["web-1", "db", "alice"]),
) | st.sampled_from(["arn:aws:lightsail", "not-an-arn", ""])


@example(  # a region ending in ``*`` reaches past its colon: the account is not at its place
    [("arn:aws:lightsail:us-*:extra:Instance/web-1", True)],
    ["arn:aws:lightsail:us-east-1:111122223333:extra:Instance/web-1"],
)
@given(st.lists(_pattern(), max_size=12, unique=True), st.lists(_ARNS, min_size=1, max_size=8))
def test_hits_equal_every_pattern_tried(patterns: list[tuple[str, bool]], arns: list[str]) -> None:
    matchers = [_matcher(p, s)[0] for p, s in patterns]
    index = PatternIndex([p for p, _ in patterns], matchers)
    for arn in arns:
        brute = tuple(i for i, m in enumerate(matchers) if m(arn))
        assert index.hits(arn) == brute, arn


def test_a_pattern_in_another_account_is_not_tried() -> None:
    """The point of the index: a pattern filed under one account is never called for another's
    ARN (a matcher that fails the test when called stands in for it)."""
    calls: list[str] = []

    def other(arn: str) -> bool:
        calls.append(arn)
        return True

    index = PatternIndex(["arn:aws:lightsail:us-east-1:444455556666:Instance/*"], [other])
    assert index.hits("arn:aws:lightsail:us-east-1:111122223333:Instance/web-1") == ()
    assert calls == []
    assert index.hits("arn:aws:lightsail:us-east-1:444455556666:Instance/web-1") == (0,)
