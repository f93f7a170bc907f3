"""The ``lspolicy`` command line, run as a user runs it (a subprocess of the installed entry)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": {
            "Sid": "StopDev",
            "Effect": "Allow",
            "Action": "lightsail:StopInstance",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}},
        },
    }
)
ARN = "arn:aws:lightsail:us-east-1:111122223333:Instance/abc"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lspolicy.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )


def request(env: str) -> dict[str, object]:
    return {
        "PolicyInputList": [POLICY],
        "ActionNames": ["lightsail:StopInstance"],
        "ResourceArns": [ARN],
        "ContextEntries": [
            {
                "ContextKeyName": "aws:ResourceTag/env",
                "ContextKeyValues": [env],
                "ContextKeyType": "string",
            }
        ],
    }


def test_check_passes_on_bundled_policies() -> None:
    """The README's main command exits 0 on the bundled policies and reports every case."""
    out = run("check", "policies/", "--color", "never")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 failed" in out.stdout
    assert "FAIL" not in out.stdout


def test_simulate_reads_stdin_and_answers_aws_shape() -> None:
    """https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html —
    the response is ``EvaluationResults`` with ``EvalDecision`` per action and resource."""
    out = run("simulate", "-", stdin=json.dumps(request("dev")))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)["EvaluationResults"][0]
    assert result["EvalDecision"] == "allowed"
    assert result["EvalResourceName"] == ARN
    assert result["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"


def test_simulate_malformed_policy_exits_2_with_location_and_no_traceback() -> None:
    """A malformed policy is AWS's MalformedPolicyDocument, reported with its line and column."""
    bad = request("dev")
    bad["PolicyInputList"] = [
        '{"Version": "2012-10-17", "Statement": {"Effect": "Allow",\n "Action": 5}}'
    ]
    out = run("simulate", "-", stdin=json.dumps(bad))
    assert out.returncode == 2
    assert out.stdout == ""
    assert "MalformedPolicyDocument" in out.stderr
    assert "PolicyInputList.1:2:" in out.stderr
    assert "Traceback" not in out.stderr


def test_explain_json_names_failed_condition() -> None:
    """For a deny, the explanation names the closest allow statement and the failed condition."""
    path = ROOT / "policies" / "team-operators.json"
    out = run(
        "explain", "--policy", str(path), "--action", "lightsail:StopInstance", "--resource", ARN,
        "--context", "aws:ResourceTag/team=web", "--context", "aws:PrincipalTag/team=data",
        "--format", "json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    decision = json.loads(out.stdout)
    assert decision["decision"] == "implicitDeny"
    miss = decision["near_misses"][0]
    assert miss["statement"]["sid"] == "OperateOwnTeamInstances"
    assert miss["failed_conditions"][0]["key"] == "aws:ResourceTag/team"
    assert miss["failed_conditions"][0]["actual"] == ["web"]


def test_unreadable_file_is_a_usage_error() -> None:
    out = run("simulate", "does-not-exist.json")
    assert out.returncode == 2
    assert "does-not-exist.json" in out.stderr
    assert "Traceback" not in out.stderr
