"""Malformed policies: every problem is reported at once, with source, JSON path, line, column.

Grammar: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
Elements: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
Quotas: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lspolicy
from lspolicy.errors import Problem


def problems(text: str, **kwargs: object) -> tuple[Problem, ...]:
    with pytest.raises(lspolicy.PolicyParseError) as info:
        lspolicy.parse_policy(text, source="p.json", **kwargs)  # type: ignore[arg-type]
    assert info.value.problems, "a parse error must list its problems"
    return info.value.problems


def only(text: str, **kwargs: object) -> Problem:
    found = problems(text, **kwargs)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def doc(statement: object, version: object = "2012-10-17") -> str:
    return json.dumps({"Version": version, "Statement": statement}, indent=2)


GOOD = {"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*"}


def test_invalid_json_points_at_line_and_column() -> None:
    p = only('{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Effect": "Allow",}\n  ]\n}')
    assert p.location.source == "p.json"
    assert (p.location.line, p.location.column) == (4, 24)  # the stray "}"
    assert "invalid JSON" in p.message


def test_truncated_json() -> None:
    p = only('{"Version": "2012-10-17", "Statement": [')
    assert p.location.line == 1
    assert "end of input" in p.message


def test_missing_effect() -> None:
    p = only(doc([GOOD, {"Action": "lightsail:StopInstance", "Resource": "*"}]))
    assert p.location.path == "Statement[1]"
    assert p.message == "statement has no Effect"
    assert p.location.line == 9  # the second statement's opening brace


def test_invalid_effect_has_hint() -> None:
    p = only(doc({**GOOD, "Effect": "allow"}))
    assert p.location.path == "Statement.Effect"
    assert "'allow'" in p.message
    assert p.hint == "did you mean 'Allow'?"


def test_action_and_notaction_together_and_neither() -> None:
    both = only(doc({**GOOD, "NotAction": "lightsail:GetInstance"}))
    assert "both Action and NotAction" in both.message
    neither = only(doc({"Effect": "Allow", "Resource": "*"}))
    assert "neither Action nor NotAction" in neither.message


def test_resource_and_notresource_together_and_neither() -> None:
    assert "both Resource and NotResource" in only(doc({**GOOD, "NotResource": "*"})).message
    assert (
        "neither Resource nor NotResource" in only(doc({"Effect": "Allow", "Action": "*"})).message
    )


@pytest.mark.parametrize("version", ["2012-10-18", "2012/10/17", 2012])
def test_bad_version(version: object) -> None:
    p = only(doc(GOOD, version))
    assert p.location.path == "Version"
    assert "Version must be" in p.message


def test_unknown_operator_suggests_the_right_one() -> None:
    p = only(doc({**GOOD, "Condition": {"StringEqual": {"aws:ResourceTag/env": "dev"}}}))
    assert p.location.path == "Statement.Condition.StringEqual"
    assert p.message == "unknown condition operator 'StringEqual'"
    assert p.hint == "did you mean 'StringEquals'?"


def test_unknown_qualifier() -> None:
    p = only(doc({**GOOD, "Condition": {"ForAnyValues:StringEquals": {"aws:TagKeys": "env"}}}))
    assert "unknown set qualifier 'ForAnyValues'" in p.message
    assert p.hint == "did you mean 'ForAnyValue'?"


def test_ifexists_on_null_is_rejected() -> None:
    p = only(doc({**GOOD, "Condition": {"NullIfExists": {"aws:ResourceTag/env": "true"}}}))
    assert "Null cannot take IfExists" in p.message


@pytest.mark.parametrize(
    ("statement", "path"),
    [
        ({**GOOD, "Action": 5}, "Statement.Action"),
        ({**GOOD, "Action": ["lightsail:StopInstance", None]}, "Statement.Action[1]"),
        ({**GOOD, "Resource": {"arn": "x"}}, "Statement.Resource"),
        ({**GOOD, "Sid": 7}, "Statement.Sid"),
        (
            {**GOOD, "Condition": {"StringEquals": {"k": {"nested": 1}}}},
            "Statement.Condition.StringEquals.k",
        ),
    ],
)
def test_non_strings_where_strings_are_required(statement: object, path: str) -> None:
    p = only(doc(statement))
    assert p.location.path == path
    assert "must be a string" in p.message


@pytest.mark.parametrize(
    "resource",
    ["Instance/web-1", "arn:aws:lightsail:us-east-1:Instance/x", "lightsail:*"],
)
def test_invalid_arn_shapes_in_resource(resource: str) -> None:
    p = only(doc({**GOOD, "Resource": resource}))
    assert p.location.path == "Statement.Resource"
    assert resource in p.message


def test_invalid_action_shape() -> None:
    p = only(doc({**GOOD, "Action": "StopInstance"}))
    assert "must be 'service:action'" in p.message


def test_principal_not_allowed_in_identity_policy() -> None:
    p = only(doc({**GOOD, "Principal": "*"}))
    assert "Principal is not allowed in an identity-based policy" in p.message


def test_resource_policy_needs_principal() -> None:
    p = only(doc(GOOD), kind="resource")
    assert "needs Principal or NotPrincipal" in p.message


def test_duplicate_sid_and_duplicate_keys() -> None:
    found = problems(doc([{**GOOD, "Sid": "A"}, {**GOOD, "Sid": "A"}]))
    assert any("Sid 'A' is used by statement 0 too" in p.message for p in found)
    dup = only(
        '{"Version": "2012-10-17", "Version": "2012-10-17",'
        ' "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}'
    )
    assert "duplicate key 'Version'" in dup.message


def test_values_invalid_for_their_operator() -> None:
    cond = {
        "NumericLessThan": {"aws:MultiFactorAuthAge": "soon"},
        "DateGreaterThan": {"aws:CurrentTime": "yesterday"},
        "IpAddress": {"aws:SourceIp": "10.0.0.300/8"},
        "Bool": {"aws:SecureTransport": "yes"},
    }
    found = problems(doc({**GOOD, "Condition": cond}))
    messages = " | ".join(p.message for p in found)
    assert "'soon' is not a number" in messages
    assert "'yesterday' is not an ISO 8601 date" in messages
    assert "is not an IP address or CIDR block" in messages
    assert "'yes' is not 'true' or 'false'" in messages


def test_policy_over_aws_size_limit() -> None:
    """IAM quotas: a managed policy may have 6,144 characters, white space not counted."""
    arns = [f"arn:aws:lightsail:us-east-1:111122223333:Instance/{i:040d}" for i in range(120)]
    text = doc({**GOOD, "Resource": arns})
    p = only(text)
    assert "over AWS's limit of 6144" in p.message
    # the same document is fine where the caller lifts the limit
    assert lspolicy.parse_policy(text, max_size=0).statements[0].resources == tuple(arns)


def test_every_problem_is_reported_in_one_pass() -> None:
    statement = {
        "Effect": "Maybe",
        "Action": "x",
        "Resource": "y",
        "Condition": {"Foo": {"a": "b"}},
    }
    found = problems(doc([statement, {**GOOD, "Bogus": 1}]))
    assert len(found) == 5
    assert all(p.location.line >= 1 and p.location.column >= 1 for p in found)


def test_nulls_and_empty_lists_are_not_the_grammar() -> None:
    """The grammar writes Version, Id and Sid as strings and every list with at least one item
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html)."""
    assert (
        "Version must be"
        in only(
            '{"Version": null, "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}'
        ).message
    )
    assert (
        "Id must be a string"
        in only(doc({**GOOD}).replace('"Version"', '"Id": null, "Version"', 1)).message
    )
    assert "Sid must be a string" in only(doc({**GOOD, "Sid": None})).message
    assert "Statement list is empty" in only(doc([])).message
    assert (
        "empty list of values"
        in only(doc({**GOOD, "Condition": {"StringEquals": {"aws:username": []}}})).message
    )
    assert all("invalid" in p.message for p in problems(doc({**GOOD, "Action": "lightsäil:Stöp"})))


def test_not_an_object() -> None:
    p = only("[1, 2]")
    assert "must be a JSON object" in p.message


def test_problem_renders_file_line_column_path() -> None:
    p = only(doc({**GOOD, "Effect": "Alow"}))
    assert str(p).startswith("p.json:4:15: Statement.Effect: Effect must be 'Allow' or 'Deny'")


def test_a_lone_surrogate_is_a_located_json_problem() -> None:
    """JSON text may write ``\\ud800`` alone, but it decodes to no character: a policy is UTF-8
    text (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html,
    RFC 8259 section 8.1), so it is refused where it stands, not printed later as a crash."""
    import pytest  # noqa: PLC0415

    from lspolicy import PolicyParseError, parse_policy  # noqa: PLC0415

    text = '{"Version": "2012-10-17", "Statement": {"Sid": "\\ud800", "Effect": "Allow"}}'
    with pytest.raises(PolicyParseError) as err:
        parse_policy(text, source="p.json")
    (problem,) = err.value.problems
    assert "lone surrogate \\ud800" in problem.message
    assert (problem.location.line, problem.location.column) == (1, 48)  # the string's quote
    pair = '{"Version": "2012-10-17", "Statement": {"Sid": "\\ud83d\\ude00", "Effect": "Allow"}}'
    with pytest.raises(PolicyParseError) as err:
        parse_policy(pair, source="p.json")
    assert all("surrogate" not in p.message for p in err.value.problems)


def test_explain_shows_a_lone_surrogate_in_a_context_value_escaped(tmp_path: Path) -> None:
    """A request context value that no encoding can print is shown escaped; the command ends
    normally rather than in an internal error."""
    import json  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    policy = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}}}}  # fmt: skip
    request = {
        "PolicyInputList": [json.dumps(policy)],
        "ActionNames": ["lightsail:StopInstance"],
        "ContextEntries": [{"ContextKeyName": "aws:ResourceTag/env", "ContextKeyValues": ["\ud800"], "ContextKeyType": "string"}],
    }  # fmt: skip
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    out = subprocess.run(
        [sys.executable, "-m", "lspolicy.cli", "explain", "--request", str(path)],
        capture_output=True, text=True, errors="replace", check=False, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "internal error" not in out.stderr
    assert "'\\ud800'" in out.stdout
