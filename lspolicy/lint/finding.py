"""What the linter reports: a `Finding` with its rule, grade, location and optional `Fix`.

Severities are IAM Access Analyzer's four finding types
(https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_ValidatePolicyFinding.html):
*error* — a part of the policy is not functional; *security* — the policy allows access that is
overly permissive; *warning* — not a security issue, but the policy does not follow policy-writing
practice; *suggestion* — a stylistic improvement that does not change access.

A fix is a whole patched policy document (JSON text) with a safety, as ruff grades its fixes
(``crates/ruff_diagnostics/src/fix.rs``): a *safe* fix changes no decision for any request (the
test suite proves it by evaluating before and after), an *unsafe* one may change access and needs
a person to look.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

__all__ = [
    "SEVERITY_ORDER",
    "Finding",
    "FindingLocation",
    "Fix",
    "FixSafety",
    "Severity",
    "Suppressed",
]


class Severity(StrEnum):
    """How bad a finding is, in Access Analyzer's four grades."""

    ERROR = "error"
    SECURITY = "security"
    WARNING = "warning"
    SUGGESTION = "suggestion"

    @property
    def rank(self) -> int:
        """Position in `SEVERITY_ORDER` (0 is the mildest), for ``--fail-on``-style thresholds."""
        return SEVERITY_ORDER.index(self)


SEVERITY_ORDER: tuple[Severity, ...] = (
    Severity.SUGGESTION,
    Severity.WARNING,
    Severity.SECURITY,
    Severity.ERROR,
)
"""Mildest first. An error (a part of the policy does not work) ranks above a security finding:
a gate at ``security`` still fails on a broken policy."""

FixSafety = Literal["safe", "unsafe"]


@dataclass(frozen=True, slots=True)
class FindingLocation:
    """Where a finding is: the policy file, the JSON path, and 1-based start and end positions.

    ``line`` is 0 when the position is unknown (a policy linted without its text).
    """

    file: str
    path: str = ""
    line: int = 0
    column: int = 0
    end_line: int = 0
    end_column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form."""
        return {
            "file": self.file,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }


@dataclass(frozen=True, slots=True)
class Fix:
    """A patched policy document that resolves a finding, and how safe applying it is."""

    description: str
    document: str
    """The whole patched policy, as JSON text."""
    safety: FixSafety

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form."""
        return {"description": self.description, "safety": self.safety, "document": self.document}


@dataclass(frozen=True, slots=True)
class Suppressed:
    """Why a finding is not counted: the suppression's required reason and where it was given."""

    reason: str
    origin: str
    """The config file (and entry) that holds the suppression."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem a rule found in a policy.

    ``related`` points at other places that take part (the tagging statement of a privilege
    escalation, the statement that shadows a duplicate). ``suppressed`` is set when a config or
    sidecar suppression with its reason covers the finding: it is reported, but not counted.
    """

    code: str
    severity: Severity
    title: str
    message: str
    location: FindingLocation
    sid: str | None = None
    hint: str | None = None
    fix: Fix | None = None
    related: tuple[FindingLocation, ...] = ()
    suppressed: Suppressed | None = field(default=None, compare=False)

    @property
    def is_suppressed(self) -> bool:
        """Whether a suppression (with its reason) covers this finding."""
        return self.suppressed is not None

    def __str__(self) -> str:
        text = f"{self.location}: {self.code} [{self.severity}] {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form, for the gate's reports."""
        return {
            "code": self.code,
            "severity": str(self.severity),
            "title": self.title,
            "message": self.message,
            "hint": self.hint,
            "sid": self.sid,
            "location": self.location.to_dict(),
            "related": [r.to_dict() for r in self.related],
            "fix": self.fix.to_dict() if self.fix else None,
            "suppressed": (
                {"reason": self.suppressed.reason, "origin": self.suppressed.origin}
                if self.suppressed
                else None
            ),
        }
