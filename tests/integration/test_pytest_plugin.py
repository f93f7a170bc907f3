"""Policy test files under pytest: the plugin (entry point ``pytest11``) collects
``*.lspolicy-test.yaml``, one item per case, and a failure shows the decision's explanation."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_pytest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # the plugin comes from the installed entry point, as it does for users
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_bundled_cases_are_collected_and_pass(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    out = run_pytest("policies", "-v", "-o", "addopts=", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert (
        "stop-instance.lspolicy-test.yaml::alice stops her team's dev instance PASSED" in out.stdout
    )
    assert "15 passed" in out.stdout  # 11 cases and 4 properties


def test_a_failing_case_shows_its_explanation(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    path = tmp_path / "policies" / "stop-instance.lspolicy-test.yaml"
    text = path.read_text()
    wrong = text.replace(
        "  - name: bob cannot stop another team's instance\n    principal: bob\n    instance: web-dev\n    expect: implicitDeny",
        "  - name: bob cannot stop another team's instance\n    principal: bob\n    instance: web-dev\n    expect: allowed",
    )
    assert wrong != text
    path.write_text(wrong)
    out = run_pytest("policies", "-o", "addopts=", cwd=tmp_path)
    assert out.returncode == 1
    assert "1 failed, 14 passed" in out.stdout
    assert "expected allowed, got implicitDeny" in out.stdout
    assert "closest allow statements:" in out.stdout
    assert "StringEquals aws:ResourceTag/team" in out.stdout
