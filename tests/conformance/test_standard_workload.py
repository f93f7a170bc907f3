"""The engine against the standard workload: 20,000 requests whose decisions two independent
reference evaluators, written from AWS's documentation, agree on (``../shared/bench/``).

Evaluation logic: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
Context derivation is the workload's own ``meta.context_derivation``, which
`lspolicy.lightsail.context.instance_request` implements.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import lspolicy
from lspolicy.lightsail.context import Identity, Instance, instance_request

BENCH = Path(__file__).resolve().parents[3] / "shared" / "bench"
pytestmark = pytest.mark.skipif(not (BENCH / "workload.json").exists(), reason="no ../shared/bench")


@cache
def workload() -> tuple[dict[str, Any], dict[str, Any]]:
    return (
        json.loads((BENCH / "workload.json").read_text()),
        json.loads((BENCH / "expected.json").read_text()),
    )


def prepared() -> list[tuple[lspolicy.PolicySet, lspolicy.Request, dict[str, Any]]]:
    w, _ = workload()
    policies = {n: lspolicy.parse_policy(p, source=n) for n, p in w["policies"].items()}
    instances = {
        r["arn"]: Instance(
            id=r["arn"].rsplit("/", 1)[1], region=r["region"], account=w["account"], tags=r["tags"]
        )
        for r in w["resources"]
    }
    sets = {}
    for p in w["principals"]:
        boundary = [policies[p["permissions_boundary"]]] if p["permissions_boundary"] else None
        sets[p["arn"]] = (
            lspolicy.PolicySet([policies[n] for n in p["policies"]], boundary=boundary),
            Identity(p["arn"], p["tags"]),
        )
    out = []
    for r in w["requests"]:
        rules, identity = sets[r["principal"]]
        request = instance_request(
            r["action"], instances[r["resource"]], identity, context=r["context"]
        )
        out.append((rules, request, r))
    return out


def test_context_derivation_matches_the_workload_description() -> None:
    w, _ = workload()
    _, request, raw = prepared()[0]
    principal = next(p for p in w["principals"] if p["arn"] == raw["principal"])
    ctx = request.context
    assert ctx["aws:principalarn"] == (principal["arn"],)
    assert ctx["aws:principalaccount"] == (w["account"],)
    assert ctx["aws:principaltype"] == ("User" if principal["type"] == "user" else "AssumedRole",)
    assert ("aws:username" in ctx) == (principal["type"] == "user")
    resource = next(r for r in w["resources"] if r["arn"] == raw["resource"])
    assert ctx["aws:requestedregion"] == (resource["region"],)
    for key, value in resource["tags"].items():
        assert ctx[f"aws:resourcetag/{key.lower()}"] == (value,)
    assert request.resource == resource["arn"]


def test_all_20000_decisions_match_expected() -> None:
    _, expected = workload()
    cases = prepared()
    fast = [rules.is_allowed(req) for rules, req, _ in cases]
    want = [d == "Allow" for d in expected["decisions"]]
    wrong = [i for i, (a, b) in enumerate(zip(fast, want, strict=True)) if a != b]
    assert not wrong, f"{len(wrong)} disagreements, first: {cases[wrong[0]][2]}"


def test_explained_path_and_reasons_match_expected() -> None:
    """The explained path decides the same, and names the same deciding policy as the reference
    (``allow:<policy>/<sid>``, ``explicit:<policy>[/<sid>]``, ``implicit``,
    ``boundary-implicit``)."""
    _, expected = workload()
    for i, (rules, req, _) in enumerate(prepared()[::7]):
        reason = expected["reasons"][i * 7]
        decision = rules.evaluate(req)
        assert decision.allowed == rules.is_allowed(req)
        if reason == "implicit":
            assert decision.decision == "implicitDeny", (i * 7, decision.reason)
        elif reason == "boundary-implicit":
            assert decision.decision == "implicitDeny"
            assert decision.allowed_by_boundary is False
        elif reason.startswith("explicit:"):
            assert decision.decision == "explicitDeny"
            policy, _, sid = reason.split(":", 1)[1].partition("/")
            named = {(m.policy, m.sid) for m in decision.matched}
            assert (policy, sid) in named if sid else policy in {p for p, _ in named}
        else:
            assert decision.decision == "allowed"
            policy, sid = reason.split(":", 1)[1].split("/", 1)
            assert (policy, sid) in {(m.policy, m.sid) for m in decision.matched}
