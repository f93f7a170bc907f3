"""CloudFormation templates: policies, kinds, attachments, symbolic values, positions."""

from __future__ import annotations

from pathlib import Path

from lspolicy.parse.jsonpos import Span
from lspolicy.sources import extract

FIXTURES = Path(__file__).parent / "fixtures"
YAML = FIXTURES / "lightsail-ops.yaml"
JSON = FIXTURES / "buckets.template.json"


def _extract(path: Path):  # type: ignore[no-untyped-def]
    got = extract(str(path), path.read_text())
    assert got is not None
    return got


def _by_name(path: Path) -> dict[str, object]:
    return {p.name: p for p in _extract(path).policies}


def test_yaml_template_policies_kinds_and_attachments() -> None:
    """Every IAM policy property of the template is found, trust policies as resource policies.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-role.html
    (AssumeRolePolicyDocument is the trust policy; Policies[] embeds inline policies;
    ManagedPolicyArns attaches managed policies) and the AWS::IAM::Policy page (Roles, Groups).
    """
    got = _extract(YAML)
    assert got.format == "cloudformation"
    assert got.problems == ()
    summary = [(p.name, p.kind, p.attached_to) for p in got.policies]
    assert summary == [
        ("Resources.OpsRole.Properties.AssumeRolePolicyDocument", "resource", ("OpsRole",)),
        ("Resources.OpsRole.Properties.Policies[0].PolicyDocument", "identity", ("OpsRole",)),
        ("Resources.DeployPolicy.Properties.PolicyDocument", "identity", ("OpsRole",)),
        ("Resources.AuditPolicy.Properties.PolicyDocument", "identity", ("OpsRole", "Auditors")),
        ("Resources.Auditors.Properties.Policies[0].PolicyDocument", "identity", ("Auditors",)),
    ]


def test_yaml_document_values_and_unquoted_version() -> None:
    """``Version: 2012-10-17`` unquoted is the string, as CloudFormation reads it (no YAML
    timestamp); a literal document is extracted exactly.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-formats.html
    """
    p = _by_name(YAML)["Resources.OpsRole.Properties.Policies[0].PolicyDocument"]
    assert p.loaded.value == {  # type: ignore[attr-defined]
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "StartStop",
                "Effect": "Allow",
                "Action": ["lightsail:StartInstance", "lightsail:StopInstance"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": "lspolicy-unresolved-1"}},
            }
        ],
    }
    assert p.loaded.spans[("Statement", 0, "Action", 1)] == Span(33, 21, 33, 43)  # type: ignore[attr-defined]
    trust = _by_name(YAML)["Resources.OpsRole.Properties.AssumeRolePolicyDocument"]
    assert trust.loaded.value["Version"] == "2012-10-17"  # type: ignore[attr-defined]


def test_yaml_symbolic_values_are_located_notes() -> None:
    """Intrinsic functions (short forms ``!Sub``, ``!If``, ``!GetAtt``, ``!Ref`` of a pseudo
    parameter) are left symbolic and reported where they are; ``${!Literal}`` in ``Fn::Sub``
    is the literal ``${Literal}``.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-sub.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html
    """
    by = _by_name(YAML)
    trust = by["Resources.OpsRole.Properties.AssumeRolePolicyDocument"]
    assert trust.loaded.value["Statement"][1]["Principal"] == {  # type: ignore[attr-defined]
        "AWS": "arn:lspolicy-unresolved-1:iam::lspolicy-unresolved-2:root"
    }
    assert [str(n) for n in trust.symbolic] == [  # type: ignore[attr-defined]
        f"{YAML}:20:20: Resources.OpsRole.Properties.AssumeRolePolicyDocument.Statement[1].Principal.AWS: "
        "pseudo parameter 'AWS::Partition' cannot be resolved statically; it is carried as lspolicy-unresolved-1",
        f"{YAML}:20:20: Resources.OpsRole.Properties.AssumeRolePolicyDocument.Statement[1].Principal.AWS: "
        "pseudo parameter 'AWS::AccountId' cannot be resolved statically; it is carried as lspolicy-unresolved-2",
    ]
    deploy = by["Resources.DeployPolicy.Properties.PolicyDocument"]
    statements = deploy.loaded.value["Statement"]  # type: ignore[attr-defined]
    assert statements[0]["Resource"] == "arn:aws:s3:::lspolicy-unresolved-1/*"
    assert statements[1]["Resource"] == "arn:aws:ec2:*:*:instance/${aws:username}"
    audit = by["Resources.AuditPolicy.Properties.PolicyDocument"]
    assert audit.loaded.value["Statement"][0] == {  # type: ignore[attr-defined]
        "Effect": "Allow",
        "Action": ["iam:GetRole", "lspolicy-unresolved-1:unresolved"],
        "Resource": "arn:lspolicy-unresolved-2:unresolved:::unresolved",
    }
    assert [(n.location.line, n.location.column, n.message, n.code) for n in audit.symbolic] == [  # type: ignore[attr-defined]
        (
            64,
            17,
            "'Fn::If' cannot be resolved statically; it is carried as lspolicy-unresolved-1",
            "symbolic",
        ),
        (
            65,
            23,
            "'Fn::GetAtt OpsRole.Arn' cannot be resolved statically; it is carried as lspolicy-unresolved-2",
            "symbolic",
        ),
    ]


