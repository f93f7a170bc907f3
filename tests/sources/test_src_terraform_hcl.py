"""``.tf`` files: jsonencode, heredocs, aws_iam_policy_document, references, positions."""

from __future__ import annotations

from pathlib import Path

from lspolicy.parse.jsonpos import Span
from lspolicy.sources import extract

TF = Path(__file__).parent / "fixtures" / "iam.tf"
LINES = TF.read_text().splitlines()


def _tf():  # type: ignore[no-untyped-def]
    got = extract(str(TF), TF.read_text())
    assert got is not None
    return got


def _by_name():  # type: ignore[no-untyped-def]
    return {p.name: p for p in _tf().policies}


def _text(span: Span) -> str:
    assert span.line == span.end_line
    return LINES[span.line - 1][span.column - 1 : span.end_column - 1]


def test_tf_policies_names_kinds_attachments() -> None:
    """Role trust and inline policies, managed policies attached by
    ``aws_iam_role_policy_attachment``, ``role = aws_iam_role.x.id``, and a policy document
    data source used as ``assume_role_policy`` (so a trust policy).

    https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/iam_role
    https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/iam_role_policy_attachment
    """
    got = _tf()
    assert got.format == "terraform"
    assert [(p.name, p.kind, p.attached_to) for p in got.policies] == [
        ("aws_iam_role.ops.inline_policy[0]", "identity", ("aws_iam_role.ops",)),
        ("aws_iam_policy.deploy", "identity", ("aws_iam_role.ops",)),
        ("aws_iam_role_policy.passrole", "identity", ("aws_iam_role.ops",)),
        ("data.aws_iam_policy_document.trust", "resource", ("aws_iam_role.ops",)),
        ("data.aws_iam_policy_document.read", "identity", ()),
    ]


def test_jsonencode_positions_and_symbolic_parts() -> None:
    """``jsonencode({...})`` with literal content is the document; ``${var.bucket}`` inside a
    string and a bare reference are symbolic and located.

    https://developer.hashicorp.com/terraform/language/functions/jsonencode
    https://developer.hashicorp.com/terraform/language/expressions/strings (interpolation)
    """
    deploy = _by_name()["aws_iam_policy.deploy"]
    span = deploy.loaded.spans[("Statement", 0, "Action", 1)]
    assert span == Span(31, 37, 31, 51)
    assert _text(span) == '"s3:PutObject"'
    assert deploy.loaded.value["Statement"][0]["Resource"] == "arn:aws:s3:::lspolicy-unresolved-1/*"
    assert (
        deploy.loaded.value["Statement"][1]["Resource"]
        == "arn:lspolicy-unresolved-2:unresolved:::unresolved"
    )
    assert [str(n) for n in deploy.symbolic] == [
        f"{TF}:32:36: aws_iam_policy.deploy.Statement[0].Resource: '${{var.bucket}}' cannot be "
        "resolved statically; it is carried as lspolicy-unresolved-1",
        f"{TF}:37:22: aws_iam_policy.deploy.Statement[1].Resource: 'aws_s3_bucket.logs.arn' cannot "
        "be resolved statically; it is carried as lspolicy-unresolved-2",
    ]
    inline = _by_name()["aws_iam_role.ops.inline_policy[0]"]
    assert (
        _text(inline.loaded.spans[("Statement", 0, "Action", 1)])
        == '"lightsail:GetInstanceSnapshots"'
    )


def test_heredoc_positions_and_interpolation() -> None:
    """A ``<<-EOF`` heredoc holds JSON text: spans point into the heredoc, an interpolation
    inside a JSON string is carried as a placeholder.

    https://developer.hashicorp.com/terraform/language/expressions/strings (heredoc strings)
    """
    p = _by_name()["aws_iam_role_policy.passrole"]
    span = p.loaded.spans[("Statement", 0, "Action", 1)]
    assert span == Span(57, 38, 57, 51)
    assert _text(span) == '"iam:GetRole"'
    assert (
        p.loaded.value["Statement"][0]["Resource"]
        == "arn:aws:iam::111122223333:role/lspolicy-unresolved-1-runner"
    )
    assert [(n.location.line, n.location.column) for n in p.symbolic] == [(58, 55)]


def test_policy_document_rendered_like_the_provider() -> None:
    """``aws_iam_policy_document`` as the AWS provider renders it: ``Sid`` always written,
    ``Effect`` default ``Allow``, one entry -> a string, several -> reverse sorted, ``&{`` ->
    ``${``, condition values in written order.

    https://registry.terraform.io/providers/hashicorp/aws/latest/docs/data-sources/iam_policy_document
    """
    by = _by_name()
    assert by["data.aws_iam_policy_document.trust"].loaded.value == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": ["lightsail.amazonaws.com", "ec2.amazonaws.com"]},
                "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}},
            }
        ],
    }
    read = by["data.aws_iam_policy_document.read"]
    assert read.loaded.value["Statement"][0] == {
        "Sid": "ReadInstances",
        "Effect": "Allow",
        "Action": ["lightsail:GetInstances", "lightsail:GetInstance", "ec2:DescribeInstances"],
        "Resource": [
            "arn:lspolicy-unresolved-1:unresolved:::unresolved",
            "arn:aws:lightsail:*:111122223333:Instance/${aws:username}",
        ],
        "Condition": {
            "StringLike": {"aws:ResourceTag/team": ["ops", "dev"]},
            "Bool": {"aws:SecureTransport": "true"},
        },
    }
    spans = read.loaded.spans
    assert _text(spans[("Statement", 0, "Action", 1)]) == '"lightsail:GetInstance"'
    assert _text(spans[("Statement", 0, "Resource", 0)]) == "local.extra_arn"
    assert (
        _text(spans[("Statement", 0, "Condition", "StringLike", "aws:ResourceTag/team", 1)])
        == '"dev"'
    )
    assert [n.message for n in read.symbolic] == [
        "'local.extra_arn' cannot be resolved statically; it is carried as lspolicy-unresolved-1"
    ]


def test_unresolvable_policy_attribute_is_reported() -> None:
    """``policy = var.ci_policy`` cannot be read statically: reported, located, not dropped.

    https://developer.hashicorp.com/terraform/language/values/variables
    """
    assert [str(p) for p in _tf().problems] == [
        f"{TF}:68:12: aws_iam_user_policy.ci: policy of 'aws_iam_user_policy.ci' is "
        "'var.ci_policy', which cannot be resolved statically"
    ]


def test_malformed_tf_is_a_located_problem() -> None:
    """A ``.tf`` that is not HCL: a located problem, not a traceback.

    https://developer.hashicorp.com/terraform/language/syntax/configuration
    """
    got = extract("bad.tf", 'resource "aws_iam_policy" "p" {\n  policy = = 1\n}\n')
    assert got is not None
    (problem,) = got.problems
    assert (problem.code, problem.location.line) == ("source", 2)
    assert problem.message.startswith("invalid HCL: ")
