"""The pre-commit hook definitions point at commands that exist and are well-formed
(https://pre-commit.com/#creating-new-hooks: id, name, entry, language are required)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from lspolicy.cli import _parser

ROOT = Path(__file__).resolve().parents[2]


def test_hooks_are_valid_and_their_entries_parse() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(hooks, list) and hooks
    ids = [h["id"] for h in hooks]
    assert len(ids) == len(set(ids))
    parser = _parser()
    for hook in hooks:
        assert {"id", "name", "entry", "language"} <= hook.keys()
        assert hook["language"] == "python"
        program, *words = shlex.split(hook["entry"])
        assert program == "lspolicy"
        # the entry plus a path must be a valid command line
        args = parser.parse_args([*words, "policies/"])
        assert callable(args.run)


def _selected(hook: dict[str, object], files: list[str]) -> list[str]:
    """The files pre-commit passes a hook: ``files`` matches and ``exclude`` does not
    (both Python regexes searched in the path, https://pre-commit.com/#regular-expressions)."""
    include = re.compile(str(hook.get("files", "")))
    exclude = re.compile(str(hook["exclude"])) if hook.get("exclude") else None
    return [f for f in files if include.search(f) and not (exclude and exclude.search(f))]


def test_lint_hook_never_lints_package_json_and_skips_other_json_by_shape(tmp_path: Path) -> None:
    """The lint hook, run as pre-commit runs it over a changed tree: well-known non-policy JSON
    is not passed at all, other non-policy JSON is skipped by shape, the policy is linted."""
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    lint = hooks["lspolicy-lint"]
    typo = {
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Action": "lightsail:StopInstances", "Resource": "*"},
    }
    tree = {
        "package.json": {"name": "app", "scripts": {}},
        "package-lock.json": {"name": "app", "lockfileVersion": 3},
        "tsconfig.json": {"compilerOptions": {}},
        "node_modules/pkg/package.json": {"name": "pkg"},
        ".venv/lib/python3.11/site-packages/x/data.json": typo,
        "schemas/world.schema.json": {"$schema": "x", "type": "object"},
        "data/regions.json": {"regions": ["us-east-1"]},
        "iam/ops.json": typo,
    }
    for name, value in tree.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(json.dumps(value, indent=2))
    passed = _selected(lint, sorted(tree))
    assert passed == ["data/regions.json", "iam/ops.json"]
    _program, *words = shlex.split(lint["entry"])

    def hook(files: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lspolicy.cli", *words, *files],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    out = hook(passed)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "iam/ops.json" in out.stdout and "LSP101" in out.stdout
    assert "regions.json" not in out.stdout
    only_data = hook(["data/regions.json"])  # a commit that touches no policy passes
    assert only_data.returncode == 0, only_data.stdout + only_data.stderr
    check = hooks["lspolicy-check"]
    assert _selected(check, sorted(tree)) == [
        "data/regions.json",
        "iam/ops.json",
        "package-lock.json",
        "package.json",
        "schemas/world.schema.json",
        "tsconfig.json",
    ]  # they only trigger the run; check itself walks its folder by shape
