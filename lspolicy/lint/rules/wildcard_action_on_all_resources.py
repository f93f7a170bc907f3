"""LSP108 wildcard-action-on-all-resources: an Allow of a wildcard action on every resource,
with no condition.

## What it does
Reports an entry of `Action` with a wildcard (`*`, `lightsail:*`, `lightsail:Stop*`) in an Allow
statement with no `Condition` whose `Resource` covers every Lightsail resource (`"*"`, or a
pattern the engine's matcher finds matching every resource type in any region and account),
when the pattern covers at least one Lightsail action that is not read-only (access level
Write, Tagging or Permissions management, from the catalog). Read-only patterns are not
reported; note that `lightsail:Get*` is not one: it covers
`lightsail:GetInstanceAccessDetails` (temporary SSH keys for any instance) and
`lightsail:GetRelationalDatabaseMasterUserPassword`, which the catalog grades Write.

## Why is this bad
The principal may stop, delete or re-tag every instance in the account, including ones created
after the policy was written, and the pattern grows with every action Lightsail adds.

## Example
```json
{"Effect": "Allow", "Action": "lightsail:Stop*", "Resource": "*"}
```

## Use instead
Name the actions, and limit the resources by tag or ARN:
```json
{"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*",
 "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}}
```

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
- https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from lspolicy.evaluate.resource import compile_resource_pattern
from lspolicy.glob import tokens_of
from lspolicy.lightsail.catalog import Catalog
from lspolicy.lint.context import PolicyContext, Report, is_lightsail_action
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule

_READ_ONLY = frozenset({"List", "Read"})
_PROBE_ID = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"


@cache
def _probes(catalog: Catalog) -> tuple[str, ...]:
    return tuple(
        catalog.arn_for(rt, region=region, account=account, id=_PROBE_ID)
        for rt in catalog.resource_types
        for region in ("us-east-1", "eu-west-2")
        for account in ("111122223333", "444455556666")
    )


def _covers_everything(catalog: Catalog, resource: str) -> bool:
    if resource == "*":
        return True
    if "$" in resource:
        return False
    pattern = compile_resource_pattern(tokens_of(resource))
    return all(pattern(arn) for arn in _probes(catalog))


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report wildcard Allow entries on every resource with no condition."""
    for st in ctx.statements():
        if st.effect != "Allow" or st.conditions or st.actions is None:
            continue
        if not any(_covers_everything(ctx.catalog, r) for r in st.resources or ()):
            continue
        for i, pattern in enumerate(st.actions):
            if "*" not in pattern and "?" not in pattern:
                continue
            if pattern != "*" and not is_lightsail_action(pattern):
                continue
            writes = [a for a in ctx.lightsail_actions(pattern) if a.access_level not in _READ_ONLY]
            if not writes:
                continue
            shown = ", ".join(f"`{a.iam_name}`" for a in writes[:3])
            more = f" and {len(writes) - 3} more" if len(writes) > 3 else ""
            yield Report(
                ctx.at_element(st, "Action", i),
                f"`{pattern}` on every resource with no condition allows {len(writes)} "
                f"lightsail action(s) that are not read-only ({shown}{more})",
                st.sid,
                "name the actions, and limit the resources by ARN or by `aws:ResourceTag/<key>`",
            )


RULE = Rule(
    code="LSP108",
    name="wildcard-action-on-all-resources",
    severity=Severity.SECURITY,
    title="allow of a wildcard action on every resource with no condition",
    doc=__doc__ or "",
    check=check,
)
