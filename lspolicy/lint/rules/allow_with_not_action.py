"""LSP109 allow-with-not-action: an Allow statement written with `NotAction`.

## What it does
Reports every Allow statement that uses `NotAction`, with how many actions of every service it
allows today (from the all-service catalog, `lspolicy.services`).

## Why is this bad
`NotAction` with Allow grants every action of every AWS service except those listed, including
actions added later. It is almost always broader than meant: `"NotAction": "lightsail:Delete*"`
also allows `iam:*` when `Resource` is `"*"`.

## Example
```json
{"Effect": "Allow", "NotAction": "lightsail:DeleteInstance", "Resource": "*"}
```

## Use instead
List what is allowed; use `NotAction` only with Deny:
```json
{"Effect": "Allow", "Action": ["lightsail:StartInstance", "lightsail:StopInstance"],
 "Resource": "*"}
```

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.lint.context import PolicyContext, Report
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report Allow statements with NotAction."""
    for st in ctx.statements():
        if st.effect != "Allow" or st.not_actions is None:
            continue
        excluded = {a.iam_name for p in st.not_actions for a in ctx.actions(p)}
        total = sum(len(ctx.services.action_names(s)) for s in ctx.services.prefixes)
        yield Report(
            ctx.at_element(st, "NotAction"),
            f"allow with `NotAction` grants every action of every service except those listed "
            f"({total - len(excluded)} actions of {len(ctx.services.prefixes)} services today, "
            "and any added later)",
            st.sid,
            "list the allowed actions in `Action`; keep `NotAction` for Deny statements",
        )


RULE = Rule(
    code="LSP109",
    name="allow-with-not-action",
    severity=Severity.SECURITY,
    title="allow statement written with NotAction",
    doc=__doc__ or "",
    check=check,
)
