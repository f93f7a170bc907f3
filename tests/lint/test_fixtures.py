"""Every rule fires on its ``fires-*`` fixtures and stays silent on its ``passes-*`` fixtures.

Fixtures live in ``fixtures/<CODE>/``; a fixture is one policy file, or a folder of policies
linted together as one principal's (the cross-policy rules). Each is linted with every rule on,
so a fixture also shows that other rules do not get in the way.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lspolicy.lint import RULES, LintConfig, lint_paths

FIXTURES = Path(__file__).parent / "fixtures"
NO_SIDECARS = LintConfig(sidecars=False)


def _cases(prefix: str) -> list[tuple[str, Path]]:
    return [
        (folder.name, case)
        for folder in sorted(FIXTURES.iterdir())
        if folder.is_dir()
        for case in sorted(folder.iterdir())
        if case.name.startswith(prefix)
    ]


def _ids(cases: list[tuple[str, Path]]) -> list[str]:
    return [f"{code}/{path.name}" for code, path in cases]


FIRES = _cases("fires")
PASSES = _cases("passes")


@pytest.mark.parametrize(("code", "path"), FIRES, ids=_ids(FIRES))
def test_rule_fires(code: str, path: Path) -> None:
    findings = [f for f in lint_paths([path], NO_SIDECARS) if f.code == code]
    assert findings, f"{code} did not fire on {path.name}"
    for f in findings:
        assert f.location.line > 0 and f.location.column > 0, f
        if code != "LSP001":  # the parser's own messages name elements: `Effect must be ...`
            assert f.message[0].islower() or f.message[0] == "`", f.message
        assert not f.message.endswith("."), f.message


@pytest.mark.parametrize(("code", "path"), PASSES, ids=_ids(PASSES))
def test_rule_does_not_fire(code: str, path: Path) -> None:
    findings = [str(f) for f in lint_paths([path], NO_SIDECARS) if f.code == code]
    assert findings == []


ON_CONFIG = {"LSP903", "LSP002", "LSP003"}
"""Rules about configuration files (tested in test_unused_suppressions.py) and about reading
terraform and CloudFormation sources (tested in tests/gate/test_mixed_repo.py), not policies."""


def test_every_rule_has_fixtures_both_ways() -> None:
    fired = {code for code, _ in FIRES}
    passed = {code for code, _ in PASSES}
    assert set(RULES) - ON_CONFIG == fired == passed
