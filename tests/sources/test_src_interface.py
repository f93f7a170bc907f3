"""The public interface: sniffing, extract's contract, policy_of, and lint over the result."""

from __future__ import annotations

from pathlib import Path

import pytest

from lspolicy import sources
from lspolicy.errors import PolicyParseError
from lspolicy.lightsail.catalog import load_catalog
from lspolicy.lint.context import PolicyContext
from lspolicy.lint.engine import lint_contexts
from lspolicy.sources import extract, policy_of, sniff

FIXTURES = Path(__file__).parent / "fixtures"


def test_public_api() -> None:
    """The names others integrate against, and nothing else public.

    https://hypothesis.readthedocs.io/en/latest/ (the api-style guide: a small checked API)
    """
    assert sorted(sources.__all__) == [
        "Extraction", "SourceFormat", "SourcePolicy", "extract", "policy_of", "sniff",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("plan.json", "terraform-plan"),
        ("iam.tf", "terraform"),
        ("lightsail-ops.yaml", "cloudformation"),
        ("buckets.template.json", "cloudformation"),
    ],
)
def test_sniff_by_shape(name: str, expected: str) -> None:
    """Plans carry ``format_version``; templates ``AWSTemplateFormatVersion`` or resources typed
    ``AWS::...``; ``.tf`` files are known by suffix.

    https://developer.hashicorp.com/terraform/internals/json-format
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-anatomy.html
    """
    path = FIXTURES / name
    assert sniff(path, path.read_text()) == expected


def test_plain_policy_is_not_a_source() -> None:
    """A loose IAM policy file is none of these formats: ``None``, left to the JSON reader.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    """
    text = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'
    assert sniff("p.json", text) is None
    assert extract("p.json", text) is None


def test_policy_of_builds_the_model_with_source_locations() -> None:
    """``policy_of`` builds the model; a symbolic ``Effect`` fails to build *at its place* in
    the template, so an unknowable policy is reported, not silently allowed.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_effect.html
    """
    path = FIXTURES / "buckets.template.json"
    got = extract(path, path.read_text())
    assert got is not None
    user, snap = got.policies
    policy = policy_of(user)
    assert policy.source == str(path)
    assert policy.statements[0].actions == ("s3:GetObject", "s3:PutObject")
    with pytest.raises(PolicyParseError) as err:
        policy_of(snap)
    assert [str(p) for p in err.value.problems] == [
        f"{path}:34:25: Statement[0].Effect: Effect must be 'Allow' or 'Deny', found 'lspolicy-unresolved-1'"
    ]


def test_every_fixture_policy_builds_except_the_symbolic_effect() -> None:
    """Placeholders are well-formed actions and ARNs, so every other extracted policy builds.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    """
    failed = []
    for name in ("plan.json", "iam.tf", "lightsail-ops.yaml", "buckets.template.json"):
        path = FIXTURES / name
        got = extract(path, path.read_text())
        assert got is not None
        for sp in got.policies:
            try:
                policy_of(sp)
            except PolicyParseError:
                failed.append(sp.name)
    assert failed == ["Resources.CiSnapshots.Properties.PolicyDocument"]


def test_lint_findings_are_located_in_the_source_file() -> None:
    """Lint's engine takes an extracted policy and reports in the template's own lines.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    path = FIXTURES / "lightsail-ops.yaml"
    got = extract(path, path.read_text())
    assert got is not None
    sp = got.policies[-1]
    ctx = PolicyContext(policy_of(sp), None, load_catalog(), sp.loaded.spans, sp.loaded.value)
    findings = lint_contexts([ctx])
    assert [(f.code, str(f.location)) for f in findings] == [("LSP108", f"{path}:76:23")]
    tf = FIXTURES / "iam.tf"
    got = extract(tf, tf.read_text())
    assert got is not None
    read = next(p for p in got.policies if p.name == "data.aws_iam_policy_document.read")
    ctx = PolicyContext(policy_of(read), None, load_catalog(), read.loaded.spans, read.loaded.value)
    assert {str(f.location) for f in lint_contexts([ctx])} == {f"{tf}:95:18"}
