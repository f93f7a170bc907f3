"""The intent format: YAML or JSON, checked against ``schemas/intent.schema.json`` and AWS's
facts, every problem reported at once with its path, line and column."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

import lspolicy
from lspolicy.generate.intent import (
    ATTACH_LIMITS,
    IntentError,
    instance_actions,
    intent_from_data,
    lightsail_regions,
    load_intent,
    parse_intent,
)

SCHEMA = Path(lspolicy.__file__).parent / "schemas" / "intent.schema.json"

BASE = """\
name: demo
account: "111122223333"
grants:
  - sid: G
    principals: {tags: {role: oncall}}
    actions: [lightsail:StopInstance]
"""


def problems(text: str) -> list[lspolicy.Problem]:
    with pytest.raises(IntentError) as info:
        parse_intent(text, source="intent.yaml")
    return list(info.value.problems)


def only(text: str) -> lspolicy.Problem:
    found = problems(text)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def test_schema_is_valid_draft_2020_12() -> None:
    """The schema is JSON Schema draft 2020-12
    (https://json-schema.org/draft/2020-12/json-schema-core); IAM's own quotas are in its
    descriptions (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html)."""
    schema = json.loads(SCHEMA.read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["properties"]["attach_as"]["enum"]) == set(ATTACH_LIMITS)


def test_yaml_and_json_are_the_same_intent() -> None:
    """JSON is YAML; both forms give the same intent
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#access_policies-json
    for why the output is JSON)."""
    from_yaml = parse_intent(BASE)
    from_json = parse_intent(json.dumps(yaml.safe_load(BASE)))
    assert from_yaml == from_json


def test_canonical_form_expands_shorthands_and_sorts() -> None:
    """A plain string is ``equals``, a one-value ``one_of`` is ``equals``, lists are sorted,
    CIDR blocks normalised, times in UTC; values stay case-sensitive as ``StringEquals``
    compares them (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String)."""
    intent = parse_intent(
        BASE.replace("actions: [lightsail:StopInstance]", "actions: [lightsail:stopinstance]")
        + """\
    regions: [us-west-2, us-east-1]
    instances:
      tags:
        env: {one_of: [staging, Dev]}
        team: web
        tier: {one_of: [gold]}
      ids: [b1e2a3c4-0000-4000-8000-000000000002, A1E2A3C4-0000-4000-8000-000000000001]
    require:
      source_ip: ["2001:db8::/32", 10.0.0.0/8]
      not_before: 2026-01-01T01:00:00+01:00
