"""The repository's GitHub Action (``action.yml``, a composite action) has the documented shape
and runs a valid ``lspolicy check``.

Composite actions: ``runs.using: composite``, each ``run`` step names its ``shell``, inputs have
a ``description`` (https://docs.github.com/en/actions/sharing-automations/creating-actions/metadata-syntax-for-github-actions);
``github.action_path`` is the action's own checkout
(https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/accessing-contextual-information-about-workflow-runs#github-context),
which is where lspolicy is installed from: it is not published to any index. The check step's
script is run by bash with a stand-in ``lspolicy`` that records its arguments, and those are
parsed by the real command-line parser.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lspolicy.cli import _parser

ROOT = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


def test_action_shape() -> None:
    assert ACTION["name"] and ACTION["description"]
    assert set(ACTION["inputs"]) == {
        "paths", "base", "format", "fail-on", "output", "args", "python-version",
    }  # fmt: skip
    for name, spec in ACTION["inputs"].items():
        assert spec["description"], name
        assert "default" in spec, name
    runs = ACTION["runs"]
    assert runs["using"] == "composite"
    steps = runs["steps"]
    assert any(s.get("uses", "").startswith("actions/setup-python@") for s in steps)
    for step in steps:
        if "run" in step:
            assert step["shell"] == "bash", step
    install = next(s for s in steps if "pip install" in s.get("run", ""))
    assert '"${{ github.action_path }}"' in install["run"]
    check = next(s for s in steps if "lspolicy check" in s.get("run", ""))
    # no input is spliced into a script (script injection): they come in through env
    for step in steps:
        assert not re.search(r"\$\{\{\s*inputs\.", step.get("run", "")), step["run"]
    assert set(check["env"]) >= {"LSPOLICY_PATHS", "LSPOLICY_BASE", "LSPOLICY_ARGS"}


def _argv(tmp_path: Path, inputs: dict[str, str]) -> list[str]:
    """The arguments the check step passes to ``lspolicy`` for these inputs."""
    check = next(s for s in ACTION["runs"]["steps"] if "lspolicy check" in s.get("run", ""))
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    record = tmp_path / "argv.json"
    fake = bindir / "lspolicy"
    fake.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"json.dump(sys.argv[1:], open({str(record)!r}, 'w'))\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    for key, spec in ACTION["inputs"].items():
        value = inputs.get(key, spec["default"])
        for var, expr in check["env"].items():
            if expr.replace(" ", "") == f"${{{{inputs.{key}}}}}":
                env[var] = value
    subprocess.run(["bash", "-c", check["run"]], env=env, check=True, capture_output=True)
    argv: list[str] = json.loads(record.read_text())
    return argv


@pytest.mark.skipif(shutil.which("bash") is None, reason="the action's steps run in bash")
@pytest.mark.parametrize(
    "inputs",
    [
        {},
        {"paths": "policies/ more/", "base": "origin/main", "format": "sarif",
         "output": "lspolicy.sarif", "fail-on": "security", "args": "--config lspolicy.toml"},
    ],
    ids=["defaults", "everything"],
)  # fmt: skip
def test_the_action_runs_a_valid_check(tmp_path: Path, inputs: dict[str, str]) -> None:
    argv = _argv(tmp_path, inputs)
    assert argv[0] == "check"
    args = _parser().parse_args(argv)
    assert args.command == "check"
    assert args.paths == inputs.get("paths", "policies/").split()
    assert args.format == inputs.get("format", "github")
    assert args.fail_on == inputs.get("fail-on", "warning")
    assert args.base == (inputs.get("base") or None)
    assert args.output == (inputs.get("output") or None)
    if "args" in inputs:
        assert args.config == "lspolicy.toml"
