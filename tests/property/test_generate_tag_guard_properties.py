"""``guard_tags`` over random intents (`lspolicy.generate.strategies.intent_documents`): the
class proof stays exact and equal to the intent, the tag guard holds exactly, and the lint's
tag-escalation rule (LSP111) finds nothing in any principal's generated policies.

AWS: ``TagResource``/``UntagResource`` carry ``aws:TagKeys``
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html);
controlling tag keys: https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html#access_tags_control-tag-keys.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, reject, settings

from lspolicy import PolicySet
from lspolicy.generate import GenerationError, IntentSemantics, generate, intent_from_data
from lspolicy.generate.classes import enumerate_classes
from lspolicy.generate.strategies import intent_documents
from lspolicy.generate.tagguard import check_tag_guard
from lspolicy.lint.context import PolicyContext
from lspolicy.lint.engine import lint_contexts

SETTINGS = settings(
    max_examples=max(10, settings.default.max_examples // 4),
    suppress_health_check=[HealthCheck.too_slow],
    deadline=None,
)


@SETTINGS
@given(intent_documents())
def test_guarded_intents_are_exact_guarded_and_lint_clean(doc: dict[str, Any]) -> None:
    """Every class agrees; the tag guard holds exactly; no LSP111 finding in any group."""
    intent = intent_from_data({**doc, "guard_tags": True})
    try:
        generation = generate(intent)
    except GenerationError:  # over IAM's size quota with the guard: refused, exit 2
        reject()
    policies = [p.policy for p in generation.policies]
    classes = enumerate_classes(intent, policies)
    assert classes.exact, classes.reasons
    engine, semantics = PolicySet(policies), IntentSemantics(intent)
    for probe in classes.probes():
        assert engine.is_allowed(probe.request()) == semantics.allows(probe), probe
    report = check_tag_guard(generation)
    assert report is not None and report.holds, report.render()
    for parts in generation.groups().values():
        contexts = [PolicyContext.of(p.policy, text=p.text) for p in parts]
        found = [f for f in lint_contexts(contexts) if f.code == "LSP111"]
        assert found == [], [f.message for f in found]
