"""Unused suppressions are findings (LSP903), at their entry in the TOML file, in every format.

As ruff's unused-noqa (https://docs.astral.sh/ruff/rules/unused-noqa/): a suppression that no
longer suppresses anything would silently hide the next finding in its place. A suppression is
only judged by a run that covered it (see `lspolicy.lint.unused`).
"""

from __future__ import annotations

import contextlib
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lspolicy.cli import main

ADMIN = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "BreakGlass", "Effect": "Allow", "Action": "lightsail:*", "Resource": "*"},
    ],
}
SIDECAR = """\
# reviewed suppressions
[[suppress]]
file = "admin.json"
sid = "BreakGlass"
codes = ["LSP108"]
reason = "break-glass role; reviewed by security"

  [[suppress]]
file = "admin.json"
sid = "Gone"
codes = ["LSP108"]
reason = "the statement was removed since"
"""


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "policies"
    root.mkdir()
    (root / "admin.json").write_text(json.dumps(ADMIN, indent=2) + "\n")
    (root / "other.json").write_text(json.dumps({**ADMIN, "Statement": []}, indent=2) + "\n")
    (root / ".lspolicy.toml").write_text(SIDECAR)
    monkeypatch.chdir(tmp_path)
    return root


def test_check_reports_the_unused_entry_at_its_line_and_column(repo: Path) -> None:
    code, out, _ = _run("check", "policies", "--format", "json")
    report = json.loads(out)
    (unused,) = [f for f in report["findings"] if f["code"] == "LSP903"]
    assert unused["severity"] == "warning"
    assert unused["location"]["file"] == "policies/.lspolicy.toml"
    assert (unused["location"]["line"], unused["location"]["column"]) == (8, 3)
    assert unused["location"]["path"] == "suppress[1]"
    assert unused["message"] == (
        "suppression of LSP108 for `Gone` in 'admin.json' matched no finding"
    )
    # the used one suppresses, and is not reported
    assert [f["code"] for f in report["findings"] if f["suppressed"]] == ["LSP108"]
    assert code == 1  # a warning fails the default gate


@pytest.mark.parametrize("fmt", ["text", "github", "sarif", "junit"])
def test_every_format_shows_it(repo: Path, fmt: str) -> None:
    _code, out, _ = _run("check", "policies", "--format", fmt)
    if fmt == "text":
        assert "policies/.lspolicy.toml:8:3: LSP903 [warning] suppression of LSP108" in out
    elif fmt == "github":
        assert "::warning file=policies/.lspolicy.toml,line=8,col=3," in out
        assert "title=LSP903 " in out
    elif fmt == "sarif":
        (result,) = [r for r in json.loads(out)["runs"][0]["results"] if r["ruleId"] == "LSP903"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == "policies/.lspolicy.toml"
        assert location["region"]["startLine"] == 8
        assert result["partialFingerprints"]
    else:
        root = ET.fromstring(out)
        assert any(
            (c.get("name") == "policies/.lspolicy.toml" and c.find("failure") is not None)
            for c in root.iter("testcase")
        )


def test_pyproject_suppressions_are_checked_too(repo: Path, tmp_path: Path) -> None:
    (repo / ".lspolicy.toml").unlink()
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'x'\n\n"
        "[[tool.lspolicy.suppress]]\npath = 'policies/admin.json'\nsid = 'BreakGlass'\n"
        "codes = ['LSP108']\nreason = 'reviewed'\n\n"
        "[[tool.lspolicy.per-path-ignores]]\npath = 'policies/legacy/*'\ncodes = ['LSP119']\n"
        "reason = 'legacy, rewritten in #42'\n"
    )
    _code, out, _ = _run("check", ".", "--format", "json")
    (unused,) = [f for f in json.loads(out)["findings"] if f["code"] == "LSP903"]
    assert unused["location"]["file"].endswith("pyproject.toml")
    assert unused["location"]["line"] == 10
    assert "'policies/legacy/*'" in unused["message"]


def test_not_reported_when_the_run_did_not_cover_it(repo: Path) -> None:
    # only other.json is checked: the entries for admin.json say nothing about this run
    _code, out, _ = _run("check", "policies/other.json", "--format", "json")
    assert not [f for f in json.loads(out)["findings"] if f["code"] == "LSP903"]
    # the rule is off
    (repo.parent / "lspolicy.toml").write_text('[ignore]\nLSP903 = "we prune by hand"\n')
    _code, out, _ = _run("check", "policies", "--format", "json")
    assert not [f for f in json.loads(out)["findings"] if f["code"] == "LSP903"]


def test_a_suppression_of_the_base_check_is_judged_only_with_base(repo: Path) -> None:
    (repo / ".lspolicy.toml").write_text(
        SIDECAR.split("  [[suppress]]", maxsplit=1)[0]
        + '[[suppress]]\nfile = "admin.json"\ncodes = ["LSP901"]\nreason = "approved in #7"\n'
    )
    _code, out, _ = _run("check", "policies", "--format", "json")
    assert not [f for f in json.loads(out)["findings"] if f["code"] == "LSP903"]


def test_lint_reports_it_too(repo: Path) -> None:
    code, out, _ = _run("lint", "policies")
    assert "policies/.lspolicy.toml:8:3: LSP903 [warning]" in out
    assert code == 1


def test_the_rule_is_documented() -> None:
    code, out, _ = _run("rule", "LSP903")
    assert code == 0
    assert out.startswith("LSP903 unused-suppression: ")
