"""LSP003 symbolic-value: a policy value decided only at deploy time.

## What it does
Notes each value of a policy read from terraform or CloudFormation that the file alone does not
decide: `!Ref Bucket`, `!Sub "arn:aws:s3:::${Bucket}/*"`, `${AWS::AccountId}`,
`${var.bucket}`, `aws_s3_bucket.b.arn`. lspolicy carries the value as a placeholder that matches
no real action or ARN (`lspolicy.sources.symbolic`) and reports where it is, so a reviewer knows
which parts of the verdict rest on values the gate did not see.

## Why is this bad
It is not wrong in itself, hence the mild grade. But a Resource or condition value that is
symbolic decides what the policy grants, and the lint rules about ARNs and values cannot judge
it: other findings on that value are left out rather than guessed.

## Example
```yaml
Resource: !Sub "arn:aws:lightsail:${AWS::Region}:${AWS::AccountId}:Instance/*"
```

## Use instead
Nothing, when the value is meant to be set at deploy time. To have the gate judge the real
value, gate the rendered plan (`terraform show -json`) or the processed template.

## References
- https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
- https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html
- https://developer.hashicorp.com/terraform/language/expressions/references
"""

from __future__ import annotations

from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule

RULE = Rule(
    code="LSP003",
    name="symbolic-value",
    severity=Severity.SUGGESTION,
    title="policy value that only deploy time decides",
    doc=__doc__ or "",
)
"""Reported by the gate from the source readers' notes, not by a check of its own."""
