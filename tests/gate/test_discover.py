"""Discovery by shape, through the real commands: which files `check`, `lint` and `test` read
in a realistic repository, which they skip and why, and that finding nothing fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "StopTeamInstances",
            "Effect": "Allow",
            "Action": "lightsail:StopInstance",
            "Resource": "arn:aws:lightsail:*:111122223333:Instance/*",
            "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
        }
    ],
}
TYPO = {
    "Version": "2012-10-17",
    "Statement": {"Effect": "Allow", "Action": "lightsail:StopInstances", "Resource": "*"},
}
TEST_FILE = """\
principals:
  alice: {arn: 'arn:aws:iam::111122223333:user/alice', tags: {team: web}, policies: [ops.json]}
instances:
  web: {id: 8a831817-4d64-4fa6-913c-513a42f8eda1, region: us-east-1, account: '111122223333', tags: {team: web}}
cases:
  - {name: alice stops web, principal: alice, action: lightsail:StopInstance, instance: web, expect: allowed}
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lspolicy.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def write(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value if isinstance(value, str) else json.dumps(value, indent=2))


def skipped(stderr: str) -> dict[str, str]:
    out = {}
    for line in stderr.splitlines():
        if line.startswith("skipped "):
            path, _, reason = line.removeprefix("skipped ").partition(": ")
            out[path] = reason
    return out


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository as people have them: a virtualenv, node packages, JSON Schemas, build
    output, a Terraform plan, and one real policy with its test in a nested folder."""
    r = tmp_path / "repo"
    (r / ".git").mkdir(parents=True)
    write(r / ".gitignore", "build/\n*.log\n")
    write(r / ".venv/lib/python3.11/site-packages/pkg/x.json", POLICY)  # policy-shaped, unread
    write(r / "node_modules/pkg/package.json", {"name": "pkg", "version": "1.0.0"})
    write(r / "package.json", {"name": "app", "scripts": {"build": "tsc"}})
    write(r / "tsconfig.json", {"compilerOptions": {"strict": True}})
    for name in ("instance", "world"):
        write(
            r / f"schemas/{name}.schema.json",
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"},
        )
    write(r / "build/ops.json", TYPO)  # ignored by .gitignore: its LSP101 must not show
    write(r / "infra/plan.json", {"format_version": "1.2", "planned_values": {}})
    write(r / "infra/main.tf", 'resource "aws_s3_bucket" "logs" {\n  bucket = "acme-logs"\n}\n')
    write(r / "deploy/iam/policies/ops.json", POLICY)
    write(r / "deploy/iam/policies/ops.lspolicy-test.yaml", TEST_FILE)
    write(r / "README.md", "# app\n")
    return r


EXPECTED_SKIPS = {
    ".git": "tool folder, never entered",
    ".gitignore": "not a file kind lspolicy reads",
    ".venv": "tool folder, never entered",
    "README.md": "not a file kind lspolicy reads",
    "build": "ignored by .gitignore ('build/')",
    "node_modules": "tool folder, never entered",
    "package.json": "not a policy by shape: an npm package.json",
    "schemas/instance.schema.json": "not a policy by shape: a JSON Schema",
    "schemas/world.schema.json": "not a policy by shape: a JSON Schema",
    "tsconfig.json": "not a policy by shape: a TypeScript config",
}


def test_check_reads_exactly_the_policy_and_the_test_and_says_why_it_skipped_the_rest(
    repo: Path,
) -> None:
    out = run("check", ".", "--verbose", "--format", "json", cwd=repo)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    assert report["summary"]["policies"] == 1
    assert [c["file"] for c in report["cases"]] == ["deploy/iam/policies/ops.lspolicy-test.yaml"]
    assert report["findings"] == [] and report["problems"] == []
    got = skipped(out.stderr)
    assert got == EXPECTED_SKIPS


def test_lint_walks_the_same_tree(repo: Path) -> None:
    out = run("lint", ".", cwd=repo)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == "0 findings"


def test_exclude_from_config_and_command_line(repo: Path) -> None:
    write(repo / "lspolicy.toml", 'exclude = ["fixtures/"]\n')
    write(repo / "fixtures/bad.json", TYPO)
    write(repo / "legacy/old.json", TYPO)
    out = run("check", ".", "--verbose", "--exclude", "legacy/", "--color", "never", cwd=repo)
    assert out.returncode == 0, out.stdout + out.stderr
    got = skipped(out.stderr)
    assert got["fixtures"] == f"excluded by {repo / 'lspolicy.toml'} ('fixtures/')"
    assert got["legacy"] == "excluded by --exclude ('legacy/')"
    included = run("check", ".", "--color", "never", cwd=repo / "legacy")
    assert included.returncode == 1 and "LSP101" in included.stdout


def test_empty_or_mistyped_folder_fails_and_names_what_was_skipped(tmp_path: Path) -> None:
    write(tmp_path / "app/package.json", {"name": "app", "dependencies": {}})
    for command in ("check", "lint"):
        out = run(command, "app", cwd=tmp_path)
        assert out.returncode == 2, (command, out.stdout, out.stderr)
        assert "no policies" in out.stderr and "'app'" in out.stderr
        assert "1 not policies by shape" in out.stderr and "Traceback" not in out.stderr
    typo = run("check", "polices/", cwd=tmp_path)
    assert typo.returncode == 2 and "polices/" in typo.stderr
    allowed = run("check", "app", "--allow-empty", "--color", "never", cwd=tmp_path)
    assert allowed.returncode == 0
    assert "no policies found under 'app'" in allowed.stderr
    tests = run("test", "app", cwd=tmp_path)
    assert tests.returncode == 2 and "no policy test files found under 'app'" in tests.stderr
    assert run("test", "app", "--allow-empty", cwd=tmp_path).returncode == 0


def test_files_named_explicitly(repo: Path) -> None:
    """A test file given to check is run as tests; a non-policy JSON is an error saying what
    it looks like; a policy is read whatever the ignore rules say."""
    test_file = "deploy/iam/policies/ops.lspolicy-test.yaml"
    out = run("check", test_file, "--format", "json", cwd=repo)
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["summary"]["tests"] == {"passed": 1, "failed": 0}
    bad = run("check", "package.json", "--color", "never", cwd=repo)
    assert bad.returncode == 2
    assert "package.json: error not a policy: this looks like an npm package.json" in bad.stdout
    lint = run("lint", "tsconfig.json", cwd=repo)
    assert lint.returncode == 2 and "looks like a TypeScript config" in lint.stderr
    ignored = run("check", "build/ops.json", "--color", "never", cwd=repo)
    assert ignored.returncode == 1 and "LSP101" in ignored.stdout


def test_symlinks_out_of_the_root_are_not_followed_and_unreadable_folders_are_reported(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    write(outside / "bad.json", TYPO)
    root = tmp_path / "root"
    write(root / "ok.json", POLICY)
    (root / "link").symlink_to(outside, target_is_directory=True)
    out = run("check", ".", "--verbose", "--color", "never", cwd=root)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "not followed" in skipped(out.stderr)["link"]
    if os.geteuid() == 0:
        return  # root reads any folder
    locked = root / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        out = run("check", ".", "--color", "never", cwd=root)
    finally:
        locked.chmod(0o755)
    assert out.returncode == 2
    assert "locked: error cannot read the folder: permission denied" in out.stdout


def test_policies_inside_aws_wrappers_are_read_and_located(tmp_path: Path) -> None:
    request = {
        "PolicyInputList": [json.dumps(POLICY), json.dumps(TYPO)],
        "ActionNames": ["lightsail:StopInstance"],
    }
    write(tmp_path / "request.json", request)
    details = {
        "RoleDetailList": [
            {
                "RoleName": "ops",
                "RolePolicyList": [
                    {"PolicyName": "p", "PolicyDocument": urllib.parse.quote(json.dumps(TYPO))}
                ],
            }
        ],
        "Policies": [
            {
                "PolicyName": "m",
                "PolicyVersionList": [
                    {"VersionId": "v2", "IsDefaultVersion": True, "Document": POLICY},
                    {"VersionId": "v1", "IsDefaultVersion": False, "Document": TYPO},
                ],
            }
        ],
    }
    write(tmp_path / "details.json", details)
    out = run("check", ".", "--format", "json", cwd=tmp_path)
    report = json.loads(out.stdout)
    typos = sorted(
        (f["location"]["file"], f["location"]["path"], f["location"]["line"])
        for f in report["findings"]
        if f["code"] == "LSP101"
    )
    assert typos == [
        ("details.json", "RoleDetailList[0].RolePolicyList[0].PolicyDocument.Statement.Action", 8),
        ("request.json", "PolicyInputList[1].Statement.Action", 4),
    ]
    assert out.returncode == 1


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_special_files_are_refused_not_read(tmp_path: Path, special: str) -> None:
    """A FIFO (which would block forever) or /dev/zero (which never ends) named as a policy is
    an input problem, exit 2, read not at all: only regular files are read, bounded while read."""
    if special == "fifo":
        path = tmp_path / "policy.json"
        os.mkfifo(path)
    else:
        path = Path(special)
    out = run("check", str(path), cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "not a regular file" in out.stdout + out.stderr


def test_a_fifo_inside_a_folder_is_skipped_with_its_reason(tmp_path: Path) -> None:
    """Walking a folder, a FIFO with a policy's name is skipped and said so, never opened for a
    blocking read."""
    write(tmp_path / "ops.json", POLICY)
    os.mkfifo(tmp_path / "pipe.json")
    out = run("check", ".", "--verbose", "--format", "json", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert skipped(out.stderr)["pipe.json"] == "not a regular file: not read"
