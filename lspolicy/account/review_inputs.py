"""What a review read, recorded next to its dataset (``DIR/inputs.json``), so that any cell can
be decided again from the same exports (``lspolicy explain --review``) and a changed export is
noticed instead of explained.

``inputs.json`` (``lspolicy-review-inputs/1``)::

    {"format": "lspolicy-review-inputs/1",
     "files": [{"option": "--auth-details", "path": "/abs/auth.json", "given": "auth.json",
                "sha256": "...", "bytes": 1234}, ...],
     "actions": ["lightsail:StopInstance", ...],
     "max_chain": 5}

Files are listed in the order the review read them (the organization file first, then
``--auth-details``, then ``--instances``, as `lspolicy.account.cli` reads them, then the
``--trail`` file when one was given: it marks the cells' ``used``), each hashed before it is
read. ``explain --review`` refuses a review any of whose files is gone or changed, the trail
included (`changed_files`); it re-reads only the exports.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lspolicy.errors import LspolicyError
from lspolicy.textfile import read_text

__all__ = [
    "FORMAT",
    "INPUTS_FILE",
    "OPTIONS",
    "InputsError",
    "changed_files",
    "read_inputs",
    "record_inputs",
    "sha256_file",
    "write_inputs",
]

INPUTS_FILE = "inputs.json"
FORMAT = "lspolicy-review-inputs/1"
_CHUNK = 1 << 20
OPTIONS = ("--organization", "--auth-details", "--instances", "--trail")
"""The review's options that name a file recorded here."""


class InputsError(LspolicyError):
    """A missing, unreadable or foreign ``inputs.json`` (exit 2)."""


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def record_inputs(
    *,
    organization: str | None,
    auth_details: Sequence[str],
    instances: Sequence[str],
    actions: Sequence[str],
    max_chain: int,
    trail: str | None = None,
) -> dict[str, Any]:
    """The record of a review's inputs (unreadable files are left for the readers to report:
    they are hashed as ``null``)."""
    files: list[dict[str, Any]] = []
    named = [("--organization", organization)] if organization else []
    named += [("--auth-details", p) for p in auth_details]
    named += [("--instances", p) for p in instances]
    named += [("--trail", trail)] if trail else []
    for option, given in named:
        path = Path(given)
        try:
            digest: str | None = sha256_file(path)
            size: int | None = path.stat().st_size
        except OSError:
            digest = size = None
        files.append(
            {
                "option": option,
                "path": str(path.resolve()),
                "given": given,
                "sha256": digest,
                "bytes": size,
            }
        )
    return {"format": FORMAT, "files": files, "actions": list(actions), "max_chain": max_chain}


def write_inputs(out: Path, record: dict[str, Any]) -> None:
    """Write ``DIR/inputs.json``."""
    (out / INPUTS_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def read_inputs(directory: str | Path) -> dict[str, Any]:
    """``DIR/inputs.json``, checked for the fields `changed_files` and the re-reading use."""
    path = Path(directory) / INPUTS_FILE
    if not path.exists():
        raise InputsError(
            f"{path}: no record of the review's inputs (reviews written before lspolicy "
            "recorded them have none): run `lspolicy review` again"
        )
    text = read_text(path, error=InputsError)
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputsError(f"{path}: not readable JSON: {exc}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise InputsError(f"{path}: not a {FORMAT} record")
    files = record.get("files")
    ok = isinstance(files, list) and all(
        isinstance(f, dict)
        and f.get("option") in OPTIONS
        and isinstance(f.get("path"), str)
        and isinstance(f.get("sha256"), str)
        for f in files
    )
    if not ok:
        raise InputsError(f"{path}: files: expected a list of {{option, path, sha256}}")
    if not isinstance(record.get("max_chain"), int) or not isinstance(record.get("actions"), list):
        raise InputsError(f"{path}: expected max_chain (a number) and actions (a list)")
    return record


def changed_files(record: dict[str, Any]) -> list[str]:
    """One line per recorded file that is gone or whose SHA-256 differs."""
    out: list[str] = []
    for f in record["files"]:
        path = f["path"]
        try:
            now = sha256_file(path)
        except OSError as exc:
            out.append(f"{path} ({f['option']}): cannot be read: {exc.strerror or exc}")
            continue
        if now != f["sha256"]:
            out.append(
                f"{path} ({f['option']}): changed since the review "
                f"(sha256 {f['sha256'][:12]}... then, {now[:12]}... now)"
            )
    return out
