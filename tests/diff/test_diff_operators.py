"""The diff on pairs of policies with a known difference, one operator family at a time.

Each test states the difference AWS's semantics imply, and checks that the diff finds exactly
it, with a witness request the engine confirms and the statements responsible.
Operator semantics: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

from diffkit import INSTANCES, START, STOP, allow, confirm, deny, only, policy

from lspolicy.conditions.date import parse_date
from lspolicy.diff import diff_policies


def run(old_statements, new_statements, **kwargs):  # type: ignore[no-untyped-def]
    old = [policy(*old_statements, source="old.json")]
    new = [policy(*new_statements, source="new.json")]
    result = diff_policies(old, new, **kwargs)
    confirm(old, new, result)
    return result


def test_widening_equals_to_like_grants_a_new_value() -> None:
    result = run(
        [allow(STOP, {"StringEquals": {"aws:ResourceTag/env": "dev"}})],
        [allow(STOP, {"StringLike": {"aws:ResourceTag/env": "d*"}})],
    )
    d = only(result, "new-access")
    assert not result.removed_access
    assert d.witness.tags == {"env": "dx"}
    assert d.actions == (STOP,)
    assert [r.policy for r in d.new_statements] == ["new.json"]
    assert d.old_decision.decision == "implicitDeny"
    assert result.summary == "NEW grants 1 new kind of access, removes 0"


def test_adding_an_action() -> None:
    result = run(
        [allow(STOP, Resource=INSTANCES)],
        [allow([STOP, START], Resource=INSTANCES)],
    )
    d = only(result, "new-access")
    assert d.witness.action == START
    assert d.witness.context == {}
    assert d.witness.resource.startswith("arn:aws:lightsail:")
    assert not result.removed_access


def test_dropping_a_deny() -> None:
    result = run(
        [allow("lightsail:*"), deny("lightsail:DeleteInstance", Sid="NoDelete")],
        [allow("lightsail:*")],
    )
    d = only(result, "new-access")
    assert d.actions == ("lightsail:DeleteInstance",)
    assert d.old_decision.decision == "explicitDeny"
    assert [r.sid for r in d.old_statements] == ["NoDelete"]


def test_equals_to_ignore_case() -> None:
    result = run(
        [allow(STOP, {"StringEquals": {"aws:ResourceTag/env": "dev"}})],
        [allow(STOP, {"StringEqualsIgnoreCase": {"aws:ResourceTag/env": "dev"}})],
    )
    value = only(result, "new-access").witness.tags["env"]
    assert isinstance(value, str)
    assert value != "dev"
    assert value.lower() == "dev"


def test_ignore_case_follows_unicode_lowering() -> None:
    """The Kelvin sign lower-cases to "k": only it tells these two apart."""
    result = run(
        [allow(STOP, {"StringEqualsIgnoreCase": {"aws:ResourceTag/env": "k"}})],
        [
            allow(
                STOP,
                {
                    "StringEqualsIgnoreCase": {"aws:ResourceTag/env": "k"},
                    "StringNotEquals": {"aws:ResourceTag/env": ["k", "K"]},
                },
            )
        ],
    )
    assert result.exact
    assert only(result, "removed-access").witness.tags["env"] in ("k", "K")
    assert not result.new_access


def test_bool_if_exists_denies_when_the_key_is_absent() -> None:
    result = run(
        [allow(STOP), deny(STOP, {"Bool": {"aws:MultiFactorAuthPresent": "false"}})],
        [allow(STOP), deny(STOP, {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}})],
    )
    d = only(result, "removed-access")
    assert "aws:MultiFactorAuthPresent" not in d.witness.context
    assert d.new_decision.decision == "explicitDeny"
    assert not result.new_access


def test_bool_other_values() -> None:
    """``Bool`` compares "true"/"false" in any case; anything else matches neither."""
    result = run(
        [allow(STOP, {"Bool": {"aws:SecureTransport": "true"}})],
        [allow(STOP, {"Bool": {"aws:SecureTransport": "TRUE"}})],
    )
    assert result.exact and not result.differences


def test_ip_range_widened() -> None:
    result = run(
        [allow(STOP, {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})],
        [allow(STOP, {"IpAddress": {"aws:SourceIp": "203.0.0.0/16"}})],
    )
    ip = ipaddress.ip_address(only(result, "new-access").witness.context["aws:SourceIp"])
    assert ip in ipaddress.ip_network("203.0.0.0/16")
    assert ip not in ipaddress.ip_network("203.0.113.0/24")
    assert not result.removed_access


def test_not_ip_address_deny_tightened() -> None:
    """Fewer corporate networks in a "deny unless from these" statement deny more."""
    networks = ["198.51.100.0/24", "203.0.113.0/24"]
    result = run(
        [allow(STOP), deny("lightsail:*", {"NotIpAddress": {"aws:SourceIp": networks}})],
        [allow(STOP), deny("lightsail:*", {"NotIpAddress": {"aws:SourceIp": networks[:1]}})],
    )
    ip = str(only(result, "removed-access").witness.context["aws:SourceIp"])
    assert ipaddress.ip_address(ip) in ipaddress.ip_network(networks[1])
    assert not result.new_access


def test_date_window_extended() -> None:
    result = run(
        [allow(STOP, {"DateLessThan": {"aws:CurrentTime": "2026-07-01T00:00:00Z"}})],
        [allow(STOP, {"DateLessThan": {"aws:CurrentTime": "2026-12-31T00:00:00Z"}})],
    )
    when = parse_date(str(only(result, "new-access").witness.context["aws:CurrentTime"]))
    assert when is not None
    assert datetime(2026, 7, 1, tzinfo=UTC).timestamp() <= when
    assert when < datetime(2026, 12, 31, tzinfo=UTC).timestamp()


def test_date_window_moved() -> None:
    window = {"DateGreaterThan": {"aws:CurrentTime": "2026-01-01"}}
    result = run(
        [allow(STOP, {**window, "DateLessThan": {"aws:CurrentTime": "2026-02-01"}})],
        [allow(STOP, {**window, "DateLessThan": {"aws:CurrentTime": "2026-01-15"}})],
    )
    assert len(result.removed_access) == 1
    assert not result.new_access


def test_not_action_widened() -> None:
    result = run(
        [{"Effect": "Allow", "NotAction": ["lightsail:Delete*", "iam:*"], "Resource": "*"}],
        [{"Effect": "Allow", "NotAction": ["lightsail:Delete*"], "Resource": "*"}],
    )
    d = only(result, "new-access")
    assert d.witness.action.lower().startswith("iam:")
    assert not result.removed_access


def test_variable_against_a_literal() -> None:
    result = run(
        [allow(STOP, {"StringEquals": {"aws:ResourceTag/team": "web"}})],
        [allow(STOP, {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}})],
    )
    new = only(result, "new-access").witness.context
    assert new["aws:ResourceTag/team"] == new["aws:PrincipalTag/team"] != "web"
    removed = only(result, "removed-access").witness.context
    assert removed["aws:ResourceTag/team"] == "web"
    assert removed.get("aws:PrincipalTag/team") != "web"


def test_variable_default() -> None:
    """``${aws:PrincipalTag/team, 'shared'}``: the default applies when the tag is absent."""
    old_cond = {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}
    new_cond = {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team, 'shared'}"}}
    result = run([allow(STOP, old_cond)], [allow(STOP, new_cond)])
    d = only(result, "new-access")
    assert d.witness.context == {"aws:ResourceTag/team": "shared"}
    assert not result.removed_access
    assert result.exact


def test_variable_in_a_resource() -> None:
    result = run(
        [allow(STOP, Resource="arn:aws:lightsail:*:*:Instance/${aws:username}-*")],
        [allow(STOP, Resource="arn:aws:lightsail:*:*:Instance/${aws:username}*")],
    )
    w = only(result, "new-access").witness
    user = w.context["aws:username"]
    assert isinstance(user, str)
    ident = w.resource.rsplit("/", 1)[1]
    assert ident.startswith(user)
    assert not ident.startswith(user + "-")
    assert result.exact


def test_variable_not_substituted_under_2008() -> None:
    template = {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}}
    old = [policy(allow(STOP, template), version="2008-10-17", source="old.json")]
    new = [policy(allow(STOP, template), source="new.json")]
    result = diff_policies(old, new)
    confirm(old, new, result)
    removed = only(result, "removed-access").witness.context
    assert removed["aws:ResourceTag/owner"] == "${aws:username}"
    added = only(result, "new-access").witness.context
    assert added["aws:ResourceTag/owner"] == added["aws:username"]


def test_same_variable_written_two_ways_is_no_difference() -> None:
    result = run(
        [allow(STOP, {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}})],
        [allow(STOP, {"StringLike": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}})],
    )
    assert result.exact and not result.differences


def test_numeric_bound() -> None:
    result = run(
        [allow(STOP, {"NumericGreaterThanEquals": {"aws:PrincipalTag/clearance": "3"}})],
        [allow(STOP, {"NumericGreaterThan": {"aws:PrincipalTag/clearance": "3"}})],
    )
    assert only(result, "removed-access").witness.context == {"aws:PrincipalTag/clearance": "3"}
    assert not result.new_access


def test_arn_like_widened_to_any_account() -> None:
    result = run(
        [allow(STOP, {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/sre-*"}})],
        [allow(STOP, {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/sre-*"}})],
    )
    arn = str(only(result, "new-access").witness.context["aws:PrincipalArn"])
    assert arn.startswith("arn:aws:iam::")
    assert ":111122223333:" not in arn
    assert ":role/sre-" in arn


def test_null_condition_dropped() -> None:
    result = run(
        [allow(STOP, {"Null": {"aws:ResourceTag/owner": "false"}})],
        [allow(STOP)],
    )
    assert only(result, "new-access").witness.context == {}


def test_tag_keys_for_all_values_vs_for_any_value() -> None:
    keys = ["owner", "team"]
    result = run(
        [allow("lightsail:TagResource", {"ForAllValues:StringEquals": {"aws:TagKeys": keys}})],
        [allow("lightsail:TagResource", {"ForAnyValue:StringEquals": {"aws:TagKeys": keys}})],
    )
    added = only(result, "new-access").witness.context["aws:TagKeys"]
    assert isinstance(added, tuple)
    assert set(added) & set(keys) and set(added) - set(keys)
    # ForAllValues holds for a request with no tag keys at all; ForAnyValue does not
    assert "aws:TagKeys" not in only(result, "removed-access").witness.context


def test_not_resource_narrowed() -> None:
    result = run(
        [
            allow("lightsail:*"),
            deny("lightsail:*", NotResource="arn:aws:lightsail:us-east-1:111122223333:*"),
        ],
        [
            allow("lightsail:*"),
            deny("lightsail:*", NotResource="arn:aws:lightsail:us-*:111122223333:*"),
        ],
        actions=[STOP],
    )
    w = only(result, "new-access").witness
    region = w.resource.split(":")[3]
    assert region.startswith("us-") and region != "us-east-1"


def test_permissions_boundary_added() -> None:
    identity = [policy(allow("lightsail:*"), source="identity.json")]
    boundary = [
        policy(
            allow("lightsail:*", Resource="arn:aws:lightsail:us-east-1:111122223333:*"),
            source="boundary.json",
        )
    ]
    result = diff_policies(identity, identity, boundary_new=boundary, actions=[STOP])
    confirm(identity, identity, result, boundary_new=boundary)
    d = only(result, "removed-access")
    assert not d.witness.resource.startswith("arn:aws:lightsail:us-east-1:111122223333:")
    assert d.new_decision.allowed_by_boundary is False


def test_other_services_through_a_wildcard() -> None:
    result = run([allow("lightsail:*")], [allow("*")])
    d = only(result, "new-access")
    assert not d.witness.action.lower().startswith("lightsail:")


def test_equivalent_rewrite_has_no_difference() -> None:
    condition = {"StringEquals": {"aws:ResourceTag/env": ["dev", "test"]}}
    result = run(
        [allow([STOP, START], condition, Sid="A", Resource=INSTANCES)],
        [
            allow(START.upper(), {"StringLike": {"aws:ResourceTag/env": ["test", "dev"]}}),
            allow(STOP, condition, Sid="B", Resource=INSTANCES),
        ],
    )
    # the first NEW statement drops the Resource restriction: not equivalent for START
    assert len(result.new_access) == 1
    assert result.new_access[0].witness.action.lower() == START.lower()
    result = run(
        [allow([STOP, START], condition, Sid="A", Resource=INSTANCES)],
        [
            allow(
                START, {"StringLike": {"aws:ResourceTag/env": ["test", "dev"]}}, Resource=INSTANCES
            ),
            allow("lightsail:stopinstance", condition, Sid="B", Resource=INSTANCES),
        ],
    )
    assert result.exact
    assert not result.differences
    assert result.summary.startswith("no difference")


def test_identical_policies() -> None:
    statements = [allow(STOP, {"StringEquals": {"aws:ResourceTag/env": "dev"}}), deny(START)]
    result = run(statements, statements)
    assert result.exact and not result.differences


def test_one_key_tested_as_two_types_is_reported_undecided() -> None:
    """``StringEquals "3"`` and ``NumericEquals 3`` on one key: the classes of such a key are
    not proven complete, so "no difference" cannot be claimed."""
    result = run(
        [allow(STOP, {"StringEquals": {"aws:PrincipalTag/level": "3"}})],
        [
            allow(
                STOP,
                {
                    "StringEquals": {"aws:PrincipalTag/level": "3"},
                    "NumericEquals": {"aws:PrincipalTag/level": "3"},
                },
            )
        ],
    )
    assert not result.differences
    assert not result.exact
    assert "cannot decide exactly" in result.undecided[0].message


def test_resource_template_against_everything() -> None:
    """``Action: *`` on every resource against ``lightsail:*`` on the instances whose id starts
    with the caller's team: new access outside Lightsail, and on other instances."""
    result = run(
        [
            allow(
                "lightsail:*", Resource="arn:aws:lightsail:*:*:Instance/${aws:PrincipalTag/team}-*"
            )
        ],
        [allow("*")],
    )
    assert result.exact
    assert not result.removed_access
    witnesses = [d.witness for d in result.new_access]
    assert any(not w.action.lower().startswith("lightsail:") for w in witnesses)
    for w in witnesses:
        team = w.context.get("aws:PrincipalTag/team")
        if w.resource.startswith("arn:aws:lightsail:") and ":Instance/" in w.resource and team:
            assert not w.resource.rsplit("/", 1)[1].startswith(f"{team}-")


