"""LSP120 variable-not-substituted: a policy variable in a policy whose version ignores it.

## What it does
Reports each `Resource`, `NotResource` or condition value that holds a policy variable
(`${aws:username}`, `${aws:PrincipalTag/team}`, `${*}`) in a policy that is not
`"Version": "2012-10-17"` (it says `2008-10-17`, or has no `Version`).

## Why is this bad
Only version 2012-10-17 substitutes variables. Otherwise `${aws:username}` is the literal text
`${aws:username}`: an ARN such as `...:Instance/${aws:username}-*` or a condition
`{"aws:ResourceTag/owner": "${aws:username}"}` matches nothing real, so the statement silently
stops working.

## Example
```json
{"Version": "2008-10-17",
 "Statement": {"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*",
               "Condition": {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}}}}
```

## Use instead
```json
{"Version": "2012-10-17",
 "Statement": {"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*",
               "Condition": {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}}}}
```
The fix sets the version; it is unsafe, because the variables then take effect.

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.lint.context import PolicyContext, Report
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule
from lspolicy.lint.rules.missing_version import set_version
from lspolicy.model.policy import VERSION_2012
from lspolicy.variables import parse_template


def _has_variable(value: str) -> bool:
    return "${" in value and parse_template(value, substitute=True).parts != (
        parse_template(value, substitute=False).parts
    )


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report policy variables in a policy that will not substitute them."""
    if ctx.policy.substitutes_variables:
        return
    version = ctx.policy.version or "no Version"
    fix = ctx.fix(f'set "Version": "{VERSION_2012}"', "unsafe", set_version)
    for st in ctx.statements():
        places = [
            (ctx.at_element(st, element, i), value)
            for element, entries in (("Resource", st.resources), ("NotResource", st.not_resources))
            for i, value in enumerate(entries or ())
            if _has_variable(value)
        ]
        places += [
            (ctx.at_condition(st, cond), value)
            for cond in st.conditions
            for value in cond.values
            if _has_variable(value)
        ]
        for location, value in places:
            yield Report(
                location,
                f"`{value}` is taken literally: policies with {version} do not substitute "
                "policy variables",
                st.sid,
                f'set `"Version": "{VERSION_2012}"`',
                fix,
            )


RULE = Rule(
    code="LSP120",
    name="variable-not-substituted",
    severity=Severity.ERROR,
    title="policy variable in a policy version that does not substitute it",
    doc=__doc__ or "",
    check=check,
    fixable=True,
)
