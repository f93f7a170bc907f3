"""The bundled intents in ``policies/intents/``: their generated policies are checked in next
to them, regenerating changes nothing, each is proven over the emulator's world, and each
lints clean.

Regenerate them after changing the generator (then review the diff)::

    python tests/unit/test_generate_examples.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lspolicy.generate import Generation, generate, load_intent, prove
from lspolicy.generate.prove import DEFAULT_POPULATION
from lspolicy.lint import lint_policy
from lspolicy.server.world import load_world

ROOT = Path(__file__).resolve().parents[2]
INTENTS = ROOT / "policies" / "intents"
WORLD = ROOT / "policies" / "world.yaml"
EXAMPLES = sorted(INTENTS.glob("*.yaml"))


def generated() -> dict[Path, Generation]:
    return {path: generate(load_intent(path)) for path in EXAMPLES}


def regenerate() -> None:
    """Write every example's policies next to it and remove stale ones."""
    expected: set[Path] = set()
    for gen in generated().values():
        for p in gen.policies:
            target = INTENTS / p.filename
            target.write_text(p.text, encoding="utf-8")
            expected.add(target)
    for stale in set(INTENTS.glob("*.policy.json")) - expected:
        stale.unlink()


def test_there_are_the_five_scenarios_of_the_issue() -> None:
    """On-call team stops its own team's dev and staging; ops anything but prod without MFA;
    CI stops ephemeral=true in two regions; per-owner stop via ``${aws:PrincipalTag/owner}``
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_ec2-start-stop-match-tags.html
    is AWS's own version for EC2); break-glass with MFA and an IP range."""
    intents = {p.stem: load_intent(p) for p in EXAMPLES}
    assert len(intents) >= 5
    oncall = intents["oncall-team-dev-staging"].grants[0]
    assert {(t.key, t.kind, t.values) for t in oncall.instances.tags} == {
        ("env", "one_of", ("dev", "staging")),
        ("team", "principal_tag", ("team",)),
    }
    ops = intents["ops-stop-except-prod-without-mfa"].exclusions[0]
    assert ops.unless.mfa and ops.instances.tags[0].values == ("prod",)
    ci = intents["ci-stop-ephemeral"].grants[0]
    assert ci.regions == ("us-east-1", "us-west-2")
    assert ci.instances.tags[0].values == ("true",)
    owner = intents["owner-stop-start-own"].grants[0].instances.tags[0]
    assert (owner.key, owner.kind, owner.values) == ("owner", "principal_tag", ("owner",))
    glass = intents["break-glass"].grants[0].require
    assert glass.mfa and glass.source_ip


def test_regenerating_changes_nothing() -> None:
    """Same input, same bytes; and every checked-in policy comes from an intent here (nothing
    stale, nothing missing)
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html)."""
    expected: dict[str, str] = {}
    for gen in generated().values():
        for p in gen.policies:
            expected[p.filename] = p.text
    found = {p.name: p.read_text(encoding="utf-8") for p in INTENTS.glob("*.policy.json")}
    assert sorted(found) == sorted(expected), "run `python tests/unit/test_generate_examples.py`"
    for name, text in expected.items():
        assert found[name] == text, f"{name} is out of date: regenerate and review the diff"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_each_example_is_proven_over_the_world(path: Path) -> None:
    """The default proof (boundary requests, the emulator world's instances and principals,
    the default random population) finds no over-grant and no under-grant
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    world = load_world(WORLD)
    report = prove(
        generate(load_intent(path)),
        instances=[s.instance for s in world.instances],
        identities=[p.identity for p in world.principals.values()],
        world=str(WORLD),
        population=DEFAULT_POPULATION,
    )
    assert report.passed, report.render()
    # exact, ...IgnoreCase included: every bundled example is PROVEN, none SAMPLED
    assert report.exact and report.proven, report.not_exact
    assert report.population["random"] == DEFAULT_POPULATION
    assert report.intent_allows > 0 and all(report.grant_coverage.values())


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_each_example_lints_clean(path: Path) -> None:
    """No finding of ``lspolicy lint`` on the generated policies (the issue: "policies that lint
    clean"; rules documented in lspolicy/lint/RULES.md)
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html)."""
    for p in generate(load_intent(path)).policies:
        findings = lint_policy(p.policy, text=p.text)
        assert findings == [], [f"{f.code} {f.message}" for f in findings]


if __name__ == "__main__":
    regenerate()
    sys.stdout.write(f"regenerated the policies of {len(EXAMPLES)} intents in {INTENTS}\n")
