"""One lint rule as data: its code, name, grade, title, documentation and check.

Rule modules import `Rule` from here; `lspolicy.lint.registry` collects them into ``RULES``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from lspolicy.lint.context import PolicyContext, Report
from lspolicy.lint.finding import Severity

__all__ = ["DOC_SECTIONS", "GroupCheck", "PolicyCheck", "Rule"]

PolicyCheck = Callable[[PolicyContext], Iterable[Report]]
"""A check of one policy."""
GroupCheck = Callable[[Sequence[PolicyContext]], Iterable[tuple[PolicyContext, Report]]]
"""A check across the policies of one principal, reporting in the policy each report is about."""

DOC_SECTIONS = ("What it does", "Why is this bad", "Example", "Use instead", "References")
"""The sections every rule's docstring has, in this order (as ruff documents its rules)."""

_CODE = re.compile(r"LSP\d{3}")


@dataclass(frozen=True, slots=True)
class Rule:
    """One lint rule: stable ``code``, kebab-case ``name``, grade, one-line ``title``, its
    documentation (``doc``), and its check — per policy, or across a principal's policies.

    A rule with neither check is reported by the engine itself (``LSP001``: parse errors).
    """

    code: str
    name: str
    severity: Severity
    title: str
    doc: str = field(repr=False)
    check: PolicyCheck | None = None
    check_group: GroupCheck | None = None
    fixable: bool = False

    def __post_init__(self) -> None:
        if not _CODE.fullmatch(self.code):
            raise RuntimeError(f"lint rule code {self.code!r} is not LSP followed by 3 digits")
        if not self.title or self.title.endswith("."):
            raise RuntimeError(f"{self.code}: a title is one line with no trailing period")
        if self.check is not None and self.check_group is not None:
            raise RuntimeError(f"{self.code}: give one check, per policy or per group")
