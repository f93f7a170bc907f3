"""The pre-commit hook definitions point at commands that exist and are well-formed
(https://pre-commit.com/#creating-new-hooks: id, name, entry, language are required)."""

from __future__ import annotations

import shlex
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
