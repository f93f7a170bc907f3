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

from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.strategies import DrawFn

from lspolicy import PolicySet
from lspolicy.generate import IntentSemantics, generate, intent_from_data
from lspolicy.generate.classes import enumerate_classes
from lspolicy.generate.population import pools_for
from lspolicy.generate.semantics import Circumstances, Probe
from lspolicy.lightsail.context import Instance
from lspolicy.model.policy import Policy
from lspolicy.parse import parse_policy

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


def _values_of(doc: dict[str, Any]) -> tuple[str, ...]:
    """Every tag value and prefix the intent names (the spellings worth drawing)."""
    out: list[str] = []
    for entry in [*doc["grants"], *doc.get("exclude", [])]:
        for m in entry.get("instances", {}).get("tags", {}).values():
            if isinstance(m, str):
                out.append(m)
                continue
            for k, v in m.items():
                if k != "case_insensitive":
                    out += v if isinstance(v, list) else [v]
    return tuple(out) or VALUES


def _case_sensitive(text: str, source: str) -> Policy:
    """The policy with every ``...IgnoreCase`` string operator made case-sensitive."""
    doc = json.loads(text)
    for statement in doc["Statement"]:
        cond = statement.get("Condition", {})
        for ignoring, plain in (
            ("StringEqualsIgnoreCase", "StringEquals"),
            ("StringNotEqualsIgnoreCase", "StringNotEquals"),
        ):
            if ignoring in cond:
                cond.setdefault(plain, {}).update(cond.pop(ignoring))
    return parse_policy(json.dumps(doc), source=source)


@SETTINGS
@given(intents(), st.data())
def test_a_case_sensitive_policy_is_caught_on_the_classes_whenever_it_is_wrong(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    """Mutation: the generated policies with ``StringEquals`` for ``StringEqualsIgnoreCase``
    (and ``StringNotEquals`` for ``StringNotEqualsIgnoreCase``). Whenever some request of a
    random world in random spellings shows the mutant wrong, the exact enumeration over the
    mutant finds a class where it is wrong too (the classes miss no disagreement)."""
    note(json.dumps(doc, indent=1))
    intent = intent_from_data(doc)
    generation = generate(intent)
    mutants = [_case_sensitive(p.text, p.filename) for p in generation.policies]
    classes = enumerate_classes(intent, mutants)
    assert classes.exact, classes.reasons
    engine, semantics = PolicySet(mutants), IntentSemantics(intent)
    on_classes = any(
        engine.is_allowed(probe.request()) != semantics.allows(probe) for probe in classes.probes()
    )
    pools = pools_for(intent)
    spellings = st.sampled_from(_values_of(doc)).flatmap(_spelled)
    granted = [a for g in doc["grants"] for a in g["principals"]["arns"]]
    for n in range(12):
        tags = data.draw(st.fixed_dictionaries(dict.fromkeys(KEYS, spellings)))
        instance = Instance(id=f"world-{n}", region="us-east-1", account=ACCOUNT, tags=tags)
        identity = pools.identity(data.draw(st.sampled_from(granted)), {})
        probe = Probe("lightsail:StopInstance", identity, Circumstances(True, None, None), instance)
        if engine.is_allowed(probe.request()) != semantics.allows(probe):
            event("the mutant is wrong on a world request")
            assert on_classes, probe
            assert classes.decided(probe) is not None, probe
