"""Lint a policy read out of another file, and locate each finding in that file.

Two kinds of embedded policy:

- a JSON document inside a wrapper (a string of a SimulateCustomPolicy request, a document of an
  authorization-details dump): linted on its own text; each finding is then placed where the
  document starts in the wrapper, with the document's JSON path in front of the finding's own
  (``PolicyInputList[0].Statement[0].Action``);
- a policy read from terraform or CloudFormation (`lspolicy.sources`): it carries the span of
  every value in the source file, so each finding points at the exact line and column of the
  ``.tf``, plan or template, with the policy's name in the file in front of its path
  (``aws_iam_role_policy.ops.Statement[0].Action[1]``). Values the file does not decide are
  placeholders: findings *about* a placeholder are left out (the rules cannot judge a value they
  do not see) and each placeholder is noted instead (``LSP003``). Such policies are also linted
  together per principal they are attached to, so cross-policy rules see one principal's rights.
  Fixes are not offered for them: a fix rewrites JSON, not HCL or YAML.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from lspolicy.errors import PolicyParseError, Problem
from lspolicy.gate.kinds import EmbeddedPolicy
from lspolicy.lint.config import LintConfig, Suppression, apply_suppressions, load_sidecar
from lspolicy.lint.context import PolicyContext
from lspolicy.lint.engine import lint_contexts, lint_policy, parse_finding, select_enabled
from lspolicy.lint.finding import Finding, FindingLocation
from lspolicy.lint.registry import RULES
from lspolicy.parse import parse_policy
from lspolicy.parse.build import build_policy
from lspolicy.parse.jsonpos import JsonPath, format_path
from lspolicy.sources.symbolic import MARK

__all__ = ["lint_embedded", "lint_source_groups", "unread_findings"]

NOT_READ = "LSP002"
SYMBOLIC = "LSP003"


def _relocate(finding: Finding, policy: EmbeddedPolicy) -> Finding:
    inner = finding.location.path
    location = FindingLocation(
        file=policy.file,
        path=f"{policy.where}.{inner}" if inner else policy.where,
        line=policy.line,
        column=policy.column,
    )
    return dataclasses.replace(finding, location=location)


def _named(finding: Finding, policy: EmbeddedPolicy) -> Finding:
    """A finding already at its place in the source file, with the policy's name in its path
    and no fix (fixes patch JSON text)."""
    inner = finding.location.path
    sep = "" if inner.startswith("[") else "."
    path = f"{policy.where}{sep}{inner}" if inner else policy.where
    return dataclasses.replace(
        finding,
        location=dataclasses.replace(finding.location, file=policy.file, path=path),
        fix=None,
    )


def _symbolic_paths(value: object, path: JsonPath = ()) -> Iterator[str]:
    """The paths of every value that is, or holds, a placeholder."""
    if isinstance(value, str):
        if MARK in value:
            yield format_path(path)
    elif isinstance(value, list):
        inner = [p for i, v in enumerate(value) for p in _symbolic_paths(v, (*path, i))]
        if inner:
            yield format_path(path)
            yield from inner
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _symbolic_paths(v, (*path, k))


def _from_problem(code: str, problem: Problem, *, name: str | None = None) -> Finding:
    rule = RULES[code]
    loc = problem.location
    path = loc.path
    if name and path and not path.startswith(name):
        path = f"{name}.{path}"
    return Finding(
        code=rule.code,
        severity=rule.severity,
        title=rule.title,
        message=problem.message,
        location=FindingLocation(loc.source, path, loc.line, loc.column, loc.line, loc.column),
        hint=problem.hint,
    )


def _suppressions(files: Iterable[str], config: LintConfig | None) -> list[Suppression]:
    cfg = config or LintConfig()
    out = list(cfg.suppressions)
    if cfg.sidecars:
        for folder in dict.fromkeys(Path(f).parent for f in files):
            out.extend(load_sidecar(folder))
    return out


def _source_context(policy: EmbeddedPolicy) -> tuple[PolicyContext | None, list[Finding]]:
    assert policy.loaded is not None
    try:
        parsed = build_policy(policy.loaded, source=policy.file, kind=policy.kind)
    except PolicyParseError as exc:
        return None, [_named(parse_finding(p), policy) for p in exc.problems]
    return PolicyContext.of_loaded(parsed, policy.loaded), []


def _judged(findings: Iterable[Finding], policy: EmbeddedPolicy) -> list[Finding]:
    assert policy.loaded is not None
    symbolic = set(_symbolic_paths(policy.loaded.value))
    return [_named(f, policy) for f in findings if f.location.path not in symbolic]


def lint_embedded(policy: EmbeddedPolicy, config: LintConfig | None = None) -> list[Finding]:
    """Every finding of one embedded policy (a parse problem is an ``LSP001`` finding)."""
    if policy.loaded is not None:
        ctx, found = _source_context(policy)
        if ctx is not None:
            found = _judged(lint_contexts([ctx], select_enabled(config)), policy)
        found += [_from_problem(SYMBOLIC, note) for note in policy.notes]
        return apply_suppressions(found, _suppressions([policy.file], config))
    try:
        parsed = parse_policy(policy.text, source=policy.file, kind=policy.kind)
    except PolicyParseError as exc:
        found = [parse_finding(p) for p in exc.problems]
    else:
        found = lint_policy(parsed, text=policy.text, config=config)
    return [_relocate(f, policy) for f in found]


def lint_source_groups(
    policies: Sequence[EmbeddedPolicy], config: LintConfig | None = None
) -> list[Finding]:
    """Lint the identity policies read from sources together, per principal they are attached
    to (a role's inline policies, the managed policies attached to it), so cross-policy rules
    (privilege escalation through tags) see exactly one principal's rights."""
    groups: dict[str, list[EmbeddedPolicy]] = {}
    for p in policies:
        if p.loaded is None or p.kind != "identity":
            continue
        for principal in p.attached_to:
            groups.setdefault(f"{p.file}\0{principal}", []).append(p)
    out: list[Finding] = []
    rules = select_enabled(config)
    for members in groups.values():
        if len(members) < 2:
            continue
        contexts: list[tuple[PolicyContext, EmbeddedPolicy]] = []
        for m in members:
            ctx, _ = _source_context(m)
            if ctx is not None:
                contexts.append((ctx, m))
        found = lint_contexts([c for c, _ in contexts], [r for r in rules if r.check_group])
        for f in found:
            # the policy the report is about: the one whose text holds the reported line
            owner = next((m for _, m in contexts if f.location.line in _lines(m)), contexts[0][1])
            out.extend(_judged([f], owner))
    return apply_suppressions(out, _suppressions([p.file for p in policies], config))


def _lines(policy: EmbeddedPolicy) -> set[int]:
    assert policy.loaded is not None
    return {s.line for s in policy.loaded.spans.values()}


def unread_findings(problems: Iterable[Problem], config: LintConfig | None = None) -> list[Finding]:
    """``LSP002`` for each source policy that could not be read."""
    problems = tuple(problems)
    found = [_from_problem(NOT_READ, p) for p in problems]
    return apply_suppressions(found, _suppressions([p.location.source for p in problems], config))
