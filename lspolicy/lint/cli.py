"""``lspolicy lint PATH...`` and ``lspolicy rule CODE``: argument parsing and output only.

`register` adds both commands to the main parser's subparsers; each sets ``run`` to a function
that returns the exit code: 0 no finding (suppressed ones aside), 1 findings, and errors
(unreadable input, a bad config) are raised as `lspolicy.errors.LspolicyError`, which the main
command reports with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from lspolicy.errors import LspolicyError
from lspolicy.lint.config import LintConfig, load_config
from lspolicy.lint.engine import LintInputError, lint_paths
from lspolicy.lint.finding import Finding
from lspolicy.lint.fix import fix_paths
from lspolicy.lint.registry import RULES, rule
from lspolicy.lint.unused import ran_codes, suppressions_for, unused_suppressions

__all__ = [
    "add_fix_arguments",
    "register",
    "render_json",
    "render_text",
    "run_fixes",
    "run_lint",
    "run_rule",
]

EXIT_OK, EXIT_FINDINGS = 0, 1


class UnknownRuleError(LspolicyError):
    """``lspolicy rule`` was given a code that names no rule."""


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for raw in values or () for v in raw.split(",") if v.strip()]


def render_text(findings: list[Finding]) -> str:
    """One line per finding (``file:line:col: CODE [severity] message``), a hint line, and a
    summary line."""
    lines: list[str] = []
    active = [f for f in findings if not f.is_suppressed]
    for f in active:
        lines.append(f"{f.location}: {f.code} [{f.severity}] {f.message}")
        if f.hint:
            lines.append(f"  hint: {f.hint}")
        lines.extend(f"  see: {r}" for r in f.related)
        if f.fix:
            lines.append(f"  fix ({f.fix.safety}): {f.fix.description}")
    suppressed = len(findings) - len(active)
    summary = f"{len(active)} finding{'s' if len(active) != 1 else ''}"
    if suppressed:
        summary += f", {suppressed} suppressed"
    lines.append(summary)
    return "\n".join(lines) + "\n"


def render_json(findings: list[Finding]) -> str:
    """Every finding (suppressed ones marked) as a JSON array."""
    return json.dumps([f.to_dict() for f in findings], indent=2) + "\n"


def add_fix_arguments(parser: argparse.ArgumentParser) -> None:
    """``--fix``, ``--diff`` and ``--unsafe-fixes``, for ``lint`` and ``check``."""
    parser.add_argument(
        "--fix",
        action="store_true",
        help="apply the safe fixes findings carry, write the files, then report what remains",
    )
    parser.add_argument(
        "--diff",
        action="store_true",
        help="print the fixes as a unified diff and write nothing (exit 1 when there are any)",
    )
    parser.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="with --fix/--diff: apply unsafe fixes too (they may change access: review them)",
    )


def run_fixes(
    paths: list[str], config: LintConfig, args: argparse.Namespace, out: TextIO, note: TextIO
) -> int | None:
    """Apply (``--fix``) or show (``--diff``) the fixes under ``paths``. With ``--diff`` the
    exit code (1: there are fixes, 0: none); otherwise None, and the caller reports what
    remains. Diffs go to ``out``, the account of what was done to ``note``."""
    results = fix_paths(paths, config, unsafe=args.unsafe_fixes, write=not args.diff)
    verb = "would fix" if args.diff else "fixed"
    for r in results:
        if args.diff:
            out.write(r.diff())
        for a in r.applied:
            note.write(
                f"{verb} {r.file}: {a.code} {a.description}"
                + (" (unsafe)" if a.safety == "unsafe" else "")
                + "\n"
            )
        for x in r.refused:
            note.write(f"not fixed {r.file}: {x.code} {x.description}: {x.reason}\n")
        if r.unsafe_left:
            note.write(
                f"{r.file}: {r.unsafe_left} unsafe fix{'es' if r.unsafe_left != 1 else ''} "
                "not applied (--unsafe-fixes applies them)\n"
            )
    fixes = sum(len(r.applied) for r in results)
    files = sum(1 for r in results if r.changed)
    note.write(f"{verb} {fixes} problem{'s' if fixes != 1 else ''} in {files} "
               f"file{'s' if files != 1 else ''}\n")  # fmt: skip
    if args.diff:
        return EXIT_FINDINGS if files else EXIT_OK
    return None


def run_lint(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``lspolicy lint``: lint the paths as one principal's policies (found by shape; policies
    inside wrapper files are linted each on its own)."""
    from lspolicy.gate.discover import discover, exclude_rules, nothing_found_message  # noqa: PLC0415
    from lspolicy.gate.embedded import (  # noqa: PLC0415 - the gate imports lint
        lint_embedded,
        lint_source_groups,
        unread_findings,
    )
    from lspolicy.gate.options import named, report_skipped, split_patterns  # noqa: PLC0415

    stream = out or sys.stdout
    config = load_config(Path(args.config) if args.config else None, start=Path(args.paths[0]))
    config = config.with_cli(select=_split(args.select), ignore=_split(args.ignore))
    if args.fix or args.diff:
        note = stream if args.format == "text" and not args.diff else sys.stderr
        done = run_fixes(args.paths, config, args, stream, note)
        if done is not None:
            return done
    rules = exclude_rules(
        config=config.exclude,
        config_root=config.root,
        config_source=config.source,
        cli=split_patterns(args.exclude),
    )
    found = discover(args.paths, exclude=rules, skip_named_non_policies=args.skip_non_policies)
    report_skipped(found.skipped, verbose=args.verbose)
    if found.problems:
        raise LintInputError("\n".join(str(p) for p in found.problems))
    if not found.policy_files and not found.embedded:
        if not args.allow_empty:
            raise LintInputError(nothing_found_message(args.paths, found, "policies"))
        sys.stderr.write(f"lspolicy: no policies found under {named(args.paths)} (--allow-empty)\n")
    files = list(found.policy_files)
    findings = lint_paths(files, config) if files else []
    for embedded in found.embedded:
        findings.extend(lint_embedded(embedded, config))
    findings.extend(lint_source_groups(found.embedded, config))
    findings.extend(unread_findings(found.unread, config))
    findings += unused_suppressions(
        findings,
        suppressions_for(files, config),
        files=files,
        paths=args.paths,
        codes=ran_codes(config),
    )
    stream.write(render_json(findings) if args.format == "json" else render_text(findings))
    return EXIT_FINDINGS if any(not f.is_suppressed for f in findings) else EXIT_OK


