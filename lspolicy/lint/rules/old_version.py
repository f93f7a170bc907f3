"""LSP119 old-version: the policy says `"Version": "2008-10-17"`.

## What it does
Reports a policy written in the old policy language version. The fix sets `2012-10-17`; it is
safe when the policy holds no `${...}` text (then no decision changes — the test suite checks it
on generated requests), and unsafe otherwise, since policy variables start being substituted.

## Why is this bad
Under `2008-10-17`, policy variables (`${aws:username}`, `${aws:PrincipalTag/team}`) are plain
text and never substituted, and newer language features are unavailable.

## Example
```json
{"Version": "2008-10-17",
 "Statement": {"Effect": "Allow", "Action": "lightsail:GetInstances", "Resource": "*"}}
```

## Use instead
```json
{"Version": "2012-10-17",
 "Statement": {"Effect": "Allow", "Action": "lightsail:GetInstances", "Resource": "*"}}
```

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.lint.context import PolicyContext, Report
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule
from lspolicy.lint.rules.missing_version import set_version, version_fix_safety
from lspolicy.model.policy import VERSION_2008, VERSION_2012


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report Version 2008-10-17, with a fix to 2012-10-17."""
    if ctx.policy.version != VERSION_2008:
        return
    yield Report(
        ctx.at_top("Version"),
        f"`Version` {VERSION_2008} is the old policy language: it substitutes no policy variables",
        None,
        f'use `"Version": "{VERSION_2012}"`',
        ctx.fix(f'set "Version": "{VERSION_2012}"', version_fix_safety(ctx), set_version),
    )


RULE = Rule(
    code="LSP119",
    name="old-version",
    severity=Severity.WARNING,
    title="policy in the old 2008-10-17 language version",
    doc=__doc__ or "",
    check=check,
    fixable=True,
)
