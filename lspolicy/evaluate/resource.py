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

When no segment but the last ends in ``*`` (the usual ARN pattern:
``arn:aws:lightsail:us-east-1:111122223333:Instance/*``), no segment can swallow another, so
segment ``i`` of the pattern can only match segment ``i`` of the ARN: the ARN has exactly as
many segments (at least as many, when the last pattern segment ends in ``*``: it swallows the
rest), literal segments are compared as strings, and ``*`` alone matches any single segment.
The same answer as the walk, one split and one pass.
"""

from __future__ import annotations

from collections.abc import Sequence

from lspolicy.glob import STAR, Glob, Token

__all__ = ["ResourcePattern", "compile_resource_pattern"]


class ResourcePattern:
    """A compiled resource pattern; call it with an ARN."""

    __slots__ = ("_aligned", "_open_end", "segments", "text")

    def __init__(
        self,
        text: str,
        segments: tuple[tuple[Glob, bool], ...],
        literals: tuple[str | None, ...] | None = None,
    ) -> None:
        self.text = text
        self.segments = segments
        self._open_end = bool(segments) and segments[-1][1]
        aligned = bool(segments) and not any(star for _, star in segments[:-1])
        self._aligned: tuple[tuple[str | None, Glob], ...] | None = (
            tuple(zip(literals or (None,) * len(segments), (g for g, _ in segments), strict=True))
            if aligned
            else None
        )

    def __repr__(self) -> str:
        return f"ResourcePattern({self.text!r})"

    def __call__(self, arn: str) -> bool:
        parts = arn.split(":")
        end = len(parts)
        aligned = self._aligned
        if aligned is not None:
            if end < len(aligned) or (end > len(aligned) and not self._open_end):
                return False
            for part, (literal, glob) in zip(parts, aligned, strict=False):
                if part != literal if literal is not None else not glob(part):
                    return False
            return True
        return self._walk(parts)

    def walk(self, arn: str) -> bool:
        """The general walk alone (no aligned shortcut): what the shortcut must agree with."""
        return self._walk(arn.split(":"))

    def _walk(self, parts: list[str]) -> bool:
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
    literals = tuple(
        "".join(t for t in seg if isinstance(t, str))
        if all(isinstance(t, str) for t in seg)
        else None
        for seg in segments
    )
    return ResourcePattern(text, compiled, literals)
