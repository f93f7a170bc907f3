"""Configuration: rule selection, and suppressions that each carry a required reason.

Config comes from ``[tool.lspolicy]`` in ``pyproject.toml`` or from ``lspolicy.toml``; statement
suppressions also from a ``.lspolicy.toml`` beside the policies (see `lspolicy.lint.config`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lspolicy.lint import ConfigError, LintConfig, lint_paths, load_config
from lspolicy.lint.config import find_config, load_sidecar

WIDE = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "BreakGlass", "Effect": "Allow", "Action": "lightsail:*", "Resource": "*"},
        {"Sid": "Stop", "Effect": "Allow", "Action": "lightsail:Stop*", "Resource": "*"},
    ],
}


def _policies(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "admin.json").write_text(json.dumps(WIDE, indent=2))
    (folder / "old.json").write_text(
        json.dumps({"Version": "2008-10-17", "Statement": WIDE["Statement"][1]})
    )
    return folder


def _codes(findings: list) -> list[tuple[str, str | None, bool]]:  # type: ignore[type-arg]
    return [(f.code, f.sid, f.is_suppressed) for f in findings]


def test_pyproject_select_ignore_and_suppressions(tmp_path: Path) -> None:
    folder = _policies(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        """
[project]
name = "x"

[tool.lspolicy]
select = ["LSP1"]
fail-on = "warning"   # another part of lspolicy's key: left alone

[tool.lspolicy.ignore]
LSP116 = "duplicates are generated; the generator is fixed in #7"

[[tool.lspolicy.per-path-ignores]]
path = "policies/old.json"
codes = ["LSP119"]
reason = "legacy policy, rewritten in #42"

[[tool.lspolicy.suppress]]
path = "policies/admin.json"
sid = "BreakGlass"
codes = ["wildcard-action-on-all-resources"]
reason = "break-glass role, reviewed by security"
"""
    )
    config = load_config(start=folder)
    assert config.source == str(tmp_path / "pyproject.toml")
    findings = lint_paths([folder], config)
    got = _codes(findings)
    assert ("LSP116", "Stop", False) not in got  # ignored everywhere
    assert ("LSP108", "BreakGlass", True) in got  # suppressed, still reported
    assert ("LSP108", "Stop", False) in got  # another statement: not covered
    assert ("LSP119", None, True) in got
    reasons = {f.suppressed.reason for f in findings if f.suppressed}
    assert reasons == {"break-glass role, reviewed by security", "legacy policy, rewritten in #42"}


def test_lspolicy_toml_wins_over_pyproject_in_the_same_folder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.lspolicy]\nselect = ["LSP101"]\n')
    (tmp_path / "lspolicy.toml").write_text('select = ["LSP108"]\n')
    assert find_config(tmp_path) == tmp_path / "lspolicy.toml"
    assert load_config(start=tmp_path).select == ("LSP108",)


def test_no_config_is_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_config(tmp_path) is None or find_config(tmp_path) != tmp_path / "pyproject.toml"


def test_sidecar_suppresses_one_statement_with_its_reason(tmp_path: Path) -> None:
    folder = _policies(tmp_path)
    (folder / ".lspolicy.toml").write_text(
        """
[[suppress]]
file = "admin.json"
sid = "BreakGlass"
codes = ["LSP108"]
reason = "break-glass role; reviewed by security 2024-05"
"""
    )
    findings = lint_paths([folder / "admin.json"], LintConfig())
    by_sid = {(f.code, f.sid): f for f in findings}
    hit = by_sid[("LSP108", "BreakGlass")]
    assert hit.suppressed is not None
    assert hit.suppressed.reason == "break-glass role; reviewed by security 2024-05"
    assert hit.suppressed.origin.endswith(".lspolicy.toml suppress[0]")
    assert by_sid[("LSP108", "Stop")].suppressed is None
    assert not any(f.is_suppressed for f in lint_paths([folder], LintConfig(sidecars=False)))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[tool.lspolicy.ignore]\nLSP118 = ""\n', "needs a `reason`"),
        ('[[tool.lspolicy.suppress]]\npath = "a.json"\ncodes = ["LSP108"]\nreason = "r"\n', "needs `sid`"),
        ('[[tool.lspolicy.per-path-ignores]]\npath = "a.json"\ncodes = ["LSP108"]\n', "needs a `reason`"),
        ('[tool.lspolicy]\nselect = ["LSP7"]\n', "unknown rule 'LSP7'"),
        ('[[tool.lspolicy.per-path-ignores]]\npath = "a"\ncodes = ["nope"]\nreason = "r"\n', "unknown rule 'nope'"),
        ("[tool.lspolicy\n", "invalid TOML"),
    ],
)  # fmt: skip
def test_bad_config_is_an_error_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(tmp_path / "pyproject.toml")
    assert str(tmp_path / "pyproject.toml") in str(info.value)


def test_bad_sidecar_lists_every_problem(tmp_path: Path) -> None:
    (tmp_path / ".lspolicy.toml").write_text(
        '[[suppress]]\nfile = "a.json"\ncodes = ["LSP108"]\n\n[[suppress]]\nreason = "r"\n'
        "codes = []\nextra = 1\n"
    )
    with pytest.raises(ConfigError) as info:
        load_sidecar(tmp_path)
    problems = info.value.problems
    assert any("suppress[0] needs a `reason`" in p for p in problems)
    assert any("suppress[1] needs `file`" in p for p in problems)
    assert any("unknown key 'extra'" in p for p in problems)


def test_parse_errors_cannot_be_suppressed(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text('{"Statement": [}')
    (tmp_path / ".lspolicy.toml").write_text(
        '[[suppress]]\nfile = "broken.json"\ncodes = ["ALL"]\nreason = "r"\n'
    )
    (finding,) = lint_paths([tmp_path], LintConfig())
    assert finding.code == "LSP001" and not finding.is_suppressed


def test_cli_selection_on_top_of_the_file() -> None:
    base = LintConfig(select=("LSP1",), ignore={"LSP116": "reason"})
    merged = base.with_cli(select=["LSP108"], ignore=["LSP109"])
    assert merged.select == ("LSP108",)
    assert set(merged.ignore) == {"LSP116", "LSP109"}
    with pytest.raises(ConfigError, match="unknown rule selector"):
        base.with_cli(ignore=["LSP7x"])
