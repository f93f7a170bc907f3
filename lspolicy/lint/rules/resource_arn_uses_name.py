"""LSP105 resource-arn-uses-name: a Lightsail ARN that names a resource by its name, not its id.

## What it does
Splits each `Resource` and `NotResource` entry that is a Lightsail ARN with the catalog's ARN
format (`arn:${Partition}:lightsail:${Region}:${Account}:Instance/${Id}`) and checks the id part.
Lightsail ids are UUIDs (hex digits and dashes), so a part with any other letter outside its
wildcards and policy variables — `web-1`, `web-*`, `prod-db` — can never match an ARN.

## Why is this bad
Lightsail ARNs carry the resource's id, not the name you gave it:
`arn:aws:lightsail:us-east-1:111122223333:Instance/244ad76f-8aad-4741-809f-12345EXAMPLE`. An
entry `Instance/web-1` matches no request, so an Allow grants nothing on the instance and — worse
— a Deny protects nothing.

## Example
```json
{"Effect": "Deny", "Action": "lightsail:DeleteInstance",
 "Resource": "arn:aws:lightsail:us-east-1:111122223333:Instance/prod-db"}
```

## Use instead
Name the instance by its id (`aws lightsail get-instance --instance-name prod-db` shows its ARN),
or select instances by tag:
```json
{"Effect": "Deny", "Action": "lightsail:DeleteInstance", "Resource": "*",
 "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}}}
```

## References
- https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html#amazonlightsail-resources-for-iam-policies
- https://docs.aws.amazon.com/lightsail/latest/userguide/amazon-lightsail-managing-access-for-an-iam-user.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
"""

from __future__ import annotations

import string
from collections.abc import Iterator

from lspolicy.lint.context import PolicyContext, Report
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule
from lspolicy.variables import Literal, parse_template

_ID_CHARACTERS = frozenset(string.hexdigits + "-")


def _literal_text(value: str, *, substitute: bool) -> str:
    """The characters of ``value`` the policy fixes: wildcards and variables removed."""
    out = []
    for part in parse_template(value, substitute=substitute).parts:
        if isinstance(part, Literal):
            out.append(part.text if part.escaped else part.text.replace("*", "").replace("?", ""))
    return "".join(out)


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report Lightsail ARNs whose id part cannot be an id."""
    substitute = ctx.policy.substitutes_variables
    for st in ctx.statements():
        for element, entries in (("Resource", st.resources), ("NotResource", st.not_resources)):
            for i, arn in enumerate(entries or ()):
                parsed = ctx.catalog.parse_arn(arn)
                if parsed is None:
                    continue
                rtype = ctx.catalog.resource_type_of(arn)
                if rtype is None or not rtype.arn.endswith("/${Id}"):
                    continue
                fixed = _literal_text(parsed.id, substitute=substitute)
                bad = sorted(set(fixed) - _ID_CHARACTERS)
                if not bad:
                    continue
                yield Report(
                    ctx.at_element(st, element, i),
                    f"`{parsed.resource_type}/{parsed.id}` names the {rtype.name.lower()} by name: "
                    f"lightsail ARNs carry its id, a UUID, so this entry never matches",
                    st.sid,
                    f"use `{parsed.resource_type}/<id>` (the ARN `aws lightsail` shows for the "
                    "resource), or select resources with a condition on `aws:ResourceTag/<key>`",
                )


RULE = Rule(
    code="LSP105",
    name="resource-arn-uses-name",
    severity=Severity.ERROR,
    title="lightsail ARN that names a resource by its name instead of its id",
    doc=__doc__ or "",
    check=check,
)
