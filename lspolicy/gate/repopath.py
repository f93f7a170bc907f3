"""Where a reported file is, as code-scanning tools want it: relative to the repository root.

GitHub code scanning matches a result to a file of the repository by its path relative to the
repository's root, and tracks alerts across runs only if that path is the same every time
(https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning,
"Reporting consistent filepaths"). The root is the git toplevel of the checked paths, whatever
folder ``lspolicy check`` runs from; outside a git checkout it is the current folder.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["SRCROOT", "RepoRoot", "git_toplevel", "repo_root"]

SRCROOT = "%SRCROOT%"
"""The SARIF ``uriBaseId`` of the repository root (the name CodeQL and GitHub use)."""


@lru_cache(maxsize=64)
def git_toplevel(folder: Path) -> Path | None:
    """The root of the git work tree holding ``folder``, or None (not in one, or no git)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    top = done.stdout.strip()
    return Path(top).resolve() if done.returncode == 0 and top else None


@dataclass(frozen=True, slots=True)
class RepoRoot:
    """The folder report paths are relative to, and whether it is a git work tree's root."""

    path: Path
    in_git: bool

    def relative(self, file: str) -> str | None:
        """``file`` relative to the root (``/``-separated), or None when it is outside."""
        try:
            return Path(file).resolve().relative_to(self.path).as_posix()
        except ValueError:
            return None

    def uri(self) -> str:
        """The root as an absolute ``file:`` URI ending in ``/`` (SARIF §3.14.14 asks for it)."""
        text = self.path.as_uri()
        return text if text.endswith("/") else text + "/"


def repo_root(paths: tuple[str, ...] | list[str]) -> RepoRoot:
    """The git toplevel of the first checked path; the current folder outside git."""
    for raw in paths[:1]:
        p = Path(raw).resolve()
        top = git_toplevel(p if p.is_dir() else p.parent)
        if top is not None:
            return RepoRoot(top, in_git=True)
    return RepoRoot(Path.cwd().resolve(), in_git=False)
