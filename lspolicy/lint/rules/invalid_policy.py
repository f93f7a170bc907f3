"""LSP001 invalid-policy: the document is not a valid IAM policy.

## What it does
Reports every problem the parser finds — invalid JSON, unknown elements, a missing `Effect`, an
unknown condition operator, a value its operator cannot read, a repeated `Sid`, a policy over
IAM's size quota — each at its own line and column. The linter reports them all at once, so a
policy is fixed in one pass; the other rules run only on policies that parse.

## Why is this bad
IAM rejects the policy (`MalformedPolicyDocument`), so it grants and denies nothing; a tool that
stops at the first problem makes you fix it one error at a time.

## Example
```json
{"Version": "2012-10-17",
 "Statement": {"Effect": "allow", "Action": "lightsail:StopInstance", "Resource": "*",
               "Condition": {"StringEqual": {"aws:ResourceTag/env": "dev"}}}}
```
Two findings: `Effect` must be `Allow` or `Deny` (did you mean `Allow`?), and `StringEqual` is
not an operator (did you mean `StringEquals`?).

## Use instead
```json
{"Version": "2012-10-17",
 "Statement": {"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*",
               "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}}}}
```

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
"""

from __future__ import annotations

from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule

RULE = Rule(
    code="LSP001",
    name="invalid-policy",
    severity=Severity.ERROR,
    title="the document is not a valid IAM policy",
    doc=__doc__ or "",
)
"""Reported by the engine from the parser's problems, not by a check of its own."""
