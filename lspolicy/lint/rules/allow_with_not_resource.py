"""LSP110 allow-with-not-resource: an Allow statement written with `NotResource`.

## What it does
Reports every Allow statement that uses `NotResource`.

## Why is this bad
`NotResource` with Allow grants the actions on every resource except those listed — in every
region and account the principal can reach, and on every resource created later. An exclusion
list is easy to get wrong: a resource named by name rather than id (`Instance/prod-db`) excludes
nothing.

## Example
```json
{"Effect": "Allow", "Action": "lightsail:StopInstance",
 "NotResource": "arn:aws:lightsail:us-east-1:111122223333:Instance/244ad76f-8aad-4741-809f-12345EXAMPLE"}
```

## Use instead
Allow what is meant, and deny the exceptions explicitly:
```json
[{"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*",
  "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}}},
 {"Effect": "Deny", "Action": "lightsail:StopInstance",
  "Resource": "arn:aws:lightsail:us-east-1:111122223333:Instance/244ad76f-8aad-4741-809f-12345EXAMPLE"}]
```

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.lint.context import PolicyContext, Report
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report Allow statements with NotResource."""
    for st in ctx.statements():
        if st.effect != "Allow" or st.not_resources is None:
            continue
        yield Report(
            ctx.at_element(st, "NotResource"),
            "allow with `NotResource` grants the actions on every resource except those listed, "
            "including resources created later",
            st.sid,
            "list the allowed resources in `Resource`, and deny exceptions in a Deny statement",
        )


RULE = Rule(
    code="LSP110",
    name="allow-with-not-resource",
    severity=Severity.SECURITY,
    title="allow statement written with NotResource",
    doc=__doc__ or "",
    check=check,
)
