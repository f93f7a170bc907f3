"""The engine and ``lspolicy lint``: parse errors as findings, positions, output, exit codes."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from lspolicy import parse_policy
from lspolicy.errors import LspolicyError
from lspolicy.lint import LintConfig, LintInputError, lint_paths, lint_policy
from lspolicy.lint.cli import register

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]


def test_parse_errors_are_findings_with_line_and_column() -> None:
    findings = lint_paths([FIXTURES / "LSP001" / "fires-invalid-json.json"])
    (f,) = findings
    assert (f.code, f.severity, f.location.line, f.location.column) == ("LSP001", "error", 4, 24)
    assert "invalid JSON" in f.message
    (g,) = lint_paths([FIXTURES / "LSP001" / "fires-bad-effect.json"])
    assert (g.location.path, g.location.line, g.hint) == (
        "Statement.Effect",
        3,
        "did you mean 'Allow'?",
    )


def test_lint_policy_without_text_uses_the_model_spans() -> None:
    text = (FIXTURES / "LSP101" / "fires-plural-stop.json").read_text()
    policy = parse_policy(text, source="p.json")
    (with_text,) = lint_policy(policy, text=text)
    (without,) = lint_policy(policy)
    assert (with_text.location.line, with_text.location.column) == (7, 17)  # the entry itself
    assert (without.location.line, without.location.column) == (4, 5)  # its statement
    assert with_text.location.path == "Statement[0].Action"
    assert with_text.sid == "StopTypo"
    assert with_text.fix is not None and '"lightsail:StopInstance"' in with_text.fix.document


def test_the_bundled_policies_are_clean() -> None:
    """Each bundled policy alone, and each principal's set as the bundled test files attach
    them (the gate), lint clean. (All of them at once would be no principal's rights: it would
    take the boundary's Allow, which grants nothing, for a grant.)"""
    from lspolicy.gate.run import run_gate  # noqa: PLC0415

    files = sorted((REPO / "policies").rglob("*.json"))
    assert len(files) > 10
    for f in files:
        assert [str(x) for x in lint_paths([f], LintConfig(sidecars=False))] == []
    report = run_gate([REPO / "policies"], config=LintConfig(sidecars=False))
    assert report.findings == () and report.problems == ()


def test_a_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(LintInputError, match="no such file"):
        lint_paths([tmp_path / "nope.json"])
    (tmp_path / "latin1.json").write_bytes(b'{"Sid": "\xe9"}')
    with pytest.raises(LintInputError, match="not UTF-8"):
        lint_paths([tmp_path / "latin1.json"])


def _run(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="lspolicy")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    out = io.StringIO()
    return args.run(args, out), out.getvalue()


def test_lint_text_output_and_exit_codes(tmp_path: Path) -> None:
    code, out = _run("lint", str(FIXTURES / "LSP101" / "fires-plural-stop.json"))
    assert code == 1
    first, hint, fix, summary = out.splitlines()
    assert first.endswith(
        ":7:17: LSP101 [error] unknown action `lightsail:StopInstances`: lightsail defines no "
        "such action, so it matches no request"
    )
    assert hint == "  hint: did you mean `lightsail:StopInstance`?"
    assert fix == "  fix (unsafe): replace `lightsail:StopInstances` with `lightsail:StopInstance`"
    assert summary == "1 finding"


def test_lint_config_errors_and_selection(tmp_path: Path) -> None:
    with pytest.raises(LspolicyError):
        _run("lint", str(REPO / "policies"), "--config", str(tmp_path / "none.toml"))
    path = str(FIXTURES / "LSP108" / "fires-lightsail-star.json")
    assert _run("lint", path, "--ignore", "LSP108")[0] == 0
    code, out = _run("lint", path, "--select", "LSP101,LSP108", "--format", "json")
    assert code == 1
    (finding,) = json.loads(out)
    assert finding["code"] == "LSP108" and finding["severity"] == "security"
    assert set(finding) >= {"location", "title", "message", "hint", "fix", "related", "suppressed"}
    assert finding["location"]["line"] > 0
