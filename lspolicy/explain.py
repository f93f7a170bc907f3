"""A person's view of one decision: what was decided, which statements decided it (quoted with
their line numbers), and for a deny, the allow statements that came closest and what failed.

Reviewers read this; it must be exact and short. JSON output is `Decision.to_dict`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: `Style` is imported by every command, the model is not
    from lspolicy.model.decision import Decision, NearMiss, StatementRef

__all__ = ["Style", "render_text"]

_MAX_QUOTED_LINES = 12
_MAX_NEAR_MISSES = 3


class Style:
    """ANSI styling, or none (``Style(color=False)``) when the output is not a terminal."""

    def __init__(self, *, color: bool) -> None:
        self.color = color

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def good(self, text: str) -> str:
        """Green."""
        return self._wrap("32", text)

    def bad(self, text: str) -> str:
        """Red."""
        return self._wrap("31", text)

    def dim(self, text: str) -> str:
        """Faint."""
        return self._wrap("2", text)

    def bold(self, text: str) -> str:
        """Bold."""
        return self._wrap("1", text)


def _quote(ref: StatementRef, texts: Mapping[str, str], style: Style, indent: str) -> list[str]:
    text = texts.get(ref.policy)
    if text is None or ref.span is None:
        return []
    lines = text.splitlines()
    first, last = ref.span.line, min(ref.span.end_line, len(lines))
    shown = range(first, min(last, first + _MAX_QUOTED_LINES - 1) + 1)
    width = len(str(last))
    out = [f"{indent}{style.dim(str(n).rjust(width) + ' |')} {lines[n - 1]}" for n in shown]
    if last >= first + _MAX_QUOTED_LINES:
        out.append(f"{indent}{style.dim(' ' * width + ' |')} ... ({last - first + 1} lines)")
    return out


def _where(ref: StatementRef) -> str:
    return f"{ref.policy}:{ref.span.line}" if ref.span else ref.policy


def _near_miss(miss: NearMiss, texts: Mapping[str, str], style: Style) -> list[str]:
    ref = miss.statement
    out = [f"    {ref.label}  ({_where(ref)})"]
    if not miss.principal_matched:
        out.append(f"      {style.bad('x')} Principal does not name the caller")
    if not miss.resource_matched:
        out.append(f"      {style.bad('x')} Resource does not match the requested resource")
    for failed in miss.failed_conditions:
        actual = "absent" if failed.actual is None else ", ".join(repr(v) for v in failed.actual)
        wanted = ", ".join(repr(v) for v in failed.values)
        line = f" (line {failed.span.line})" if failed.span else ""
        out.append(
            f"      {style.bad('x')} {failed.operator} {failed.key} [{wanted}]{line}; request has: {actual}"
        )
    return out


def render_text(
    decision: Decision, texts: Mapping[str, str] | None = None, *, style: Style | None = None
) -> str:
    """Render a decision for a terminal. ``texts`` maps policy source names to their text."""
    texts = texts or {}
    style = style or Style(color=False)
    verdict = {
        "allowed": style.good("ALLOW"),
        "explicitDeny": style.bad("DENY (explicit)"),
        "implicitDeny": style.bad("DENY (implicit)"),
    }[decision.decision]
    out = [
        f"{style.bold(verdict)}  {decision.action} on {decision.resource}",
        f"  {decision.reason}",
    ]
    if decision.matched:
        heading = "decided by" if decision.decision == "explicitDeny" else "allowed by"
        out.append(f"  {heading}:")
        for ref in decision.matched:
            out.append(f"    {ref.label}  ({_where(ref)}, {ref.policy_kind})")
            out.extend(_quote(ref, texts, style, "      "))
    if decision.decision == "implicitDeny" and decision.near_misses:
        out.append("  closest allow statements:")
        for miss in decision.near_misses[:_MAX_NEAR_MISSES]:
            out.extend(_near_miss(miss, texts, style))
        hidden = len(decision.near_misses) - _MAX_NEAR_MISSES
        if hidden > 0:
            out.append(style.dim(f"    ... and {hidden} more"))
    if decision.missing_context:
        out.append(
            style.dim(
                "  context keys the policies read but the request lacks: "
                + ", ".join(decision.missing_context)
            )
        )
    return "\n".join(out)