def test_too_many_patterns_still_finds_differences() -> None:
    """Twelve three-star patterns on one key have more value classes than the diff enumerates:
    the classes found so far still give confirmed witnesses (the rest is "undecided")."""
    patterns = [
        "*bb*cd*aa*", "*dc*bb*dd*", "*db*bb*da*", "*ab*ac*ac*", "*dd*dd*db*", "*ca*ab*db*",
        "*cd*cd*dc*", "*db*ca*cb*", "*ca*bc*ca*", "*ad*da*ca*", "*db*ac*dd*", "*aa*ad*cc*",
    ]  # fmt: skip
    result = run(
        [allow(STOP, {"StringLike": {"aws:ResourceTag/env": patterns[:6]}})],
        [allow(STOP, {"StringLike": {"aws:ResourceTag/env": patterns[6:]}})],
    )
    assert len(result.new_access) == 1
    assert len(result.removed_access) == 1


def test_two_variables_in_one_resource() -> None:
    """``Instance/${aws:username}-${aws:PrincipalTag/team}``: both variables together."""
    pattern = "arn:aws:lightsail:*:*:{kind}/${{aws:username}}-${{aws:PrincipalTag/team}}"
    result = run(
        [allow(STOP)],
        [allow(STOP), deny(STOP, Resource=pattern.format(kind="Instance"))],
    )
    w = only(result, "removed-access").witness
    ident = w.resource.rsplit("/", 1)[1]
    assert ident == f"{w.context['aws:username']}-{w.context['aws:PrincipalTag/team']}"
    # on a Disk ARN the deny can never meet StopInstance's Instance ARNs: proven, not guessed
    result = run(
        [allow(STOP)],
        [allow(STOP), deny(STOP, Resource=pattern.format(kind="Disk"))],
    )
    assert result.exact and not result.differences


