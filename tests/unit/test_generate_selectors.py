"""Intent constructs beyond "tag equals": exclusions for some principals, "not one of" and
"present" selectors, and case-insensitive values. Each is judged by the engine and by the
intent's semantics, which must agree, and proven."""

from __future__ import annotations

import pytest

from lspolicy import PolicySet, parse_policy
from lspolicy.generate import Generation, IntentError, generate, parse_intent, prove
from lspolicy.generate.guard import check_guard
from lspolicy.generate.prove import ProofReport
from lspolicy.generate.semantics import (
    Circumstances,
    IntentSemantics,
    Probe,
    case_variant_warnings,
)
from lspolicy.lightsail.context import Identity, Instance

ACCOUNT = "111122223333"
I1 = "8a831817-4d64-4fa6-913c-513a42f8eda1"
DEPLOY = Identity(f"arn:aws:iam::{ACCOUNT}:role/deploy")
OPS = Identity(f"arn:aws:iam::{ACCOUNT}:user/olga", {"team": "ops"})
ACME = Identity(f"arn:aws:iam::{ACCOUNT}:user/anna", {"vendor": "acme"})
ALLOW_ALL = parse_policy(
    '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}',
    source="extra.json",
)


def intent(
    instances: str, rest: str = "", who: str = "arns: [arn:aws:iam::111122223333:role/deploy]"
) -> str:
    return (
        f'name: demo\naccount: "{ACCOUNT}"\ngrants:\n  - sid: G\n    principals: {{{who}}}\n'
        f"    actions: [lightsail:StopInstance]\n    instances: {{tags: {instances}}}\n" + rest
    )


def decide(gen: Generation, who: Identity, tags: dict[str, str], *, extra: bool = False) -> bool:
    """The engine's answer, checked against the intent's semantics (without ``extra``)."""
    probe = Probe(
        "lightsail:StopInstance",
        who,
        Circumstances(),
        Instance(I1, "us-east-1", ACCOUNT, tags=tags),
    )
    policies = [p.policy for p in gen.policies] + ([ALLOW_ALL] if extra else [])
    got = PolicySet(policies).is_allowed(probe.request())
    if not extra:
        assert got == IntentSemantics(gen.intent).allows(probe), (tags, got)
    return got


def test_not_equals_refuses_prod_and_untagged_instances() -> None:
    """``StringNotEquals`` alone is true for a missing key, so "env is not prod" also needs
    ``Null: false``: an untagged instance is not "not prod" here
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Null)."""
    gen = generate(parse_intent(intent("{env: {not_equals: prod}}")))
    cond = gen.policies[0].document["Statement"][0]["Condition"]
    assert cond["StringNotEquals"]["aws:ResourceTag/env"] == ["prod"]
    assert cond["Null"]["aws:ResourceTag/env"] == ["false"]
    assert decide(gen, DEPLOY, {"env": "dev"})
    assert not decide(gen, DEPLOY, {"env": "prod"})
    assert not decide(gen, DEPLOY, {})
    assert decide(gen, DEPLOY, {"env": "Prod"}), "case-sensitive unless asked otherwise"
    assert_proven_exactly(prove(gen, population=300))


def test_not_one_of_and_present_together() -> None:
    """``not_one_of`` lists several values (``StringNotEquals`` with several values matches
    none of them), ``present`` is ``Null: false``
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Null)."""
    gen = generate(
        parse_intent(intent("{env: {not_one_of: [prod, staging]}, owner: {present: true}}"))
    )
    assert decide(gen, DEPLOY, {"env": "dev", "owner": "kim"})
    assert decide(gen, DEPLOY, {"env": "dev", "owner": ""})
    assert not decide(gen, DEPLOY, {"env": "dev"})
    assert not decide(gen, DEPLOY, {"env": "staging", "owner": "kim"})
    assert_proven_exactly(prove(gen, population=300))


def test_case_insensitive_equals_matches_every_spelling() -> None:
    """``case_insensitive`` is ``StringEqualsIgnoreCase``
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String)."""
    gen = generate(parse_intent(intent("{env: {equals: dev, case_insensitive: true}}")))
    cond = gen.policies[0].document["Statement"][0]["Condition"]
    assert cond["StringEqualsIgnoreCase"]["aws:ResourceTag/env"] == ["dev"]
    for value in ("dev", "Dev", "DEV"):
        assert decide(gen, DEPLOY, {"env": value})
    assert not decide(gen, DEPLOY, {"env": "devx"})
    assert_proven_exactly(prove(gen, population=300))


