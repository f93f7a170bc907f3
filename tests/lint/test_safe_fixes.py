"""Every *safe* fix changes no decision: the policy before and after it decide alike.

For each safe fix the rules offer — on the fixtures, and on documents written to stress the
fix (variables, ``${*}``, qualifiers, ``IfExists``) — both versions are evaluated with
`PolicySet.is_allowed` on generated requests: the public strategies' requests
(`lspolicy.strategies.requests`), and requests drawn from the policy's own vocabulary (the
actions, ARNs, condition keys and values it names, each value also in other cases, filled
wildcards and absent), so that conditions are met and missed. A fix is safe only if no request
tells the two apart.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lspolicy import PolicySet, Request, parse_policy
from lspolicy.lightsail.catalog import load_catalog
from lspolicy.lint import Finding, LintConfig, lint_paths, lint_policy
from lspolicy.model.policy import Policy
from lspolicy.strategies import request_contexts, requests

FIXTURES = Path(__file__).parent / "fixtures"

_STRESS = {
    "like-with-variables": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "lightsail:StopInstance",
                "Resource": "arn:aws:lightsail:*:111122223333:Instance/*",
                "Condition": {
                    "StringLike": {"aws:ResourceTag/owner": ["${aws:username}", "${*}"]},
                    "ForAnyValue:StringLikeIfExists": {"aws:PrincipalTag/team": "ops"},
                    "StringNotLike": {"aws:ResourceTag/env": "${aws:PrincipalTag/env, 'prod'}"},
                },
            },
            {
                "Effect": "Deny",
                "Action": "lightsail:*",
                "Resource": "*",
                "Condition": {"ForAllValues:StringNotLike": {"aws:TagKeys": ["team", "env"]}},
            },
        ],
    },
    "like-under-2008": {
        "Version": "2008-10-17",
        "Statement": {
            "Effect": "Allow",
            "Action": "lightsail:StopInstance",
            "Resource": "*",
            "Condition": {"StringLike": {"aws:ResourceTag/owner": "${aws:username}"}},
        },
    },
    "version-without-variables": {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["lightsail:StopInstance", "lightsail:StartInstance"],
                "Resource": "arn:aws:lightsail:us-east-1:111122223333:Instance/*",
                "Condition": {"StringEquals": {"aws:ResourceTag/env": ["dev", "web"]}},
            }
        ]
    },
    "redundant-with-not-action": {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "NotAction": "lightsail:Get*", "Resource": "*"},
            {"Effect": "Deny", "NotAction": ["lightsail:Get*", "lightsail:Stop*"], "Resource": "*",
             "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}}},
            {"Effect": "Allow", "Action": "lightsail:*Instance",
             "Resource": "arn:aws:lightsail:*:111122223333:Instance/*"},
            {"Effect": "Allow", "Action": "lightsail:RebootInstance",
             "Resource": "arn:aws:lightsail:us-east-1:111122223333:Instance/web-*",
             "Condition": {"StringEquals": {"aws:PrincipalTag/team": "ops"}}},
        ],
    },
}  # fmt: skip


def _safe_fixes() -> list[tuple[str, str, Finding]]:
    out: list[tuple[str, str, Finding]] = []
    for path in sorted(FIXTURES.rglob("*.json")):
        text = path.read_text()
        for f in lint_paths([path], LintConfig(sidecars=False)):
            if f.fix is not None and f.fix.safety == "safe":
                out.append((f"{path.parent.name}/{path.name}:{f.code}", text, f))
    for name, doc in _STRESS.items():
        text = json.dumps(doc, indent=2)
        for f in lint_policy(parse_policy(text, source=name), text=text):
            if f.fix is not None and f.fix.safety == "safe":
                out.append((f"{name}:{f.code}", text, f))
    return out


SAFE = _safe_fixes()


def test_the_safe_fixes_cover_every_rule_with_one() -> None:
    from lspolicy.lint import RULES  # noqa: PLC0415

    codes = {f.code for _, _, f in SAFE}
    assert {"LSP112", "LSP116", "LSP117", "LSP118", "LSP119"} <= codes
    # the stress documents each yield a safe fix
    assert {name.split(":")[0] for name, _, _ in SAFE} >= set(_STRESS)
    assert codes <= set(RULES)


def _fill(text: str) -> str:
    return text.replace("*", "x").replace("?", "a").replace("${", "").replace("}", "")


def _vocabulary(policy: Policy) -> st.SearchStrategy[Request]:
    catalog = load_catalog()
    actions: set[str] = {"lightsail:StopInstance", "lightsail:TagResource", "ec2:StopInstances"}
    arns: set[str] = {"arn:aws:lightsail:us-east-1:111122223333:Instance/web-1"}
    keys: set[str] = {"aws:ResourceTag/env", "aws:PrincipalTag/team", "aws:username"}
    values: set[str] = {"dev", "prod", "ops", "alice", ""}
    for s in policy.statements:
        for pattern in (*(s.actions or ()), *(s.not_actions or ())):
            actions.update(a.iam_name for a in catalog.actions_matching(pattern)[:6])
            actions.add(_fill(pattern))
        for r in (*(s.resources or ()), *(s.not_resources or ())):
            arns.update({_fill(r), r.replace("*", "web-1").replace("?", "1")})
        for c in s.conditions:
            keys.add(c.key)
            for v in c.values:
                values.update({v, _fill(v), v.swapcase(), v.upper(), v.replace("*", "")})
    value = st.sampled_from(sorted(values))
    context = st.dictionaries(
        st.sampled_from(sorted(keys)), value | st.lists(value, max_size=3), max_size=5
    )
    return st.builds(
        lambda a, r, c, extra: Request(a, r, {**extra, **c}),
        st.sampled_from(sorted(actions)),
        st.sampled_from(sorted(arns)),
        context,
        request_contexts(),
    )


@pytest.mark.parametrize(("name", "text", "finding"), SAFE, ids=[n for n, _, _ in SAFE])
def test_safe_fix_changes_no_decision(name: str, text: str, finding: Finding) -> None:
    assert finding.fix is not None
    before = parse_policy(text, source="before")
    after = parse_policy(finding.fix.document, source="after")
    old, new = PolicySet([before]), PolicySet([after])

    @settings(max_examples=120, database=None)
    @given(request=_vocabulary(before) | requests())
    def same_decision(request: Request) -> None:
        assert old.is_allowed(request) == new.is_allowed(request), request

    same_decision()


def test_the_comparison_catches_an_unsafe_fix() -> None:
    """The same comparison tells apart the policies around an unsafe fix (dropping IfExists),
    so a pass above is evidence, not a comparison that cannot fail."""
    path = FIXTURES / "LSP107" / "fires-if-exists.json"
    text = path.read_text()
    (finding,) = [f for f in lint_paths([path], LintConfig(sidecars=False)) if f.code == "LSP107"]
    assert finding.fix is not None and finding.fix.safety == "unsafe"
    before = parse_policy(text, source="before")
    old, new = PolicySet([before]), PolicySet([parse_policy(finding.fix.document)])
    differs: list[Request] = []

    @settings(max_examples=200, database=None)
    @given(request=_vocabulary(before))
    def search(request: Request) -> None:
        if old.is_allowed(request) != new.is_allowed(request):
            differs.append(request)

    search()
    assert differs
