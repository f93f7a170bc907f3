"""Where a file named inside another file may be: inside the project, never anywhere else.

World files and policy test files name their policies by path, relative to themselves. Such a
file may come from a pull request the gate is checking, so a path is a request to read a file
on the machine that runs lspolicy, and a parse error would quote what it read. The rule:

- an absolute path is refused;
- a relative path is resolved (symlinks included) and must stay inside the *project*: the
  nearest folder at or above the naming file that holds a ``.git`` entry (a checkout), or, when
  there is none, the naming file's own folder.

So ``../policies/ops.json`` from ``tests/ops.lspolicy-test.yaml`` in a checkout is fine, and
``/etc/passwd`` or ``../../../home/me/.aws/credentials`` are not.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["named_path_problem", "project_root"]


def project_root(start: Path) -> Path:
    """The checkout ``start`` is in (the nearest folder with ``.git``), else ``start``'s own
    folder (``start`` itself when it is one)."""
    here = start.resolve()
    folder = here if here.is_dir() else here.parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


def named_path_problem(rel: str, naming_file: Path) -> str | None:
    """Why the path ``rel``, written in ``naming_file``, may not be read; None when it may."""
    if Path(rel).is_absolute():
        return f"{rel!r} is an absolute path: name files relative to this one, inside the project"
    root = project_root(naming_file)
    target = (naming_file.parent / rel).resolve()
    if not target.is_relative_to(root):
        return f"{rel!r} leads outside the project ({root}): it is not read"
    return None
