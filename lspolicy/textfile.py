"""Reading a user's input file: bounded in size, UTF-8, every failure a clear error (never a
stack trace), raised as the caller's own error type so each command keeps its exit code."""

from __future__ import annotations

import sys
from pathlib import Path

from lspolicy.errors import LspolicyError

__all__ = ["MAX_INPUT_BYTES", "read_text"]

MAX_INPUT_BYTES = 16 << 20
"""16 MiB: far above any policy, world or trail a person writes; a guard against runaway input."""


def read_text(
    path: str | Path, *, limit: int = MAX_INPUT_BYTES, error: type[LspolicyError] = LspolicyError
) -> str:
    """The UTF-8 text of ``path`` (``-`` for standard input), or ``error`` saying why not."""
    if str(path) == "-":
        data = sys.stdin.buffer.read(limit + 1)
        if len(data) > limit:
            raise error(f"standard input: larger than {limit} bytes")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise error("standard input: not UTF-8 text") from None
    p = Path(path)
    try:
        if p.stat().st_size > limit:
            raise error(f"{path}: larger than {limit} bytes")
        return p.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
