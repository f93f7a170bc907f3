"""The README's Python example runs and prints what it says (docs that run)."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_python_example_runs_and_prints_its_comment() -> None:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```python\n(.*?)```", text, re.S)
    assert block is not None
    code = block.group(1)
    expected = re.search(r"# (allowed \[.*\])", code)
    assert expected is not None
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    assert out.getvalue().strip() == expected.group(1)


def test_readme_first_lines_are_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    block = lines[lines.index("```sh") + 1 : lines.index("```sh") + 3]
    assert "lspolicy check policies/" in block[0]
    assert "pytest" in block[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert block[1].strip() in ci


def test_readme_server_example_runs_against_lspolicy_serve() -> None:
    """The README's emulator snippet, run as written against `lspolicy serve` (on a free port)."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    text = (ROOT / "README.md").read_text()
    section = text[text.index("## The Lightsail endpoint, emulated") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lspolicy.cli",
            "serve",
            "--world",
            "policies/world.yaml",
            "--state",
            ":memory:",
            "--port",
            "0",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        url = re.search(r"http://[0-9.]+:[0-9]+", banner)
        assert url is not None, banner
        snippet = code.group(1).replace("http://127.0.0.1:8787", url.group(0))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(snippet, "README.md", "exec"), {})
        assert out.getvalue().split() == ["Started", "AccessDeniedException"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_readme_config_examples_are_valid_configs(tmp_path: Path) -> None:
    """The README's suppression examples load as written: the sidecar and [tool.lspolicy]."""
    from lspolicy.lint.config import load_config, load_sidecar  # noqa: PLC0415

    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", text, re.S)
    assert len(blocks) == 3
    sidecar, project, discovery = blocks
    (tmp_path / ".lspolicy.toml").write_text(sidecar)
    (entry,) = load_sidecar(tmp_path)
    assert entry.reason and entry.sid == "BreakGlass" and entry.line == 2
    (tmp_path / "pyproject.toml").write_text(project)
    config = load_config(tmp_path / "pyproject.toml")
    assert len(config.suppressions) == 2 and all(s.reason for s in config.suppressions)
    (tmp_path / "pyproject.toml").write_text(discovery)
    assert load_config(tmp_path / "pyproject.toml").exclude == ("fixtures/", "*.generated.json")
