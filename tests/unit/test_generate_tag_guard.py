"""``guard_tags: true``: the generated policies also stop every principal from adding, changing or
removing the selectors' tag keys, and the tag guard proof (`lspolicy.generate.tagguard`) shows it
for every tag write.

AWS facts (cited per test): ``lightsail:TagResource`` carries ``aws:RequestTag/${TagKey}`` and
``aws:TagKeys``; ``lightsail:UntagResource`` carries ``aws:TagKeys`` (Service Authorization
Reference, "Actions, resources, and condition keys for Amazon Lightsail":
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from lspolicy import PolicySet
from lspolicy.generate import Generation, generate, intent_from_data, load_intent, prove
from lspolicy.generate.cli import main
from lspolicy.generate.guard import check_guard
from lspolicy.generate.intent import GUARD_SID, IntentError, parse_intent
from lspolicy.generate.tagguard import check_tag_guard
from lspolicy.generate.tagwrites import selector_keys
from lspolicy.lint.context import PolicyContext
from lspolicy.lint.engine import lint_contexts
from lspolicy.model.request import Request
from lspolicy.parse import parse_policy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "policies" / "intents" / "deploy-web-tags-guarded.yaml"
ACCOUNT = "111122223333"

Doc = dict[str, Any]


def _doc(*, guard: bool = True) -> Doc:
    doc: Doc = {
        "name": "tagged",
        "account": ACCOUNT,
        "grants": [
            {
                "sid": "OpsTeam",
                "principals": {"tags": {"team": "ops"}},
                "actions": ["lightsail:StopInstance"],
                "instances": {"tags": {"Team": {"principal_tag": "team"}, "app": "web"}},
            },
            {
                # tagging anywhere: without the guard, ops could tag any instance app=web
                "sid": "OpsTagAnything",
                "principals": {"tags": {"team": "ops"}},
                "actions": ["lightsail:TagResource", "lightsail:UntagResource"],
            },
            {
                "sid": "CiAll",
                "principals": {"arns": [f"arn:aws:iam::{ACCOUNT}:role/ci"]},
                "actions": ["lightsail:*"],
                "instances": {"tags": {"env": {"prefix": "ci-"}}},
            },
        ],
        "exclude": [
            {
                "sid": "NeverProd",
                "instances": {"tags": {"env": {"equals": "prod", "case_insensitive": True}}},
            }
        ],
    }
    if guard:
        doc["guard_tags"] = True
    return doc


def _guards(gen: Generation) -> list[dict[str, Any]]:
    return [
        st for p in gen.policies for st in p.document["Statement"] if st.get("Sid") == GUARD_SID
    ]


# ----------------------------------------------------------------------------- the intent


def test_guard_tags_parses_and_round_trips() -> None:
    """``guard_tags`` is read, kept by `Intent.to_data` and read back equal."""
    intent = intent_from_data(_doc())
    assert intent.guard_tags is True
    assert intent.to_data()["guard_tags"] is True
    assert intent_from_data(intent.to_data()) == intent
    plain = intent_from_data(_doc(guard=False))
    assert plain.guard_tags is False and "guard_tags" not in plain.to_data()


def test_guard_tags_must_be_a_boolean_and_its_sid_is_reserved() -> None:
    """A located problem for a non-boolean ``guard_tags`` (the schema) and for a grant that
    takes the guard's Sid."""
    text = "name: x\naccount: '111122223333'\nguard_tags: yes please\ngrants:\n  - principals: {tags: {a: b}}\n    actions: [lightsail:StopInstance]\n"
    with pytest.raises(IntentError) as bad:
        parse_intent(text, source="x.yaml")
    assert "guard_tags" in str(bad.value) and "x.yaml:3" in str(bad.value)
    doc = _doc()
    doc["grants"][0]["sid"] = GUARD_SID
    with pytest.raises(IntentError) as taken:
        intent_from_data(doc)
    assert "GuardTagKeys" in str(taken.value) and "grants[0].sid" in str(taken.value)


# ----------------------------------------------------------------------------- the statements


def test_every_policy_carries_the_guard_on_every_selector_key() -> None:
    """One Deny per policy: both tag-write actions, any resource, ``ForAnyValue`` over
    ``aws:TagKeys`` ignoring case (condition key names ignore case, so ``ENV`` would reach
    ``aws:ResourceTag/env``: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html)
    with the instance tag keys of grants (``principal_tag`` selects by the instance's key) and
    exclusions."""
    gen = generate(intent_from_data(_doc()))
    assert len(gen.policies) == 2
    guards = _guards(gen)
    assert len(guards) == len(gen.policies)
    for st in guards:
        assert st["Effect"] == "Deny" and st["Resource"] == ["*"]
        assert st["Action"] == ["lightsail:TagResource", "lightsail:UntagResource"]
        assert st["Condition"] == {
            "ForAnyValue:StringEqualsIgnoreCase": {"aws:TagKeys": ["app", "env", "Team"]}
        }
    assert selector_keys(gen.intent) == ("app", "env", "Team")
    assert _guards(generate(intent_from_data(_doc(guard=False)))) == []


def test_no_guard_without_tag_selectors() -> None:
    """Nothing to guard when no grant or exclusion selects instances by tag."""
    doc = _doc()
    doc["grants"] = [
        doc["grants"][0] | {"instances": {"ids": ["8a831817-4d64-4fa6-913c-513a42f8eda1"]}}
    ]
    del doc["exclude"]
    gen = generate(intent_from_data(doc))
    assert _guards(gen) == []
    report = check_tag_guard(gen)
    assert report is not None and report.holds and report.keys == ()