EXCLUDE_PROD_FOR_ACME = """exclude:
  - sid: AcmeNeverProd
    principals: {tags: {vendor: acme}}
    instances: {tags: {env: {equals: prod, case_insensitive: true}}}
"""


def test_exclusion_for_some_principals_only() -> None:
    """An exclusion with ``principals`` denies only those callers (``aws:PrincipalTag``
    conditions on the Deny:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principaltag),
    in every policy, so also against other Allows; Prod and PROD are prod
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    text = intent("{team: {present: true}}", EXCLUDE_PROD_FOR_ACME, who="tags: {team: ops}")
    gen = generate(parse_intent(text))
    deny = gen.policies[0].document["Statement"][-1]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"]["StringEquals"]["aws:PrincipalTag/vendor"] == ["acme"]
    ops_acme = Identity(OPS.arn, {"team": "ops", "vendor": "acme"})
    assert decide(gen, OPS, {"team": "x", "env": "prod"})
    for spelling in ("prod", "Prod", "PROD"):
        assert not decide(gen, ops_acme, {"team": "x", "env": spelling})
        assert not decide(gen, ACME, {"env": spelling}, extra=True)
    assert decide(gen, ACME, {"env": "staging"}, extra=True)
    assert_proven_exactly(prove(gen, population=300))
    assert check_guard(gen).holds


@pytest.mark.parametrize(
    ("instances", "path", "message"),
    [
        (
            "{env: {prefix: pr, case_insensitive: true}}",
            "grants[0].instances.tags.env.case_insensitive",
            "case_insensitive cannot qualify prefix",
        ),
        (
            "{env: {one_of: [prod, Prod], case_insensitive: true}}",
            "grants[0].instances.tags.env.one_of",
            "'prod' and 'Prod' are the same value",
        ),
        (
            "{env: {case_insensitive: true}}",
            "grants[0].instances.tags.env",
            "case_insensitive alone",
        ),
        (
            "{env: {not_equals: prod, present: true}}",
            "grants[0].instances.tags.env",
            "give exactly one of these",
        ),
        ("{env: {present: false}}", "grants[0].instances.tags.env.present", ""),
    ],
)
def test_bad_selectors_are_located(instances: str, path: str, message: str) -> None:
    """Each problem names its place (IAM has no case-insensitive ``StringLike``:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String)."""
    with pytest.raises(IntentError) as info:
        parse_intent(intent(instances))
    problems = info.value.problems
    assert any(p.location.path == path and message in p.message for p in problems), problems


def test_exclusion_principals_are_checked_like_a_grants() -> None:
    """An exclusion's principal ARNs must be in the intent's account, as a grant's (identity
    policies are attached in their own account:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_identity-vs-resource.html)."""
    rest = "exclude:\n  - principals: {arns: ['arn:aws:iam::999988887777:role/ci']}\n    regions: [us-east-1]\n"
    with pytest.raises(IntentError) as info:
        parse_intent(intent("{env: dev}", rest))
    assert info.value.problems[0].location.path == "exclude[0].principals.arns[0]"


def test_warns_when_a_world_holds_case_variants_of_a_value() -> None:
    """``StringEquals`` is case-sensitive, so "never env=prod" misses an instance tagged
    ``Prod``: a warning names it
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String)."""
    parsed = parse_intent(
        intent("{env: dev}", "exclude:\n  - sid: NeverProd\n    instances: {tags: {env: prod}}\n")
    )
    world = [
        Instance(I1, "us-east-1", ACCOUNT, name="db", tags={"env": "Prod"}),
        Instance(I1, "us-east-1", ACCOUNT, name="web", tags={"env": "prod"}),
    ]
    (warning,) = case_variant_warnings(parsed, world)
    assert "NeverProd" in warning and "'Prod'" in warning and "db" in warning
    insensitive = parse_intent(
        intent(
            "{env: dev}",
            "exclude:\n  - sid: NeverProd\n    instances: {tags: {env: {equals: prod, case_insensitive: true}}}\n",
        )
    )
    assert case_variant_warnings(insensitive, world) == []


def assert_proven_exactly(report: ProofReport) -> None:
    """No disagreement anywhere, and exact: the class enumeration models ...IgnoreCase operators
    too (`lspolicy.generate.spellings`), so the report says PROVEN, not SAMPLED."""
    assert report.passed, report.render()
    assert report.exact, report.not_exact
    assert "PROVEN" in report.render()
