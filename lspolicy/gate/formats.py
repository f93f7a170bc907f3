"""Renderers of a gate report, one per format CI systems read, in one table.

- ``text``: for a person, readable in five seconds (coloured on a terminal);
- ``json``: machine-readable, published schema ``schemas/check-report.schema.json``;
- ``junit``: JUnit XML, as CI test reporters read it (one test case per policy file, per
  finding and per policy-test case);
- ``sarif``: SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html) for
  code-scanning UIs, with file, line and column for every result;
- ``github``: GitHub Actions workflow commands (``::error file=...,line=...::message``), which
  become annotations on the pull request.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from lspolicy import __version__
from lspolicy.explain import Style
from lspolicy.gate.fingerprint import Fingerprints, anchor
from lspolicy.gate.repopath import SRCROOT, RepoRoot, repo_root
from lspolicy.gate.report import CaseOutcome, GateReport
from lspolicy.lint.finding import Finding, Severity
from lspolicy.lint.registry import RULES

__all__ = ["FORMATS", "render", "summary"]

TOOL_URI = "https://github.com/lspolicy/lspolicy"
CASE_RULE = "LSP-TEST"
"""The SARIF/JUnit rule id of a failed policy-test case."""
PROPERTY_RULE = "LSP-PROPERTY"
"""The rule id of a property that does not hold (or could not be decided exactly)."""
PROBLEM_RULE = "LSP-INPUT"
GATE_RULES = {
    "LSP901": (
        "new-access",
        "the change grants new access (lspolicy check --base REF)",
        Severity.SECURITY,
    ),
    "LSP902": (
        "new-access-undecided",
        "cannot decide exactly whether the change grants new access",
        Severity.WARNING,
    ),
}
"""Findings the gate itself makes (not lint rules)."""
"""The rule id of a test file that could not be loaded."""

Renderer = Callable[[GateReport, Style], str]


# -- text -------------------------------------------------------------------------------------


def _text(report: GateReport, style: Style) -> str:
    sev_style = {
        Severity.ERROR: style.bad,
        Severity.SECURITY: style.bad,
        Severity.WARNING: style.bold,
        Severity.SUGGESTION: style.dim,
    }
    lines: list[str] = []
    for f in report.active_findings:
        tag = sev_style[f.severity](f"{f.code} [{f.severity.value}]")
        lines.append(f"{f.location}: {tag} {f.message}")
        if f.hint:
            lines.append(style.dim(f"    hint: {f.hint}"))
        for rel in f.related:
            lines.append(style.dim(f"    see {rel}"))
    for p in report.problems:
        lines.append(f"{p.location}: {style.bad('error')} {p.message}")
    for case in report.failed_cases:
        lines.append(
            f"{case.file}:{case.line}: {style.bad('FAIL')} {case.name}: expected {case.expect}, "
            f"got {case.decision.decision}"
        )
        lines.extend("    " + line for line in case.explanation.splitlines())
    for prop in report.failed_properties:
        lines.append(
            f"{prop.file}:{prop.line}: {style.bad(prop.result)} property {prop.name}: {prop.message}"
        )
        lines.extend("    " + line for line in prop.explanation.splitlines())
    if report.suppressed_findings:
        lines.append(style.dim(f"{len(report.suppressed_findings)} suppressed:"))
        for f in report.suppressed_findings:
            reason = f.suppressed.reason if f.suppressed else ""
            lines.append(style.dim(f"    {f.location}: {f.code} ({reason})"))
    lines.append("")
    lines.append(summary(report, style))
    return "\n".join(lines) + "\n"


def summary(report: GateReport, style: Style | None = None) -> str:
    """The one-line verdict: PASS/FAIL, findings by severity, tests, properties."""
    style = style or Style(color=False)
    counts = report.counts()
    found = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no findings"
    passed = len(report.cases) - len(report.failed_cases)
    verdict = style.good("PASS") if report.ok else style.bad("FAIL")
    return (
        f"{verdict}  {report.policies} policies: {found}; "
        f"{passed} tests passed, {len(report.failed_cases)} failed; "
        f"{len(report.properties) - len(report.failed_properties)} properties hold, "
        f"{len(report.failed_properties)} do not"
        + (f"; {len(report.problems)} input problems" if report.problems else "")
        + f" (fails on {report.fail_on.value} and above)"
    )


# -- json -------------------------------------------------------------------------------------


def _case_dict(case: CaseOutcome) -> dict[str, Any]:
    return {
        "file": case.file,
        "line": case.line,
        "name": case.name,
        "expect": case.expect,
        "decision": case.decision.decision,
        "passed": case.passed,
        "explanation": case.decision.to_dict(),
    }


def report_dict(report: GateReport) -> dict[str, Any]:
    """The JSON report (see ``schemas/check-report.schema.json``)."""
    return {
        "version": 1,
        "tool": {"name": "lspolicy", "version": __version__},
        "ok": report.ok,
        "exit_code": report.exit_code,
        "fail_on": report.fail_on.value,
        "summary": {
            "policies": report.policies,
            "findings": report.counts(),
            "suppressed": len(report.suppressed_findings),
            "tests": {
                "passed": len(report.cases) - len(report.failed_cases),
                "failed": len(report.failed_cases),
            },
            "properties": {
                "hold": len(report.properties) - len(report.failed_properties),
                "failed": len(report.failed_properties),
            },
            "input_problems": len(report.problems),
        },
        "findings": [f.to_dict() for f in report.findings],
        "cases": [_case_dict(c) for c in report.cases],
        "properties": [
            {
                "file": p.file,
                "line": p.line,
                "name": p.name,
                "result": p.result,
                "message": p.message,
                "explanation": p.explanation,
            }
            for p in report.properties
        ],
        "problems": [p.to_dict() for p in report.problems],
    }


def _json(report: GateReport, _style: Style) -> str:
    return json.dumps(report_dict(report), indent=2) + "\n"


# -- junit ------------------------------------------------------------------------------------


def _junit(report: GateReport, _style: Style) -> str:
    root = ET.Element("testsuites", name="lspolicy")
    lint = ET.SubElement(root, "testsuite", name="lspolicy lint")
    by_file: dict[str, list[Finding]] = {f: [] for f in report.policy_files}
    for f in report.active_findings:
        by_file.setdefault(f.location.file, []).append(f)
    lint_tests = lint_failures = 0
    for file, findings in by_file.items():
        lint_tests += 1
        case = ET.SubElement(lint, "testcase", classname="lint", name=file, file=file)
        failing = [f for f in findings if f.severity.rank >= report.fail_on.rank]
        if failing:
            lint_failures += 1
            failure = ET.SubElement(
                case, "failure", message=f"{len(failing)} finding(s) at or above {report.fail_on.value}",
                type=failing[0].code,
            )  # fmt: skip
            failure.text = "\n".join(str(f) for f in findings)
        elif findings:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(str(f) for f in findings)
    for p in report.problems:
        lint_tests += 1
        lint_failures += 1
        case = ET.SubElement(
            lint, "testcase", classname="input", name=p.location.source, file=p.location.source
        )
        ET.SubElement(case, "error", message=p.message, type=PROBLEM_RULE).text = str(p)
    lint.set("tests", str(lint_tests))
    lint.set("failures", str(lint_failures))
    lint.set("errors", "0")
    tests = ET.SubElement(root, "testsuite", name="lspolicy tests")
    for c in report.cases:
        case = ET.SubElement(
            tests,
            "testcase",
            classname=Path(c.file).name,
            name=c.name,
            file=c.file,
            line=str(c.line),
        )
        if not c.passed:
            failure = ET.SubElement(
                case,
                "failure",
                message=f"expected {c.expect}, got {c.decision.decision}",
                type=CASE_RULE,
            )
            failure.text = c.explanation
    props = ET.SubElement(root, "testsuite", name="lspolicy properties")
    for prop in report.properties:
        case = ET.SubElement(
            props,
            "testcase",
            classname=Path(prop.file).name,
            name=prop.name,
            file=prop.file,
            line=str(prop.line),
        )
        if not prop.passed:
            failure = ET.SubElement(
                case, "failure", message=f"{prop.result}: {prop.message}", type=PROPERTY_RULE
            )
            failure.text = prop.explanation
    props.set("tests", str(len(report.properties)))
    props.set("failures", str(len(report.failed_properties)))
    props.set("errors", "0")
    tests.set("tests", str(len(report.cases)))
    tests.set("failures", str(len(report.failed_cases)))
    tests.set("errors", "0")
    root.set("tests", str(lint_tests + len(report.cases) + len(report.properties)))
    root.set(
        "failures", str(lint_failures + len(report.failed_cases) + len(report.failed_properties))
    )
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# -- sarif ------------------------------------------------------------------------------------

_SARIF_LEVEL = {
    Severity.ERROR: "error",
    Severity.SECURITY: "error",
    Severity.WARNING: "warning",
    Severity.SUGGESTION: "note",
}
# GitHub code scanning ranks security results by this property (0.0-10.0)
_SECURITY_SEVERITY = {Severity.SECURITY: "8.0", Severity.ERROR: "5.0"}


def _artifact(root: RepoRoot, file: str) -> dict[str, str]:
    """A file's ``artifactLocation``: relative to the repository root (``uriBaseId``
    ``%SRCROOT%``, resolved by the run's ``originalUriBaseIds``), as GitHub code scanning reads
    it; a file outside the root gets its absolute ``file:`` URI."""
    rel = root.relative(file)
    if rel is None:
        return {"uri": Path(file).resolve().as_uri()}
    return {"uri": rel, "uriBaseId": SRCROOT}


def _repo_file(root: RepoRoot, file: str) -> str:
    """The file's name in fingerprints: repository-relative when it can be."""
    return root.relative(file) or Path(file).as_posix()


