"""Exclusions guard every principal, whatever other policies are attached.

An exclusion is an explicit Deny, and "an explicit deny in any policy overrides any allow"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html),
so it only guards grants made elsewhere if every generated policy carries it for the
exclusion's whole action set (default: every action any grant of the intent gives).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lspolicy import PolicySet, parse_policy
from lspolicy.generate import generate, load_intent, parse_intent
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
