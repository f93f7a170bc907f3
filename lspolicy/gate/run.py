"""Run the gate over paths: parse and lint every policy, run every policy test file."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from lspolicy.cases import LoadedCases, load_case_file, run_cases, run_properties
from lspolicy.errors import LspolicyError, PolicyParseError, Problem
from lspolicy.explain import render_text
from lspolicy.gate.discover import Discovery, discover, exclude_rules, nothing_found_message
from lspolicy.gate.embedded import lint_embedded, lint_source_groups, unread_findings
from lspolicy.gate.kinds import TEST_SUFFIX, EmbeddedPolicy, extract_source
from lspolicy.gate.report import CaseOutcome, GateReport, PropertyOutcome
from lspolicy.lint.config import GATE_CODES, LintConfig, apply_suppressions, load_config
from lspolicy.lint.engine import lint_paths
from lspolicy.lint.finding import Finding, FindingLocation, Severity
from lspolicy.lint.unused import ran_codes, suppressions_for, unused_suppressions
from lspolicy.model.policy import Policy
from lspolicy.parse import parse_policy
from lspolicy.parse.build import build_policy

__all__ = [
    "TEST_SUFFIX",
    "GateInputError",
    "NothingFoundError",
    "discover_inputs",
    "new_access_findings",
    "new_source_access_findings",
    "run_gate",
    "test_files",
]


class GateInputError(LspolicyError):
    """The gate cannot run as asked (e.g. ``--base`` outside a git checkout): exit 2."""


class NothingFoundError(GateInputError):
    """No policy and no policy test under the paths: a wrong path must not pass the gate."""


def test_files(paths: Sequence[str | Path]) -> list[Path]:
    """Every ``*.lspolicy-test.yaml`` under ``paths`` (discovery's rules: no tool folders, no
    ``.gitignore``d files), sorted."""
    return list(discover(paths).test_files)


def discover_inputs(
    paths: Sequence[str | Path], config: LintConfig, *, exclude: Sequence[str] = ()
) -> Discovery:
    """Discovery over ``paths`` with the config's ``exclude`` and the command line's."""
    rules = exclude_rules(
        config=config.exclude,
        config_root=config.root,
        config_source=config.source,
        cli=exclude,
    )
    return discover(paths, exclude=rules)


def _principal_groups(loaded_files: Sequence[LoadedCases]) -> list[list[Path]]:
    groups: dict[tuple[Path, ...], None] = {}
    for loaded in loaded_files:
        for spec in loaded.spec.principals.values():
            # identity policies only: a boundary grants nothing, so it is no part of the rights
            paths = [Path(os.path.normpath(loaded.path.parent / p)) for p in spec.policies]
            if len(paths) > 1:
                groups[tuple(sorted(paths))] = None
    return [list(g) for g in groups]


def run_gate(
    paths: Sequence[str | Path],
    *,
    config: LintConfig | None = None,
    fail_on: Severity = Severity.WARNING,
    base: str | None = None,
    exclude: Sequence[str] = (),
    allow_empty: bool = False,
) -> GateReport:
    """Parse + lint every policy under ``paths`` and run every policy test file there.

    Files are found by shape (`lspolicy.gate.discover`); raises `NothingFoundError` when there
    is no policy and no test file under ``paths``, unless ``allow_empty``.
    """
    cfg = config if config is not None else load_config(start=Path(paths[0]) if paths else None)
    found_inputs = discover_inputs(paths, cfg, exclude=exclude)
    if found_inputs.empty and not found_inputs.problems and not allow_empty:
        raise NothingFoundError(
            nothing_found_message(paths, found_inputs, "policies or policy tests")
        )
    files = list(found_inputs.policy_files)
    problems: list[Problem] = list(found_inputs.problems)
    cases: list[CaseOutcome] = []
    texts: dict[str, str] = {}
    loaded_files = []
    for tf in found_inputs.test_files:
        try:
            loaded_files.append(load_case_file(tf))
        except PolicyParseError as exc:
            problems.extend(exc.problems)
    # Each policy is linted on its own; each principal's policies (as the test files attach
    # them) are linted together too, so cross-policy rules (privilege escalation through tags)
    # see exactly one principal's rights, never a mix of several principals'.
    found: dict[Finding, None] = {}
    for f in files:
        found.update(dict.fromkeys(lint_paths([f], cfg)))
    for embedded in found_inputs.embedded:
        found.update(dict.fromkeys(lint_embedded(embedded, cfg)))
    found.update(dict.fromkeys(lint_source_groups(found_inputs.embedded, cfg)))
    found.update(dict.fromkeys(unread_findings(found_inputs.unread, cfg)))
    groups = _principal_groups(loaded_files)
    for group in groups:
        found.update(dict.fromkeys(lint_paths(group, cfg)))
    suppressions = suppressions_for(files, cfg)
    if base is not None:
        new_access = new_access_findings(files, groups, base)
        new_access += new_source_access_findings(found_inputs.embedded, base)
        found.update(dict.fromkeys(apply_suppressions(new_access, suppressions)))
    gate_codes = GATE_CODES if base is not None else ()
    found.update(
        dict.fromkeys(
            unused_suppressions(
                found, suppressions, files=files, paths=list(paths),
                codes=ran_codes(cfg, gate_codes=gate_codes),
            )
        )
    )  # fmt: skip
    findings = sorted(
        found, key=lambda x: (x.location.file, x.location.line, x.location.column, x.code)
    )
    properties: list[PropertyOutcome] = []
    for loaded in loaded_files:
        for index, prop in enumerate(run_properties(loaded)):
            line = loaded.property_lines[index] if index < len(loaded.property_lines) else 0
            properties.append(
                PropertyOutcome(
                    str(loaded.path),
                    line,
                    prop.prop.name,
                    prop.result,
                    prop.message,
                    "\n".join(prop.lines),
                )
            )
    for loaded in loaded_files:
        tf = loaded.path
        texts.update(loaded.texts)
        for index, result in enumerate(run_cases(loaded)):
            cases.append(
                CaseOutcome(
                    file=str(tf),
                    line=loaded.case_lines[index] if index < len(loaded.case_lines) else 0,
                    name=result.case.name,
                    expect=result.case.expect,
                    decision=result.decision,
                    passed=result.passed,
                    explanation=render_text(result.decision, loaded.texts),
                )
            )
    return GateReport(
        paths=tuple(str(p) for p in paths),
        policy_files=tuple(str(f) for f in (*files, *found_inputs.wrapper_files)),
        policy_count=len(files) + len(found_inputs.embedded),
        findings=tuple(findings),
        cases=tuple(cases),
        problems=tuple(problems),
        properties=tuple(properties),
        fail_on=fail_on,
        base=base,
        texts=texts,
        skipped=found_inputs.skipped,
    )


# -- --base REF: does the change grant new access? --------------------------------------------


def _git(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )


def _base_text(path: Path, base: str) -> str | None:
    """The file's text at git revision ``base`` (None: the file is new since then)."""
    top = _git(["rev-parse", "--show-toplevel"], path.resolve().parent)
    if top.returncode != 0:
        raise GateInputError(f"--base needs a git checkout: {path} is not in one")
    root = Path(top.stdout.strip())
    rel = path.resolve().relative_to(root).as_posix()
    if _git(["rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"], root).returncode != 0:
        raise GateInputError(f"--base {base!r} is not a commit of {root}")
    shown = _git(["show", f"{base}:{rel}"], root)
    return shown.stdout if shown.returncode == 0 else None


