"""LSP123 malformed-arn: a resource ARN whose partition, service, region, account or resource
part has the wrong shape.

## What it does
Splits each ARN in `Resource` and `NotResource` into its six colon-separated parts and checks
them against the ARN format and against the service's ARN templates in the Service
Authorization Reference (`lspolicy.services`):

- the partition is `aws`, `aws-cn`, `aws-us-gov`, `aws-iso*` (or a wildcard matching one);
- the service prefix is one AWS has;
- the region looks like `us-east-1` (`useast1` does not), and is empty exactly where the
  service's ARNs have none (`arn:aws:iam::...`, `arn:aws:s3:::bucket`);
- the account is 12 digits, `aws` (AWS managed policies), empty where the service's ARNs have
  none, or a wildcard;
- the resource part is complete: `Instance` alone, where Lightsail writes `Instance/${Id}`.

Parts with a wildcard or a policy variable are checked only as far as they can be. ARNs are
case-sensitive.

## Why is this bad
An ARN of the wrong shape matches no resource: an Allow grants nothing on it and, worse, a Deny
protects nothing. `arn:aws:lightsail:us-east-1:1111:Instance` (a short account and no id)
silently matches no instance.

## Example
```json
{"Effect": "Deny", "Action": "lightsail:DeleteInstance",
 "Resource": "arn:aws:lightsail:useast1:1111:Instance"}
```

## Use instead
```json
{"Effect": "Deny", "Action": "lightsail:DeleteInstance",
 "Resource": "arn:aws:lightsail:us-east-1:111122223333:Instance/*"}
```

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
- https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.lint.arn_shape import arn_problems
from lspolicy.lint.context import PolicyContext, Report
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report each problem of each ARN's shape."""
    for st in ctx.statements():
        for element, entries in (("Resource", st.resources), ("NotResource", st.not_resources)):
            for i, arn in enumerate(entries or ()):
                for problem in arn_problems(ctx.services, arn):
                    yield Report(
                        ctx.at_element(st, element, i),
                        f"{problem.message}, so it matches no resource",
                        st.sid,
                        problem.hint,
                    )


RULE = Rule(
    code="LSP123",
    name="malformed-arn",
    severity=Severity.ERROR,
    title="resource ARN with a malformed partition, service, region, account or resource part",
    doc=__doc__ or "",
    check=check,
)
