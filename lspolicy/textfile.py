"""Reading a user's input file: bounded in size, UTF-8, every failure a clear error (never a
stack trace), raised as the caller's own error type so each command keeps its exit code."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from lspolicy.errors import LspolicyError

__all__ = ["MAX_INPUT_BYTES", "NotRegularFileError", "TooLargeError", "read_bounded", "read_text"]

MAX_INPUT_BYTES = 16 << 20
"""16 MiB: far above any policy, world or trail a person writes; a guard against runaway input."""


class NotRegularFileError(OSError):
    """The path is a FIFO, a device (``/dev/zero``), a socket or a folder: not read."""


class TooLargeError(OSError):
    """The file holds more than the limit (counted while reading, not taken from ``stat``)."""


def read_bounded(path: str | Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    The file is opened without blocking (a FIFO with no writer must not hang us), checked to be
    a regular file on the open descriptor (no race with a swap after a ``stat``), and read up to
    ``limit + 1`` bytes, so a file that grows or lies about its size still costs at most that.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFileError(0, "not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TooLargeError(0, f"larger than {limit} bytes")
    return data


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
    try:
        return read_bounded(path, limit).decode("utf-8")
    except OSError as exc:
        raise error(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