def run_rule(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``lspolicy rule CODE``: print the rule's documentation (``--all``: the table of rules)."""
    stream = out or sys.stdout
    if args.code is None:
        for r in RULES.values():
            stream.write(f"{r.code}  {r.severity:<10}  {r.name:<36}  {r.title}\n")
        return EXIT_OK
    found = rule(args.code)
    if found is None:
        raise UnknownRuleError(f"no lint rule {args.code!r}; `lspolicy rule` lists them")
    stream.write(found.doc.strip() + "\n")
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``lint`` and ``rule`` to the ``lspolicy`` command's subparsers."""
    lint = subparsers.add_parser(
        "lint", help="lint policies (the paths are taken as one principal's policies)"
    )
    lint.add_argument("paths", nargs="+", metavar="PATH", help="policy files or folders")
    lint.add_argument(
        "--format", choices=("text", "json"), default="text", help="output (default: text)"
    )
    lint.add_argument(
        "--select",
        action="append",
        metavar="CODES",
        help="only these rules: codes, prefixes (LSP1) or names, comma-separated",
    )
    lint.add_argument(
        "--ignore", action="append", metavar="CODES", help="skip these rules (comma-separated)"
    )
    lint.add_argument(
        "--config", metavar="FILE", help="lspolicy.toml or pyproject.toml (default: nearest)"
    )
    from lspolicy.gate.options import add_discovery_arguments  # noqa: PLC0415

    add_discovery_arguments(lint)
    lint.add_argument(
        "--skip-non-policies",
        action="store_true",
        help="a file given by name that is not a policy by its shape is skipped, not an error "
        "(for hooks that pass every changed file)",
    )
    add_fix_arguments(lint)
    lint.set_defaults(run=run_lint)

    rule_cmd = subparsers.add_parser(
        "rule", help="print a lint rule's documentation (no CODE: list the rules)"
    )
    rule_cmd.add_argument("code", nargs="?", metavar="CODE", help="e.g. LSP101 or unknown-action")
    rule_cmd.set_defaults(run=run_rule)
