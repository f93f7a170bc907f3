"""A CloudFormation template or terraform plan past an input limit is refused as input.

`lspolicy check` and `lspolicy lint` exit 2 with the located limit, as for any input they
cannot read ("a source it cannot read is an error, never a PASS"); a template that merely has
a YAML or JSON syntax error stays an ``LSP002`` finding about a policy that was not read.
CloudFormation templates are JSON or YAML:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-formats.html
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAD = "AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\nMetadata:\n"
BOMB = "\n".join(
    ["  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [
        f"  {c}: &{c} [{', '.join([f'*{p}'] * 10)}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
)

CASES: dict[str, tuple[str, str, str]] = {
    # name -> (file name, text, expected message fragment)
    "yaml alias bomb": ("t.yaml", HEAD + BOMB + "\n", "aliases expand the document past"),
    "yaml deep nesting": ("t.yaml", HEAD + "  x: " + "[" * 5000 + "]" * 5000 + "\n", "nesting"),
    "yaml long number": ("t.yaml", HEAD + "  x: " + "9" * 5000 + "\n", "digits"),
    "json template deep nesting": (
        "t.json",
        '{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {}, "M": '
        + "[" * 5000
        + "]" * 5000
        + "}",
        "nesting deeper than",
    ),
}


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lspolicy.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("command", ["check", "lint"])
@pytest.mark.parametrize("name", list(CASES))
def test_a_source_past_a_limit_exits_2_located(tmp_path: Path, command: str, name: str) -> None:
    """Each limit ends in exit 2 naming the file, line and column, and no traceback."""
    filename, text, fragment = CASES[name]
    (tmp_path / filename).write_text(text)
    got = _run(command, filename, cwd=tmp_path)
    out = got.stdout + got.stderr
    assert got.returncode == 2, out
    assert fragment in out
    assert f"{filename}:" in out and "Traceback" not in out


def test_a_syntax_error_stays_a_finding(tmp_path: Path) -> None:
    """A template that breaks YAML's own rules is still read as a finding (LSP002, exit 1)."""
    (tmp_path / "t.yaml").write_text(HEAD + "  x: [unclosed\n")
    got = _run("check", "t.yaml", cwd=tmp_path)
    assert got.returncode == 1, got.stdout + got.stderr
    assert "LSP002" in got.stdout


@pytest.mark.parametrize("where", ["named", "walked"])
def test_json_nested_past_pythons_decoder_is_a_located_problem(tmp_path: Path, where: str) -> None:
    """A ``.json`` file of 5,000 nested arrays made discovery's ``json.loads`` raise
    RecursionError ("internal error"); it is now a located input problem, exit 2, whether the
    file is named or found in a folder. Python's json module decodes recursively:
    https://docs.python.org/3/library/json.html (no depth limit is documented)."""
    (tmp_path / "deep.json").write_text("[" * 5000 + "]" * 5000)
    got = _run("check", "deep.json" if where == "named" else ".", cwd=tmp_path)
    out = got.stdout + got.stderr
    assert got.returncode == 2, out
    assert "deep.json:1:66:" in out and "nesting deeper than 64 levels" in out
    assert "internal error" not in out and "Traceback" not in out