def test_witness_notes_a_region_the_resource_is_not_in() -> None:
    """Context keys are independent in the engine's request space; a witness whose
    ``aws:RequestedRegion`` is not its ARN's region says so."""
    guard = deny(
        "lightsail:*",
        {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}},
    )
    result = run(
        [allow(STOP, Resource="arn:aws:lightsail:us-east-1:111122223333:Instance/*"), guard],
        [allow(STOP, Resource="arn:aws:lightsail:*:111122223333:Instance/*"), guard],
    )
    w = only(result, "new-access").witness
    assert w.resource.split(":")[3] not in ("us-east-1",)
    assert w.context["aws:RequestedRegion"] in ("us-east-1", "us-west-2")
    if w.resource.split(":")[3] != w.context["aws:RequestedRegion"]:
        assert any("aws:RequestedRegion" in n for n in w.notes)


def test_templates_that_cannot_meet_are_proven_so() -> None:
    """OLD's identity policy and boundary need the instance id to end in ``-x`` and in ``-y``
    at once: OLD allows nothing, so no access is removed — a proof, not "undecided"."""
    team = "arn:aws:lightsail:*:*:Instance/${aws:PrincipalTag/team}-"
    identity = [policy(allow(STOP, Resource=team + "x"), source="identity.json")]
    narrow = [policy(allow(STOP, Resource=team + "y"), source="b.json")]
    closed = [policy(allow("lightsail:GetInstance"), source="c.json")]
    result = diff_policies(identity, identity, boundary_old=narrow, boundary_new=closed)
    confirm(identity, identity, result, boundary_old=narrow, boundary_new=closed)
    assert result.exact
    assert not result.differences
