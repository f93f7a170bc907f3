"""The two rules that reason across statements: each finding is checked against the engine.

- LSP111: a reported escalation is replayed as the three requests it claims (the gated action
  denied, the tagging request allowed, the gated action then allowed), with `PolicySet`.
- LSP116/LSP117: `covers` is sound — a property test over generated statements checks that
  whenever it says one statement covers another, no generated request has the first apply
  without the second (with the engine's own compiled statements).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from lspolicy import PolicySet, Request, parse_policy
from lspolicy.evaluate.statement import CompiledStatement
from lspolicy.lint import LintConfig, lint_paths, lint_policy
from lspolicy.lint.subsume import covers
from lspolicy.strategies import policy_documents, requests, statements

FIXTURES = Path(__file__).parent / "fixtures" / "LSP111"


def _doc(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


GATED = {
    "Sid": "StopOwnTeam",
    "Effect": "Allow",
    "Action": "lightsail:StopInstance",
    "Resource": "*",
    "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
}
TAGGING = {"Sid": "Tag", "Effect": "Allow", "Action": "lightsail:TagResource", "Resource": "*"}


def _escalations(*texts: str) -> list[str]:
    policies = [parse_policy(t, source=f"p{i}.json") for i, t in enumerate(texts)]
    if len(policies) == 1:
        return [f.message for f in lint_policy(policies[0], text=texts[0]) if f.code == "LSP111"]
    from lspolicy.lint.context import PolicyContext  # noqa: PLC0415
    from lspolicy.lint.engine import lint_contexts  # noqa: PLC0415
    from lspolicy.lint.registry import RULES  # noqa: PLC0415

    contexts = [PolicyContext.of(p, text=t) for p, t in zip(policies, texts, strict=True)]
    return [f.message for f in lint_contexts(contexts, [RULES["LSP111"]])]


def test_the_reported_requests_replay_in_the_engine() -> None:
    text = _doc(GATED, TAGGING)
    (message,) = _escalations(text)
    arn = re.search(r"`(arn:[^`]+)`", message)
    assert arn is not None
    rules = PolicySet([parse_policy(text)])
    me = {"aws:PrincipalTag/team": "web"}
    assert not rules.is_allowed(Request("lightsail:StopInstance", arn[1], me))
    tag = {**me, "aws:RequestTag/team": "web", "aws:TagKeys": ["team"]}
    assert rules.is_allowed(Request("lightsail:TagResource", arn[1], tag))
    after = {**me, "aws:ResourceTag/team": "web"}
    assert rules.is_allowed(Request("lightsail:StopInstance", arn[1], after))


def test_constraints_on_the_tag_stop_the_finding() -> None:
    for condition in (
        {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["team"]}},
        {"Null": {"aws:RequestTag/team": "true"}},
        {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
    ):
        assert _escalations(_doc(GATED, {**TAGGING, "Condition": condition})) == [], condition


def test_across_policies_and_denies_elsewhere() -> None:
    assert len(_escalations(_doc(GATED), _doc(TAGGING))) == 1
    guard = {
        "Effect": "Deny",
        "Action": "lightsail:TagResource",
        "Resource": "*",
        "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": "team"}},
    }
    assert _escalations(_doc(GATED), _doc(TAGGING), _doc(guard)) == []
    # an instance that the principal may already stop gains nothing
    assert _escalations(_doc(GATED, {**GATED, "Sid": "All", "Condition": {}}, TAGGING)) == []


def test_findings_name_both_statements_in_their_files() -> None:
    folder = FIXTURES / "fires-across-policies"
    (finding,) = [f for f in lint_paths([folder], LintConfig(sidecars=False)) if f.code == "LSP111"]
    assert finding.location.file.endswith("operate.json")
    assert finding.sid == "OperateOwnTeam"
    (related,) = finding.related
    assert related.file.endswith("tagging.json") and related.line > 0
    assert "`Tagging` (" in finding.message


@settings(max_examples=100, database=None)
@given(
    document=policy_documents(statements=statements(), min_statements=2, max_statements=2),
    probes=st.lists(requests(), min_size=8, max_size=8),
)
def test_covers_is_sound(document: dict[str, object], probes: list[Request]) -> None:
    policy = parse_policy(document)
    a, b = policy.statements
    for inner, outer in ((a, b), (b, a), (a, a)):
        if not covers(policy, inner, outer):
            continue
        ci, co = CompiledStatement(policy, 0, inner), CompiledStatement(policy, 0, outer)
        for r in probes:
            if ci.action_match(r.action_key) and ci.applies(r.resource, r.context, None):
                assert co.action_match(r.action_key), (inner, outer, r)
                assert co.applies(r.resource, r.context, None), (inner, outer, r)


def test_covers_examples() -> None:
    text = _doc(
        {"Effect": "Allow", "Action": "lightsail:*", "Resource": "arn:aws:lightsail:*:111122223333:*"},
        {"Effect": "Allow", "Action": "lightsail:Stop*",
         "Resource": "arn:aws:lightsail:us-east-1:111122223333:Instance/*",
         "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}}},
        {"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*"},
        {"Effect": "Allow", "Action": "lightsail:*Instance", "Resource": "*"},
    )  # fmt: skip
    p = parse_policy(text)
    wide, narrow, stop_any, instance_any = p.statements
    assert covers(p, narrow, wide) and not covers(p, wide, narrow)
    assert not covers(p, stop_any, wide)  # Resource "*" is wider than one account
    assert covers(p, stop_any, instance_any)
    assert not covers(p, narrow, instance_any)  # Stop* also covers StopRelationalDatabase
