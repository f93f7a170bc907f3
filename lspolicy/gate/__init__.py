"""The CI gate: parse + lint + policy tests (+ no-new-access against a git ref) over a folder,
one report, rendered in the formats CI systems read (`lspolicy.gate.formats`)."""

from lspolicy.gate.report import CaseOutcome, GateReport
from lspolicy.gate.run import run_gate

__all__ = ["CaseOutcome", "GateReport", "run_gate"]