def _region(line: int, column: int, end_line: int = 0, end_column: int = 0) -> dict[str, int]:
    region = {"startLine": max(line, 1), "startColumn": max(column, 1)}
    if end_line >= region["startLine"]:
        region["endLine"] = end_line
        if end_column >= 1 and (
            end_line > region["startLine"] or end_column > region["startColumn"]
        ):
            region["endColumn"] = end_column
    return region


def _sarif_rules() -> list[dict[str, Any]]:
    rules = []
    for code, rule in sorted(RULES.items()):
        props: dict[str, Any] = {"tags": ["lightsail", "iam", rule.severity.value]}
        if rule.severity in _SECURITY_SEVERITY:
            props["security-severity"] = _SECURITY_SEVERITY[rule.severity]
        rules.append(
            {
                "id": code,
                "name": rule.name,
                "shortDescription": {"text": rule.title},
                "fullDescription": {"text": rule.title},
                "help": {"text": rule.doc, "markdown": rule.doc},
                "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
                "properties": props,
            }
        )
    for code, (name, title, severity) in GATE_RULES.items():
        rules.append(
            {
                "id": code,
                "name": name,
                "shortDescription": {"text": title},
                "defaultConfiguration": {"level": _SARIF_LEVEL[severity]},
            }
        )
    rules.append(
        {
            "id": CASE_RULE,
            "name": "policy-test-failed",
            "shortDescription": {"text": "a policy test case got another decision than expected"},
            "defaultConfiguration": {"level": "error"},
        }
    )
    rules.append(
        {
            "id": PROPERTY_RULE,
            "name": "policy-property-broken",
            "shortDescription": {
                "text": "a property of the policies does not hold (the diff shows the request)"
            },
            "defaultConfiguration": {"level": "error"},
        }
    )
    rules.append(
        {
            "id": PROBLEM_RULE,
            "name": "input-problem",
            "shortDescription": {"text": "a policy test file could not be loaded"},
            "defaultConfiguration": {"level": "error"},
        }
    )
    return rules


