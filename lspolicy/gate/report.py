"""The gate's result as data: findings, policy-test outcomes, input problems, and the verdict.

Exit codes follow ruff and pytest: 0 clean, 1 findings or failures at or above ``fail_on``,
2 usage error, unreadable or malformed input (a test file that cannot be loaded included) or
internal error (the last is decided by the CLI).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lspolicy.errors import Problem
from lspolicy.gate.discover import Skipped
from lspolicy.lint.finding import Finding, Severity
from lspolicy.model.decision import Decision

__all__ = ["UNDECIDED_CODES", "CaseOutcome", "GateReport", "PropertyOutcome"]

UNDECIDED_CODES = frozenset({"LSP902"})
"""Finding codes that say a question was left undecided (not that something is wrong): when
they are all a failing gate has, it exits 2, as an undecided property does."""


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    """One case of a policy test file: what was expected, what the engine decided."""

    file: str
    line: int
    name: str
    expect: str
    decision: Decision
    passed: bool
    explanation: str


@dataclass(frozen=True, slots=True)
class PropertyOutcome:
    """A property of a policy test file, decided exactly by the semantic diff."""

    file: str
    line: int
    name: str
    result: str  # PASS | FAIL | UNKNOWN
    message: str
    explanation: str

    @property
    def passed(self) -> bool:
        """Only an exact PASS passes; UNKNOWN fails (the gate never guesses)."""
        return self.result == "PASS"


@dataclass(frozen=True, slots=True)
class GateReport:
    """Everything the gate found over one run."""

    paths: tuple[str, ...]
    policy_files: tuple[str, ...]
    """The files policies were read from (policy files, and files that hold policies)."""
    findings: tuple[Finding, ...]
    cases: tuple[CaseOutcome, ...]
    problems: tuple[Problem, ...] = ()
    properties: tuple[PropertyOutcome, ...] = ()
    """Test files that could not be loaded (unknown names, bad YAML...): always failing."""
    fail_on: Severity = Severity.WARNING
    base: str | None = None
    texts: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    skipped: tuple[Skipped, ...] = ()
    policy_count: int | None = None
    """How many policies were read: one per policy file, plus each policy inside a wrapper or
    source file (None: one per entry of ``policy_files``)."""

    @property
    def policies(self) -> int:
        """The number of policies the gate read."""
        return len(self.policy_files) if self.policy_count is None else self.policy_count

    """Files and folders under the paths that were not read, each with the reason."""

    @property
    def active_findings(self) -> tuple[Finding, ...]:
        """Findings not suppressed."""
        return tuple(f for f in self.findings if not f.is_suppressed)

    @property
    def suppressed_findings(self) -> tuple[Finding, ...]:
        """Findings suppressed, each with its reason."""
        return tuple(f for f in self.findings if f.is_suppressed)

    @property
    def failing_findings(self) -> tuple[Finding, ...]:
        """Active findings at or above the ``fail_on`` severity."""
        return tuple(f for f in self.active_findings if f.severity.rank >= self.fail_on.rank)

    @property
    def failed_cases(self) -> tuple[CaseOutcome, ...]:
        """Policy-test cases whose decision was not the expected one."""
        return tuple(c for c in self.cases if not c.passed)

    @property
    def failed_properties(self) -> tuple[PropertyOutcome, ...]:
        """Properties that do not hold, or that could not be decided exactly."""
        return tuple(p for p in self.properties if not p.passed)

    @property
    def ok(self) -> bool:
        """True when the gate passes."""
        return (
            not self.failing_findings
            and not self.failed_cases
            and not self.failed_properties
            and not self.problems
        )

    @property
    def exit_code(self) -> int:
        """2 when an input could not be read (a malformed test file, an unknown action in a
        test, an unreadable folder: the same problems ``lspolicy test`` exits 2 for), else 0
        when the gate passes, 1 when it fails, and 2 when all it cannot pass on is a question
        it could not decide exactly within ``--timeout``: a property, or whether a change
        grants new access (an LSP902 finding, one of `UNDECIDED_CODES`)."""
        if self.problems:
            return 2
        if self.ok:
            return 0
        definite = (
            any(f.code not in UNDECIDED_CODES for f in self.failing_findings)
            or self.failed_cases
            or any(p.result == "FAIL" for p in self.properties)
        )
        # only undecided questions (properties, LSP902): cannot say, as `diff` exits
        return 1 if definite else 2

    def counts(self) -> dict[str, int]:
        """Active findings by severity."""
        out = {s.value: 0 for s in Severity}
        for f in self.active_findings:
            out[f.severity.value] += 1
        return out
