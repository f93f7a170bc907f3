"""LSP002 source-policy-not-read: a policy in terraform or CloudFormation that lspolicy could not read.

## What it does
Reports each IAM policy in a terraform plan, `.tf` file or CloudFormation template that no
static reading can decide: a `policy = var.p`, a document terraform knows only after apply, a
reference to something outside the file, a file that does not parse. The finding points at the
place in the source file. lspolicy never guesses such a value (`lspolicy.sources`).

## Why is this bad
The gate vouches only for what it read. A policy it could not read may grant anything; passing
the gate silently would turn the check off for exactly the policies that are hardest to review.

## Example
```hcl
resource "aws_iam_policy" "deploy" {
  policy = var.deploy_policy
}
```

## Use instead
Write the document in the file (`jsonencode({...})`, a heredoc, or an `aws_iam_policy_document`
data source), or gate the rendered plan (`terraform show -json plan.out > plan.json`), where
terraform has resolved what it can. If the policy is reviewed elsewhere, suppress the finding
for that file with the reason.

## References
- https://developer.hashicorp.com/terraform/internals/json-format
- https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
"""

from __future__ import annotations

from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule

RULE = Rule(
    code="LSP002",
    name="source-policy-not-read",
    severity=Severity.WARNING,
    title="policy in a terraform or cloudformation file that could not be read statically",
    doc=__doc__ or "",
)
"""Reported by the gate from the source readers' problems, not by a check of its own."""