def _error_result(
    root: RepoRoot,
    fingerprints: Fingerprints,
    rule: str,
    text: str,
    where: tuple[str, int, int, str],
) -> dict[str, Any]:
    """A SARIF error result at one place (failed tests, broken properties, input problems);
    ``where`` is the file, line, column and the name that anchors its fingerprint."""
    file, line, column, name = where
    return {
        "ruleId": rule,
        "level": "error",
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": _artifact(root, file),
                    "region": _region(line, column),
                }
            }
        ],
        "partialFingerprints": fingerprints(rule, _repo_file(root, file), name, text),
    }


def _sarif(report: GateReport, _style: Style) -> str:
    results: list[dict[str, Any]] = []
    root = repo_root(report.paths)
    fingerprints = Fingerprints()
    for f in report.findings:
        loc = f.location
        result: dict[str, Any] = {
            "ruleId": f.code,
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": f.message + (f" (hint: {f.hint})" if f.hint else "")},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _artifact(root, loc.file),
                        "region": _region(loc.line, loc.column, loc.end_line, loc.end_column),
                    },
                    "logicalLocations": [
                        {"fullyQualifiedName": loc.path or "(document)", "kind": "member"}
                    ],
                }
            ],
        }
        if f.related:
            result["relatedLocations"] = [
                {
                    "id": i,
                    "physicalLocation": {
                        "artifactLocation": _artifact(root, r.file),
                        "region": _region(r.line, r.column, r.end_line, r.end_column),
                    },
                }
                for i, r in enumerate(f.related, 1)
            ]
        result["partialFingerprints"] = fingerprints(
            f.code, _repo_file(root, loc.file), anchor(loc.path, f.sid), f.message
        )
        if f.suppressed is not None:
            result["suppressions"] = [{"kind": "external", "justification": f.suppressed.reason}]
        results.append(result)
    for c in report.failed_cases:
        text = f"{c.name}: expected {c.expect}, got {c.decision.decision}. {c.decision.reason}"
        results.append(
            _error_result(root, fingerprints, CASE_RULE, text, (c.file, c.line, 1, c.name))
        )
    for prop in report.failed_properties:
        text = f"{prop.name}: {prop.result}: {prop.message}\n{prop.explanation}"
        results.append(
            _error_result(
                root, fingerprints, PROPERTY_RULE, text, (prop.file, prop.line, 1, prop.name)
            )
        )
    for p in report.problems:
        where = p.location
        results.append(
            _error_result(
                root,
                fingerprints,
                PROBLEM_RULE,
                p.message,
                (where.source, where.line, where.column, where.path),
            )
        )
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "lspolicy",
                        "version": __version__,
                        "informationUri": TOOL_URI,
                        "rules": _sarif_rules(),
                    }
                },
                "originalUriBaseIds": {
                    SRCROOT: {
                        "uri": root.uri(),
                        "description": {
                            "text": "the repository root (git toplevel)"
                            if root.in_git
                            else "the folder lspolicy ran in (not a git checkout)"
                        },
                    }
                },
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


