"""Unused suppressions (LSP903): the suppressions a run covered that suppressed nothing.

A suppression is *covered* by a run when one of its rules ran and the run looked at what it
names: a checked policy file matches its pattern, or a checked path is its folder or above it
(then an entry for a file that no longer exists is stale too). Outside that — ``lspolicy check
policies/a.json`` with an entry for ``b.json`` — a suppression says nothing about this run and
is not reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from lspolicy.lint.config import (
    LintConfig,
    Suppression,
    code_matches,
    load_sidecar,
    path_matches,
)
from lspolicy.lint.finding import Finding, FindingLocation
from lspolicy.lint.registry import RULES, select_rules

__all__ = ["UNUSED_SUPPRESSION", "ran_codes", "suppressions_for", "unused_suppressions"]

UNUSED_SUPPRESSION = "LSP903"


def suppressions_for(files: Iterable[Path], config: LintConfig) -> tuple[Suppression, ...]:
    """The config's suppressions and those of the ``.lspolicy.toml`` beside each file."""
    out = list(config.suppressions)
    if config.sidecars:
        for folder in dict.fromkeys(f.parent for f in files):
            out.extend(load_sidecar(folder))
    return tuple(out)


def ran_codes(config: LintConfig, *, gate_codes: Iterable[str] = ()) -> frozenset[str]:
    """The codes that could be reported in a run with ``config`` (plus the gate's own)."""
    return frozenset(r.code for r in select_rules(config.select, config.ignore)) | set(gate_codes)


def _covered(s: Suppression, files: Sequence[Path], paths: Sequence[Path]) -> bool:
    if any(path_matches(s.path, str(f), s.root) for f in files):
        return True
    root = s.root.resolve()
    return any(p.is_dir() and (p.resolve() == root or p.resolve() in root.parents) for p in paths)


def unused_suppressions(
    findings: Iterable[Finding],
    suppressions: Iterable[Suppression],
    *,
    files: Sequence[Path],
    paths: Sequence[str | Path],
    codes: frozenset[str],
) -> list[Finding]:
    """An LSP903 finding, at its entry, for each covered suppression that covers no finding.

    ``files`` are the policy files checked, ``paths`` what the run was given, ``codes`` the
    rules that ran (see `ran_codes`); unused-suppression findings are only made when LSP903 is
    among them.
    """
    if UNUSED_SUPPRESSION not in codes:
        return []
    found = [f for f in findings if f.code != "LSP001"]
    given = [Path(p) for p in paths]
    rule = RULES[UNUSED_SUPPRESSION]
    out: list[Finding] = []
    for s in dict.fromkeys(suppressions):
        if not any(code_matches(c, code) for c in s.codes for code in codes):
            continue
        if not _covered(s, files, given) or any(s.covers(f) for f in found):
            continue
        where = f"`{s.sid}` in {s.path!r}" if s.sid else repr(s.path)
        out.append(
            Finding(
                code=rule.code,
                severity=rule.severity,
                title=rule.title,
                message=f"suppression of {', '.join(s.codes)} for {where} matched no finding",
                location=FindingLocation(
                    s.file or s.origin, s.origin.rpartition(" ")[2], s.line, s.column
                ),
                hint="remove it, or point it at the statement it is for (its file and Sid)",
            )
        )
    return out
