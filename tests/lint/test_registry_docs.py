"""The rule table: codes unique and stable, every docstring complete, docs in step with it.

Docs that run (STYLE.md habit 10): a rule's docstring is its documentation, ``lspolicy rule
CODE`` prints it, and the table in ``lspolicy/lint/RULES.md`` is checked against the registry.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import textwrap
from pathlib import Path

import pytest

import lspolicy.lint
from lspolicy.errors import LspolicyError
from lspolicy.lint import RULES, Severity, rule, select_rules
from lspolicy.lint.cli import register
from lspolicy.lint.registry import collect_rules
from lspolicy.lint.rule import DOC_SECTIONS

RULES_MD = Path(lspolicy.lint.__file__).parent / "RULES.md"

STABLE = {
    "LSP001": "invalid-policy", "LSP002": "source-policy-not-read", "LSP003": "symbolic-value",
    "LSP101": "unknown-action",
    "LSP102": "action-wildcard-matches-nothing", "LSP103": "condition-key-not-in-request",
    "LSP104": "unknown-global-condition-key", "LSP105": "resource-arn-uses-name",
    "LSP106": "unknown-resource-type", "LSP107": "resource-tag-if-exists-in-allow",
    "LSP108": "wildcard-action-on-all-resources", "LSP109": "allow-with-not-action",
    "LSP110": "allow-with-not-resource", "LSP111": "tag-privilege-escalation",
    "LSP112": "string-like-without-wildcard", "LSP113": "string-equals-with-wildcard",
    "LSP114": "condition-value-wrong-case", "LSP115": "condition-values-differ-in-case",
    "LSP116": "redundant-statement", "LSP117": "allow-shadowed-by-deny",
    "LSP118": "missing-version", "LSP119": "old-version", "LSP120": "variable-not-substituted",
    "LSP121": "resource-fits-no-action", "LSP122": "action-fits-no-resource",
    "LSP123": "malformed-arn", "LSP124": "pass-role-on-all-resources",
    "LSP903": "unused-suppression",
}  # fmt: skip
"""Codes are a public contract (configs and suppressions name them): never renumber."""


def test_codes_are_stable() -> None:
    assert {code: r.name for code, r in RULES.items()} == STABLE


@pytest.mark.parametrize("code", list(RULES))
def test_docstring_has_every_section_in_order(code: str) -> None:
    r = RULES[code]
    doc = r.doc
    assert doc.startswith(f"{r.code} {r.name}: "), doc.splitlines()[0]
    positions = [doc.find(f"\n## {section}\n") for section in DOC_SECTIONS]
    assert all(p > 0 for p in positions), (code, dict(zip(DOC_SECTIONS, positions, strict=True)))
    assert positions == sorted(positions)
    references = doc[positions[-1] :]
    assert re.search(r"https://docs\.aws\.amazon\.com/\S+", references), "an AWS page to cite"
    for body in re.split(r"\n## [^\n]+\n", doc)[1:]:
        assert body.strip(), f"{code}: an empty section"


def test_codes_and_names_are_unique_and_severities_known() -> None:
    assert len({r.name for r in RULES.values()}) == len(RULES)
    assert all(isinstance(r.severity, Severity) for r in RULES.values())


def test_rules_md_lists_exactly_the_registry() -> None:
    rows = re.findall(
        r"^\| (LSP\d{3}) \| (\w+) \| ([\w-]+) \| (.+?) \| (yes|) \|$", RULES_MD.read_text(), re.M
    )
    assert [(c, s, n, t, f == "yes") for c, s, n, t, f in rows] == [
        (r.code, str(r.severity), r.name, r.title, r.fixable) for r in RULES.values()
    ]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lspolicy")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


@pytest.mark.parametrize("code", ["LSP101", "lsp112", "tag-privilege-escalation"])
def test_rule_command_prints_the_docstring(code: str) -> None:
    args = _parser().parse_args(["rule", code])
    out = io.StringIO()
    assert args.run(args, out) == 0
    found = rule(code)
    assert found is not None
    assert out.getvalue() == found.doc.strip() + "\n"


def test_rule_command_lists_rules_and_refuses_unknown_codes() -> None:
    args = _parser().parse_args(["rule"])
    out = io.StringIO()
    assert args.run(args, out) == 0
    assert [line.split()[0] for line in out.getvalue().splitlines()] == list(RULES)
    args = _parser().parse_args(["rule", "LSP999"])
    with pytest.raises(LspolicyError, match="no lint rule 'LSP999'"):
        args.run(args, io.StringIO())


def test_select_and_ignore_take_codes_prefixes_and_names() -> None:
    assert [r.code for r in select_rules(["LSP11"], ["LSP115", "redundant-statement"])] == [
        "LSP110", "LSP111", "LSP112", "LSP113", "LSP114", "LSP117", "LSP118", "LSP119",
    ]  # fmt: skip
    assert len(select_rules()) == len(RULES)


def _package(tmp_path: Path, name: str, modules: dict[str, str]) -> object:
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text("")
    for module, body in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(body))
    sys.path.insert(0, str(tmp_path))
    try:
        import importlib  # noqa: PLC0415

        return importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))


_RULE = """
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule
RULE = Rule(code="{code}", name="{name}", severity=Severity.WARNING, title="t", doc="")
"""


def test_a_duplicate_code_is_an_error_at_import(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        "dup_rules_pkg",
        {
            "first_rule": _RULE.format(code="LSP901", name="first-rule"),
            "second_rule": _RULE.format(code="LSP901", name="second-rule"),
        },
    )
    with pytest.raises(RuntimeError, match="LSP901 is registered twice"):
        collect_rules(package)  # type: ignore[arg-type]


def test_a_rule_module_must_hold_its_rule_under_its_own_name(tmp_path: Path) -> None:
    package = _package(
        tmp_path, "misnamed_rules_pkg", {"some_rule": _RULE.format(code="LSP902", name="other")}
    )
    with pytest.raises(RuntimeError, match="named 'other' in module 'some_rule'"):
        collect_rules(package)  # type: ignore[arg-type]
    empty = _package(tmp_path, "empty_rules_pkg", {"nothing_here": "X = 1\n"})
    with pytest.raises(RuntimeError, match="has no module-level RULE"):
        collect_rules(empty)  # type: ignore[arg-type]


def test_public_api_is_exactly_all() -> None:
    import types  # noqa: PLC0415

    for name in lspolicy.lint.__all__:
        assert hasattr(lspolicy.lint, name), name
    public = {
        n
        for n, v in vars(lspolicy.lint).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType)
    }
    assert public == set(lspolicy.lint.__all__)


def test_the_package_docstring_example_runs() -> None:
    import doctest  # noqa: PLC0415

    result = doctest.testmod(lspolicy.lint)
    assert result.attempted and not result.failed