def _parse_quiet(text: str, source: str) -> Policy | None:
    try:
        return parse_policy(text, source=source)
    except PolicyParseError:
        return None  # the lint findings report it


def _compare(
    old: Sequence[Policy], new: Sequence[Policy], *, who: str, base: str, file: str
) -> list[Finding]:
    """LSP901 with the proving request when ``new`` allows what ``old`` denied; LSP902 when the
    diff cannot decide exactly; nothing when no new access."""
    from lspolicy.diff import check_no_new_access  # noqa: PLC0415 - heavy; only with --base

    result = check_no_new_access(list(old), list(new))
    if result.result == "FAIL" and result.counterexample is not None:
        ref = (
            result.counterexample.new_statements[0]
            if result.counterexample.new_statements
            else None
        )
        span = ref.span if ref is not None else None
        return [
            Finding(
                code="LSP901",
                severity=Severity.SECURITY,
                title="the change grants new access",
                message=f"{who} now allow a request they denied at {base}:\n"
                + "\n".join(result.counterexample.lines(old_name=base, new_name="now")),
                location=FindingLocation(
                    file=ref.policy if ref is not None else file,
                    path=f"Statement[{ref.index}]" if ref is not None else "",
                    line=span.line if span else 1,
                    column=span.column if span else 1,
                    end_line=span.end_line if span else 0,
                    end_column=span.end_column if span else 0,
                ),
                sid=ref.sid if ref is not None else None,
                hint="if the new access is intended, approve it (suppress LSP901 with a reason)",
            )
        ]
    if result.result != "PASS":
        return [
            Finding(
                code="LSP902",
                severity=Severity.WARNING,
                title="cannot decide exactly whether the change grants new access",
                message=f"{who}: {result.message}",
                location=FindingLocation(file=file, line=1, column=1),
            )
        ]
    return []


