"""The gate on a repository shaped like real ones: Terraform (a `terraform show -json` plan and
the `.tf` it came from), a CloudFormation template, loose JSON policies across EC2, S3, IAM and
Lightsail, a policy test, and the files every repository also has (package.json, tsconfig, a JSON
Schema, a virtualenv, node packages, gitignored build output).

The expected findings below are written by hand from the fixture, one per problem planted in it,
each at the line and column of the source file a person opens.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "mixed-repo"

TYPO_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "lightsail:StopInstanse", "Resource": "*"}],
}

EXPECTED = [
    # loose JSON
    ("iam/break-glass.json", 7, 17, "LSP124"),  # Action "*" includes iam:PassRole, on every role
    ("iam/lightsail-operators.json", 15, 19, "LSP123"),  # `1111`: not a 12-digit account
    ("iam/lightsail-operators.json", 15, 19, "LSP123"),  # `Instance` with no resource id
    ("iam/lightsail-operators.json", 15, 19, "LSP123"),  # `useast1`: not a region code
    ("iam/s3-readers.json", 7, 18, "LSP101"),  # s3:GetObjekt
    # CloudFormation (YAML, short forms)
    ("infra/cloudformation/operators.yaml", 19, 20, "LSP003"),  # !Sub ${AWS::AccountId}
    ("infra/cloudformation/operators.yaml", 34, 27, "LSP003"),  # ${AWS::Region}
    ("infra/cloudformation/operators.yaml", 34, 27, "LSP003"),  # ${AWS::AccountId}
    ("infra/cloudformation/operators.yaml", 37, 43, "LSP003"),  # !Ref Team
    ("infra/cloudformation/operators.yaml", 56, 17, "LSP101"),  # s3:GetObjekt
    ("infra/cloudformation/operators.yaml", 61, 23, "LSP121"),  # ec2 ARN under a lightsail action
    # Terraform configuration
    ("infra/terraform/main.tf", 36, 43, "LSP101"),  # ec2:StopInstancez in jsonencode
    ("infra/terraform/main.tf", 65, 32, "LSP003"),  # ${var.artifacts_bucket}
    ("infra/terraform/main.tf", 88, 21, "LSP124"),  # iam:PassRole on * in a heredoc
    # the plan terraform rendered from it: one line, columns into the embedded strings
    ("infra/terraform/plan.json", 1, 1201, "LSP124"),
    ("infra/terraform/plan.json", 1, 2072, "LSP101"),
]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lspolicy.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture, plus what git does not keep: a virtualenv and node packages holding
    policy-shaped JSON, and gitignored build output with a misspelt action."""
    r = tmp_path_factory.mktemp("mixed") / "repo"
    shutil.copytree(FIXTURE, r)
    (r / ".git").mkdir()
    for junk in (
        ".venv/lib/python3.11/site-packages/botocore/data/policy.json",
        "node_modules/@aws-cdk/lib/policy.json",
        "build/generated-policy.json",
    ):
        (r / junk).parent.mkdir(parents=True, exist_ok=True)
        (r / junk).write_text(json.dumps(TYPO_POLICY))
    (r / "node_modules/@aws-cdk/package.json").write_text('{"name": "@aws-cdk/lib"}')
    return r


def test_the_gate_finds_every_planted_problem_at_its_place_and_nothing_else(repo: Path) -> None:
    """Every service's actions are checked against AWS's Service Authorization Reference
    (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html);
    ARNs against their documented format
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html). Intrinsic functions
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html)
    and terraform references are noted, never guessed."""
    out = run("check", ".", "--format", "json", "--verbose", cwd=repo)
    assert out.returncode == 1, out.stdout + out.stderr
    report = json.loads(out.stdout)
    got = sorted(
        (f["location"]["file"], f["location"]["line"], f["location"]["column"], f["code"])
        for f in report["findings"]
    )
    assert got == sorted(EXPECTED)
    # 4 loose policies + 5 in the plan + 4 in the .tf + 3 in the template
    assert report["summary"]["policies"] == 16
    assert [(c["name"], c["passed"]) for c in report["cases"]] == [
        ("alice stops her team's instance", True),
        ("alice cannot stop another team's instance", True),
    ]
    skipped = out.stderr
    for reason in (
        "skipped .venv: tool folder, never entered",
        "skipped node_modules: tool folder, never entered",
        "skipped build: ignored by .gitignore ('build/')",
        "skipped package.json: not a policy by shape: an npm package.json",
        "skipped web/tsconfig.json: not a policy by shape: a TypeScript config",
    ):
        assert reason in skipped
    assert "schemas/deploy-config.schema.json: not a policy by shape" in skipped


