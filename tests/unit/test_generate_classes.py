"""The exact proof (`lspolicy.generate.classes`): one request per class of the intent's and the
policy's tests decides every request, so each way a policy can over-grant is found on the
classes, including ones the sampled witness misses; where the classes cannot cover every
request the report says SAMPLED, never PROVEN."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lspolicy.generate import Generation, generate, load_intent, prove
from lspolicy.generate.classes import enumerate_classes
from lspolicy.parse import parse_policy

FIXTURE = Path(__file__).parent / "fixtures" / "every-construct.yaml"

Doc = dict[str, Any]


def generation() -> Generation:
    """One grant using every construct generation writes: a principal tag, a resource tag, a
    principal tag variable, a region, MFA, a source IP block and a time window."""
    return generate(load_intent(FIXTURE))


def weakened(gen: Generation, change: Callable[[Doc], None]) -> Generation:
    """The generation with its policy's document changed by ``change`` (and re-parsed)."""
    p = gen.policies[0]
    doc = json.loads(p.text)
    change(doc)
    text = json.dumps(doc, indent=2) + "\n"
    assert text != p.text, "the mutation changed nothing"
    q = dataclasses.replace(p, text=text, policy=parse_policy(text, source=p.filename))
    return dataclasses.replace(gen, policies=(q, *gen.policies[1:]))


def _cond(doc: Doc) -> dict[str, dict[str, list[str]]]:
    cond: dict[str, dict[str, list[str]]] = doc["Statement"][0]["Condition"]
    return cond


def drop_tag(doc: Doc) -> None:
    del _cond(doc)["StringEquals"]["aws:ResourceTag/env"]


def equals_to_prefix(doc: Doc) -> None:
    del _cond(doc)["StringEquals"]["aws:ResourceTag/env"]
    _cond(doc)["StringLike"] = {"aws:ResourceTag/env": ["staging*"]}


def drop_region(doc: Doc) -> None:
    doc["Statement"][0]["Resource"] = ["arn:aws:lightsail:*:111122223333:Instance/*"]


def drop_mfa(doc: Doc) -> None:
    del _cond(doc)["Bool"]


def ip_one_more_next_to_the_block(doc: Doc) -> None:
    _cond(doc)["IpAddress"]["aws:SourceIp"].append("203.0.114.0/32")


def ip_one_more_elsewhere(doc: Doc) -> None:
    _cond(doc)["IpAddress"]["aws:SourceIp"].append("198.51.100.77/32")


def date_one_second_later(doc: Doc) -> None:
    _cond(doc)["DateLessThanEquals"]["aws:CurrentTime"] = ["2026-04-01T00:00:00Z"]


def date_one_second_earlier(doc: Doc) -> None:
    _cond(doc)["DateGreaterThanEquals"]["aws:CurrentTime"] = ["2026-02-28T23:59:59Z"]


def drop_principal_tag_variable(doc: Doc) -> None:
    del _cond(doc)["StringEquals"]["aws:ResourceTag/team"]


def drop_principal_tag(doc: Doc) -> None:
    del _cond(doc)["StringEquals"]["aws:PrincipalTag/role"]


WEAKENINGS: list[tuple[str, Callable[[Doc], None]]] = [
    ("drop a tag condition", drop_tag),
    ("widen a StringEquals value to a prefix", equals_to_prefix),
    ("drop the region", drop_region),
    ("drop the MFA Bool", drop_mfa),
    ("widen the IP range by the next address", ip_one_more_next_to_the_block),
    ("widen the IP range by one address elsewhere", ip_one_more_elsewhere),
    ("move the end of the window one second later", date_one_second_later),
    ("move the start of the window one second earlier", date_one_second_earlier),
    ("drop the principal tag variable", drop_principal_tag_variable),
    ("drop the principal tag selector", drop_principal_tag),
]


def test_the_unweakened_policy_is_proven_exactly() -> None:
    """The generated policy equals the intent on every class: PROVEN, with the class count
    (operators as in
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)."""
    report = prove(generation(), population=500)
    assert report.exact and report.proven and report.classes > 0, report.render()
    assert report.render().startswith(f"proof: PROVEN - exact over {report.classes:,} classes")
    data = report.to_dict()
    assert (data["exact"], data["classes"], data["sampled"]) == (
        True,
        report.classes,
        report.population["total"],
    )


@pytest.mark.parametrize(("name", "change"), WEAKENINGS, ids=[w[0] for w in WEAKENINGS])
def test_every_weakening_is_found_on_the_classes(name: str, change: Callable[[Doc], None]) -> None:
    """Each weakening is an over-grant under AWS's condition operators (String, Bool,
    IpAddress, Date, and policy variables:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html);
    the exact enumeration finds a counterexample class every time, whatever the sample does."""
    report = prove(weakened(generation(), change), population=0)
    assert report.exact, report.not_exact
    assert report.class_disagreements > 0 and report.over_grants > 0, name
    assert not report.proven
    first = report.counterexamples[0]
    assert first.source == "class" and first.kind == "over-grant", first.render()
    assert report.render().startswith("proof: FAILED")


def test_the_sampled_witness_misses_what_the_classes_find() -> None:
    """An IP block widened by one address the intent never mentions (IpAddress:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IPAddress):
    the sampled population, built from the intent's values, never draws that address; the
    classes, built from the policy's values too, do."""
    report = prove(weakened(generation(), ip_one_more_elsewhere), population=10_000)
    assert report.sampled_disagreements == 0, report.render()
    assert report.class_disagreements > 0
    found = next(c for c in report.counterexamples if c.source == "class")
    assert found.probe.circumstances.source_ip == "198.51.100.77", found.render()


def test_a_construct_the_classes_do_not_model_is_labelled_sampled() -> None:
    """A ``StringLike`` pattern with a wildcard inside
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String)
    has classes the enumeration does not prove complete: the policy still equals the intent,
    but the report says SAMPLED with the reason, never PROVEN, and the JSON says not exact."""

    def redundant_pattern(doc: Doc) -> None:
        _cond(doc)["StringLike"] = {"aws:ResourceTag/env": ["st*ing"]}

    report = prove(weakened(generation(), redundant_pattern), population=500)
    assert report.passed and not report.exact and not report.proven
    text = report.render()
    assert text.startswith("proof: SAMPLED (not exact: ") and "PROVEN" not in text
    assert "st*ing" in text
    assert report.to_dict()["exact"] is False and report.to_dict()["proven"] is False


def test_each_class_is_one_request_and_sampled_requests_fall_in_a_class() -> None:
    """The classes are the product of the groups; every sampled request has a class decided
    alike (the sampled witness checks the abstraction; evaluation logic:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    gen = generation()
    classes = enumerate_classes(gen.intent, [p.policy for p in gen.policies])
    groups = classes.groups
    assert len(classes) == groups["action"] * groups["who/where"] * groups["circumstances"]
    assert len(list(classes.probes())) == len(classes)
    report = prove(gen, population=2000)
    assert report.exact and not any("missed a distinction" in w for w in report.warnings)
