"""Exclusions guard every principal, whatever other policies are attached.

An exclusion is an explicit Deny, and "an explicit deny in any policy overrides any allow"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html),
so it only guards grants made elsewhere if every generated policy carries it for the
exclusion's whole action set (default: every action any grant of the intent gives).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from lspolicy import PolicySet, parse_policy
from lspolicy.generate import Generation, cli, generate, load_intent, parse_intent
from lspolicy.generate.build import render
from lspolicy.generate.guard import check_guard
from lspolicy.generate.semantics import Circumstances, Probe
from lspolicy.lightsail.context import Identity, Instance

ACCOUNT = "111122223333"
PROD = Instance("8a831817-4d64-4fa6-913c-513a42f8eda1", "us-east-1", ACCOUNT, tags={"env": "prod"})
CI = Identity(f"arn:aws:iam::{ACCOUNT}:role/ci")
OPS = Identity(f"arn:aws:iam::{ACCOUNT}:user/olga", {"team": "ops"})
SRE = Identity(f"arn:aws:iam::{ACCOUNT}:role/sre-automation")
INTENTS = Path(__file__).parents[2] / "policies" / "intents"

OPS_AND_CI = f"""
name: ops-and-ci
account: "{ACCOUNT}"
grants:
  - sid: OpsStop
    principals: {{tags: {{team: ops}}}}
    actions: [lightsail:StopInstance]
  - sid: CiReboot
    principals: {{arns: ["arn:aws:iam::{ACCOUNT}:role/ci"]}}
    actions: [lightsail:RebootInstance]
exclude:
  - sid: NeverProd
    instances: {{tags: {{env: prod}}}}
"""

EXTRA_ALLOWS = {
    "lightsail:*": '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", '
    '"Action": "lightsail:*", "Resource": "*"}}',
    "*": '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", '
    '"Resource": "*"}}',
}


def _engine(policies: list[object], extra: str) -> PolicySet:
    return PolicySet([*policies, parse_policy(EXTRA_ALLOWS[extra], source="extra.json")])  # type: ignore[list-item]


@pytest.mark.parametrize("extra", sorted(EXTRA_ALLOWS))
@pytest.mark.parametrize("who", [OPS, CI], ids=["ops", "ci"])
@pytest.mark.parametrize(
    "action", ["lightsail:StopInstance", "lightsail:RebootInstance", "lightsail:StartInstance"]
)
def test_exclusion_denies_every_granted_action_for_every_principal(
    extra: str, who: Identity, action: str
) -> None:
    """Regression (over-grant): ci's policy denied only RebootInstance on prod, so with
    ``lightsail:*`` attached elsewhere ci could stop a prod instance. An exclusion without
    ``actions`` means every action any grant gives (``schemas/intent.schema.json``), and an
    explicit Deny wins over any Allow
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    gen = generate(parse_intent(OPS_AND_CI))
    for policy in gen.policies:
        engine = _engine([policy.policy], extra)
        probe = Probe(action, who, Circumstances(), PROD)
        if action == "lightsail:StartInstance":
            # not granted by the intent, so not excluded by it: other policies decide
            continue
        assert not engine.is_allowed(probe.request()), (policy.name, action)


@pytest.mark.parametrize("extra", sorted(EXTRA_ALLOWS))
def test_bundled_sre_policy_denies_start_on_prod_without_mfa(extra: str) -> None:
    """Regression (over-grant): the bundled ops-stop-except-prod-without-mfa intent's
    sre-automation policy denied only StopInstance on prod without MFA, so StartInstance on
    prod without MFA passed with another Allow attached. ``BoolIfExists ... false`` also
    matches a request without the key
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists)."""
    gen = generate(load_intent(INTENTS / "ops-stop-except-prod-without-mfa.yaml"))
    for policy in gen.policies:
        engine = _engine([policy.policy], extra)
        for mfa in (None, False):
            probe = Probe("lightsail:StartInstance", SRE, Circumstances(mfa=mfa), PROD)
            assert not engine.is_allowed(probe.request()), policy.name
        probe = Probe("lightsail:StartInstance", SRE, Circumstances(mfa=True), PROD)
        assert engine.is_allowed(probe.request()), "with MFA the exclusion does not apply"


# --------------------------------------------------------------------------- the guard check


def _narrowed(gen: Generation, name_part: str, actions: list[str]) -> Generation:
    """``gen`` with the Deny statements of the policy named ``*name_part*`` cut down to
    ``actions``: the per-principal Deny of the old generator."""
    policies = []
    for p in gen.policies:
        if name_part in p.name:
            statements = [
                {**st, "Action": actions} if st["Effect"] == "Deny" else st
                for st in p.document["Statement"]
            ]
            document, text = render(statements)
            policy = parse_policy(text, source=p.filename)
            policies.append(replace(p, document=document, text=text, policy=policy))
        else:
            policies.append(p)
    return replace(gen, policies=tuple(policies))


@pytest.mark.parametrize("path", sorted(INTENTS.glob("*.yaml")), ids=lambda p: p.stem)
def test_guard_holds_exactly_for_every_bundled_intent(path: Path) -> None:
    """The semantic diff finds no excluded request that any generated policy lets through with
    ``Allow * on *`` attached (an explicit Deny overrides any Allow:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    report = check_guard(generate(load_intent(path)))
    assert report.exact and report.holds, report.render()
    assert report.render().startswith("guard: exact, holds")


def test_guard_finds_the_per_principal_deny_and_locates_the_exclusion() -> None:
    """The old generator's ci policy (Deny RebootInstance only) fails the guard: with
    ``Allow *`` attached, StopInstance on env=prod is allowed; the finding names the exclusion
    (explicit deny rules:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    gen = _narrowed(generate(parse_intent(OPS_AND_CI)), "role-ci", ["lightsail:RebootInstance"])
    report = check_guard(gen)
    assert report.exact and not report.holds
    (finding,) = report.findings
    assert finding.exclusion == "NeverProd" and finding.result == "FAIL"
    assert finding.location.path == "exclude[0]"
    assert "lightsail:StopInstance" in "\n".join(finding.lines)
    assert "guard: exact, does not hold" in report.render()


def test_generate_exits_1_when_the_guard_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A guard that does not hold fails generation with a located message and nothing written,
    although the sampled proof (which judges each policy alone) passes: the Deny must hold
    against Allows in other policies too
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    intent = tmp_path / "ops-and-ci.yaml"
    intent.write_text(OPS_AND_CI)
    real = cli.generate
    monkeypatch.setattr(
        cli, "generate", lambda i: _narrowed(real(i), "role-ci", ["lightsail:RebootInstance"])
    )
    out = tmp_path / "out"
    assert cli.main([str(intent), "--population", "100", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "guard: exact, does not hold" in captured.out
    assert f"{intent}: exclude[0]" in captured.err
    assert not out.exists()
