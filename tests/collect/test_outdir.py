"""`lspolicy.collect.outdir`: writes stay inside the output directory, are atomic, and never
follow a symbolic link. The AWS docs are silent here: these are lspolicy's own guarantees for a
tool that writes files from account data (names built from account ids and region names)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lspolicy.collect.outdir import OutputDir, OutputDirError


def test_writes_json_under_a_created_subdirectory_and_leaves_no_temporary(tmp_path: Path) -> None:
    out = OutputDir(tmp_path / "new" / "out")
    assert out.write_json(("123456789012", "a.json"), {"x": [1]}) == "123456789012/a.json"
    written = tmp_path / "new" / "out" / "123456789012"
    assert json.loads((written / "a.json").read_text()) == {"x": [1]}
    out.write_json(("123456789012", "a.json"), {"x": [2]})  # replaced, not appended
    assert json.loads((written / "a.json").read_text()) == {"x": [2]}
    assert os.listdir(written) == ["a.json"]


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", ".hidden", "x\0y"])
def test_a_name_that_is_not_one_plain_component_is_refused(tmp_path: Path, name: str) -> None:
    out = OutputDir(tmp_path)
    with pytest.raises(OutputDirError, match="not a plain file name"):
        out.write_json((name, "f.json"), {})
    with pytest.raises(OutputDirError, match="not a plain file name"):
        out.write_json((name,), {})
    assert os.listdir(tmp_path) == []


def test_a_link_at_the_file_name_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "report.json").symlink_to(victim)
    OutputDir(out_dir).write_json(("report.json",), {"ok": True})
    assert victim.read_text() == "keep me"
    assert not (out_dir / "report.json").is_symlink()
    assert json.loads((out_dir / "report.json").read_text()) == {"ok": True}


def test_a_link_as_a_directory_or_as_out_itself_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "acct").symlink_to(elsewhere)
    with pytest.raises(OutputDirError, match="cannot write"):
        OutputDir(out_dir).write_json(("acct", "f.json"), {})
    (tmp_path / "link").symlink_to(elsewhere)
    with pytest.raises(OutputDirError, match="symbolic link"):
        OutputDir(tmp_path / "link")
    assert os.listdir(elsewhere) == []
