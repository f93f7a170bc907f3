"""Lint a policy read out of a wrapper file, and locate each finding in that file.

The policy is linted on its own text; each finding is then placed where the document starts in
the wrapper (its line and column there) with the document's JSON path in front of the
finding's own path (``PolicyInputList[0].Statement[0].Action``), so reports point into the file
a person opens.
"""

from __future__ import annotations

import dataclasses

from lspolicy.errors import PolicyParseError
from lspolicy.gate.kinds import EmbeddedPolicy
from lspolicy.lint.config import LintConfig
from lspolicy.lint.engine import lint_policy, parse_finding
from lspolicy.lint.finding import Finding, FindingLocation
from lspolicy.parse import parse_policy

__all__ = ["lint_embedded"]


def _relocate(finding: Finding, policy: EmbeddedPolicy) -> Finding:
    inner = finding.location.path
    location = FindingLocation(
        file=policy.file,
        path=f"{policy.where}.{inner}" if inner else policy.where,
        line=policy.line,
        column=policy.column,
    )
    return dataclasses.replace(finding, location=location)


def lint_embedded(policy: EmbeddedPolicy, config: LintConfig | None = None) -> list[Finding]:
    """Every finding of one embedded policy (a parse problem is an ``LSP001`` finding)."""
    try:
        parsed = parse_policy(policy.text, source=policy.file, kind=policy.kind)
    except PolicyParseError as exc:
        found = [parse_finding(p) for p in exc.problems]
    else:
        found = lint_policy(parsed, text=policy.text, config=config)
    return [_relocate(f, policy) for f in found]
