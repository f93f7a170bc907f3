"""Run the gate over paths: parse and lint every policy, run every policy test file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lspolicy.cases import load_case_file, run_cases
from lspolicy.errors import PolicyParseError, Problem
from lspolicy.explain import render_text
from lspolicy.gate.report import CaseOutcome, GateReport
from lspolicy.lint.config import LintConfig, load_config
from lspolicy.lint.engine import lint_paths, policy_files
from lspolicy.lint.finding import Severity

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


def run_gate(
    paths: Sequence[str | Path],
    *,
    config: LintConfig | None = None,
    fail_on: Severity = Severity.WARNING,
) -> GateReport:
    """Parse + lint every policy under ``paths`` and run every policy test file there."""
    cfg = config if config is not None else load_config(start=Path(paths[0]) if paths else None)
    files = policy_files(paths)
    findings = lint_paths(paths, cfg)
    problems: list[Problem] = []
    cases: list[CaseOutcome] = []
    texts: dict[str, str] = {}
    for tf in test_files(paths):
        try:
            loaded = load_case_file(tf)
        except PolicyParseError as exc:
            problems.extend(exc.problems)
            continue
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
        fail_on=fail_on,
        texts=texts,
    )
