"""Apply the fixes findings carry, and write the fixed files in their own style.

A `Fix` is a whole patched document, made from the text of one lint pass; two fixes of one pass
cannot both be applied. So fixing is a loop, as ruff's is: lint, apply the first fix that may be
applied, lint the result again, until no fix is left (or `MAX_PASSES`). Each pass:

- only *safe* fixes, unless ``unsafe=True`` (``--unsafe-fixes``); a suppressed finding is left
  alone (its suppression says the policy is as intended);
- the fixed document is written in the file's style (`lspolicy.lint.jsonstyle`) and parsed again
  as a policy: a fix whose result does not parse is refused, with the parser's reason, and the
  loop goes on with the others;
- a file that does not parse is never touched (its ``LSP001`` finding says why).

`fix_file` works on text and returns what it would write; `fix_paths` reads the policy files
under some paths and, with ``write=True``, writes the changed ones (after parsing them once more).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lspolicy.errors import PolicyParseError
from lspolicy.lint.config import LintConfig, load_sidecar
from lspolicy.lint.engine import LintInputError, lint_policy, policy_files
from lspolicy.lint.finding import Finding, FixSafety
from lspolicy.lint.jsonstyle import JsonStyle
from lspolicy.model.policy import PolicyKind
from lspolicy.parse import parse_policy
from lspolicy.parse.jsonpos import JsonSyntaxError, load_json
from lspolicy.textfile import read_text

__all__ = ["MAX_PASSES", "AppliedFix", "FileFixes", "RefusedFix", "fix_file", "fix_paths"]

MAX_PASSES = 50
"""Fixes applied to one file at most: each pass applies one, so this bounds a fix that undoes
another (it would show as the same finding coming back)."""


@dataclass(frozen=True, slots=True)
class AppliedFix:
    """A fix that was applied: the finding's code and the fix's description."""

    code: str
    description: str
    safety: FixSafety


@dataclass(frozen=True, slots=True)
class RefusedFix:
    """A fix that was not applied, and why."""

    code: str
    description: str
    reason: str


@dataclass(frozen=True, slots=True)
class FileFixes:
    """What fixing did (or would do) to one file."""

    file: str
    before: str
    after: str
    applied: tuple[AppliedFix, ...] = ()
    refused: tuple[RefusedFix, ...] = ()
    unsafe_left: int = 0
    """Findings whose fix is unsafe and was not applied (``--unsafe-fixes`` applies them)."""

    @property
    def changed(self) -> bool:
        """Whether the file's text changes."""
        return self.after != self.before

    def diff(self) -> str:
        """The change as a unified diff (``a/FILE`` → ``b/FILE``); empty when nothing changes."""
        lines = difflib.unified_diff(
            self.before.lstrip("\ufeff").splitlines(keepends=True),
            self.after.lstrip("\ufeff").splitlines(keepends=True),
            f"a/{self.file}",
            f"b/{self.file}",
        )
        out = []
        for line in lines:
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
        return "".join(out)


def _parses(text: str, source: str, kind: PolicyKind) -> str | None:
    """None when ``text`` is a policy; else the first reason it is not."""
    try:
        parse_policy(text, source=source, kind=kind)
    except PolicyParseError as exc:
        first = exc.problems[0] if exc.problems else None
        return first.message if first is not None else str(exc)
    return None


def _eligible(finding: Finding, unsafe: bool) -> bool:
    fix = finding.fix
    return fix is not None and not finding.is_suppressed and (fix.safety == "safe" or unsafe)


def fix_file(
    text: str,
    source: str,
    config: LintConfig | None = None,
    *,
    unsafe: bool = False,
    kind: PolicyKind = "identity",
) -> FileFixes:
    """Fix the policy ``text`` (named ``source``) as far as its findings' fixes go."""
    if _parses(text, source, kind) is not None:
        return FileFixes(source, text, text)
    style = JsonStyle.of(text)
    current = text
    applied: list[AppliedFix] = []
    refused: dict[tuple[str, str], RefusedFix] = {}
    unsafe_left = 0
    for _ in range(MAX_PASSES):
        policy = parse_policy(current, source=source, kind=kind)
        findings = lint_policy(policy, text=current, config=config)
        unsafe_left = sum(
            1
            for f in findings
            if f.fix is not None and f.fix.safety == "unsafe" and not f.is_suppressed
        )
        candidate = None
        for finding in findings:
            fix = finding.fix
            if fix is None or not _eligible(finding, unsafe):
                continue
            key = (finding.code, fix.description)
            if key in refused:
                continue
            try:
                rendered = style.render(load_json(fix.document).value)
            except JsonSyntaxError as exc:
                refused[key] = RefusedFix(finding.code, fix.description, f"not JSON: {exc}")
                continue
            if rendered == current:
                continue
            reason = _parses(rendered, source, kind)
            if reason is not None:
                refused[key] = RefusedFix(
                    finding.code, fix.description, f"the fixed policy would not parse: {reason}"
                )
                continue
            candidate = (finding, rendered)
            break
        if candidate is None:
            break
        finding, current = candidate
        assert finding.fix is not None
        applied.append(AppliedFix(finding.code, finding.fix.description, finding.fix.safety))
    if unsafe:
        unsafe_left = 0  # what is left was refused, and is reported as such
    return FileFixes(source, text, current, tuple(applied), tuple(refused.values()), unsafe_left)


def _read_exact(path: Path) -> str:
    """The file's text with its line endings as written (``read_text`` checks size and UTF-8)."""
    read_text(path, error=LintInputError)
    return path.read_bytes().decode("utf-8")


def _with_sidecar(config: LintConfig, folder: Path) -> LintConfig:
    if not config.sidecars:
        return config
    extra = load_sidecar(folder)
    return LintConfig(
        config.select,
        config.ignore,
        (*config.suppressions, *extra),
        config.source,
        config.sidecars,
    )


def fix_paths(
    paths: Iterable[str | Path],
    config: LintConfig | None = None,
    *,
    unsafe: bool = False,
    write: bool = False,
    kind: PolicyKind = "identity",
) -> list[FileFixes]:
    """Fix every policy file under ``paths``; with ``write``, write each changed one.

    Returns one `FileFixes` per file that has something to report (a change, a refusal, or
    unsafe fixes left). Raises `LintInputError` for a path that cannot be read.
    """
    cfg = config or LintConfig()
    out: list[FileFixes] = []
    for path in policy_files(paths):
        text = _read_exact(path)
        result = fix_file(
            text, str(path), _with_sidecar(cfg, path.parent), unsafe=unsafe, kind=kind
        )
        if result.changed and write:
            if _parses(result.after, str(path), kind) is not None:  # checked again before writing
                raise LintInputError(f"{path}: the fixed policy does not parse; nothing written")
            path.write_bytes(result.after.encode("utf-8"))
        if result.changed or result.refused or result.unsafe_left:
            out.append(result)
    return out
