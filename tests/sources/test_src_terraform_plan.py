"""``terraform show -json`` plans: embedded policy strings located in the one-line file."""

from __future__ import annotations

import json
from pathlib import Path

from lspolicy.parse.jsonpos import Span
from lspolicy.sources import extract

PLAN = Path(__file__).parent / "fixtures" / "plan.json"


def _plan():  # type: ignore[no-untyped-def]
    got = extract(str(PLAN), PLAN.read_text())
    assert got is not None
    return got


def _raw(span: Span) -> str:
    line = PLAN.read_text().splitlines()[span.line - 1]
    assert span.line == span.end_line
    return line[span.column - 1 : span.end_column - 1]


def test_plan_policies_names_kinds_attachments() -> None:
    """Resources under ``planned_values.root_module`` and its ``child_modules``, data sources
    read at plan time under ``prior_state``; addresses name the policies; attachments come from
    ``values.role`` (by role name) and, where terraform does not know the value yet, from the
    ``configuration`` references.

    https://developer.hashicorp.com/terraform/internals/json-format
    https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/iam_role_policy_attachment
    """
    got = _plan()
    assert got.format == "terraform-plan"
    assert PLAN.read_text().count("\n") == 1  # one line, as terraform writes it
    assert [(p.name, p.kind, p.attached_to) for p in got.policies] == [
        ("aws_iam_policy.deploy", "identity", ("aws_iam_role.app",)),
        ("aws_iam_role.app.assume_role_policy", "resource", ("aws_iam_role.app",)),
        ("aws_iam_role.app.inline_policy[0]", "identity", ("aws_iam_role.app",)),
        (
            "module.net.aws_iam_role.ops.assume_role_policy",
            "resource",
            ("module.net.aws_iam_role.ops",),
        ),
        ("module.net.aws_iam_role_policy.ops", "identity", ("module.net.aws_iam_role.ops",)),
        ("data.aws_iam_policy_document.ec2_read", "identity", ()),
    ]
    assert all(p.symbolic == () for p in got.policies)


def test_embedded_string_positions_map_to_the_plan_file() -> None:
    """A policy is a JSON string inside the plan: each value's span is where its escaped text
    is in the file (``\\"iam:PassRole\\"``), on the plan's single line.

    https://developer.hashicorp.com/terraform/internals/json-format (values representation)
    """
    by = {p.name: p for p in _plan().policies}
    ops = by["module.net.aws_iam_role_policy.ops"]
    assert ops.loaded.value["Statement"][1]["Action"] == ["iam:PassRole", "iam:GetRole"]  # type: ignore[index]
    span = ops.loaded.spans[("Statement", 1, "Action", 0)]
    assert span == Span(1, 3181, 1, 3197)
    assert _raw(span) == '\\"iam:PassRole\\"'
    doc = by["data.aws_iam_policy_document.ec2_read"]
    span = doc.loaded.spans[("Statement", 0, "Action", 1)]
    assert _raw(span) == '\\"ec2:DescribeInstances\\"'
    assert doc.loaded.value["Statement"][0]["Condition"] == {  # type: ignore[index]
        "StringEquals": {"aws:RequestedRegion": "eu-west-1"}
    }


def test_escaped_characters_map_to_their_escape() -> None:
    """Terraform writes ``&`` as ``\\u0026``: the decoded ``ops&dev`` spans its escaped text.

    https://developer.hashicorp.com/terraform/internals/json-format
    """
    inline = {p.name: p for p in _plan().policies}["aws_iam_role.app.inline_policy[0]"]
    path = ("Statement", 0, "Condition", "StringLike", "aws:ResourceTag/team")
    assert (
        inline.loaded.value["Statement"][0]["Condition"]["StringLike"]["aws:ResourceTag/team"]
        == "ops&dev"
    )  # type: ignore[index]
    raw = _raw(inline.loaded.spans[path])
    assert raw == '\\"ops\\u0026dev\\"'
    assert json.loads(json.loads(f'"{raw}"')) == "ops&dev"


def test_unknown_values_are_reported_not_guessed() -> None:
    """A policy terraform knows only at apply is absent from ``values`` and ``true`` in
    ``after_unknown``: reported, located at the resource's values.

    https://developer.hashicorp.com/terraform/internals/json-format (change representation)
    """
    assert [(str(p), p.code) for p in _plan().problems] == [
        (
            f"{PLAN}:1:2153: planned_values.root_module.resources[4].values.policy: policy of "
            "'aws_iam_user_policy.ci' is not known until apply (hint: it depends on values "
            "terraform computes when it applies the plan)",
            "source",
        ),
        (
            f"{PLAN}:1:2417: planned_values.root_module.child_modules[0].resources[0].values: "
            "inline policies of 'module.net.aws_iam_role.ops' are not known until apply",
            "source",
        ),
    ]


def test_malformed_plan_and_bad_embedded_policy() -> None:
    """A truncated plan, and a plan whose policy string is not JSON: located problems.

    https://developer.hashicorp.com/terraform/internals/json-format
    """
    got = extract("p.json", '{"format_version":"1.2","planned_values":{')
    assert got is not None
    assert [str(p) for p in got.problems] == [
        "p.json:1:43: planned_values: invalid JSON: expected a property name in double quotes"
    ]
    plan = {
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": [
            {"address": "aws_iam_policy.p", "mode": "managed", "type": "aws_iam_policy", "name": "p",
             "values": {"policy": '{"Statement": [}'}},
        ]}},
    }  # fmt: skip
    got = extract("p.json", json.dumps(plan, separators=(",", ":")))
    assert got is not None
    (problem,) = got.problems
    assert (
        problem.message
        == "policy of 'aws_iam_policy.p' is not valid JSON: unexpected character '}', expected a value"
    )
    assert (problem.location.line, problem.location.column) == (1, 190)  # the "}"
