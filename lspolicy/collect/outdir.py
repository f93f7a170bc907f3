"""Writes under the output directory: atomic, inside it, never through a symbolic link.

Every file is written to a fresh temporary name (``O_CREAT | O_EXCL | O_NOFOLLOW``) in its
final directory, flushed to disk and renamed over the final name, so a reader sees the old file
or the new one, never half of one. Directories are opened one component at a time relative to
the previous one with ``O_NOFOLLOW``, and a rename replaces a symbolic link rather than
following it, so a link planted in the output directory cannot redirect a write elsewhere.
Names are checked to be single plain components: nothing can climb out with ``..`` or ``/``.
The output directory itself may be created; if its last component is a symbolic link it is
refused (the parent path is the caller's to choose).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from lspolicy.errors import LspolicyError

__all__ = ["OutputDir", "OutputDirError"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class OutputDirError(LspolicyError):
    """The output directory cannot be used, or a name would leave it."""


def _component(name: str) -> str:
    if not name or name in (".", "..") or "/" in name or "\0" in name or name.startswith("."):
        raise OutputDirError(f"refusing to write {name!r}: not a plain file name")
    return name


class OutputDir:
    """The directory named by ``--out``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_symlink():
            raise OutputDirError(f"--out {str(self.path)!r} is a symbolic link; name a directory")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, _DIR_FLAGS)
        except OSError as exc:
            raise OutputDirError(
                f"--out {str(self.path)!r} cannot be used: {exc.strerror or exc}"
            ) from None
        os.close(fd)

    def write_json(self, relative: tuple[str, ...], document: Any) -> str:
        """Write ``document`` (indented JSON) at ``relative`` under the directory, creating
        subdirectories as needed; return the path written, relative, with ``/``."""
        *dirs, name = (_component(part) for part in relative)
        data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            fd = os.open(self.path, _DIR_FLAGS)
            try:
                for part in dirs:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, 0o755, dir_fd=fd)
                    inner = os.open(part, _DIR_FLAGS, dir_fd=fd)
                    os.close(fd)
                    fd = inner
                self._replace(fd, name, data)
            finally:
                os.close(fd)
        except OSError as exc:
            where = "/".join(relative)
            raise OutputDirError(
                f"cannot write {where!r} under {str(self.path)!r}: {exc.strerror or exc}"
            ) from None
        return "/".join(relative)

    @staticmethod
    def _replace(dir_fd: int, name: str, data: bytes) -> None:
        temp = f".{name}.{secrets.token_hex(8)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(temp, flags, 0o644, dir_fd=dir_fd)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=dir_fd)
            raise
