"""Properties of generation, over random intents (`lspolicy.generate.strategies`):

- the generated policies decide every request as the intent does, both ways: no over-grant,
  no under-grant (judged by the engine, never re-evaluated here);
- the whole proof holds;
- generation is deterministic and idempotent (the canonical intent regenerates the same bytes);
- adding an exclusion never increases access;
- the output is well-formed: within the size quota, parseable, lint clean.

Requests come from the intent's own pools (its values and their near misses), drawn by
hypothesis, so a counterexample shrinks to a small intent and one request.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, note, reject, settings
from hypothesis import strategies as st

from lspolicy import PolicySet
from lspolicy.generate import IntentSemantics, generate, intent_from_data, parse_intent, prove
from lspolicy.generate.build import GenerationError
from lspolicy.generate.guard import check_guard
from lspolicy.generate.population import pools_for
from lspolicy.generate.strategies import exclusion_documents, intent_documents, probes
from lspolicy.lint import lint_policy
from lspolicy.parse import parse_policy

REQUESTS_PER_INTENT = 10
SLOW = settings(
    max_examples=max(10, settings.default.max_examples // 4),
    suppress_health_check=[HealthCheck.too_slow],
)
"""The whole proof is a few thousand requests per intent: fewer intents."""

INTENT_LEVEL = frozenset({"LSP116", "LSP117"})
"""Lint findings about the intent itself (two identical grants; a grant its exclusions take
entirely away), not about how it was written into a policy; the proof warns about the second."""


def _engine(doc: dict[str, Any]) -> PolicySet:
    return PolicySet([p.policy for p in generate(intent_from_data(doc)).policies])


@given(intent_documents(), st.data())
def test_generated_policies_decide_as_the_intent(doc: dict[str, Any], data: st.DataObject) -> None:
    """For random requests, the engine allows iff the intent does: zero over-grants and zero
    under-grants (the engine follows
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    intent = intent_from_data(doc)
    generation = generate(intent)
    engine = PolicySet([p.policy for p in generation.policies])
    semantics = IntentSemantics(intent)
    pools = pools_for(intent)
    for _ in range(REQUESTS_PER_INTENT):
        probe = data.draw(probes(pools))
        expected = semantics.allows(probe)
        request = probe.request()
        got = engine.is_allowed(request)
        if got != expected:
            note(json.dumps(doc, indent=1))
            note(semantics.explain(probe).reason)
            note(engine.evaluate(request).reason)
        assert got == expected, probe


@SLOW
@given(intent_documents())
def test_the_whole_proof_holds(doc: dict[str, Any]) -> None:
    """The proof over boundary and random requests finds nothing for generated policies
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    report = prove(generate(intent_from_data(doc)), population=200)
    assert report.passed, report.render()
    assert report.exact or all("IgnoreCase" in r for r in report.not_exact), report.not_exact


@given(intent_documents())
def test_generation_is_deterministic_and_idempotent(doc: dict[str, Any]) -> None:
    """Same intent, same bytes; the canonical intent (``Intent.to_data``, also through YAML)
    generates the same bytes again
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html)."""
    intent = intent_from_data(doc)
    try:
        first = [p.text for p in generate(intent).policies]
    except GenerationError as exc:
        # over IAM's size quota (e.g. exclusions of 6,208 > 6,144 characters): the refusal is
        # deterministic too, word for word; there are no bytes to compare
        with pytest.raises(GenerationError) as again:
            generate(intent_from_data(doc))
        assert str(again.value) == str(exc)
        return
    assert first == [p.text for p in generate(intent_from_data(doc)).policies]
    canonical = intent.to_data()
    assert [p.text for p in generate(intent_from_data(canonical)).policies] == first
    through_yaml = parse_intent(yaml.safe_dump(canonical, sort_keys=False))
    assert [p.text for p in generate(through_yaml).policies] == first
    assert intent_from_data(canonical).to_data() == canonical


@given(intent_documents(), exclusion_documents(sid="Extra"), st.data())
def test_adding_an_exclusion_never_increases_access(
    doc: dict[str, Any], extra: dict[str, Any], data: st.DataObject
) -> None:
    """An exclusion is explicit Deny statements, and an explicit deny only ever takes away
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html#policy-eval-denyallow)."""
    before = _engine(doc)
    stricter = {**doc, "exclude": [*doc.get("exclude", []), extra]}
    try:
        after = _engine(stricter)
    except GenerationError:  # the extra Deny no longer fits IAM's size quota: refused, exit 2
        reject()
    pools = pools_for(intent_from_data(stricter))
    for _ in range(REQUESTS_PER_INTENT):
        request = data.draw(probes(pools)).request()
        if after.is_allowed(request):
            assert before.is_allowed(request), request


@given(intent_documents(max_grants=3, max_exclusions=3))
def test_output_is_well_formed_and_lints_clean(doc: dict[str, Any]) -> None:
    """Every policy is within its quota (white space not counted:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html), parses back to
    the same model, is Version 2012-10-17, and draws no lint finding about how it is written.
    Exclusions that leave a grant no room in a part (every part carries all of them) are refused
    for that reason (tests/unit/test_generate_build.py keeps the cases the fuzz profile found)."""
    try:
        policies = generate(intent_from_data(doc)).policies
    except GenerationError as refused:
        assert [p.message for p in refused.problems if "exclusions" not in p.message] == []
        reject()
    for p in policies:
        assert p.size <= p.limit
        assert parse_policy(p.text).to_json() == p.policy.to_json() == p.document
        assert p.document["Version"] == "2012-10-17"
        findings = [f for f in lint_policy(p.policy, text=p.text) if f.code not in INTENT_LEVEL]
        assert findings == [], [f"{f.code} {f.message}" for f in findings]


ALLOW_EVERYTHING = parse_policy(
    '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}',
    source="allow-everything.json",
)


@given(intent_documents(), st.data())
def test_nothing_excluded_is_allowed_with_any_other_allow(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    """Each principal's policies with ``Allow * on *`` attached allow no request an exclusion
    takes away (exclusions with principals, negated, present and case-insensitive selectors
    included): an explicit Deny overrides any Allow
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    intent = intent_from_data(doc)
    generation = generate(intent)
    semantics = IntentSemantics(intent)
    pools = pools_for(intent)
    engines = [
        PolicySet([*(p.policy for p in parts), ALLOW_EVERYTHING])
        for parts in generation.groups().values()
    ]
    for _ in range(REQUESTS_PER_INTENT):
        probe = data.draw(probes(pools))
        if not semantics.taking(probe):
            continue
        for engine in engines:
            assert not engine.is_allowed(probe.request()), probe


@SLOW
@given(intent_documents())
def test_the_guard_holds_exactly(doc: dict[str, Any]) -> None:
    """The semantic diff decides the guard exactly, and it holds, for random intents
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    report = check_guard(generate(intent_from_data(doc)))
    assert report.exact and report.holds, report.render()
