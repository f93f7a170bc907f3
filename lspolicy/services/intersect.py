"""Whether a policy's resource ARN and a resource type's ARN template can match a common ARN.

A policy ARN such as ``arn:aws:s3:::logs-*`` fits a resource type when some ARN matches both it
and the type's template from the Service Authorization Reference
(``arn:${Partition}:s3:::${BucketName}``). Both become patterns over five kinds of element: a
literal character, one character, one character other than ``:``, any run, and any run without
``:``. The policy side follows the Resource element's matching
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html, as
`lspolicy.evaluate.resource` implements it): ``*`` and ``?`` stay within a colon-separated
segment, except a ``*`` that ends a segment, which may run past colons. On the template side, a
variable of the partition, service, region or account is a non-empty run without ``:``; a
variable of the resource part (``${ObjectName}``) is any non-empty run.

The check walks pairs of positions (one in each pattern), the product of the two patterns'
automata: O(len(a) * len(b)) states, each visited once, no backtracking and no regular
expressions, so ``a*a*a*a*b`` costs nothing extra. ARNs are case-sensitive
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

__all__ = ["ArnPattern", "arn_patterns_intersect", "policy_arn_pattern", "template_arn_pattern"]


class _Class:
    __slots__ = ("colon", "run", "symbol")

    def __init__(self, symbol: str, *, run: bool, colon: bool) -> None:
        self.symbol, self.run, self.colon = symbol, run, colon

    def __repr__(self) -> str:
        return self.symbol


_ONE: Final = _Class("?", run=False, colon=True)
_ONE_NC: Final = _Class("[^:]", run=False, colon=False)
_RUN: Final = _Class("*", run=True, colon=True)
_RUN_NC: Final = _Class("[^:]*", run=True, colon=False)

_Element = str | _Class
ArnPattern = tuple[_Element, ...]
"""A pattern as a sequence of elements (one literal character, or a character class or run)."""

_ESCAPES = {"${*}": "*", "${?}": "?", "${$}": "$"}


def _accepts(e: _Element, ch: _Element) -> bool:
    """Whether single-character elements ``e`` and ``ch`` share a character."""
    if isinstance(e, str) and isinstance(ch, str):
        return e == ch
    if isinstance(e, str):
        return e != ":" or ch is _ONE
    if isinstance(ch, str):
        return ch != ":" or e is _ONE
    return True


def policy_arn_pattern(arn: str) -> ArnPattern:
    """The pattern of an ARN as a policy writes it; a policy variable (``${aws:username}``) is
    any run within its segment; ``${*}``, ``${?}`` and ``${$}`` are literal characters."""
    out: list[_Element] = []
    i, n = 0, len(arn)
    while i < n:
        ch = arn[i]
        if ch == "$" and arn.startswith("${", i) and arn.find("}", i) > 0:
            end = arn.find("}", i)
            var = arn[i : end + 1]
            if var in _ESCAPES:
                out.append(_ESCAPES[var])
            else:
                out.append(_RUN_NC)
            i = end + 1
            continue
        if ch == "*":
            ends_segment = i + 1 == n or arn[i + 1] == ":"
            out.append(_RUN if ends_segment else _RUN_NC)
        elif ch == "?":
            out.append(_ONE_NC)
        else:
            out.append(ch)
        i += 1
    return tuple(out)


def template_arn_pattern(template: str) -> ArnPattern:
    """The pattern of a reference ARN template: each ``${Variable}`` is a non-empty run, without
    ``:`` before the resource part (the sixth segment)."""
    out: list[_Element] = []
    colons = 0
    i, n = 0, len(template)
    while i < n:
        end = template.find("}", i)
        if template.startswith("${", i) and end > 0:
            out.extend((_ONE, _RUN) if colons >= 5 else (_ONE_NC, _RUN_NC))
            i = end + 1
            continue
        colons += template[i] == ":"
        out.append(template[i])
        i += 1
    return tuple(out)


def arn_patterns_intersect(a: Sequence[_Element], b: Sequence[_Element]) -> bool:
    """Whether some string matches both patterns."""
    n, m = len(a), len(b)
    seen = {(0, 0)}
    todo = [(0, 0)]
    while todo:
        i, j = todo.pop()
        if i == n and j == m:
            return True
        x = a[i] if i < n else None
        y = b[j] if j < m else None
        steps: list[tuple[int, int]] = []
        x_run = isinstance(x, _Class) and x.run
        y_run = isinstance(y, _Class) and y.run
        if x_run:
            assert isinstance(x, _Class)
            steps.append((i + 1, j))  # the run ends here
            if y is not None and not y_run and (x.colon or _accepts(_ONE_NC, y)):
                steps.append((i, j + 1))  # the run takes the character y spells next
        if y_run:
            assert isinstance(y, _Class)
            steps.append((i, j + 1))
            if x is not None and not x_run and (y.colon or _accepts(_ONE_NC, x)):
                steps.append((i + 1, j))
        if x is not None and y is not None and not x_run and not y_run and _accepts(x, y):
            steps.append((i + 1, j + 1))
        for s in steps:
            if s not in seen:
                seen.add(s)
                todo.append(s)
    return False
