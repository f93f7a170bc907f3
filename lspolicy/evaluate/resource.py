"""Resource ARN patterns, matched segment by segment as the Resource element documents.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
"You can use wildcard characters (* and ?) within the individual segments of an ARN (the parts
separated by colons) ... You can use multiple * or ? characters in each segment. If the *
wildcard is the last character of a resource ARN segment, it can expand to match beyond the
colon boundaries."

So a pattern is split at its colons into segment globs. A segment glob must match one segment
of the ARN, except that a segment ending in ``*`` may also swallow the segments after the one it
matched. Matching walks the pattern once, keeping the set of ARN positions reachable so far:
O(pattern segments x ARN segments) glob calls, each linear. No regular expressions.
"""

from __future__ import annotations

from collections.abc import Sequence

from lspolicy.glob import STAR, Glob, Token

__all__ = ["ResourcePattern", "compile_resource_pattern"]


class ResourcePattern:
    """A compiled resource pattern; call it with an ARN."""

    __slots__ = ("segments", "text")

    def __init__(self, text: str, segments: tuple[tuple[Glob, bool], ...]) -> None:
        self.text = text
        self.segments = segments

    def __repr__(self) -> str:
        return f"ResourcePattern({self.text!r})"

    def __call__(self, arn: str) -> bool:
        parts = arn.split(":")
        end = len(parts)
        reachable = {0}
        for glob, trailing_star in self.segments:
            following: set[int] = set()
            for j in reachable:
                if j < end and glob(parts[j]):
                    if trailing_star:
                        following.update(range(j + 1, end + 1))
                    else:
                        following.add(j + 1)
            if not following:
                return False
            reachable = following
        return end in reachable


def compile_resource_pattern(tokens: Sequence[Token]) -> ResourcePattern:
    """Split tokens at literal colons into segment globs, noting which end in ``*``."""
    segments: list[list[Token]] = [[]]
    for tok in tokens:
        if isinstance(tok, str) and ":" in tok:
            pieces = tok.split(":")
            for i, piece in enumerate(pieces):
                if i:
                    segments.append([])
                if piece:
                    segments[-1].append(piece)
        else:
            segments[-1].append(tok)
    text = "".join(t if isinstance(t, str) else repr(t) for t in tokens)
    compiled = tuple((Glob(seg), bool(seg) and seg[-1] is STAR) for seg in segments)
    return ResourcePattern(text, compiled)
