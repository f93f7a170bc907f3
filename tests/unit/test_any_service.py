"""The engine, simulate, explain and the diff take any service's actions, not only Lightsail's.

Evaluation rests on the policy evaluation logic
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html);
action matching on the Action element
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html);
resource matching on the Resource element
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import lspolicy
from lspolicy.diff import check_no_new_access
from lspolicy.services.notice import unknown_action_warning
from lspolicy.simulate import simulate_custom_policy

MIXED = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::logs/*"},
        {"Effect": "Allow", "Action": "ec2:Stop*", "Resource": "*"},
        {"Effect": "Allow", "Action": "lightsail:*", "Resource": "*"},
    ],
}


def _policy(doc: dict[str, object], source: str = "p.json") -> lspolicy.Policy:
    return lspolicy.parse_policy(json.dumps(doc), source=source)


@pytest.mark.parametrize(
    ("action", "resource", "allowed"),
    [
        ("s3:GetObject", "arn:aws:s3:::logs/2024/a.gz", True),
        ("s3:GetObject", "arn:aws:s3:::secrets/a", False),
        ("S3:getobject", "arn:aws:s3:::logs/x", True),
        ("ec2:StopInstances", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", True),
        ("ec2:TerminateInstances", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", False),
        ("lightsail:DeleteInstance", "arn:aws:lightsail:us-east-1:111122223333:Instance/x", True),
    ],
)
def test_engine_decides_other_services(action: str, resource: str, allowed: bool) -> None:
    """Actions of any service match case-insensitively; S3 and EC2 ARNs match as written.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"""
    decision = lspolicy.PolicySet([_policy(MIXED)]).evaluate(lspolicy.Request(action, resource))
    assert decision.allowed is allowed


def test_simulate_takes_other_services() -> None:
    """SimulateCustomPolicy answers for any action name it is given.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html"""
    response = simulate_custom_policy(
        {
            "PolicyInputList": [json.dumps(MIXED)],
            "ActionNames": ["s3:GetObject", "ec2:StopInstances"],
            "ResourceArns": ["arn:aws:s3:::logs/a"],
        }
    )
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in response["EvaluationResults"]}
    assert decisions == {"s3:GetObject": "allowed", "ec2:StopInstances": "allowed"}


def test_unknown_action_warning() -> None:
    """A typo gets a did-you-mean; a known name or a pattern gets none.
    https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html"""
    warning = unknown_action_warning("ec2:StopInstancez")
    assert warning is not None and "did you mean `ec2:StopInstances`?" in warning
    assert "decision is unchanged" in warning
    assert unknown_action_warning("ec2:StopInstances") is None
    assert unknown_action_warning("ec2:Stop*") is None


def test_explain_and_simulate_warn_on_stderr_and_keep_the_decision(tmp_path: Path) -> None:
    """The warning goes to stderr; the decision and simulate's JSON stay as they were.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html"""
    policy = tmp_path / "p.json"
    policy.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}],
            }
        )
    )
    cli = [sys.executable, "-m", "lspolicy.cli"]
    explained = subprocess.run(
        [*cli, "explain", "--policy", str(policy), "--action", "ec2:StopInstancez", "--format", "json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(explained.stdout)["decision"].lower().startswith("allow")
    assert "did you mean `ec2:StopInstances`?" in explained.stderr
    request = tmp_path / "r.json"
    request.write_text(
        json.dumps({"PolicyInputList": [policy.read_text()], "ActionNames": ["ec2:StopInstancez"]})
    )
    simulated = subprocess.run(
        [*cli, "simulate", str(request)], capture_output=True, text=True, check=True
    )
    result = json.loads(simulated.stdout)["EvaluationResults"][0]
    assert result["EvalDecision"] == "allowed"
    assert "unknown action `ec2:StopInstancez`" in simulated.stderr


def test_no_new_access_is_exact_across_services() -> None:
    """Widening `ec2:Stop*` to `ec2:*` next to `s3:*` and `lightsail:*` is new access, with a
    witness the engine confirms; narrowing is not. Access Analyzer's CheckNoNewAccess:
    https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_CheckNoNewAccess.html"""
    old = _policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:*", "ec2:Stop*", "lightsail:*"], "Resource": "*"}
            ],
        },
        "old.json",
    )
    wider = _policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:*", "ec2:*", "lightsail:*"], "Resource": "*"}
            ],
        },
        "new.json",
    )
    narrower = _policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:Get*", "ec2:StopInstances", "lightsail:Get*"],
                    "Resource": "*",
                }
            ],
        },
        "new.json",
    )
    failed = check_no_new_access([old], [wider])
    assert failed.result == "FAIL"
    assert failed.counterexample is not None
    witness = failed.counterexample.witness
    assert witness.action.lower().startswith("ec2:") and not witness.action.lower().startswith(
        "ec2:stop"
    )
    assert lspolicy.PolicySet([wider]).evaluate(witness.request).allowed
    assert not lspolicy.PolicySet([old]).evaluate(witness.request).allowed
    assert check_no_new_access([old], [narrower]).result == "PASS"
    assert check_no_new_access([old], [old]).result == "PASS"
