"""The same problem gets the same exit code from `lspolicy check` and `lspolicy test`:
0 clean, 1 a failed case, 2 input that cannot be trusted (a malformed test file, a name that
points at nothing, no inputs at all)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

POLICY = {
    "Version": "2012-10-17",
    "Statement": {
        "Effect": "Allow",
        "Action": "lightsail:StopInstance",
        "Resource": "arn:aws:lightsail:*:111122223333:Instance/*",
    },
}
HEAD = """\
principals:
  alice: {arn: 'arn:aws:iam::111122223333:user/alice', policies: [p.json]}
instances:
  web: {id: 8a831817-4d64-4fa6-913c-513a42f8eda1, region: us-east-1, account: '111122223333'}
"""


def case(
    action: str = "lightsail:StopInstance", instance: str = "web", expect: str = "allowed"
) -> str:
    return (
        "cases:\n"
        f"  - {{name: c, principal: alice, action: {action}, instance: {instance}, expect: {expect}}}\n"
    )


# problem kind -> test file text (None: no test file and no policy), expected exit code
PROBLEMS: dict[str, tuple[str | None, int]] = {
    "clean": (HEAD + case(), 0),
    "failed case": (HEAD + case(expect="implicitDeny"), 1),
    "malformed test file": (HEAD + "cases: [unclosed\n", 2),
    "unknown field": (HEAD + case().replace("expect:", "expected:"), 2),
    "unknown action": (HEAD + case(action="lightsail:StopInstanse", expect="implicitDeny"), 2),
    "instance not in the file": (HEAD + case(instance="gone", expect="denied"), 2),
    "malformed property ARN": (
        HEAD + "properties:\n  - {name: p, principal: alice, never: {resources: [us-east-1]}}\n",
        2,
    ),
    "no inputs": (None, 2),
}


@pytest.mark.parametrize("command", ["check", "test"])
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_same_problem_same_exit_code(tmp_path: Path, command: str, problem: str) -> None:
    text, expected = PROBLEMS[problem]
    if text is not None:
        (tmp_path / "p.json").write_text(json.dumps(POLICY, indent=2))
        (tmp_path / "t.lspolicy-test.yaml").write_text(text)
    out = subprocess.run(
        [sys.executable, "-m", "lspolicy.cli", command, str(tmp_path), "--color", "never"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == expected, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    if expected == 2 and text is not None:
        located = out.stdout + out.stderr
        assert re.search(r"t\.lspolicy-test\.yaml:\d+:\d+: ", located), located  # file:line:col