def test_json_template_join_and_symbolic_effect() -> None:
    """A JSON template: ``Fn::Join`` keeps its literal parts, ``Fn::Sub`` with no variable is its
    literal, ``UserName: {"Ref": ...}`` attaches to that user, and a symbolic ``Effect`` keeps
    the bare placeholder so building the policy fails there.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-join.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-userpolicy.html
    """
    got = _extract(JSON)
    assert [(p.name, p.attached_to) for p in got.policies] == [
        ("Resources.CiUser.Properties.Policies[0].PolicyDocument", ("CiUser",)),
        ("Resources.CiSnapshots.Properties.PolicyDocument", ("CiUser",)),
    ]
    user, snap = got.policies
    assert (
        user.loaded.value["Statement"][0]["Resource"]
        == "arn:lspolicy-unresolved-1:s3:::ci-artifacts/*"
    )  # type: ignore[index]
    assert user.loaded.spans[("Statement", 0, "Action", 1)] == Span(16, 46, 16, 60)
    assert snap.loaded.value["Statement"][0] == {  # type: ignore[index]
        "Effect": "lspolicy-unresolved-1",
        "Action": "lightsail:CreateInstanceSnapshot",
        "Resource": "arn:aws:lightsail:us-east-1:111122223333:Instance/*",
    }
    assert [n.message for n in snap.symbolic] == [
        "'Fn::If' cannot be resolved statically; it is carried as lspolicy-unresolved-1"
    ]


def test_malformed_yaml_is_a_located_problem() -> None:
    """A template that is not YAML gives a located ``source`` problem, never a traceback.

    https://yaml.org/spec/1.1/ (flow sequences must be closed)
    """
    text = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  R: [\n"
    got = extract("bad.yaml", text)
    assert got is not None
    assert got.policies == ()
    (problem,) = got.problems
    assert (problem.code, problem.location.line, problem.location.column) == ("source", 4, 1)
    assert problem.message.startswith("invalid YAML: ")


def test_duplicate_key_in_template_is_refused() -> None:
    """A mapping repeating a key is refused, located at the second key (CloudFormation rejects
    duplicate keys; which one wins would be a guess).

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-formats.html
    """
    text = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  A: {Type: AWS::IAM::Policy}\n  A: {Type: AWS::IAM::Role}\n"
    got = extract("dup.yaml", text)
    assert got is not None
    (problem,) = got.problems
    assert str(problem) == "dup.yaml:4:3: Resources.A: invalid YAML: duplicate key 'A'"


def test_unsupported_tag_is_refused_not_run() -> None:
    """A Python tag is data, never code: it is refused with its location.

    https://pyyaml.org/wiki/PyYAMLDocumentation (``yaml.load`` with the full loader runs tags)
    """
    text = "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  X: !!python/object/apply:os.system ['true']\n"
    got = extract("evil.yaml", text)
    assert got is not None
    (problem,) = got.problems
    assert problem.location.line == 3
    assert "unsupported tag 'tag:yaml.org,2002:python/object/apply:os.system'" in problem.message