def test_findings_name_the_policy_inside_the_source_file(repo: Path) -> None:
    """A finding in a template names the resource path of the policy as well as its line, so
    two policies in one file are told apart
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-managedpolicy.html)."""
    out = run("check", "infra", "--format", "json", cwd=repo)
    paths = {
        (f["location"]["file"], f["code"]): f["location"]["path"]
        for f in json.loads(out.stdout)["findings"]
    }
    assert paths[("infra/cloudformation/operators.yaml", "LSP121")] == (
        "Resources.DeployPolicy.Properties.PolicyDocument.Statement[1].Resource"
    )
    assert paths[("infra/terraform/main.tf", "LSP101")] == (
        "aws_iam_role_policy.ci_instances.Statement[0].Action[1]"
    )


def test_sarif_points_into_the_source_files(repo: Path) -> None:
    """Code scanning annotates the `.tf` and template lines (GitHub's SARIF support:
    https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning)."""
    out = run("check", ".", "--format", "sarif", cwd=repo)
    sarif = json.loads(out.stdout)
    located = {
        (
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["ruleId"],
        )
        for r in sarif["runs"][0]["results"]
    }
    assert ("infra/terraform/main.tf", 36, "LSP101") in located
    assert ("infra/cloudformation/operators.yaml", 61, "LSP121") in located
    assert ("infra/terraform/plan.json", 1, "LSP101") in located


def test_a_policy_the_source_cannot_decide_is_reported_not_passed(tmp_path: Path) -> None:
    """`policy = var.p` is decided at apply time: the gate says it did not read it (LSP002,
    failing at the default threshold) instead of passing
    (https://developer.hashicorp.com/terraform/language/expressions/references)."""
    (tmp_path / "main.tf").write_text(
        'variable "p" {\n  type = string\n}\n\n'
        'resource "aws_iam_policy" "deploy" {\n  name   = "deploy"\n  policy = var.p\n}\n'
    )
    out = run("check", ".", "--format", "json", cwd=tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    (finding,) = json.loads(out.stdout)["findings"]
    assert (finding["code"], finding["location"]["file"], finding["location"]["line"]) == (
        "LSP002",
        "main.tf",
        7,
    )


ROLE_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  OpsRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {AWS: "arn:aws:iam::111122223333:root"}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: stop-web
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Sid: StopWeb
                Effect: Allow
                Action: lightsail:StopInstance
                Resource: arn:aws:lightsail:us-east-1:111122223333:Instance/*
                Condition:
                  StringEquals:
                    aws:ResourceTag/team: web
  Tagging:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      Roles: [!Ref OpsRole]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: TagAnything
            Effect: Allow
            Action: lightsail:TagResource
            Resource: arn:aws:lightsail:us-east-1:111122223333:Instance/*
"""


@pytest.mark.parametrize(("roles", "escalation"), [("[!Ref OpsRole]", True), ("[]", False)])
def test_a_roles_policies_in_a_template_are_linted_together(
    tmp_path: Path, roles: str, escalation: bool
) -> None:
    """A managed policy attached to a role (its `Roles` property) adds to the role's inline
    policies: together they let the role tag any instance `team=web` and then stop it (tag-based
    access control: https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html; the
    attachment: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-managedpolicy.html).
    Unattached, the same two policies belong to no one principal and are not combined."""
    (tmp_path / "ops.yaml").write_text(ROLE_TEMPLATE.replace("[!Ref OpsRole]", roles))
    out = run("check", ".", "--format", "json", cwd=tmp_path)
    codes = [(f["code"], f["location"]["line"]) for f in json.loads(out.stdout)["findings"]]
    assert codes == ([("LSP111", 23)] if escalation else [])
