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
The same answer as the walk, one split and one pass. So it is, whatever the pattern, for an ARN
with exactly as many segments as the pattern (the usual case, ``arn:aws:lightsail:*:111122223333:
Instance/*`` against an instance's ARN): each pattern segment matches at least one ARN segment,
so none can swallow another; and an ARN with fewer segments never matches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lspolicy.glob import STAR, Glob, Token

__all__ = ["ResourcePattern", "compile_resource_pattern"]


class ResourcePattern:
    """A compiled resource pattern; call it with an ARN."""

    __slots__ = ("_aligned", "_by_position", "_open_end", "segments", "text")

    def __init__(
        self,
        text: str,
        segments: tuple[tuple[Glob, bool], ...],
        literals: tuple[str | None, ...] | None = None,
    ) -> None:
        self.text = text
        self.segments = segments
        self._open_end = bool(segments) and segments[-1][1]
        self._aligned = bool(segments) and not any(star for _, star in segments[:-1])
        # each segment's literal text, else its glob's test itself (``Glob`` keeps it in a
        # slot: calling the object looks it up on every call)
        self._by_position: tuple[tuple[str | None, Callable[[str], bool]], ...] = tuple(
            zip(literals or (None,) * len(segments), (g.__call__ for g, _ in segments), strict=True)
        )

    def __repr__(self) -> str:
        return f"ResourcePattern({self.text!r})"

    def __call__(self, arn: str) -> bool:
        parts = arn.split(":")
        end = len(parts)
        by_position = self._by_position
        count = len(by_position)
        if end > count:
            if not self._aligned:  # an inner segment ending in ``*`` may swallow: the walk
                return self._walk(parts)
            if not self._open_end:
                return False
        elif end < count:  # every segment of the pattern matches at least one of the ARN
            return False
        # segment ``i`` matches segment ``i``: the only way when the counts are equal (each
        # pattern segment takes at least one), and when no inner segment can swallow
        for part, (literal, glob) in zip(parts, by_position, strict=False):
            if part != literal if literal is not None else not glob(part):
                return False
        return True

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
