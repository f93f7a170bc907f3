"""The exact proof with ``case_insensitive`` selectors, over random intents and worlds: the
class enumeration is exact, the generated policies equal the intent on every class, and every
request of a random world (tag values in random spellings) falls in a class decided as the
request itself is — so the classes are complete for ``...IgnoreCase`` too.

AWS: ``StringEqualsIgnoreCase`` "exact matching, ignoring case", ``StringNotEqualsIgnoreCase``
"negated matching, ignoring case" (IAM User Guide, "IAM JSON policy elements: Condition
operators", string condition operators:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String);
how case is folded is not documented: lspolicy lower-cases both sides.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis.strategies import DrawFn

from lspolicy import PolicySet
from lspolicy.generate import IntentSemantics, generate, intent_from_data
from lspolicy.generate.classes import enumerate_classes
from lspolicy.generate.population import pools_for
from lspolicy.generate.semantics import Circumstances, Probe
from lspolicy.lightsail.context import Instance

ACCOUNT = "111122223333"
VALUES = ("prod", "Prod", "dev", "k8s", "stra\u00dfe", "a-1", "")
PREFIXES = ("p", "P", "pr", "PRO", "k", "K8", "str")
KEYS = ("env", "team")
ARNS = (f"arn:aws:iam::{ACCOUNT}:role/ops", f"arn:aws:iam::{ACCOUNT}:user/alice")

SETTINGS = settings(
    max_examples=max(10, settings.default.max_examples // 4),
    suppress_health_check=[HealthCheck.too_slow],
    deadline=None,
)


def _spelled(value: str) -> st.SearchStrategy[str]:
    """``value`` with each character in either case (and the odd unrelated value)."""
    return st.one_of(
        st.lists(st.booleans(), min_size=len(value), max_size=len(value)).map(
            lambda flips: "".join(c.upper() if f else c for c, f in zip(value, flips, strict=True))
        ),
        st.sampled_from(("qa", "PRODX", "pr")),
    )


@st.composite
def _selector(draw: DrawFn, *, insensitive: bool) -> object:
    if insensitive:
        kind = draw(st.sampled_from(["equals", "not_equals", "one_of", "not_one_of"]))
        if kind in ("equals", "not_equals"):
            return {kind: draw(st.sampled_from(VALUES)), "case_insensitive": True}
        values = draw(st.lists(st.sampled_from(VALUES), min_size=1, max_size=3, unique=True))
        values = list({v.lower(): v for v in values}.values())
        return {kind: values, "case_insensitive": True}
    kind = draw(st.sampled_from(["plain", "prefix", "one_of"]))
    if kind == "plain":
        return draw(st.sampled_from(VALUES))
    if kind == "prefix":
        return {"prefix": draw(st.sampled_from(PREFIXES))}
    return {"one_of": draw(st.lists(st.sampled_from(VALUES), min_size=1, max_size=3, unique=True))}


@st.composite
def intents(draw: DrawFn) -> dict[str, Any]:
    """One or two grants and up to two exclusions; at least one case-insensitive selector,
    and case-sensitive ones (prefixes, literals) on the same keys as often as not."""
    grants = []
    for i in range(draw(st.integers(1, 2))):
        tags = {
            k: draw(_selector(insensitive=draw(st.booleans())))
            for k in draw(st.sets(st.sampled_from(KEYS), max_size=2))
        }
        grant: dict[str, Any] = {
            "sid": f"G{i}",
            "principals": {"arns": [draw(st.sampled_from(ARNS))]},
            "actions": draw(
                st.sampled_from(
                    [
                        ["lightsail:StopInstance"],
                        ["lightsail:StopInstance", "lightsail:RebootInstance"],
                    ]
                )
            ),
        }
        if tags:
            grant["instances"] = {"tags": tags}
        grants.append(grant)
    exclusions = [
        {
            "sid": f"X{j}",
            "instances": {"tags": {draw(st.sampled_from(KEYS)): draw(_selector(insensitive=True))}},
        }
        for j in range(draw(st.integers(0 if any("instances" in g for g in grants) else 1, 2)))
    ]
    doc: dict[str, Any] = {"name": "any-case", "account": ACCOUNT, "grants": grants}
    if exclusions:
        doc["exclude"] = exclusions
    return doc


@SETTINGS
@given(intents(), st.data())
def test_case_insensitive_intents_equal_their_policies_on_every_class(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    """Exact; engine == intent on every class; random-world requests in random spellings each
    fall in an enumerated class, decided as the request is."""
    note(json.dumps(doc, indent=1))
    intent = intent_from_data(doc)
    generation = generate(intent)
    policies = [p.policy for p in generation.policies]
    classes = enumerate_classes(intent, policies)
    assert classes.exact, classes.reasons
    engine, semantics = PolicySet(policies), IntentSemantics(intent)
    for probe in classes.probes():
        assert engine.is_allowed(probe.request()) == semantics.allows(probe), probe
    pools = pools_for(intent)
    spellings = st.sampled_from(VALUES + PREFIXES).flatmap(_spelled)
    for n in range(8):
        tags = data.draw(st.dictionaries(st.sampled_from(KEYS), spellings, max_size=2))
        instance = Instance(id=f"world-{n}", region="us-east-1", account=ACCOUNT, tags=tags)
        identity = pools.identity(data.draw(st.sampled_from(ARNS)), {})
        action = data.draw(st.sampled_from(["lightsail:StopInstance", "lightsail:RebootInstance"]))
        probe = Probe(action, identity, Circumstances(True, "203.0.113.9", None), instance)
        expected = semantics.allows(probe)
        assert engine.is_allowed(probe.request()) == expected, probe
        assert classes.decided(probe) == (expected, expected), probe
