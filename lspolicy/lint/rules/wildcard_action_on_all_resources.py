"""LSP108 wildcard-action-on-all-resources: an Allow of a wildcard action on every resource,
with no condition.

## What it does
Reports an entry of `Action` with a wildcard in an Allow statement with no `Condition` whose
`Resource` covers every resource of the actions (`"*"`, or a pattern the engine's matcher finds
matching every ARN of their resource types in any region and account), when the pattern covers
at least one action that is not read-only (access level Write, Tagging or Permissions
management, from the Service Authorization Reference of any service). It says what is granted:

- `"Action": "*"` is **full administrator access**: every action of every service;
- `service:*` (`"ec2:*"`) is full access to that service;
- any other pattern (`lightsail:Stop*`, `s3:Put*`) lists the actions that are not read-only.

Read-only patterns are not reported; note that `lightsail:Get*` is not one: it covers
`lightsail:GetInstanceAccessDetails` (temporary SSH keys for any instance) and
`lightsail:GetRelationalDatabaseMasterUserPassword`, which the reference grades Write.

## Why is this bad
The principal may stop, delete or re-tag every resource in the account, including ones created
after the policy was written, and the pattern grows with every action AWS adds.

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
- https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_job-functions.html
- https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache

from lspolicy.evaluate.resource import compile_resource_pattern
from lspolicy.glob import tokens_of
from lspolicy.lint.context import PolicyContext, Report, is_pattern
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule
from lspolicy.services import ServiceAction, ServiceCatalog

_READ_ONLY = frozenset({"List", "Read"})
_REGIONS = ("us-east-1", "eu-west-2")
_ACCOUNTS = ("111122223333", "444455556666")
_PROBE_ID = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"


def _fill(template: str, region: str, account: str) -> str:
    out, rest = [], template
    while "${" in rest:
        head, _, tail = rest.partition("${")
        var, _, rest = tail.partition("}")
        out.append(head)
        out.append({"Partition": "aws", "Region": region, "Account": account}.get(var, _PROBE_ID))
    out.append(rest)
    return "".join(out)


@cache
def _probes(catalog: ServiceCatalog, service: str, name: str) -> tuple[str, ...]:
    """ARNs of a resource type in two regions and two accounts."""
    rt = catalog.resource_type(service, name)
    if rt is None:
        return ()
    return tuple(_fill(rt.arn, r, a) for r in _REGIONS for a in _ACCOUNTS)


def _covers_everything(
    catalog: ServiceCatalog, resource: str, actions: Sequence[ServiceAction]
) -> bool:
    if resource == "*":
        return True
    if "$" in resource or not is_pattern(resource):
        return False
    pattern = compile_resource_pattern(tokens_of(resource))
    probes = {
        p for a in actions for rt in a.resource_types for p in _probes(catalog, a.service, rt.name)
    }
    return bool(probes) and all(pattern(arn) for arn in probes)


def _message(pattern: str, writes: Sequence[ServiceAction], total: int) -> str:
    prefix, _, rest = pattern.partition(":")
    if _is_admin(pattern):
        return (
            f"`{pattern}` on every resource with no condition is full administrator access: "
            "every action of every aws service"
        )
    if not is_pattern(prefix) and rest and set(rest) == {"*"}:
        return (
            f"`{pattern}` on every resource with no condition is full access to "
            f"{prefix.lower()}: all {total} of its actions, {len(writes)} of them not read-only"
        )
    shown = ", ".join(f"`{a.iam_name}`" for a in writes[:3])
    more = f" and {len(writes) - 3} more" if len(writes) > 3 else ""
    return (
        f"`{pattern}` on every resource with no condition allows {len(writes)} action(s) that "
        f"are not read-only ({shown}{more})"
    )


def _is_admin(pattern: str) -> bool:
    """``*`` or ``*:*``: every action of every service."""
    return set(pattern) <= {"*", ":"}


_ADMIN_SAMPLE = ("s3:GetObject", "ec2:StopInstances", "iam:PassRole", "lightsail:StopInstance")


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report wildcard Allow entries on every resource with no condition."""
    for st in ctx.statements():
        if st.effect != "Allow" or st.conditions or st.actions is None:
            continue
        resources = st.resources or ()
        for i, pattern in enumerate(st.actions):
            if not is_pattern(pattern):
                continue
            admin = _is_admin(pattern)
            if admin:
                found = (ctx.services.find_action(n) for n in _ADMIN_SAMPLE)
                covered = tuple(a for a in found if a is not None)
            else:
                covered = ctx.actions(pattern)
            if not any(_covers_everything(ctx.services, r, covered) for r in resources):
                continue
            writes = [a for a in covered if a.access_level not in _READ_ONLY]
            if not admin and not writes:
                continue
            yield Report(
                ctx.at_element(st, "Action", i),
                _message(pattern, writes, len(covered)),
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
