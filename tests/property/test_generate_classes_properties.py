"""The exact proof over random intents (`lspolicy.generate.strategies`): for every generated
policy set the class enumeration is exact, and the engine decides every class as the intent
does — so the generated policies equal the intent on every request, not only on a sample."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, note, settings

from lspolicy import PolicySet
from lspolicy.generate import IntentSemantics, generate, intent_from_data
from lspolicy.generate.classes import enumerate_classes
from lspolicy.generate.strategies import intent_documents

CLASSES = settings(
    max_examples=max(10, settings.default.max_examples // 2),
    suppress_health_check=[HealthCheck.too_slow],
    deadline=None,
)


@CLASSES
@given(intent_documents())
def test_generated_policies_equal_the_intent_on_every_class(doc: dict[str, Any]) -> None:
    """Every class's request is allowed by the engine iff the intent allows it (evaluation
    logic: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html;
    operators: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)."""
    intent = intent_from_data(doc)
    generation = generate(intent)
    policies = [p.policy for p in generation.policies]
    classes = enumerate_classes(intent, policies)
    # every construct generation writes is modelled exactly, ...IgnoreCase included
    assert classes.exact, classes.reasons
    engine = PolicySet(policies)
    semantics = IntentSemantics(intent)
    for probe in classes.probes():
        expected = semantics.allows(probe)
        got = engine.is_allowed(probe.request())
        if got != expected:
            note(json.dumps(doc, indent=1))
            note(semantics.explain(probe).reason)
        assert got == expected, probe
