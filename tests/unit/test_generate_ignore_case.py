"""The exact proof with ``...IgnoreCase`` (`lspolicy.generate.classes`, `lspolicy.generate.spellings`).

AWS: ``StringEqualsIgnoreCase`` is "exact matching, ignoring case", ``StringNotEqualsIgnoreCase``
"negated matching, ignoring case"; ``StringEquals`` is "exact matching, case sensitive" (IAM
User Guide, "IAM JSON policy elements: Condition operators", string condition operators:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String).
The page does not say how case is folded; lspolicy lower-cases both sides (`str.lower`), and
these tests hold the classes to that reading.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from lspolicy import PolicySet
from lspolicy.generate import Generation, IntentSemantics, generate, intent_from_data, prove
from lspolicy.generate import classes as classes_module
from lspolicy.generate.classes import enumerate_classes
from lspolicy.generate.intent import load_intent
from lspolicy.generate.population import pools_for
from lspolicy.generate.semantics import Circumstances, Probe
from lspolicy.generate.spellings import (
    _OTHER_UPPER,
    members,
    other_spelling,
    spelling_options,
)
from lspolicy.lightsail.context import Instance
from lspolicy.parse import parse_policy

ROOT = Path(__file__).resolve().parents[2]
INTENTS = ROOT / "policies" / "intents"
CASE_INSENSITIVE_EXAMPLES = ["contractors-never-prod-any-case", "deploy-not-prod-owned"]


# ----------------------------------------------------------------------------- spellings


def test_other_spelling_swaps_case_or_finds_another_character() -> None:
    """A different spelling that lower-cases alike: swapcase, else a character that lowers to
    the same one (the Kelvin sign lowers to ``k``), else none."""
    assert other_spelling("prod") == "PROD"
    assert other_spelling("Prod") == "pROD"
    assert other_spelling("a1") == "A1"
    assert other_spelling("123-") is None
    assert other_spelling("") is None
    # swapcase of sharp s is "SS", which lowers to "ss": respell it as capital sharp s
    assert other_spelling("\u00df") == "\u1e9e"
    for text in ["prod", "Prod", "a1", "\u00df", "k8s"]:
        other = other_spelling(text)
        assert other is not None and other != text and other.lower() == text.lower()


def test_the_table_of_other_upper_cases_is_complete() -> None:
    """Every character whose ``lower()`` is one other character is found by
    `spelling_options` (a full scan of Unicode as this Python knows it)."""
    missing = []
    for i in range(sys.maxunicode + 1):
        ch = chr(i)
        low = ch.lower()
        if len(low) == 1 and low != ch and ch not in spelling_options(low):
            missing.append(ch)
    assert missing == [], f"add to _OTHER_UPPER: {missing}"
    assert all(v.lower() == k for k, v in _OTHER_UPPER.items())


def test_members_is_complete_and_respects_prefixes_and_literals() -> None:
    """Spellings of ``prod`` that start with ``pr`` but not ``pro``, none of the literals."""
    got = members("prod", start="pr", avoid_prefixes=["pro"], avoid=["prOD"], need=10)
    assert got is not None
    every = {a + b + c + d for a in "pP" for b in "rR" for c in "oO" for d in "dD"}
    want = {w for w in every if w.startswith("pr") and not w.startswith("pro")} - {"prOD"}
    assert set(got) == want
    assert members("prod", start="pro", avoid=["prod", "proD"], need=5) == []
    assert members("prod", start="x") == []
    assert members("12", avoid=["12"]) == []
    # lower-cased forms whose spellings are not one character for one: not decided
    assert members("\u03c3a") is None
    assert members("i\u0307") is None


# ----------------------------------------------------------------------------- the proof


@pytest.mark.parametrize("name", CASE_INSENSITIVE_EXAMPLES)
def test_the_bundled_case_insensitive_examples_are_proven(name: str) -> None:
    """Both bundled intents that say ``case_insensitive`` come out PROVEN with a class count,
    not SAMPLED."""
    report = prove(generate(load_intent(INTENTS / f"{name}.yaml")), population=300)
    assert report.exact and report.proven, report.render()
    assert report.render().startswith(f"proof: PROVEN - exact over {report.classes:,} classes")


def test_the_representatives_hold_the_exact_and_another_spelling_and_an_unrelated_value() -> None:
    """For ``env`` compared ignoring case with ``prod`` (before classes are merged): the
    representatives have ``prod``, another spelling of it, a value equal to it in no case, and
    the absent tag."""
    gen = generate(load_intent(INTENTS / "deploy-not-prod-owned.yaml"))
    c = classes_module._Collect()
    classes_module._from_intent(gen.intent, c)
    classes_module._from_policies([p.policy for p in gen.policies], c)
    classes_module._tag_components(c)
    classes_module._spell(c)
    assert not c.reasons
    reps = classes_module._string_reps(c.strings["aws:resourcetag/env"])
    assert None in reps and "prod" in reps and "PROD" in reps
    assert any(v is not None and v.lower() != "prod" for v in reps)


def _intent(env: object, *, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    grant: dict[str, Any] = {
        "sid": "Ops",
        "principals": {"arns": ["arn:aws:iam::111122223333:role/ops"]},
        "actions": ["lightsail:StopInstance"],
        "instances": {"tags": {"env": env}},
    }
    doc: dict[str, Any] = {"name": "ic", "account": "111122223333", "grants": [grant]}
    if extra:
        doc.update(extra)
    return doc


def _mutated(gen: Generation, old: str, new: str, key: str = "aws:ResourceTag/env") -> Generation:
    """``gen`` with ``key``'s values moved from operator ``old`` to ``new`` in every statement
    of every policy that has them (and re-parsed)."""
    out = []
    for p in gen.policies:
        doc = json.loads(p.text)
        for st in doc["Statement"]:
            block = st.get("Condition", {}).get(old, {})
            if key in block:
                values = block.pop(key)
                if not block:
                    del st["Condition"][old]
                st["Condition"].setdefault(new, {})[key] = values
        text = json.dumps(doc, indent=2) + "\n"
        out.append(dataclasses.replace(p, text=text, policy=parse_policy(text, source=p.filename)))
    changed = dataclasses.replace(gen, policies=tuple(out))
    assert [p.policy for p in changed.policies] != [p.policy for p in gen.policies]
    return changed


@pytest.mark.parametrize(
    ("env", "old", "new", "kind"),
    [
        # the grant's Allow made case-sensitive: PROD is granted by the intent, not the policy
        (
            {"equals": "prod", "case_insensitive": True},
            "StringEqualsIgnoreCase",
            "StringEquals",
            "under-grant",
        ),
        # "not prod in any case" made case-sensitive: PROD is allowed by the policy only
        (
            {"not_equals": "prod", "case_insensitive": True},
            "StringNotEqualsIgnoreCase",
            "StringNotEquals",
            "over-grant",
        ),
        # the reverse: a case-sensitive intent generated as IgnoreCase over-grants PROD
        ({"equals": "prod"}, "StringEquals", "StringEqualsIgnoreCase", "over-grant"),
    ],
)
def test_the_wrong_case_operator_is_caught_by_the_exact_proof(
    env: object, old: str, new: str, kind: str
) -> None:
    """A policy using ``StringEquals`` where the intent ignores case (or the reverse) differs on
    a spelling like ``PROD``: the exact proof finds it on the classes, with no sampling."""
    gen = _mutated(generate(intent_from_data(_intent(env))), old, new)
    report = prove(gen, population=0)
    assert report.exact, report.not_exact
    assert report.class_disagreements > 0 and not report.passed, report.render()
    first = report.counterexamples[0]
    assert first.source == "class" and first.kind == kind, first.render()
    assert first.probe.instance is not None
    value = first.probe.instance.tags.get("env")
    assert value is not None and value.lower() == "prod" and value != "prod", first.render()


def test_the_exclusion_deny_case_sensitive_is_caught() -> None:
    """The bundled any-case exclusion with its Deny weakened to ``StringEquals``: a contractor
    stops a ``Prod`` instance the intent forbids; found on the classes."""
    gen = generate(load_intent(INTENTS / "contractors-never-prod-any-case.yaml"))
    mutated = _mutated(gen, "StringEqualsIgnoreCase", "StringEquals")
    report = prove(mutated, population=0)
    assert report.exact and report.class_disagreements > 0, report.render()
    assert any(c.kind == "over-grant" for c in report.counterexamples)


@pytest.mark.parametrize(
    "tags",
    [
        # a prefix that some spellings of an IgnoreCase value start with and others do not
        {"env": {"prefix": "pr"}},
        {"env": {"prefix": "PR"}},
        # a case-sensitive literal that is one spelling of the IgnoreCase value
        {"env": "PROD"},
        {"env": {"one_of": ["Prod", "pROD"]}},
    ],
)
def test_prefixes_and_literals_among_the_spellings_are_exact(tags: dict[str, object]) -> None:
    """A grant compared case-sensitively (prefix or literal) and an exclusion ignoring case on
    the same key: the classes tell ``prod``, ``PROD``, ``pROD``... apart as the tests do, so
    the enumeration is exact and the engine equals the intent on every class."""
    doc = _intent(tags["env"])
    doc["exclude"] = [
        {
            "sid": "NoProd",
            "instances": {"tags": {"env": {"equals": "prod", "case_insensitive": True}}},
        }
    ]
    intent = intent_from_data(doc)
    gen = generate(intent)
    policies = [p.policy for p in gen.policies]
    classes = enumerate_classes(intent, policies)
    assert classes.exact, classes.reasons
    engine, semantics = PolicySet(policies), IntentSemantics(intent)
    for probe in classes.probes():
        assert engine.is_allowed(probe.request()) == semantics.allows(probe), probe
    # and each weakening of the exclusion to a case-sensitive Deny is found
    broken = _mutated(gen, "StringEqualsIgnoreCase", "StringEquals")
    report = prove(broken, population=0)
    assert report.exact and report.class_disagreements > 0, report.render()


def test_json_report_says_exact_for_ignore_case() -> None:
    """``--format json`` carries ``exact: true`` and the class count for an IgnoreCase intent."""
    report = prove(
        generate(intent_from_data(_intent({"equals": "prod", "case_insensitive": True}))),
        population=0,
    )
    data = json.loads(json.dumps(report.to_dict()))
    assert data["exact"] is True and data["proven"] is True and data["classes"] > 0


# ----------------------------------------------------------------------------- action case


@pytest.mark.parametrize("spelling", ["lightsail:rebootINSTANCE", "LightSail:RebootInstance"])
def test_an_extra_action_in_mixed_case_is_an_over_grant_on_the_classes(spelling: str) -> None:
    """Action names (service prefix included) are not case sensitive (IAM User Guide, "IAM JSON
    policy elements: Action": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html),
    so a generated policy tampered to also allow ``RebootInstance`` spelled in mixed case
    grants it: the exact proof must report a class counterexample, not pass silently."""
    gen = generate(intent_from_data(_intent({"equals": "prod", "case_insensitive": True})))
    p = gen.policies[0]
    doc = json.loads(p.text)
    doc["Statement"][0]["Action"] = [*doc["Statement"][0]["Action"], spelling]
    text = json.dumps(doc, indent=2) + "\n"
    tampered = dataclasses.replace(
        gen,
        policies=(dataclasses.replace(p, text=text, policy=parse_policy(text, source=p.filename)),),
    )
    report = prove(tampered, population=0)
    assert report.exact and not report.passed, report.render()
    found = [c for c in report.counterexamples if c.source == "class"]
    assert found and all(c.kind == "over-grant" for c in found), report.render()
    assert {c.probe.action for c in found} == {"lightsail:RebootInstance"}


def test_every_spelling_falls_in_a_class_decided_as_it_is() -> None:
    """Brute force: prefixes ``pr`` and ``PRO``, the case-sensitive literal ``PROD`` and the
    case-insensitive ``prod`` on one key; each of the 16 spellings of ``prod`` (and a few other
    values) falls in an enumerated class whose decision is the request's own."""
    ops = "arn:aws:iam::111122223333:role/ops"

    def grant(sid: str, env: object) -> dict[str, Any]:
        return {
            "sid": sid,
            "principals": {"arns": [ops]},
            "actions": ["lightsail:StopInstance"],
            "instances": {"tags": {"env": env}},
        }

    doc: dict[str, Any] = {
        "name": "brute",
        "account": "111122223333",
        "grants": [grant("A", {"prefix": "pr"}), grant("B", {"prefix": "PRO"}), grant("C", "PROD")],
        "exclude": [
            {
                "sid": "X",
                "actions": ["lightsail:StopInstance"],
                "instances": {"tags": {"env": {"equals": "prod", "case_insensitive": True}}},
                "unless": {"mfa": True},
            }
        ],
    }
    intent = intent_from_data(doc)
    gen = generate(intent)
    policies = [p.policy for p in gen.policies]
    classes = enumerate_classes(intent, policies)
    assert classes.exact, classes.reasons
    engine, semantics = PolicySet(policies), IntentSemantics(intent)
    spellings = {a + b + c + d for a in "pP" for b in "rR" for c in "oO" for d in "dD"} | {
        "pr",
        "PRO",
        "PROx",
        "prx",
        "x",
        "",
        "Prodx",
    }
    pools = pools_for(intent)
    outcomes = set()
    for value in sorted(spellings):
        for mfa in (True, False):
            instance = Instance(
                id="i", region="us-east-1", account="111122223333", tags={"env": value}
            )
            probe = Probe(
                "lightsail:StopInstance",
                pools.identity(ops, {}),
                Circumstances(mfa, None, None),
                instance,
            )
            want = semantics.allows(probe)
            assert engine.is_allowed(probe.request()) == want, value
            assert classes.decided(probe) == (want, want), value
            outcomes.add(want)
    assert outcomes == {True, False}
