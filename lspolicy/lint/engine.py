"""Run the rules: over one parsed policy, or over policy files as one principal's policies.

- `lint_policy` runs the per-policy rules and the cross-policy rules on a single policy.
- `lint_paths` reads every ``*.json`` policy under the given paths, reports each parse problem
  as an ``LSP001`` finding at its line and column, runs the per-policy rules on each policy that
  parses, and runs the cross-policy rules (privilege escalation) over all of them together: the
  paths given in one call are taken as the policies of one principal. Then it marks findings
  covered by a suppression (config, or a ``.lspolicy.toml`` beside the policy) with the reason.

``LSP001`` is always on and cannot be suppressed: a policy that does not parse is not a policy,
and the other rules say nothing about it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from lspolicy.errors import LspolicyError, PolicyParseError, Problem
from lspolicy.lightsail.catalog import Catalog, load_catalog
from lspolicy.lint.config import LintConfig, Suppression, apply_suppressions, load_sidecar
from lspolicy.lint.context import PolicyContext, Report
from lspolicy.lint.finding import Finding, FindingLocation
from lspolicy.lint.registry import RULES, select_rules
from lspolicy.lint.rule import Rule
from lspolicy.model.policy import Policy, PolicyKind
from lspolicy.parse import parse_policy
from lspolicy.textfile import read_text

__all__ = [
    "PARSE_ERROR",
    "LintInputError",
    "lint_contexts",
    "lint_paths",
    "lint_policy",
    "parse_finding",
    "policy_files",
    "select_enabled",
]

PARSE_ERROR = "LSP001"
MAX_FILE = 1 << 20


class LintInputError(LspolicyError):
    """A path to lint does not exist or cannot be read as UTF-8 text."""


def select_enabled(config: LintConfig | None) -> tuple[Rule, ...]:
    """The rules ``config`` turns on (every rule without one)."""
    cfg = config or LintConfig()
    return select_rules(cfg.select, cfg.ignore)


def _finding(rule: Rule, report: Report) -> Finding:
    return Finding(
        code=rule.code,
        severity=rule.severity,
        title=rule.title,
        message=report.message,
        location=report.location,
        sid=report.sid,
        hint=report.hint,
        fix=report.fix,
        related=report.related,
    )


def lint_contexts(
    contexts: Sequence[PolicyContext], rules: Iterable[Rule] | None = None
) -> list[Finding]:
    """Run ``rules`` (default: all) over policies already in context; cross-policy rules see
    ``contexts`` as one principal's policies."""
    chosen = tuple(RULES.values()) if rules is None else tuple(rules)
    out: list[Finding] = []
    for r in chosen:
        if r.check is not None:
            for ctx in contexts:
                out.extend(_finding(r, report) for report in r.check(ctx))
        elif r.check_group is not None and contexts:
            out.extend(_finding(r, report) for _ctx, report in r.check_group(contexts))
    return out


def _sorted(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(
        findings,
        key=lambda f: (f.location.file, f.location.line, f.location.column, f.code, f.message),
    )


def lint_policy(
    policy: Policy,
    *,
    text: str | None = None,
    config: LintConfig | None = None,
    catalog: Catalog | None = None,
) -> list[Finding]:
    """Lint one parsed policy. ``text`` (what it was parsed from) gives every finding its line
    and column and lets fixes keep the document as written; ``config`` selects rules and its
    path suppressions apply to ``policy.source``."""
    ctx = PolicyContext.of(policy, text=text, catalog=catalog)
    found = lint_contexts([ctx], select_enabled(config))
    if config is not None:
        found = apply_suppressions(found, config.suppressions)
    return _sorted(found)


def policy_files(paths: Iterable[str | Path]) -> list[Path]:
    """The policy files to lint: each file given, and every file under each folder that is a
    policy by its shape (`lspolicy.gate.discover`: tool folders, ``.gitignore``d files and JSON
    that is no policy are left out)."""
    from lspolicy.gate.discover import discover  # noqa: PLC0415 - the gate imports this module

    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(discover([p]).policy_files)
        elif p.is_file():
            out.append(p)
        else:
            raise LintInputError(f"{raw}: no such file or directory")
    return list(dict.fromkeys(out))


def _read(path: Path) -> str:
    return read_text(path, limit=MAX_FILE, error=LintInputError)


def parse_finding(problem: Problem) -> Finding:
    """A parse problem as an ``LSP001`` finding at its line and column."""
    rule = RULES[PARSE_ERROR]
    loc = problem.location
    return Finding(
        code=rule.code,
        severity=rule.severity,
        title=rule.title,
        message=problem.message,
        location=FindingLocation(loc.source, loc.path, loc.line, loc.column, loc.line, loc.column),
        hint=problem.hint,
    )


def lint_paths(
    paths: Iterable[str | Path],
    config: LintConfig | None = None,
    *,
    kind: PolicyKind = "identity",
    catalog: Catalog | None = None,
) -> list[Finding]:
    """Lint the policy files under ``paths`` as the policies of one principal.

    Returns every finding, suppressed ones included (marked with their reason), sorted by file,
    line and column. Raises `LintInputError` for a path that does not exist or cannot be read.
    """
    cfg = config or LintConfig()
    cat = catalog or load_catalog()
    findings: list[Finding] = []
    contexts: list[PolicyContext] = []
    suppressions: list[Suppression] = list(cfg.suppressions)
    folders: set[Path] = set()
    for path in policy_files(paths):
        text = _read(path)
        if cfg.sidecars and path.parent not in folders:
            folders.add(path.parent)
            suppressions.extend(load_sidecar(path.parent))
        try:
            policy = parse_policy(text, source=str(path), kind=kind)
        except PolicyParseError as exc:
            findings.extend(parse_finding(p) for p in exc.problems)
            continue
        contexts.append(PolicyContext.of(policy, text=text, catalog=cat))
    findings.extend(lint_contexts(contexts, select_enabled(cfg)))
    return _sorted(apply_suppressions(findings, suppressions))
