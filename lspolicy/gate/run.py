"""Run the gate over paths: parse and lint every policy, run every policy test file."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from lspolicy.cases import LoadedCases, load_case_file, run_cases, run_properties
from lspolicy.errors import PolicyParseError, Problem
from lspolicy.explain import render_text
from lspolicy.gate.report import CaseOutcome, GateReport, PropertyOutcome
from lspolicy.lint.config import LintConfig, load_config
from lspolicy.lint.engine import lint_paths, policy_files
from lspolicy.lint.finding import Finding, Severity

__all__ = ["TEST_SUFFIX", "run_gate", "test_files"]

TEST_SUFFIX = ".lspolicy-test.yaml"


def test_files(paths: Sequence[str | Path]) -> list[Path]:
    """Every ``*.lspolicy-test.yaml`` under ``paths``, sorted."""
    found: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.update(f for f in p.rglob(f"*{TEST_SUFFIX}") if f.is_file())
        elif p.name.endswith(TEST_SUFFIX):
            found.add(p)
    return sorted(found)


def _principal_groups(loaded_files: Sequence[LoadedCases]) -> list[list[Path]]:
    groups: dict[tuple[Path, ...], None] = {}
    for loaded in loaded_files:
        for spec in loaded.spec.principals.values():
            # identity policies only: a boundary grants nothing, so it is no part of the rights
            paths = [Path(os.path.normpath(loaded.path.parent / p)) for p in spec.policies]
            if len(paths) > 1:
                groups[tuple(sorted(paths))] = None
    return [list(g) for g in groups]


def run_gate(
    paths: Sequence[str | Path],
    *,
    config: LintConfig | None = None,
    fail_on: Severity = Severity.WARNING,
) -> GateReport:
    """Parse + lint every policy under ``paths`` and run every policy test file there."""
    cfg = config if config is not None else load_config(start=Path(paths[0]) if paths else None)
    files = policy_files(paths)
    problems: list[Problem] = []
    cases: list[CaseOutcome] = []
    texts: dict[str, str] = {}
    loaded_files = []
    for tf in test_files(paths):
        try:
            loaded_files.append(load_case_file(tf))
        except PolicyParseError as exc:
            problems.extend(exc.problems)
    # Each policy is linted on its own; each principal's policies (as the test files attach
    # them) are linted together too, so cross-policy rules (privilege escalation through tags)
    # see exactly one principal's rights, never a mix of several principals'.
    found: dict[Finding, None] = {}
    for f in files:
        found.update(dict.fromkeys(lint_paths([f], cfg)))
    for group in _principal_groups(loaded_files):
        found.update(dict.fromkeys(lint_paths(group, cfg)))
    findings = sorted(
        found, key=lambda x: (x.location.file, x.location.line, x.location.column, x.code)
    )
    properties: list[PropertyOutcome] = []
    for loaded in loaded_files:
        for index, prop in enumerate(run_properties(loaded)):
            line = loaded.property_lines[index] if index < len(loaded.property_lines) else 0
            properties.append(
                PropertyOutcome(
                    str(loaded.path),
                    line,
                    prop.prop.name,
                    prop.result,
                    prop.message,
                    "\n".join(prop.lines),
                )
            )
    for loaded in loaded_files:
        tf = loaded.path
        texts.update(loaded.texts)
        for index, result in enumerate(run_cases(loaded)):
            cases.append(
                CaseOutcome(
                    file=str(tf),
                    line=loaded.case_lines[index] if index < len(loaded.case_lines) else 0,
                    name=result.case.name,
                    expect=result.case.expect,
                    decision=result.decision,
                    passed=result.passed,
                    explanation=render_text(result.decision, loaded.texts),
                )
            )
    return GateReport(
        paths=tuple(str(p) for p in paths),
        policy_files=tuple(str(f) for f in files),
        findings=tuple(findings),
        cases=tuple(cases),
        problems=tuple(problems),
        properties=tuple(properties),
        fail_on=fail_on,
        texts=texts,
    )
