"""Request-key requirements in intents (`lspolicy.generate.request_keys`): how recently MFA was
used (``aws:MultiFactorAuthAge``), the caller's organization (``aws:PrincipalOrgID``), the
session's source identity (``aws:SourceIdentity``) — each written as the exact conditions below,
proven exactly, and every weakened variant caught on the classes with a counterexample — and
``source_vpc``/``source_vpce`` refused with a located error.

AWS pages relied on (IAM User Guide):

- "AWS global condition context keys",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html:
  aws:MultiFactorAuthAge is the seconds since MFA authentication and is absent when MFA was not
  used; aws:PrincipalOrgID is the caller's organization id; aws:SourceIdentity the session's
  source identity; aws:SourceVpc / aws:SourceVpce are "included in the request context only if
  the requester uses a VPC endpoint to make the request".
- "IAM JSON policy elements: Condition operators",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html:
  a condition on an absent key is false, except negated operators (true) and ``...IfExists``
  ("If the key is not present, evaluate the condition element as true", #Conditions_IfExists).
- "Configuring MFA-protected API access",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_configure-api-require.html:
  "If MFA was not used, the aws:MultiFactorAuthAge key is not present".
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from lspolicy.cli import main
from lspolicy.generate import (
    Generation,
    IntentError,
    classes,
    generate,
    intent_from_data,
    parse_intent,
)
from lspolicy.generate import prove as prove_generation
from lspolicy.generate.classes import enumerate_classes
from lspolicy.generate.guard import check_guard
from lspolicy.generate.request_keys import glob_matches
from lspolicy.generate.semantics import Circumstances, IntentSemantics, Probe
from lspolicy.lightsail.context import Identity, Instance
from lspolicy.lint import lint_policy
from lspolicy.parse import parse_policy

ACCOUNT = "111122223333"
ORG = "o-a1b2c3d4e5"
OTHER_ORG = "o-f6g7h8i9j0"

Doc = dict[str, Any]


def intent_text(require: str = "", unless: str = "") -> str:
    """One grant for principals tagged role=operator, and one exclusion of env=prod."""
    text = f"""\
name: keys
account: "{ACCOUNT}"
grants:
  - sid: Operators
    principals: {{tags: {{role: operator}}}}
    actions: [lightsail:StopInstance]
"""
    if require:
        text += f"    require: {require}\n"
    if unless:
        text += f"""\
exclude:
  - sid: Prod
    instances: {{tags: {{env: prod}}}}
    unless: {unless}
"""
    return text


def generated(require: str = "", unless: str = "") -> Generation:
    return generate(parse_intent(intent_text(require, unless), source="keys.yaml"))


def statements(gen: Generation) -> dict[str, Doc]:
    return {st["Sid"]: st for p in gen.policies for st in p.document["Statement"]}


def weakened(gen: Generation, change: Callable[[list[Doc]], None]) -> Generation:
    """The generation with its (single) policy's statements changed by ``change``."""
    p = gen.policies[0]
    doc = json.loads(p.text)
    change(doc["Statement"])
    text = json.dumps(doc, indent=2) + "\n"
    assert text != p.text, "the mutation changed nothing"
    q = dataclasses.replace(
        p, text=text, document=json.loads(text), policy=parse_policy(text, source=p.filename)
    )
    return dataclasses.replace(gen, policies=(q,))


# --------------------------------------------------------------------------- statement shapes


def test_mfa_age_on_a_grant_is_numeric_less_than_equals() -> None:
    """ "MFA within N seconds" on an Allow: ``NumericLessThanEquals aws:MultiFactorAuthAge N``;
    no IfExists, so a request without the key (MFA not used: "AWS global condition context
    keys", aws:MultiFactorAuthAge) is not allowed."""
    allow = statements(generated(require="{mfa_max_age_seconds: 3600}"))["Operators"]
    assert allow["Condition"]["NumericLessThanEquals"] == {"aws:MultiFactorAuthAge": ["3600"]}
    assert not any(op.endswith("IfExists") for op in allow["Condition"])