# ----------------------------------------------------------------------------- the proofs


def test_the_example_is_proven_and_its_tag_guard_holds() -> None:
    """The bundled example: PROVEN on the classes (the guard never applies to requests without
    ``aws:TagKeys``), the exclusion guard holds, and the tag guard holds exactly."""
    gen = generate(load_intent(EXAMPLE))
    report = prove(gen, population=300)
    assert report.proven, report.render()
    assert check_guard(gen).holds
    tag = check_tag_guard(gen)
    assert tag is not None and tag.exact and tag.holds, tag.render()
    assert tag.render() == f"tag guard: exact, holds (2 keys, {tag.requests:,} requests)"
    assert tag.requests > 0


def _tampered(gen: Generation, change: Any) -> Generation:
    out = []
    for p in gen.policies:
        doc = json.loads(p.text)
        for st in doc["Statement"]:
            if st.get("Sid") == GUARD_SID:
                change(st)
        doc["Statement"] = [st for st in doc["Statement"] if st]
        text = json.dumps(doc, indent=2) + "\n"
        out.append(dataclasses.replace(p, text=text, policy=parse_policy(text, source=p.filename)))
    return dataclasses.replace(gen, policies=tuple(out))


def _case_sensitive(st: dict[str, Any]) -> None:
    st["Condition"] = {
        "ForAnyValue:StringEquals": st["Condition"]["ForAnyValue:StringEqualsIgnoreCase"]
    }


def _drop_key(st: dict[str, Any]) -> None:
    st["Condition"]["ForAnyValue:StringEqualsIgnoreCase"]["aws:TagKeys"].remove("env")


def _extra_key(st: dict[str, Any]) -> None:
    st["Condition"]["ForAnyValue:StringEqualsIgnoreCase"]["aws:TagKeys"].append("owner")


def _untag_only(st: dict[str, Any]) -> None:
    st["Action"] = ["lightsail:UntagResource"]


def _remove(st: dict[str, Any]) -> None:
    st.clear()


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        (_case_sensitive, "['ENV']"),
        (_drop_key, "['env']"),
        (_extra_key, "touches no selector key but is denied"),
        (_untag_only, "lightsail:TagResource of keys ['app']"),
        (_remove, "no Deny of the guard's shape"),
    ],
    ids=["case-sensitive", "a key dropped", "a key too many", "untag only", "removed"],
)
def test_a_weakened_guard_is_caught(change: Any, expect: str) -> None:
    """Each weakening lets some tag write of a selector key through (or denies one that touches
    none): ``ForAnyValue:StringEquals`` misses ``ENV``; the proof names the request."""
    gen = _tampered(generate(load_intent(EXAMPLE)), change)
    report = check_tag_guard(gen)
    assert report is not None and not report.holds, report
    assert any(expect in f for f in report.findings), report.render()
    assert report.render().startswith("tag guard: ")


# ----------------------------------------------------------------------------- LSP111


def _lsp111(gen: Generation) -> list[str]:
    contexts = [PolicyContext.of(p.policy, text=p.text) for p in gen.policies]
    found = lint_contexts(contexts)
    return [f.message for f in found if f.code == "LSP111"]


def test_tag_escalation_lint_is_clean_with_the_guard_and_fires_without() -> None:
    """The lint rule LSP111 (a principal that can tag its way into access,
    lspolicy/lint/rules/tag_privilege_escalation.py; https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html#access_tags_control-tag-keys)
    finds the escalation in the unguarded policies of the same intent and nothing once
    ``guard_tags`` adds the Deny."""
    assert _lsp111(generate(intent_from_data(_doc(guard=False))))
    assert _lsp111(generate(intent_from_data(_doc()))) == []
    assert _lsp111(generate(load_intent(EXAMPLE))) == []


# ----------------------------------------------------------------------------- CLI


def test_cli_prints_the_tag_guard(capsys: pytest.CaptureFixture[str]) -> None:
    """Text and JSON output carry the tag guard's verdict; exit 0."""
    assert main([str(EXAMPLE), "--population", "100"]) == 0
    out = capsys.readouterr().out
    assert "tag guard: exact, holds (2 keys, " in out
    assert main([str(EXAMPLE), "--population", "100", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tag_guard"]["holds"] is True and data["tag_guard"]["keys"] == ["app", "env"]


def test_several_principals_each_guarded_and_the_rest_of_tagging_kept() -> None:
    """Two principal selectors: each policy alone holds the guard (an explicit Deny wins over
    any Allow: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html),
    the class proof stays PROVEN, and ops may still tag an instance with a key no selector
    reads (``owner``) but not ``TEAM`` (``Team`` in another case)."""
    gen = generate(intent_from_data(_doc()))
    assert prove(gen, population=200).proven
    tag = check_tag_guard(gen)
    assert tag is not None and tag.holds and tag.keys == ("app", "env", "Team"), tag.render()
    ops = next(p for p in gen.policies if "ops" in p.name)
    engine = PolicySet([ops.policy])
    arn = f"arn:aws:lightsail:us-east-1:{ACCOUNT}:Instance/8a831817-4d64-4fa6-913c-513a42f8eda1"
    caller = {"aws:PrincipalTag/team": "ops", "aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/o"}

    def tagging(key: str) -> Request:
        context = {**caller, "aws:TagKeys": [key], f"aws:RequestTag/{key}": "x"}
        return Request("lightsail:TagResource", arn, context)

    assert engine.is_allowed(tagging("owner"))
    assert not engine.is_allowed(tagging("TEAM"))
