"""Which of an inventory's Resource patterns match an instance ARN, without trying every pattern
on every ARN.

An organization's policies name tens of thousands of ARN patterns, most of them within one
account (``arn:aws:lightsail:us-east-1:111122223333:Instance/web-*``). Such a pattern can only
match an ARN whose account segment (and region segment) is that text: ARN segments are separated
by colons, and a wildcard can reach past a colon only when it ends a segment (IAM User Guide,
"IAM JSON policy elements: Resource": "If the * wildcard is the last character of a resource ARN
segment, it can expand to match beyond the colon boundaries"). So a pattern whose first three
segments are plain text (no ``*``, ``?`` or policy variable), and whose account segment is plain
text is filed under that account, and under the region too when that is plain text. A region
segment ending in ``*`` may reach past its colon and take the account's segment too, except in
an ARN with exactly as many segments as the pattern (every pattern segment takes at least one):
such a pattern is filed under its account for ARNs of its own length only. Every other pattern
is tried on every ARN. The filing compares case-folded text, so it only ever widens the set of
patterns tried; each one tried is decided by its own matcher, the engine's. The answer, the
positions of the matching patterns in order, is exactly what trying every pattern gives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["PatternIndex"]

_SPECIAL = ("*", "?", "$")


def _plain(segment: str) -> bool:
    return not any(c in segment for c in _SPECIAL)


class PatternIndex:
    """``hits(arn)``: the positions in ``texts`` of the patterns whose ``matchers`` accept
    ``arn``, ascending. ``texts[i]`` is pattern ``i`` as written: a pattern with ``$`` (a policy
    variable) in its account segment or before it is tried everywhere; variables after it make
    no difference to where it is filed."""

    __slots__ = ("_by_account", "_by_place", "_candidates", "_everywhere", "_matchers", "_reaching")

    def __init__(self, texts: Sequence[str], matchers: Sequence[Callable[[str], bool]]) -> None:
        self._matchers = list(matchers)
        self._by_place: dict[tuple[str, str], list[int]] = {}
        self._by_account: dict[str, list[int]] = {}
        self._reaching: list[tuple[int, str, int]] = []
        """``(segments, account, i)``: a region ending in ``*`` (below)."""
        self._everywhere: list[int] = []
        for i, text in enumerate(texts):
            segments = text.split(":")
            if len(segments) >= 6 and all(_plain(s) for s in segments[:3]):
                region, account = segments[3], segments[4]
                if _plain(account):
                    if region.endswith("*"):
                        self._reaching.append((len(segments), account.lower(), i))
                    elif _plain(region):
                        self._by_place.setdefault((region.lower(), account.lower()), []).append(i)
                    else:
                        self._by_account.setdefault(account.lower(), []).append(i)
                    continue
            self._everywhere.append(i)
        self._candidates: dict[tuple[str, str, int], list[int]] = {}

    def _for(self, arn: str) -> list[int]:
        segments = arn.split(":", 5)
        if len(segments) < 6:
            return list(range(len(self._matchers)))
        count = arn.count(":") + 1
        place = (segments[3].lower(), segments[4].lower(), count)
        got = self._candidates.get(place)
        if got is None:
            # a region ending in ``*`` may take the account's segment too, unless the ARN has
            # exactly as many segments as the pattern: then every pattern segment takes one
            reaching = [i for n, a, i in self._reaching if n != count or a == place[1]]
            got = sorted(
                (
                    *self._by_place.get(place[:2], ()),
                    *self._by_account.get(place[1], ()),
                    *reaching,
                    *self._everywhere,
                )
            )
            self._candidates[place] = got
        return got

    def hits(self, arn: str) -> tuple[int, ...]:
        matchers = self._matchers
        return tuple([i for i in self._for(arn) if matchers[i](arn)])
