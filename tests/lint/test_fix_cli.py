"""``--fix``, ``--diff`` and ``--unsafe-fixes`` on ``lspolicy check`` and ``lspolicy lint``.

As ruff applies fixes (https://docs.astral.sh/ruff/linter/#fixes): only safe fixes unless
``--unsafe-fixes``; ``--diff`` shows them and writes nothing, exiting 1 when there are some. A
safe fix changes no decision: proven here with the semantic diff (`lspolicy.diff`), which
decides exactly whether two policies allow different requests, on each file as it is written
after *all* its fixes (in the file's own style). The file is written in its own layout, so the
diff a reviewer sees is the fix and nothing else.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

import lspolicy.lint.fix as fixmod
from lspolicy import parse_policy
from lspolicy.cli import main
from lspolicy.diff import diff_policies
from lspolicy.lint import LintConfig
from lspolicy.lint.finding import Finding, FindingLocation, Fix, Severity
from lspolicy.lint.fix import fix_file

FIXTURES = Path(__file__).parent / "fixtures"

NO_VERSION = {"Statement": {"Effect": "Allow", "Action": "lightsail:GetInstance", "Resource": "*"}}
DUPLICATE = {
    "Version": "2008-10-17",
    "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Action": "lightsail:GetInstance", "Resource": "*"},
        {"Sid": "ReadAgain", "Effect": "Allow", "Action": "lightsail:GetInstance", "Resource": "*"},
    ],
}
IF_EXISTS = (FIXTURES / "LSP107" / "fires-if-exists.json").read_text()


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    root.mkdir()
    (root / "compact.json").write_text(json.dumps(NO_VERSION, separators=(",", ":")))
    (root / "tabs.json").write_text(json.dumps(DUPLICATE, indent="\t") + "\n")
    (root / "if-exists.json").write_text(IF_EXISTS)
    (root / "broken.json").write_text('{"Statement": [}')
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir())}


def test_check_fix_writes_safe_fixes_and_reports_what_remains(folder: Path) -> None:
    before = _snapshot(folder)
    code, out, err = _run("check", str(folder), "--fix")
    assert "Traceback" not in err
    after = _snapshot(folder)
    # the compact one-liner stays compact (and without a newline it never had)
    assert after["compact.json"] == (
        b'{"Version":"2012-10-17","Statement":{"Effect":"Allow",'
        b'"Action":"lightsail:GetInstance","Resource":"*"}}'
    )
    # tab indentation, key order and the trailing newline are kept
    tabs = after["tabs.json"].decode()
    assert tabs == json.dumps({**DUPLICATE, "Version": "2012-10-17", "Statement": DUPLICATE["Statement"][:1]}, indent="\t") + "\n"  # fmt: skip
    # the unsafe fix is not applied, and a policy that does not parse is never touched
    assert after["if-exists.json"] == before["if-exists.json"]
    assert after["broken.json"] == before["broken.json"]
    assert f"fixed {folder / 'compact.json'}: LSP118" in out
    assert f"fixed {folder / 'tabs.json'}: LSP116" in out
    assert "unsafe fix not applied (--unsafe-fixes applies them)" in out
    assert "fixed 3 problems in 2 files" in out
    # what remains is reported by the gate that follows: the unsafe one and the broken file
    assert "LSP107" in out and "LSP001" in out and "LSP118" not in out.split("fixed 3")[1]
    assert code == 1


def test_diff_writes_nothing_and_exits_1_when_there_is_something_to_fix(folder: Path) -> None:
    before = _snapshot(folder)
    code, out, err = _run("check", str(folder), "--diff")
    assert code == 1
    assert _snapshot(folder) == before
    assert f"--- a/{folder / 'tabs.json'}" in out and f"+++ b/{folder / 'tabs.json'}" in out
    assert '-\t"Version": "2008-10-17",' in out and '+\t"Version": "2012-10-17",' in out
    assert "would fix 3 problems in 2 files" in err
    (folder / "compact.json").unlink()
    (folder / "tabs.json").unlink()
    assert _run("check", str(folder), "--diff")[0] == 0


def test_unsafe_fixes_only_when_asked(folder: Path) -> None:
    code, out, _ = _run("lint", str(folder / "if-exists.json"), "--fix", "--unsafe-fixes")
    assert "LSP107" in out and "(unsafe)" in out
    assert "IfExists" not in (folder / "if-exists.json").read_text()
    assert code == 0


def test_lint_diff_shows_the_fixes(folder: Path) -> None:
    code, out, _ = _run("lint", str(folder / "compact.json"), "--diff")
    assert code == 1
    assert out.startswith(f"--- a/{folder / 'compact.json'}")


@pytest.mark.parametrize(
    "text",
    [
        '\ufeff{\r\n    "Statement": {"Effect": "Allow", "Action": "lightsail:GetInstance", "Resource": "*"}\r\n}\r\n',
        '{"Statement": [{"Effect": "Allow", "Action": ["lightsail:GetInstance"], "Resource": "*"}], "Id": "é"}',
        json.dumps(NO_VERSION, indent=3, ensure_ascii=True),
    ],
    ids=["bom-crlf", "spaced-one-line", "three-spaces"],
)
def test_the_file_keeps_its_style(text: str) -> None:
    result = fix_file(text, "x.json")
    assert [a.code for a in result.applied] == ["LSP118"]
    changed = [
        line
        for line in result.diff().splitlines()
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    if "\n" in text.strip():  # a multi-line file: the fix adds one line and changes no other
        assert changed == [next(line for line in changed if "Version" in line)]
    else:
        assert len(changed) == 2
    assert result.after.startswith("\ufeff") == text.startswith("\ufeff")
    assert ("\r\n" in result.after) == ("\r\n" in text)


def test_a_fix_that_would_not_parse_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    text = json.dumps(NO_VERSION)
    bad = Finding(
        "LSP118", Severity.WARNING, "t", "m", FindingLocation("x.json"),
        fix=Fix("break it", '{"Version": "2012-10-17", "Statement": {"Effect": "Perhaps"}}', "safe"),
    )  # fmt: skip
    monkeypatch.setattr(fixmod, "lint_policy", lambda *a, **k: [bad])
    result = fix_file(text, "x.json")
    assert result.after == text
    assert not result.applied
    (refused,) = result.refused
    assert refused.reason.startswith("the fixed policy would not parse: ")


# -- a safe fix changes no decision, proven exactly ---------------------------------------------

_STRESS: dict[str, Any] = {
    "like-and-duplicates": {
        "Statement": [
            {"Sid": "A", "Effect": "Allow", "Action": "lightsail:StopInstance",
             "Resource": "arn:aws:lightsail:*:111122223333:Instance/*",
             "Condition": {"StringLike": {"aws:ResourceTag/env": ["dev", "test"]}}},
            {"Sid": "B", "Effect": "Allow", "Action": "lightsail:StopInstance",
             "Resource": "arn:aws:lightsail:*:111122223333:Instance/*",
             "Condition": {"StringLike": {"aws:ResourceTag/env": ["dev", "test"]}}},
            {"Sid": "C", "Effect": "Deny", "Action": "lightsail:*", "Resource": "*",
             "Condition": {"ForAnyValue:StringNotLikeIfExists": {"aws:PrincipalTag/team": "ops"}}},
        ]
    },
}  # fmt: skip


def _safe_cases() -> list[tuple[str, str]]:
    out = []
    for path in sorted(FIXTURES.rglob("*.json")):
        out.append((f"{path.parent.name}/{path.name}", path.read_text()))
    for name, doc in _STRESS.items():
        out.append((name, json.dumps(doc, indent=4) + "\n"))
        out.append((f"{name}-compact", json.dumps(doc, separators=(",", ":"))))
    return out


_CASES = [
    (name, text, result)
    for name, text in _safe_cases()
    if (result := fix_file(text, name, LintConfig(sidecars=False))).changed
]


def test_there_are_files_to_fix() -> None:
    assert len(_CASES) >= 8
    assert {a.code for _, _, r in _CASES for a in r.applied} >= {
        "LSP112", "LSP116", "LSP117", "LSP118", "LSP119",
    }  # fmt: skip


@pytest.mark.parametrize(("name", "text", "result"), _CASES, ids=[n for n, _, _ in _CASES])
def test_all_safe_fixes_of_a_file_together_change_no_decision(
    name: str, text: str, result: fixmod.FileFixes
) -> None:
    assert all(a.safety == "safe" for a in result.applied)
    before = parse_policy(text, source=f"before/{name}")
    after = parse_policy(result.after, source=f"after/{name}")
    diff = diff_policies([before], [after])
    assert diff.differences == (), diff.summary
    assert diff.exact, diff.summary
