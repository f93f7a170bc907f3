"""SimulateCustomPolicy's input limits and paging, as the API reference gives them
(https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html): action
names of 3 to 128 characters and no wildcards ("This operation does not support using wildcards
(*) in an action name"), ARNs of 1 to 2,048, MaxItems 1 to 1,000, a Marker only as returned.
Results are produced a page at a time: 10,000 actions x 10,000 ARNs with MaxItems=1 evaluates
one pair, not 10^8."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import botocore.session
import pytest

from lspolicy import InvalidInputError, simulate_custom_policy
from lspolicy.simulate import _LENGTHS, MAX_ITEMS, MAX_MARKER

ROOT = Path(__file__).resolve().parents[2]
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Action": "lightsail:Stop*", "Resource": "*"},
    }
)


def request(**extra: object) -> dict[str, object]:
    return {
        "PolicyInputList": [POLICY],
        "ActionNames": ["lightsail:StopInstance"],
        "ResourceArns": ["arn:aws:lightsail:us-east-1:111122223333:Instance/a"],
        **extra,
    }


def test_limits_are_botocores_model() -> None:
    """The lengths lspolicy enforces are the ones in IAM's service model."""
    shape = botocore.session.get_session().get_service_model("iam")
    members = shape.operation_model("SimulateCustomPolicy").input_shape.members
    for name, (low, high) in _LENGTHS.items():
        meta = members[name].member.metadata
        assert (meta["min"], meta["max"]) == (low, high)
    assert members["MaxItems"].metadata["max"] == MAX_ITEMS
    assert members["Marker"].metadata["max"] == MAX_MARKER


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"ActionNames": ["lightsail:Stop*"]}, "has a wildcard"),
        ({"ActionNames": ["lightsail:StopInstanc?"]}, "has a wildcard"),
        ({"ActionNames": ["ab"]}, "ActionNames[0] is 2 characters"),
        ({"ActionNames": ["s:" + "x" * 127]}, "it must have 3 to 128"),
        ({"ResourceArns": [""]}, "ResourceArns[0] is 0 characters"),
        ({"ResourceArns": ["a" * 2049]}, "it must have 1 to 2048"),
        ({"Marker": "\u00b2"}, "Marker is not one this simulator returned"),
        ({"Marker": "9" * 5000}, "Marker is not one this simulator returned"),
        ({"Marker": "5"}, "Marker is not one this simulator returned"),  # past the end
        ({"ActionNames": ["lightsail:StopInstance"] * 10_001}, "over the 10000 lspolicy takes"),
    ],
)
def test_inputs_beyond_the_limits_are_invalid_input(extra: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        simulate_custom_policy(request(**extra))
    assert message in str(err.value)


def test_paging_evaluates_only_the_page() -> None:
    """10,000 x 10,000 pairs, MaxItems 1: one result, the right one, and the next marker; the
    page at a marker is the pair in request order (each action with each resource)."""
    actions = [
        f"lightsail:StopInstance{i}" if i else "lightsail:StopInstance" for i in range(10_000)
    ]
    arns = [f"arn:aws:lightsail:us-east-1:111122223333:Instance/{i}" for i in range(10_000)]
    first = simulate_custom_policy(request(ActionNames=actions, ResourceArns=arns, MaxItems=1))
    assert len(first["EvaluationResults"]) == 1
    assert first["IsTruncated"] and first["Marker"] == "1"
    assert first["EvaluationResults"][0]["EvalDecision"] == "allowed"
    later = simulate_custom_policy(
        request(ActionNames=actions, ResourceArns=arns, MaxItems=2, Marker="10001")
    )
    got = [(r["EvalActionName"], r["EvalResourceName"]) for r in later["EvaluationResults"]]
    assert got == [(actions[1], arns[1]), (actions[1], arns[2])]


def test_the_command_reports_invalid_input_without_a_trace(tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request(ActionNames=["lightsail:*"])))
    out = subprocess.run(
        [sys.executable, "-m", "lspolicy.cli", "simulate", str(path)],
        capture_output=True, text=True, check=False, timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert out.returncode == 2
    assert "InvalidInput" in out.stderr and "Traceback" not in out.stderr
