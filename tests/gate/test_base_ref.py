"""`lspolicy check --base REF` and the bundled bad change: a change that grants new access
fails the gate with a request that proves it (exact, by the semantic diff; the request is run
through the engine before it is printed)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "bad-change"


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lspolicy.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_bundled_bad_change_fails_no_new_access_with_a_counterexample() -> None:
    out = run("check", "no-new-access", str(EXAMPLE / "before"), str(EXAMPLE / "after"))
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stdout.startswith("FAIL")
    assert "request: lightsail:" in out.stdout
    assert "after/team-operators.json/OperateOwnTeamInstances" in out.stdout


def test_gate_with_base_flags_the_widening_commit(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "policies", repo / "policies", ignore=shutil.ignore_patterns("intents"))
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "base", cwd=repo)
    clean = run("check", "policies", "--base", "main", "--format", "json", cwd=repo)
    assert clean.returncode == 0, clean.stdout + clean.stderr  # nothing changed: nothing new
    shutil.copy(
        EXAMPLE / "after" / "team-operators.json", repo / "policies" / "team-operators.json"
    )
    out = run("check", "policies", "--base", "main", "--format", "json", cwd=repo)
    assert out.returncode == 1, out.stdout + out.stderr
    report = json.loads(out.stdout)
    new_access = [f for f in report["findings"] if f["code"] == "LSP901"]
    assert new_access, report["findings"]
    assert new_access[0]["severity"] == "security"
    assert new_access[0]["location"]["file"].endswith("team-operators.json")
    assert new_access[0]["location"]["line"] == 4
    assert "request: lightsail:" in new_access[0]["message"]


def test_base_that_is_not_a_commit_is_a_usage_error(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "policies", repo / "policies", ignore=shutil.ignore_patterns("intents"))
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "base", cwd=repo)
    out = run("check", "policies", "--base", "no-such-ref", cwd=repo)
    assert out.returncode == 2
    assert "no-such-ref" in out.stderr and "Traceback" not in out.stderr


def test_an_intended_widening_is_approved_by_suppressing_lsp901_with_a_reason(
    tmp_path: Path,
) -> None:
    """LSP901's hint says to suppress it with a reason; the sidecar suppression does so, and
    one that matches nothing is reported as unused (LSP903) only when --base ran."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "policies", repo / "policies", ignore=shutil.ignore_patterns("intents"))
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "base", cwd=repo)
    shutil.copy(
        EXAMPLE / "after" / "team-operators.json", repo / "policies" / "team-operators.json"
    )
    (repo / "policies" / ".lspolicy.toml").write_text(
        '[[suppress]]\nfile = "team-operators.json"\ncodes = ["LSP901"]\n'
        'reason = "approved widening, #12"\n\n'
        '[[suppress]]\nfile = "world-readers.json"\ncodes = ["LSP901"]\nreason = "stale"\n'
    )
    out = run("check", "policies", "--base", "main", "--format", "json", cwd=repo)
    report = json.loads(out.stdout)
    approved = [f for f in report["findings"] if f["code"] == "LSP901"]
    assert approved
    assert all(f["location"]["file"].endswith("team-operators.json") for f in approved)
    assert {f["suppressed"]["reason"] for f in approved} == {"approved widening, #12"}
    (unused,) = [f for f in report["findings"] if f["code"] == "LSP903"]
    assert unused["location"]["line"] == 6
    without_base = run("check", "policies", "--format", "json", cwd=repo)
    assert not [f for f in json.loads(without_base.stdout)["findings"] if f["code"] == "LSP903"]


TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  OperatorRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {AWS: "arn:aws:iam::111122223333:root"}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: operate
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Sid: StopWebInstances
                Effect: Allow
                Action: lightsail:StopInstance
                Resource: arn:aws:lightsail:us-east-1:111122223333:Instance/*
                Condition:
                  StringEquals:
                    aws:ResourceTag/team: web
  ReadLogs:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      Roles: [!Ref OperatorRole]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: logs:GetLogEvents
            Resource: "*"
"""


def test_base_ref_compares_cloudformation_policies_per_role(tmp_path: Path) -> None:
    """`--base` reads the template at the base commit the same way and compares each role's
    policies together (inline and attached managed ones): dropping the tag condition lets the
    role stop any instance, and the finding points at the statement in the template. Tag
    conditions: https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html"""
    repo = tmp_path / "repo"
    (repo / "cfn").mkdir(parents=True)
    template = repo / "cfn" / "ops.yaml"
    template.write_text(TEMPLATE)
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "base", cwd=repo)
    same = run("check", "cfn", "--base", "main", "--format", "json", cwd=repo)
    assert same.returncode == 0, same.stdout + same.stderr
    # a harmless edit elsewhere in the file: still no new access
    template.write_text(TEMPLATE.replace("ReadLogs:", "ReadLogsPolicy:"))
    moved = run("check", "cfn", "--base", "main", "--format", "json", cwd=repo)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    template.write_text(
        TEMPLATE.replace(
            "                    aws:ResourceTag/team: web\n",
            "                    aws:ResourceTag/team: [web, data]\n",
        )
    )
    out = run("check", "cfn", "--base", "main", "--format", "json", cwd=repo)
    assert out.returncode == 1, out.stdout + out.stderr
    (finding,) = [f for f in json.loads(out.stdout)["findings"] if f["code"] == "LSP901"]
    assert finding["location"]["file"] == "cfn/ops.yaml"
    assert finding["location"]["line"] == 17  # the `- Sid: StopWebInstances` statement
    assert "OperatorRole" in finding["message"] and "data" in finding["message"]


def test_a_change_the_diff_cannot_decide_in_time_exits_2_not_1(tmp_path: Path) -> None:
    """A change whose only failing findings are LSP902 ("cannot decide exactly whether the
    change grants new access", here forced by a tiny ``--timeout``) exits 2, as an undecided
    property does: the gate cannot say, which is not a finding against the change. With time
    to decide, the same change (it narrows access) passes. Exit codes are lspolicy's own
    contract (AWS documents none); the narrowing is judged by IAM's evaluation logic:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "policies", repo / "policies", ignore=shutil.ignore_patterns("intents"))
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "base", cwd=repo)
    path = repo / "policies" / "team-operators.json"
    policy = json.loads(path.read_text())
    policy["Statement"][0]["Resource"] = "arn:aws:lightsail:*:111122223333:Instance/*a*"
    path.write_text(json.dumps(policy, indent=2))
    out = run(
        "check", "policies", "--base", "main", "--timeout", "0.000001", "--format", "json",
        cwd=repo,
    )  # fmt: skip
    assert out.returncode == 2, out.stdout + out.stderr
    codes = {f["code"] for f in json.loads(out.stdout)["findings"]}
    assert codes == {"LSP902"}, out.stdout
    assert "Traceback" not in out.stderr
    decided = run("check", "policies", "--base", "main", "--timeout", "60", cwd=repo)
    assert decided.returncode == 0, decided.stdout + decided.stderr