def _source_units(policies: Iterable[EmbeddedPolicy]) -> dict[str, dict[str, Policy]]:
    """A source file's identity policies by unit: each principal they are attached to (its
    policies together), else the policy alone by its name; policies that do not build are left
    to LSP001."""
    units: dict[str, dict[str, Policy]] = {}
    for p in policies:
        if p.loaded is None or p.kind != "identity":
            continue
        try:
            built = build_policy(p.loaded, source=p.file, kind=p.kind)
        except PolicyParseError:
            continue
        for unit in p.attached_to or (p.where,):
            units.setdefault(unit, {})[p.where] = built
    return units


def new_source_access_findings(embedded: Sequence[EmbeddedPolicy], base: str) -> list[Finding]:
    """LSP901/LSP902 for policies read from terraform and CloudFormation files: each principal
    a file attaches policies to (or each unattached policy) is compared with the same file at
    ``base``, read the same way."""
    by_file: dict[str, list[EmbeddedPolicy]] = {}
    for p in embedded:
        if p.loaded is not None:
            by_file.setdefault(p.file, []).append(p)
    out: list[Finding] = []
    for file, policies in by_file.items():
        before = _base_text(Path(file), base)
        if before == policies[0].text:
            continue
        old_extraction = extract_source(Path(file), before) if before is not None else None
        old_units = _source_units(old_extraction.policies if old_extraction else ())
        for unit, new in _source_units(policies).items():
            old = old_units.get(unit, {})
            if _texts(old) == _texts(new):
                continue
            who = f"the policies of {unit} in {file}"
            out.extend(
                _compare(list(old.values()), list(new.values()), who=who, base=base, file=file)
            )
    return out


def _texts(policies: Mapping[str, Policy]) -> dict[str, object]:
    return {name: p.to_json() for name, p in policies.items()}


def new_access_findings(
    files: Sequence[Path], groups: Sequence[Sequence[Path]], base: str
) -> list[Finding]:
    """LSP901 for each principal (or, for a policy no test attaches, each file) whose policies
    now allow a request they denied at ``base``, with that request; LSP902 when undecidable."""
    grouped = {p for g in groups for p in g}
    units: list[tuple[Path, ...]] = [tuple(g) for g in groups]
    units += [(f,) for f in files if f not in grouped]
    out: list[Finding] = []
    for unit in units:
        old: list[Policy] = []
        new: list[Policy] = []
        changed = False
        for f in unit:
            text = f.read_text(encoding="utf-8")
            before = _base_text(f, base)
            changed = changed or before != text
            now = _parse_quiet(text, str(f))
            if now is None:
                changed = False  # unparsable now: LSP001 says so; nothing to compare
                break
            new.append(now)
            if before is not None:
                was = _parse_quiet(before, f"{base}:{f}")
                if was is not None:
                    old.append(was)
        if not changed:
            continue
        who = (
            unit[0].as_posix()
            if len(unit) == 1
            else "the policies of " + ", ".join(p.name for p in unit)
        )
        out.extend(_compare(old, new, who=who, base=base, file=str(unit[0])))
    return out