"""
    )
    grant = intent.grants[0]
    assert grant.actions.names == ("lightsail:StopInstance",)
    assert grant.regions == ("us-east-1", "us-west-2")
    assert [(t.key, t.kind, t.values) for t in grant.instances.tags] == [
        ("env", "one_of", ("Dev", "staging")),
        ("team", "equals", ("web",)),
        ("tier", "equals", ("gold",)),
    ]
    assert grant.instances.ids == (
        "A1E2A3C4-0000-4000-8000-000000000001",
        "b1e2a3c4-0000-4000-8000-000000000002",
    )
    assert grant.require.source_ip == ("10.0.0.0/8", "2001:db8::/32")
    assert grant.require.to_data()["not_before"] == "2026-01-01T00:00:00Z"


def test_defaults_name_sids_and_attachment() -> None:
    """Statements without a Sid get ``Grant<n>``/``Exclude<n>`` (a Sid is letters and digits:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_sid.html); a
    managed policy is the default attachment (6,144 characters:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entity-length)."""
    intent = parse_intent(
        BASE.replace("  - sid: G\n    principals", "  - principals")
        + "exclude:\n  - instances: {tags: {env: prod}}\n"
    )
    assert intent.grants[0].sid == "Grant1"
    assert intent.exclusions[0].sid == "Exclude1"
    assert intent.exclusions[0].actions is None
    assert intent.size_limit == 6144


def test_to_data_round_trips() -> None:
    """The canonical data form gives back an equal intent (the generated policies are then the
    same bytes: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html)."""
    intent = load_intent(
        Path(__file__).parents[2] / "policies" / "intents" / "contractor-maintenance-window.yaml"
    )
    again = intent_from_data(intent.to_data())
    assert again.to_data() == intent.to_data()
    assert again.grants == intent.grants and again.exclusions == intent.exclusions


def test_timestamps_stay_text_in_yaml() -> None:
    """An unquoted YAML timestamp is read as the text written, then checked as ISO 8601 with a
    zone, the form of ``aws:CurrentTime``
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-currenttime)."""
    intent = parse_intent(BASE + "    require: {not_after: 2026-12-31T23:59:59Z}\n")
    assert intent.grants[0].require.to_data() == {"not_after": "2026-12-31T23:59:59Z"}


def test_lightsail_regions_and_instance_actions_come_from_the_data() -> None:
    """Regions are Lightsail's ``RegionName`` values; instance actions are those the Service
    Authorization Reference scopes to ``Instance``
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html)."""
    assert "us-east-1" in lightsail_regions() and "eu-west-1" in lightsail_regions()
    assert "lightsail:StopInstance" in instance_actions()
    assert "lightsail:GetInstance" not in instance_actions()  # no resource type: only "*"
    assert "lightsail:AttachDisk" not in instance_actions()  # scoped to Disk


# -- every problem, located ---------------------------------------------------------------

ERRORS: list[tuple[str, str, str, int, int, str, str | None]] = [
    # (name, text, path, line, column, message part, hint part)
    ("yaml syntax", "name: [oops\n", "", 2, 1, "invalid YAML", None),
    (
        "unquoted account",
        BASE.replace('"111122223333"', "111122223333"),
        "account",
        2,
        10,
        "expected a string, found the number 111122223333",
        "quote it",
    ),
    (
        "unquoted true",
        BASE + "    instances: {tags: {ephemeral: true}}\n",
        "grants[0].instances.tags.ephemeral",
        7,
        35,
        "found the boolean true",
        "quote it",
    ),
    (
        "unknown field",
        BASE + "    requre: {mfa: true}\n",
        "grants[0].requre",
        7,
        13,
        "unknown field 'requre'",
        "did you mean 'require'?",
    ),
    (
        "missing field",
        BASE.replace("    actions: [lightsail:StopInstance]\n", ""),
        "grants[0]",
        4,
        5,
        "missing required field 'actions'",
        None,
    ),
    (
        "two match kinds",
        BASE + "    instances: {tags: {env: {equals: dev, prefix: d}}}\n",
        "grants[0].instances.tags.env",
        7,
        29,
        "give exactly one of these, found 'equals', 'prefix'",
        None,
    ),
    (
        "principal_tag on principals",
        BASE.replace("{role: oncall}", "{role: {principal_tag: team}}"),
        "grants[0].principals.tags.role.principal_tag",
        5,
        47,
        "unknown field 'principal_tag'",
        None,
    ),
    (
        "mfa false",
        BASE + "    require: {mfa: false}\n",
        "grants[0].require.mfa",
        7,
        20,
        "the only value is true",
        "leave the field out",
    ),
    (
        "empty actions",
        BASE.replace("[lightsail:StopInstance]", "[]"),
        "grants[0].actions",
        6,
        14,
        "the list is empty",
        None,
    ),
    (
        "duplicate key",
        BASE + "    actions: [lightsail:StartInstance]\n",
        "grants[0].actions",
        7,
        5,
        "key 'actions' is given twice",
        "YAML keeps only the last one",
    ),
    (
        "unknown action",
        BASE.replace("StopInstance]", "StopInstances]"),
        "grants[0].actions[0]",
        6,
        15,
        "unknown Lightsail action 'lightsail:StopInstances'",
        "did you mean lightsail:StopInstance or",
    ),
    (
        "action wildcard",
        BASE.replace("lightsail:StopInstance]", "lightsail:Stop*]"),
        "grants[0].actions[0]",
        6,
        15,
        "action wildcard 'lightsail:Stop*' is not allowed",
        "lightsail:StopGUISession, lightsail:StopInstance",
    ),
    (
        "another service",
        BASE.replace("lightsail:StopInstance]", "ec2:StopInstances]"),
        "grants[0].actions[0]",
        6,
        15,
        "'ec2:StopInstances' is not a Lightsail action",
        None,
    ),
    (
        "no resource type",
        BASE.replace("StopInstance]", "GetInstance]"),
        "grants[0].actions[0]",
        6,
        15,
        'Lightsail lists no resource type for it, so a policy can only grant it on "*"',
        "instance-scoped grants only",
    ),
    (
        "another resource type",
        BASE.replace("StopInstance]", "AttachDisk]"),
        "grants[0].actions[0]",
        6,
        15,
        "it is scoped to Disk, not Instance",
        None,
    ),
    (
        "star with others",
        BASE.replace("[lightsail:StopInstance]", "[lightsail:*, lightsail:StopInstance]"),
        "grants[0].actions",
        6,
        14,
        "lightsail:* already covers lightsail:StopInstance",
        None,
    ),
    (
        "same action twice",
        BASE.replace(
            "[lightsail:StopInstance]", "[lightsail:StopInstance, lightsail:stopinstance]"
        ),
        "grants[0].actions[1]",
        6,
        39,
        "lightsail:StopInstance is listed twice",
        None,
    ),
    (
        "unknown region",
        BASE + "    regions: [us-east-9]\n",
        "grants[0].regions[0]",
        7,
        15,
        "'us-east-9' is not a Lightsail region",
        "did you mean 'us-east-2'?",
    ),
    (
        "host bits",
        BASE + "    require: {source_ip: [198.51.100.7/24]}\n",
        "grants[0].require.source_ip[0]",
        7,
        27,
        "'198.51.100.7/24' has host bits set",
        "did you mean '198.51.100.0/24'?",
    ),
    (
        "not an address",
        BASE + "    require: {source_ip: [office]}\n",
        "grants[0].require.source_ip[0]",
        7,
        27,
        "'office' is not an IP address or CIDR block",
        None,
    ),
    (
        "no zone",
        BASE + "    require: {not_before: '2026-01-01T00:00:00'}\n",
        "grants[0].require.not_before",
        7,
        27,
        "has no time zone",
        "2026-01-01T00:00:00Z",
    ),
    (
        "not a date",
        BASE + "    require: {not_before: next tuesday}\n",
        "grants[0].require.not_before",
        7,
        27,
        "'next tuesday' is not an ISO 8601 date and time",
        None,
    ),
    (
        "fractions",
        BASE + "    require: {not_before: '2026-01-01T00:00:00.5Z'}\n",
        "grants[0].require.not_before",
        7,
        27,
        "has fractions of a second",
        None,
    ),
    (
        "empty window",
        BASE + "    require: {not_before: 2026-02-01T00:00:00Z, not_after: 2026-01-01T00:00:00Z}\n",
        "grants[0].require.not_after",
        7,
        60,
        "the window is empty",
        None,
    ),
    (
        "duplicate sid",
        BASE + BASE.split("grants:\n", 1)[1],
        "grants[1].sid",
        7,
        10,
        "the Sid 'G' is used twice (first at grants[0])",
        None,
    ),
    (
        "derived sid taken",
        BASE.replace("sid: G", "sid: NoProdWithoutMfa")
        + "exclude:\n  - sid: NoProd\n    instances: {tags: {env: prod}}\n    unless: {mfa: true}\n",
        "exclude[0].sid",
        8,
        10,
        "the Sid 'NoProdWithoutMfa' this exclusion's statements would take",
        None,
    ),
    (
        "other account",
        BASE.replace("{tags: {role: oncall}}", "{arns: ['arn:aws:iam::444455556666:role/ci']}"),
        "grants[0].principals.arns[0]",
        5,
        25,
        "is in account 444455556666, not the intent's account 111122223333",
        None,
    ),
    (
        "keys differing in case",
        BASE + "    instances: {tags: {env: dev, Env: prod}}\n",
        "grants[0].instances.tags.Env",
        7,
        39,
        "tag keys 'env' and 'Env' differ only in case",
        "IAM compares condition key names without regard to case",
    ),
    (
        "reserved key",
        BASE + "    instances: {tags: {'aws:cloudformation:stack': x}}\n",
        "grants[0].instances.tags.aws:cloudformation:stack",
        7,
        52,
        "starts with 'aws:'",
        None,
    ),
    (
        "outside policy charset",
        BASE + "    instances: {tags: {env: \u0394ev}}\n",
        "grants[0].instances.tags.env",
        7,
        29,
        "has characters an IAM policy cannot contain (U+0394)",
        "U+0020..U+00FF",
    ),
    (
        "variable key with space",
        BASE + "    instances: {tags: {team: {principal_tag: my team}}}\n",
        "grants[0].instances.tags.team.principal_tag",
        7,
        46,
        "principal tag key 'my team' has a space",
        None,
    ),
    (
        "exclusion naming nothing",
        BASE + "exclude:\n  - unless: {mfa: true}\n",
        "exclude[0]",
        8,
        5,
        "names no actions, regions or instances",
        None,
    ),
    (
        "a name for an id",
        BASE + "    instances: {ids: [web-1]}\n",
        "grants[0].instances.ids[0]",
        7,
        23,
        "'web-1' is not an instance id: Lightsail instance ARNs carry the instance's id, a UUID",
        "aws lightsail get-instance --instance-name web-1",
    ),
    ("empty document", "", "", 0, 0, "the intent is empty", None),
]


Case = tuple[str, str, str, int, int, str, str | None]


@pytest.mark.parametrize("case", ERRORS, ids=[e[0] for e in ERRORS])
def test_each_problem_is_located_and_actionable(case: Case) -> None:
    """Each kind of mistake gives one problem at the right place, with advice where there is
    some (errors as data, STYLE.md habits 6 and 7). The AWS facts behind the checks: actions
    and resource types from https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html,
    CIDR blocks for ``aws:SourceIp`` from https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourceip,
    the policy character set from https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-names."""
    _, text, path, line, column, message, hint = case
    problem = only(text)
    assert problem.location.source == "intent.yaml"
    assert (problem.location.path, problem.location.line, problem.location.column) == (
        path,
        line,
        column,
    ), str(problem)
    assert message in problem.message, problem.message
    if hint is not None:
        assert problem.hint is not None and hint in problem.hint, problem.hint
    assert problem.code == "intent"
    assert problem.message[0].islower() or problem.message[0] in "'\"", problem.message


def test_every_problem_is_reported_at_once() -> None:
    """A user fixes an intent in one pass: semantic problems of every grant come together
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_policy-validator.html
    does the same for policies)."""
    text = (
        BASE.replace("StopInstance]", "StopInstances, lightsail:GetInstances]")
        + "    regions: [us-east-9]\n    require: {source_ip: [1.2.3.4/8]}\n"
    )
    found = problems(text)
    assert [p.location.path for p in found] == [
        "grants[0].actions[0]",
        "grants[0].actions[1]",
        "grants[0].regions[0]",
        "grants[0].require.source_ip[0]",
    ]


def test_duplicate_keys_are_reported_with_schema_problems() -> None:
    """A repeated key does not hide the other problems of the document
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html)."""
    found = problems(BASE + "    actions: [lightsail:StartInstance]\n    bogus: 1\n")
    assert {p.message.split(" ")[0] for p in found} == {"key", "unknown"}


def test_data_without_text_is_located_by_path() -> None:
    """`intent_from_data` reports problems by JSON path (no line or column to give)
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html)."""
    with pytest.raises(IntentError) as info:
        intent_from_data({"name": "x", "account": "1", "grants": []})
    paths = {(p.location.path, p.location.line) for p in info.value.problems}
    assert ("account", 0) in paths and ("grants", 0) in paths


def test_load_intent_reports_unreadable_files(tmp_path: Path) -> None:
    """A missing file, bytes that are not UTF-8, and a runaway size are problems, not crashes
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-names)."""
    with pytest.raises(IntentError, match="cannot read the intent"):
        load_intent(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"name: \xff\n")
    with pytest.raises(IntentError, match="not UTF-8"):
        load_intent(bad)
    big = tmp_path / "big.yaml"
    big.write_text("#" * (4 << 20) + "x\n")
    with pytest.raises(IntentError, match="larger than"):
        load_intent(big)
