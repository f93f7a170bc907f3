"""The proof: it holds for generated policies, and it catches every way a policy can be wrong
(each mutation below is a mistake a hand-written policy makes), with readable
counterexamples."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from lspolicy.generate import Generation, IntentSemantics, generate, load_intent, prove
from lspolicy.generate.prove import structure_problems
from lspolicy.generate.semantics import Circumstances, Probe, Undecidable
from lspolicy.lightsail.context import Identity, Instance
from lspolicy.parse import parse_policy
from lspolicy.server.world import load_world

ROOT = Path(__file__).parents[2]
INTENTS = ROOT / "policies" / "intents"
WORLD = ROOT / "policies" / "world.yaml"
ACCOUNT = "111122223333"


def example(name: str) -> Generation:
    return generate(load_intent(INTENTS / f"{name}.yaml"))


def mutated(gen: Generation, change: Callable[[str], str], index: int = 0) -> Generation:
    """The generation with policy ``index`` rewritten by ``change`` (and re-parsed)."""
    p = gen.policies[index]
    text = change(p.text)
    assert text != p.text, "the mutation changed nothing"
    q = dataclasses.replace(p, text=text, policy=parse_policy(text, source=p.filename))
    policies = list(gen.policies)
    policies[index] = q
    return dataclasses.replace(gen, policies=tuple(policies))


def test_generated_policies_are_proven_with_population_counts() -> None:
    """Every request is decided by the engine on each policy set and compared with the
    intent; the counts add up (the proof the issue asks for, over
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    gen = example("ops-stop-except-prod-without-mfa")
    report = prove(gen, population=2000)
    assert report.proven, report.render()
    pop = report.population
    assert pop["random"] == 2000 and pop["world"] == 0 and pop["boundary"] > 300
    assert pop["total"] == pop["boundary"] + pop["world"] + pop["random"]
    assert report.intent_allows + report.intent_denies + report.undecidable == pop["total"]
    # two policies (one per selector) and both together: three decisions per request
    assert report.decisions == 3 * (pop["total"] + report.classes - report.undecidable)
    assert report.intent_allows > 200 and report.intent_denies > 200
    assert set(report.grant_coverage) == {"OpsStopAnything", "SreAutomationStopAnything"}
    assert all(n > 0 for n in report.grant_coverage.values())
    assert report.exclusion_coverage["NeverProdWithoutMfa"] > 0
    assert report.warnings == () and report.structure_problems == ()
    text = report.render()
    assert text.startswith("proof: PROVEN") and "random 2,000 with seed" in text


def test_the_proof_is_deterministic() -> None:
    """Same intent, same seed, same requests and counts; another seed, another population
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    gen = example("oncall-team-dev-staging")
    a, b = prove(gen, population=500), prove(gen, population=500)
    assert (a.seed, a.population, a.intent_allows) == (b.seed, b.population, b.intent_allows)
    c = prove(gen, population=500, seed=1)
    assert c.seed != a.seed and c.proven


MUTATIONS: list[tuple[str, str, Callable[[str], str], str]] = [
    # (name, example, change, what the proof must find)
    (
        "IfExists on the resource tag lets untagged instances through",
        "oncall-team-dev-staging",
        lambda t: t.replace('"StringEquals"', '"StringEqualsIfExists"'),
        "over-grant",
    ),
    (
        "the principal condition dropped",
        "oncall-team-dev-staging",
        lambda t: t.replace('"aws:PrincipalTag/role": [\n            "oncall"\n          ],\n', ""),
        "over-grant",
    ),
    (
        "StringLike instead of StringEquals with a wildcard value",
        "oncall-team-dev-staging",
        lambda t: t.replace('"dev",', '"d*",').replace('"StringEquals"', '"StringLike"'),
        "over-grant",
    ),
    (
        "a one-of value lost",
        "oncall-team-dev-staging",
        lambda t: t.replace('            "dev",\n', ""),
        "under-grant",
    ),
    (
        "Version 2008-10-17 leaves the variable unsubstituted",
        "oncall-team-dev-staging",
        lambda t: t.replace("2012-10-17", "2008-10-17"),
        "under-grant",
    ),
    (
        "Bool instead of BoolIfExists in the exclusion lets long-term keys through",
        "ops-stop-except-prod-without-mfa",
        lambda t: t.replace('"BoolIfExists"', '"Bool"'),
        "over-grant",
    ),
    (
        "the exclusion dropped",
        "ops-stop-except-prod-without-mfa",
        lambda t: t.replace('"Effect": "Deny"', '"Effect": "Allow"'),
        "over-grant",
    ),
    (
        "BoolIfExists instead of Bool on the MFA requirement",
        "break-glass",
        lambda t: t.replace('"Bool"', '"BoolIfExists"'),
        "over-grant",
    ),
    (
        "a CIDR block widened",
        "break-glass",
        lambda t: t.replace("198.51.100.0/24", "198.51.0.0/16"),
        "over-grant",
    ),
    (
        "an action wildcard",
        "break-glass",
        lambda t: t.replace('"lightsail:RebootInstance"', '"lightsail:*Instance"'),
        "over-grant",
    ),
    (
        "the window's end made exclusive",
        "contractor-maintenance-window",
        lambda t: t.replace("DateLessThanEquals", "DateLessThan"),
        "under-grant",
    ),
    (
        "a region narrowed",
        "ci-stop-ephemeral",
        lambda t: t.replace("us-west-2", "us-west-1"),
        "under-grant",
    ),
    (
        "the prefix wildcard forgotten",
        "contractor-maintenance-window",
        lambda t: t.replace('"CC-10*"', '"CC-10"'),
        "under-grant",
    ),
    (
        "NotIpAddress turned into IpAddress in the exclusion",
        "contractor-maintenance-window",
        lambda t: t.replace('"NotIpAddress"', '"IpAddress"'),
        "over-grant",
    ),
    (
        "the exclusion scoped to the wrong id",
        "contractor-maintenance-window",
        lambda t: t.replace(
            "035594d2-a226-44f4-a6d8-402d970d0159", "035594d2-a226-44f4-a6d8-402d970d0158"
        ),
        "over-grant",
    ),
]


@pytest.mark.parametrize(
    ("name", "intent", "change", "kind"), MUTATIONS, ids=[m[0] for m in MUTATIONS]
)
def test_the_proof_catches_a_wrong_policy(
    name: str, intent: str, change: Callable[[str], str], kind: str
) -> None:
    """Each mutation is a policy that is wrong under AWS's rules
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html,
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html):
    the proof fails and prints a counterexample of the expected kind, with the engine's
    deciding statements."""
    gen = mutated(example(intent), change)
    report = prove(gen, population=2000)
    assert not report.proven, name
    counts = {"over-grant": report.over_grants, "under-grant": report.under_grants}
    assert counts[kind] > 0, report.render()
    found = next(c for c in report.counterexamples if c.kind == kind)
    as_dict = found.to_dict()
    assert as_dict["kind"] == kind and as_dict["intent"]["allowed"] is (kind == "under-grant")
    if kind == "over-grant":
        assert as_dict["engine"]["deciding_statements"], as_dict
    assert report.render().startswith("proof: FAILED")
    assert kind in found.render() and "intent:" in found.render()


def test_structure_is_checked_as_well() -> None:
    """``...IfExists`` on a resource tag, a non-instance action or Version 2008 is reported
    as a structural problem even where no request tells the difference
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists)."""
    gen = mutated(
        example("ci-stop-ephemeral"),
        lambda t: t.replace('"StringEquals": {\n          "aws:PrincipalArn"',
                            '"StringEqualsIfExists": {\n          "aws:PrincipalArn"')
        .replace('"lightsail:DeleteInstance",\n        "lightsail:StopInstance"\n      ],\n      "Resource": [\n        "arn:aws:lightsail:us-east-1',
                 '"lightsail:DeleteInstance",\n        "lightsail:GetInstances",\n        "lightsail:StopInstance"\n      ],\n      "Resource": [\n        "arn:aws:lightsail:us-east-1'),
    )  # fmt: skip
    found = structure_problems(gen)
    assert any("StringEqualsIfExists on aws:ResourceTag/ephemeral" in f for f in found), found
    assert any("lightsail:GetInstances is not an instance action" in f for f in found), found
    assert not prove(gen, population=200).proven


def test_each_part_of_a_split_policy_is_safe_alone() -> None:
    """Parts are attached together, but each alone must never grant more than the intent
    (a part without the exclusions would:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    ids = ", ".join(f"{i:08x}-aaaa-4bbb-8ccc-{i:012x}" for i in range(200))
    gen = generate(
        load_intent_text(
            f'name: big\naccount: "{ACCOUNT}"\ngrants:\n  - sid: G\n'
            "    principals: {tags: {role: oncall}}\n    actions: [lightsail:StopInstance]\n"
            f"    instances: {{ids: [{ids}]}}\n"
            "exclude:\n  - sid: NoProd\n    instances: {tags: {env: prod}}\n"
        )
    )
    assert len(gen.policies) > 1
    report = prove(gen, population=300)
    assert report.proven, report.render()
    # drop the exclusion from the last part: together they still deny, alone it over-grants
    last = len(gen.policies) - 1
    broken = mutated(gen, lambda t: t.replace('"Effect": "Deny"', '"Effect": "Allow"'), last)
    bad = prove(broken, population=300)
    assert bad.over_grants > 0
    assert any(c.scope.endswith("alone") or "+" in c.scope for c in bad.counterexamples)


def load_intent_text(text: str) -> object:
    from lspolicy.generate import parse_intent  # noqa: PLC0415

    return parse_intent(text)


def test_world_instances_are_each_checked() -> None:
    """Every instance of a world gets a witness caller per grant (and a second action) and
    the world's principals in turn: ``instances x (grants + 3)`` requests here
    (https://docs.aws.amazon.com/lightsail/latest/userguide/amazon-lightsail-controlling-access-using-tags.html)."""
    world = load_world(WORLD)
    instances = [s.instance for s in world.instances]
    identities = [p.identity for p in world.principals.values()]
    gen = example("oncall-team-dev-staging")
    report = prove(gen, instances=instances, identities=identities, world=str(WORLD),
                   population=0)  # fmt: skip
    assert report.proven, report.render()
    assert report.population["world"] == len(instances) * (1 + 3)
    assert f"over {WORLD}" in report.render()


def test_a_role_session_acts_as_its_role() -> None:
    """For a role session AWS puts the role's ARN in ``aws:PrincipalArn``
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn):
    an ``arns`` selector naming a role covers its sessions, and the proof checks world
    sessions like any principal (with its path when the identity knows its role)."""
    session = Identity(f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-runner/job-42")
    instance = Instance(id="i-1", region="us-east-1", account=ACCOUNT, tags={"ephemeral": "true"})
    gen = example("ci-stop-ephemeral")
    semantics = IntentSemantics(gen.intent)
    stop = Probe("lightsail:StopInstance", session, Circumstances(), instance)
    assert semantics.explain(stop).grants == ("CiStopsEphemeral",)
    other = Identity(f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-runner-2/job-42")
    assert not semantics.allows(Probe("lightsail:StopInstance", other, Circumstances(), instance))
    report = prove(gen, instances=[instance], identities=[session, other], population=0)
    assert report.proven and report.warnings == (), report.render()
    pathed = Identity(session.arn, role_arn=f"arn:aws:iam::{ACCOUNT}:role/ci/ci-runner")
    assert not semantics.allows(Probe("lightsail:StopInstance", pathed, Circumstances(), instance))


def test_a_world_of_another_account_is_reported() -> None:
    """Identity policies act in their own account; a world without an instance in the
    intent's account proves little, and the report says so
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html)."""
    elsewhere = Instance(id="i-1", region="us-east-1", account="444455556666")
    report = prove(example("break-glass"), instances=[elsewhere], population=0)
    assert report.proven
    assert any("no instance in account 111122223333" in w for w in report.warnings)


def test_a_role_session_principal_arn_is_the_role_arn() -> None:
    """ "For IAM roles, the request context returns the ARN of the role, not the ARN of the user
    that assumed the role"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
    A generated ``arns`` selector (``aws:PrincipalArn``) therefore refuses a role's sessions in
    the emulator where AWS would allow them."""
    session = Identity(f"arn:aws:sts::{ACCOUNT}:assumed-role/break-glass/alice")
    assert session.context()["aws:PrincipalArn"] == f"arn:aws:iam::{ACCOUNT}:role/break-glass"


def test_instances_whose_tag_keys_differ_only_in_case_are_not_judged() -> None:
    """Condition key names ignore case
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html),
    so which of ``env``/``Env`` a request carries is not settled by the docs: such requests
    are counted apart, not guessed."""
    twin = Instance(id="i-1", region="us-east-1", account=ACCOUNT, tags={"env": "dev", "Env": "x"})
    gen = example("oncall-team-dev-staging")
    semantics = IntentSemantics(gen.intent)
    with pytest.raises(Undecidable):
        semantics.allows(Probe("lightsail:StopInstance", Identity(f"arn:aws:iam::{ACCOUNT}:user/u",
                                {"role": "oncall"}), Circumstances(), twin))  # fmt: skip
    report = prove(gen, instances=[twin], identities=[], population=0)
    assert report.undecidable > 0 and report.proven
    assert "not judged" in report.render()


def test_warnings_for_grants_that_give_nothing_and_idle_exclusions() -> None:
    """A grant entirely excluded, or an exclusion no grant reaches, is almost always a mistake
    in the intent; the proof says so (it is not a failure: the policy means the intent)
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html#policy-eval-denyallow)."""
    gen = generate(
        load_intent_text(
            f'name: odd\naccount: "{ACCOUNT}"\ngrants:\n  - sid: G\n'
            "    principals: {tags: {role: oncall}}\n    actions: [lightsail:StopInstance]\n"
            "    instances: {tags: {env: dev}}\n"
            "exclude:\n  - sid: AllDev\n    instances: {tags: {env: dev}}\n"
            "  - sid: Prod\n    instances: {tags: {env: prod}}\n"
        )
    )
    report = prove(gen, population=300)
    assert report.proven
    assert any(w.startswith("grant G allowed no request") for w in report.warnings)
    assert any(w.startswith("exclusion Prod took away no granted request") for w in report.warnings)


def test_semantics_explains_its_answer() -> None:
    """The intent's answer names the grants and exclusions behind it
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html#policy-eval-denyallow)."""
    gen = example("ops-stop-except-prod-without-mfa")
    semantics = IntentSemantics(gen.intent)
    ops = Identity(f"arn:aws:iam::{ACCOUNT}:user/opal", {"team": "ops"})
    prod = Instance(id="i-1", region="us-east-1", account=ACCOUNT, tags={"env": "prod"})
    without = semantics.explain(Probe("lightsail:StopInstance", ops, Circumstances(), prod))
    assert not without.allowed and without.exclusions == ("NeverProdWithoutMfa",)
    assert without.reason == "granted by OpsStopAnything but excluded by NeverProdWithoutMfa"
    with_mfa = semantics.explain(Probe("lightsail:StopInstance", ops, Circumstances(True), prod))
    assert with_mfa.allowed and with_mfa.grants == ("OpsStopAnything",)
    other = semantics.explain(Probe("lightsail:DeleteInstance", ops, Circumstances(True), prod))
    assert other.reason == "no grant of the intent covers it"
