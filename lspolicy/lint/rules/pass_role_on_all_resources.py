"""LSP124 pass-role-on-all-resources: an Allow of `iam:PassRole` on every role.

## What it does
Reports an `Action` entry that covers `iam:PassRole` (`iam:PassRole`, `iam:Pass*`, `iam:*`,
`*`) in an Allow statement whose `Resource` is `"*"` or a pattern matching every role of every
account (`arn:aws:iam::*:role/*`), unless a condition limits the service the role is passed to
(`iam:PassedToService`).

## Why is this bad
Passing a role lets a service act with that role's permissions. With every role, the principal
can hand an administrator role to an EC2 instance, a Lambda function or a Lightsail-adjacent
service it controls, and so gain those permissions: a classic privilege escalation. IAM Access
Analyzer reports it as "PassRole with star in resource".

## Example
```json
{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}
```

## Use instead
Name the roles and the service they are for:
```json
{"Effect": "Allow", "Action": "iam:PassRole",
 "Resource": "arn:aws:iam::111122223333:role/app-instance-role",
 "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}
```

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html
- https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.evaluate.resource import compile_resource_pattern
from lspolicy.glob import compile_glob, tokens_of
from lspolicy.lint.context import PolicyContext, Report
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule

_PROBES = (
    "arn:aws:iam::111122223333:role/admin",
    "arn:aws:iam::444455556666:role/service-role/deploy",
)


def _every_role(resource: str) -> bool:
    if resource == "*":
        return True
    if "$" in resource:
        return False
    pattern = compile_resource_pattern(tokens_of(resource))
    return all(pattern(p) for p in _PROBES)


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report Allow entries that pass every role to any service."""
    for st in ctx.statements():
        if st.effect != "Allow" or st.actions is None:
            continue
        if any(c.key.lower() == "iam:passedtoservice" for c in st.conditions):
            continue
        if not any(_every_role(r) for r in st.resources or ()):
            continue
        for i, entry in enumerate(st.actions):
            if not compile_glob(entry, ignore_case=True)("iam:PassRole"):
                continue
            yield Report(
                ctx.at_element(st, "Action", i),
                f"`{entry}` allows `iam:PassRole` on every role: the principal can pass any role, "
                "an administrator's too, to a service it controls",
                st.sid,
                "name the roles in `Resource` and limit `iam:PassedToService`",
            )


RULE = Rule(
    code="LSP124",
    name="pass-role-on-all-resources",
    severity=Severity.SECURITY,
    title="allow of iam:PassRole on every role",
    doc=__doc__ or "",
    check=check,
)
