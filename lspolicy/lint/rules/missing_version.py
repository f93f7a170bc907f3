"""LSP118 missing-version: the policy has no `Version` element.

## What it does
Reports a policy without `"Version"`. The fix adds `"Version": "2012-10-17"`; it is safe when the
policy holds no `${...}` text (then the version changes no decision — the test suite checks it on
generated requests), and unsafe otherwise, since policy variables start being substituted.

## Why is this bad
Without a `Version`, IAM reads the policy under the old `2008-10-17` language: policy variables
such as `${aws:username}` are taken as literal text, and newer features are unavailable. A
reader cannot tell which was meant.

## Example
```json
{"Statement": {"Effect": "Allow", "Action": "lightsail:GetInstances", "Resource": "*"}}
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

from lspolicy.lint.context import JsonValue, PolicyContext, Report
from lspolicy.lint.finding import FixSafety, Severity
from lspolicy.lint.rule import Rule
from lspolicy.model.policy import VERSION_2012


def set_version(doc: dict[str, JsonValue]) -> None:
    """Put ``"Version": "2012-10-17"`` first in a document."""
    rest = {k: v for k, v in doc.items() if k != "Version"}
    doc.clear()
    doc["Version"] = VERSION_2012
    doc.update(rest)


def version_fix_safety(ctx: PolicyContext) -> FixSafety:
    """Safe when no string in the policy could be a policy variable."""
    return "unsafe" if "${" in repr(ctx.policy.to_json()) else "safe"


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report a policy without a Version, with a fix that adds 2012-10-17."""
    if ctx.policy.version is not None:
        return
    yield Report(
        ctx.at_top(),
        "the policy has no `Version`: IAM reads it as 2008-10-17, without policy variables",
        None,
        f'add `"Version": "{VERSION_2012}"`',
        ctx.fix(f'add "Version": "{VERSION_2012}"', version_fix_safety(ctx), set_version),
    )


RULE = Rule(
    code="LSP118",
    name="missing-version",
    severity=Severity.WARNING,
    title="policy without a Version element",
    doc=__doc__ or "",
    check=check,
    fixable=True,
)