# -- github -----------------------------------------------------------------------------------


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


_GITHUB_LEVEL = {
    Severity.ERROR: "error",
    Severity.SECURITY: "error",
    Severity.WARNING: "warning",
    Severity.SUGGESTION: "notice",
}


def _github(report: GateReport, style: Style) -> str:
    lines = []
    for f in report.active_findings:
        loc = f.location
        props = [
            f"file={_escape_property(loc.file)}",
            f"line={max(loc.line, 1)}",
            f"col={max(loc.column, 1)}",
        ]
        if loc.end_line:
            props.append(f"endLine={loc.end_line}")
        props.append(f"title={_escape_property(f'{f.code} {f.title}')}")
        lines.append(f"::{_GITHUB_LEVEL[f.severity]} {','.join(props)}::{_escape_data(f.message)}")
    for c in report.failed_cases:
        props = [
            f"file={_escape_property(c.file)}",
            f"line={max(c.line, 1)}",
            f"title={_escape_property('policy test failed')}",
        ]
        message = f"{c.name}: expected {c.expect}, got {c.decision.decision}\n{c.explanation}"
        lines.append(f"::error {','.join(props)}::{_escape_data(message)}")
    for prop in report.failed_properties:
        fields = [
            f"file={_escape_property(prop.file)}",
            f"line={max(prop.line, 1)}",
            f"title={_escape_property('policy property broken')}",
        ]
        message = f"{prop.name}: {prop.result}: {prop.message}\n{prop.explanation}"
        lines.append(f"::error {','.join(fields)}::{_escape_data(message)}")
    for p in report.problems:
        props = [f"file={_escape_property(p.location.source)}", f"line={max(p.location.line, 1)}"]
        lines.append(f"::error {','.join(props)}::{_escape_data(p.message)}")
    return "\n".join(lines) + ("\n" if lines else "") + _text(report, Style(color=False))


FORMATS: Mapping[str, Renderer] = MappingProxyType(
    {"text": _text, "json": _json, "junit": _junit, "sarif": _sarif, "github": _github}
)


def render(report: GateReport, fmt: str, *, style: Style | None = None) -> str:
    """Render ``report`` in format ``fmt`` (a key of `FORMATS`)."""
    return FORMATS[fmt](report, style or Style(color=False))
