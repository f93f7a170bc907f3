"""How a command finds its files, on the command line: ``--exclude``, ``--allow-empty`` and
``--verbose``, shared by ``check``, ``test`` and ``lint`` so the three read the same tree."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from lspolicy.gate.discover import Skipped

__all__ = ["add_discovery_arguments", "named", "report_skipped", "split_patterns"]


def add_discovery_arguments(parser: argparse.ArgumentParser) -> None:
    """``--exclude``, ``--allow-empty`` and ``--verbose``: how a command finds its files."""
    parser.add_argument(
        "--exclude",
        action="append",
        metavar="PATTERN",
        help="gitignore-style pattern of files or folders not to read (repeatable; adds to the "
        "config's `exclude`)",
    )
    parser.add_argument(
        "--allow-empty",
        action="store_true",
        help="finding nothing to check is not an error (default: exit 2, so a wrong path fails)",
    )
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="list every file skipped, and why (stderr)"
    )


def split_patterns(values: Sequence[str] | None) -> list[str]:
    """``--exclude a,b --exclude c`` -> ``["a", "b", "c"]``."""
    return [v.strip() for raw in values or () for v in raw.split(",") if v.strip()]


def named(paths: Sequence[str]) -> str:
    """The paths as the user gave them, quoted, for messages."""
    return ", ".join(repr(p) for p in paths)


def report_skipped(
    skipped: Sequence[Skipped], *, verbose: bool, stream: TextIO | None = None
) -> None:
    """With ``--verbose``, every file and folder discovery did not read, and why (on stderr, so
    a machine-readable report on stdout stays whole)."""
    if verbose:
        out = stream or sys.stderr
        for s in skipped:
            out.write(f"skipped {s.path}: {s.reason}\n")