def test_mfa_age_in_unless_is_numeric_greater_than_if_exists() -> None:
    """ "Never prod unless MFA within N seconds" = deny when the age is over N *or absent*:
    ``NumericGreaterThanIfExists`` is true for an absent key ("Condition operators",
    #Conditions_IfExists), so long-term keys and sessions without MFA are denied too."""
    deny = statements(generated(unless="{mfa_max_age_seconds: 900}"))["ProdMfaTooOld"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {
        "NumericGreaterThanIfExists": {"aws:MultiFactorAuthAge": ["900"]},
        "StringEquals": {"aws:ResourceTag/env": ["prod"]},
    }


def test_organization_is_string_equals_and_its_negation() -> None:
    """aws:PrincipalOrgID with ``StringEquals`` on the Allow, ``StringNotEquals`` on the Deny
    (a negated operator is true for an absent key: "Condition operators")."""
    gen = generated(
        require=f"{{principal_org_ids: [{OTHER_ORG}, {ORG}]}}",
        unless=f"{{principal_org_ids: [{ORG}]}}",
    )
    st = statements(gen)
    assert st["Operators"]["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == [ORG, OTHER_ORG]
    assert st["ProdOutsideOrg"]["Condition"]["StringNotEquals"] == {"aws:PrincipalOrgID": [ORG]}


def test_source_identity_literals_are_string_equals_patterns_string_like() -> None:
    """Values without ``*``/``?`` are ``StringEquals``; with a pattern, every value goes into
    one ``StringLike`` list (values of one key are ORed; a literal matches only itself, since a
    source identity cannot contain ``*`` or ``?``: STS AssumeRole's SourceIdentity takes
    ``[\\w+=,.@-]``). A Deny uses the negations."""
    plain = statements(generated(require="{source_identity: [bob, alice]}"))["Operators"]
    assert plain["Condition"]["StringEquals"]["aws:SourceIdentity"] == ["alice", "bob"]
    gen = generated(
        require='{source_identity: ["*@example.com", release-bot]}',
        unless='{source_identity: ["*@example.com"]}',
    )
    st = statements(gen)
    assert st["Operators"]["Condition"]["StringLike"] == {
        "aws:SourceIdentity": ["*@example.com", "release-bot"]
    }
    assert st["ProdOtherSourceIdentity"]["Condition"]["StringNotLike"] == {
        "aws:SourceIdentity": ["*@example.com"]
    }
    literal = statements(generated(unless="{source_identity: [alice]}"))
    assert literal["ProdOtherSourceIdentity"]["Condition"]["StringNotEquals"] == {
        "aws:SourceIdentity": ["alice"]
    }


def test_one_deny_per_unmet_requirement() -> None:
    """``unless`` R1..Rn = deny if any Ri fails: one Deny per requirement, old and new alike."""
    gen = generated(
        unless=f'{{mfa: true, mfa_max_age_seconds: 60, principal_org_ids: [{ORG}], source_identity: ["a*"]}}'
    )
    assert sorted(s for s in statements(gen) if s.startswith("Prod")) == [
        "ProdMfaTooOld",
        "ProdOtherSourceIdentity",
        "ProdOutsideOrg",
        "ProdWithoutMfa",
    ]


# --------------------------------------------------------------------------- exact proofs

PROVEN_CASES = {
    "age on grant": ("{mfa_max_age_seconds: 3600}", ""),
    "age in unless": ("", "{mfa_max_age_seconds: 3600}"),
    "age zero both": ("{mfa_max_age_seconds: 0, mfa: true}", "{mfa_max_age_seconds: 1}"),
    "org": (f"{{principal_org_ids: [{ORG}, {OTHER_ORG}]}}", f"{{principal_org_ids: [{ORG}]}}"),
    "identity patterns": (
        '{source_identity: ["*@example.com", "ops-?", admin]}',
        '{source_identity: ["*-ci-*", admin]}',
    ),
    "all with address and window": (
        f'{{principal_org_ids: [{ORG}], source_identity: ["a*"], source_ip: [10.0.0.0/8]}}',
        "{mfa_max_age_seconds: 300, not_after: 2026-06-30T00:00:00Z}",
    ),
}


@pytest.mark.parametrize("case", PROVEN_CASES, ids=list(PROVEN_CASES))
def test_each_requirement_is_proven_exactly(case: str) -> None:
    """The engine equals the intent's reading on every class: PROVEN with the class count
    (operators as "Condition operators" defines them)."""
    require, unless = PROVEN_CASES[case]
    report = prove_generation(generated(require, unless), population=300)
    assert report.exact, report.not_exact
    assert report.proven and report.classes > 0, report.render()
    assert report.render().startswith(f"proof: PROVEN - exact over {report.classes:,} classes")


@pytest.mark.parametrize("case", PROVEN_CASES, ids=list(PROVEN_CASES))
def test_each_requirement_lints_clean_and_guards(case: str) -> None:
    """No lint finding on the generated policies (rules in lspolicy/lint/RULES.md), and the
    guard holds: with ``Allow *`` attached nothing excluded is allowed (an explicit Deny wins:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
    gen = generated(*PROVEN_CASES[case])
    for p in gen.policies:
        findings = lint_policy(p.policy, text=p.text)
        assert findings == [], [f"{f.code} {f.message}" for f in findings]
    report = check_guard(gen)
    assert report.holds and report.exact, report.render()


def _cond(op: str, key: str) -> Callable[[list[Doc]], None]:
    def drop(sts: list[Doc]) -> None:
        for st in sts:
            st.get("Condition", {}).get(op, {}).pop(key, None)
            if op in st.get("Condition", {}) and not st["Condition"][op]:
                del st["Condition"][op]

    return drop


def _rename(sid: str, old: str, new: str) -> Callable[[list[Doc]], None]:
    def change(sts: list[Doc]) -> None:
        st = next(s for s in sts if s["Sid"] == sid)
        st["Condition"][new] = st["Condition"].pop(old)

    return change


def _values(sid: str, op: str, key: str, values: list[str]) -> Callable[[list[Doc]], None]:
    def change(sts: list[Doc]) -> None:
        next(s for s in sts if s["Sid"] == sid)["Condition"][op][key] = values

    return change


AGE_GRANT = ("{mfa_max_age_seconds: 3600}", "")
AGE_DENY = ("", "{mfa_max_age_seconds: 3600}")
ORGS = (f"{{principal_org_ids: [{ORG}]}}", f"{{principal_org_ids: [{ORG}]}}")
IDENTITY = (
    '{source_identity: ["*@example.com", release-bot]}',
    '{source_identity: ["*@example.com"]}',
)

MUTATIONS: dict[str, tuple[tuple[str, str], Callable[[list[Doc]], None], str]] = {
    # name: (intent, change, the counterexample's kind)
    "allow bound one second later": (
        AGE_GRANT,
        _values("Operators", "NumericLessThanEquals", "aws:MultiFactorAuthAge", ["3601"]),
        "over-grant",
    ),
    "allow bound one second earlier": (
        AGE_GRANT,
        _values("Operators", "NumericLessThanEquals", "aws:MultiFactorAuthAge", ["3599"]),
        "under-grant",
    ),
    "allow takes IfExists (no MFA passes)": (
        AGE_GRANT,
        _rename("Operators", "NumericLessThanEquals", "NumericLessThanEqualsIfExists"),
        "over-grant",
    ),
    "deny misses IfExists (no MFA escapes)": (
        AGE_DENY,
        _rename("ProdMfaTooOld", "NumericGreaterThanIfExists", "NumericGreaterThan"),
        "over-grant",
    ),
    "deny bound one second later": (
        AGE_DENY,
        _values("ProdMfaTooOld", "NumericGreaterThanIfExists", "aws:MultiFactorAuthAge", ["3601"]),
        "over-grant",
    ),
    "deny greater-or-equal (the bound itself denied)": (
        AGE_DENY,
        _rename("ProdMfaTooOld", "NumericGreaterThanIfExists", "NumericGreaterThanEqualsIfExists"),
        "under-grant",
    ),
    "wrong org id on the allow": (
        ORGS,
        _values("Operators", "StringEquals", "aws:PrincipalOrgID", [OTHER_ORG]),
        "over-grant",
    ),
    "an extra org id on the allow": (
        (ORGS[0], ""),
        _values("Operators", "StringEquals", "aws:PrincipalOrgID", [ORG, OTHER_ORG]),
        "over-grant",
    ),
    "org dropped from the allow": (
        (ORGS[0], ""),
        _cond("StringEquals", "aws:PrincipalOrgID"),
        "over-grant",
    ),
    "deny's org list widened": (
        ("", ORGS[1]),
        _values("ProdOutsideOrg", "StringNotEquals", "aws:PrincipalOrgID", [ORG, OTHER_ORG]),
        "over-grant",
    ),
    "identity literal widened to a prefix": (
        IDENTITY,
        _values("Operators", "StringLike", "aws:SourceIdentity", ["*@example.com", "release-*"]),
        "over-grant",
    ),
    "identity pattern read as a literal": (
        IDENTITY,
        _rename("Operators", "StringLike", "StringEquals"),
        "under-grant",
    ),
    "identity deny's pattern matches more (fewer denied)": (
        IDENTITY,
        _values(
            "ProdOtherSourceIdentity",
            "StringNotLike",
            "aws:SourceIdentity",
            ["*@example.com", "release-*"],
        ),
        "over-grant",
    ),
    "identity deny's pattern matches less (more denied)": (
        IDENTITY,
        _values(
            "ProdOtherSourceIdentity", "StringNotLike", "aws:SourceIdentity", ["a*@example.com"]
        ),
        "under-grant",
    ),
}


@pytest.mark.parametrize("name", MUTATIONS, ids=list(MUTATIONS))
def test_every_mutation_is_caught_on_the_classes(name: str) -> None:
    """A wrong bound, a missing or added IfExists, a wrong organization, a changed source
    identity pattern: each changes the policy's meaning under "Condition operators", and the
    exact enumeration finds a class where engine and intent disagree, whatever the sample
    does (population 0: classes only)."""
    (require, unless), change, kind = MUTATIONS[name]
    report = prove_generation(weakened(generated(require, unless), change), population=0)
    assert report.exact, report.not_exact
    assert report.class_disagreements > 0 and not report.proven, report.render()
    found = [c for c in report.counterexamples if c.source == "class"]
    assert found and kind in {c.kind for c in found}, [c.render() for c in found]
    assert report.render().startswith("proof: FAILED")


def test_the_missing_if_exists_counterexample_is_a_request_without_mfa() -> None:
    """The Deny without IfExists lets through exactly the requests with no
    aws:MultiFactorAuthAge (MFA not used): the counterexample says so."""
    gen = weakened(
        generated(*AGE_DENY),
        _rename("ProdMfaTooOld", "NumericGreaterThanIfExists", "NumericGreaterThan"),
    )
    report = prove_generation(gen, population=0)
    over = [c for c in report.counterexamples if c.kind == "over-grant"]
    assert over and all(c.probe.circumstances.mfa_age is None for c in over)
    assert over[0].probe.instance is not None and over[0].probe.instance.tags.get("env") == "prod"
    assert "aws:MultiFactorAuthAge" not in over[0].to_dict()["context"]  # type: ignore[operator]


def test_the_guard_catches_a_deny_without_if_exists() -> None:
    """Without IfExists, a caller without MFA (no aws:MultiFactorAuthAge: "AWS global condition
    context keys") escapes the Deny, so with any other Allow attached it acts on prod: the
    guard (the semantic diff, exact) says so."""
    gen = weakened(
        generated(*AGE_DENY),
        _rename("ProdMfaTooOld", "NumericGreaterThanIfExists", "NumericGreaterThan"),
    )
    report = check_guard(gen)
    assert report.exact and not report.holds, report.render()
    assert check_guard(generated(*AGE_DENY)).holds


def test_representatives_hold_both_sides_of_each_bound_each_org_and_each_pattern() -> None:
    """Per key, before merging: each bound, a number on either side and between bounds (the
    numeric operators compare with constants: "Condition operators", #Conditions_Numeric);
    each organization and a string equal to none; for the source identity a string each
    pattern matches and one that none matches (found by exploring the patterns' automata);
    absent is added to every key."""
    assert classes._number_reps([3600.0]) == [3599.0, 3600.0, 3601.0]
    assert classes._number_reps([0.0, 1.0]) == [-1.0, 0.0, 0.5, 1.0, 2.0]
    intent = parse_intent(
        intent_text(
            require=f'{{principal_org_ids: [{ORG}, {OTHER_ORG}], source_identity: ["*@example.com", admin, "ops-?"]}}'
        )
    )
    c = classes._Collect()
    classes._request_keys_from_intent(intent.grants[0].require, c)
    orgs = classes._pattern_reps(c, "aws:principalorgid")
    assert ORG in orgs and OTHER_ORG in orgs and any(o not in (ORG, OTHER_ORG) for o in orgs)
    identities = classes._pattern_reps(c, "aws:sourceidentity")
    for pattern in ("*@example.com", "admin", "ops-?"):
        assert any(glob_matches(pattern, i) for i in identities), pattern
    assert any(
        not any(glob_matches(p, i) for p in ("*@example.com", "admin", "ops-?")) for i in identities
    )


def test_merged_classes_of_the_circumstances() -> None:
    """After merging, the circumstances of "org, source identity, MFA within an hour on prod"
    are 2 x 2 x 2 classes (each requirement met or not; absent falls in "not"), and the class
    of a request decides it as its representative does."""
    gen = generated(
        require=f'{{principal_org_ids: [{ORG}], source_identity: ["*@example.com", admin]}}',
        unless="{mfa_max_age_seconds: 3600}",
    )
    found = enumerate_classes(gen.intent, [p.policy for p in gen.policies])
    assert found.exact, found.reasons
    assert found.groups["circumstances"] == 8
    for circ in (
        Circumstances(mfa_age=None, org_id=ORG, source_identity="admin"),
        Circumstances(mfa_age=3600, org_id=ORG, source_identity="z@example.com"),
        Circumstances(mfa_age=3600.5, org_id="o-zzzzzzzzzz", source_identity="admin"),
        Circumstances(mfa_age=1, org_id=None, source_identity=None),
    ):
        probe = dataclasses.replace(_probe(), circumstances=circ)
        assert found.representative(probe) is not None
        assert found.decided(probe) == (
            IntentSemantics(gen.intent).allows(probe),
            found.signer.engine.is_allowed(probe.request()),
        )


# --------------------------------------------------------------------------- the intent's reading


def _probe(**circumstances: Any) -> Probe:
    return Probe(
        "lightsail:StopInstance",
        Identity(f"arn:aws:iam::{ACCOUNT}:user/op", {"role": "operator"}),
        Circumstances(**circumstances),
        Instance(id="i-1", region="us-east-1", account=ACCOUNT, tags={"env": "dev"}),
    )


def test_the_intent_reads_an_absent_key_as_not_met() -> None:
    """No aws:MultiFactorAuthAge means MFA was not used ("AWS global condition context keys"),
    so "MFA within an hour" fails; the bound itself is within; an absent organization or source
    identity fails its requirement too."""
    sem = IntentSemantics(
        parse_intent(
            intent_text(
                require=f'{{mfa_max_age_seconds: 3600, principal_org_ids: [{ORG}], source_identity: ["a?ice"]}}'
            )
        )
    )
    ok = {"mfa_age": 3600, "org_id": ORG, "source_identity": "alice"}
    assert sem.allows(_probe(**ok))
    for key, bad in (
        ("mfa_age", None),
        ("mfa_age", 3600.5),
        ("org_id", None),
        ("org_id", OTHER_ORG),
        ("source_identity", None),
        ("source_identity", "aalice"),
        ("source_identity", "Alice"),
    ):
        assert not sem.allows(_probe(**{**ok, key: bad})), (key, bad)


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("*@example.com", "ann@example.com", True),
        ("*@example.com", "@example.com", True),
        ("*@example.com", "ann@example.org", False),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("*-ci-*", "x-ci-y", True),
        ("*-ci-*", "-ci-", True),
        ("*-ci-*", "x-ci", False),
        ("admin", "Admin", False),
    ],
)
def test_the_intents_own_wildcard_matching(pattern: str, text: str, expected: bool) -> None:
    """``*`` any run (none included), ``?`` exactly one character, case-sensitive, as
    StringLike ("Condition operators", #Conditions_String)."""
    assert glob_matches(pattern, text) is expected


# --------------------------------------------------------------------------- parsing


def test_canonical_form_and_round_trip() -> None:
    """Lists are sorted and deduplicated, and `to_data` gives back an equal intent."""
    intent = parse_intent(
        intent_text(
            require=f'{{principal_org_ids: [{OTHER_ORG}, {ORG}], source_identity: [b, "a*"], mfa_max_age_seconds: 60}}',
            unless="{mfa_max_age_seconds: 10}",
        )
    )
    req = intent.grants[0].require
    assert req.principal_org_ids == (ORG, OTHER_ORG)
    assert req.source_identity == ("a*", "b")
    assert req.mfa_max_age_seconds == 60
    assert intent.exclusions[0].unless.mfa_max_age_seconds == 10
    assert not req.empty
    assert "MFA within 60 s" in req.describe()
    data = intent.to_data()
    assert data["grants"][0]["require"] == {  # type: ignore[index]
        "mfa_max_age_seconds": 60,
        "principal_org_ids": [ORG, OTHER_ORG],
        "source_identity": ["a*", "b"],
    }
    assert intent_from_data(data) == intent.model_copy(update={"source": "<intent>"})


VPC_PAGE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourcevpc"


@pytest.mark.parametrize(
    ("field", "key"), [("source_vpc", "aws:SourceVpc"), ("source_vpce", "aws:SourceVpce")]
)
def test_source_vpc_keys_are_refused_with_a_location(field: str, key: str) -> None:
    """aws:SourceVpc / aws:SourceVpce are "included in the request context only if the
    requester uses a VPC endpoint to make the request" (VPC_PAGE); Lightsail is not listed
    among "AWS services that integrate with AWS PrivateLink"
    (https://docs.aws.amazon.com/vpc/latest/privatelink/aws-services-privatelink-support.html),
    so its public endpoint is the only way in and the key is never sent. What is relied on: the
    absence of Lightsail from that list — no Lightsail page says so in as many words."""
    text = intent_text(unless=f"{{{field}: [vpc-0abc]}}")
    with pytest.raises(IntentError) as err:
        parse_intent(text, source="vpc.yaml")
    (problem,) = err.value.problems
    assert problem.location.source == "vpc.yaml"
    assert problem.location.path == f"exclude[0].unless.{field}"
    line = text.splitlines().index(f"    unless: {{{field}: [vpc-0abc]}}") + 1
    column = text.splitlines()[line - 1].index("[vpc-0abc]") + 1
    assert (problem.location.line, problem.location.column) == (line, column)
    assert key in problem.message and "public endpoint" in problem.message
    assert "never match" in problem.message
    assert problem.hint is not None and "source_ip" in problem.hint


def test_the_cli_refuses_a_vpc_key_with_exit_2(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input: a located message, exit status 2, no traceback."""
    path = tmp_path / "vpc.yaml"
    path.write_text(intent_text(require="{source_vpc: vpc-0abc}"))
    assert main(["generate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:7:" in err and "grants[0].require.source_vpc" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("org", "hint"),
    [
        ("o-A1B2C3D4E5", "did you mean 'o-a1b2c3d4e5'?"),
        ("o-short", "10 to 32 lowercase letters or digits"),
        ("r-a1b2c3d4e5", "10 to 32 lowercase letters or digits"),
        ("o-" + "a" * 33, "10 to 32 lowercase letters or digits"),
    ],
)
def test_organization_ids_are_checked(org: str, hint: str) -> None:
    """Organization ids match ``^o-[a-z0-9]{10,32}$`` (AWS Organizations API reference,
    "Organization": Id)."""
    with pytest.raises(IntentError) as err:
        parse_intent(intent_text(require=f"{{principal_org_ids: [{ORG}, {org}]}}"), source="o.yaml")
    (problem,) = err.value.problems
    assert problem.location.path == "grants[0].require.principal_org_ids[1]"
    assert problem.location.line == 7 and problem.location.column > 0
    assert repr(org) in problem.message and problem.hint is not None and hint in problem.hint


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("al ice", "cannot contain"),
        ("ann/ops", "cannot contain"),
        ("*", "matches every"),
        ("**", "matches every"),
    ],
)
def test_source_identities_are_checked(value: str, words: str) -> None:
    """A source identity takes letters, digits and ``_+=,.@-`` (STS AssumeRole,
    SourceIdentity); ``*`` alone would require nothing but presence."""
    with pytest.raises(IntentError) as err:
        parse_intent(intent_text(require=f'{{source_identity: ["{value}"]}}'))
    (problem,) = err.value.problems
    assert problem.location.path == "grants[0].require.source_identity[0]"
    assert words in problem.message


@pytest.mark.parametrize("value", ["-1", "true", "'60'", "1.5"])
def test_mfa_age_must_be_a_whole_number_of_seconds(value: str) -> None:
    """The schema takes a non-negative integer (aws:MultiFactorAuthAge is in seconds)."""
    with pytest.raises(IntentError) as err:
        parse_intent(intent_text(require=f"{{mfa_max_age_seconds: {value}}}"))
    assert any(
        p.location.path == "grants[0].require.mfa_max_age_seconds" for p in err.value.problems
    ), [str(p) for p in err.value.problems]


def test_a_derived_sid_must_not_clash() -> None:
    """The Deny for a failing age takes ``<sid>MfaTooOld``: a grant already named so is a
    located problem, not a duplicate Sid in the policy."""
    text = intent_text(unless="{mfa_max_age_seconds: 60}").replace(
        "sid: Operators", "sid: ProdMfaTooOld"
    )
    with pytest.raises(IntentError) as err:
        parse_intent(text)
    assert any("ProdMfaTooOld" in p.message for p in err.value.problems)
