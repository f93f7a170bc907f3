"""LSP101 unknown-action: an action name Lightsail does not define.

## What it does
Checks each `lightsail:` entry without wildcards in `Action` and `NotAction` against the
Lightsail actions of the Service Authorization Reference (`lspolicy.lightsail.catalog`), and
suggests the closest names. Action names are case-insensitive, so `lightsail:stopinstance` is
fine; `lightsail:StopInstances` is not.

## Why is this bad
An action that does not exist matches no request: the statement silently grants (or denies)
nothing for it. A common cause is EC2's spelling: `ec2:StopInstances` is plural, Lightsail's
`lightsail:StopInstance` is not.

## Example
```json
{"Effect": "Allow", "Action": "lightsail:StopInstances", "Resource": "*"}
```

## Use instead
```json
{"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*"}
```
The fix replaces the name with the closest Lightsail action. It is unsafe: it changes what the
statement grants, which is the point, so read it before applying it.

## References
- https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.lint.context import PolicyContext, Report, is_lightsail_action, replace_entry
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report each unknown Lightsail action name, with a did-you-mean and a fix."""
    for st in ctx.statements():
        for element, entries in (("Action", st.actions), ("NotAction", st.not_actions)):
            for i, name in enumerate(entries or ()):
                if not is_lightsail_action(name) or "*" in name or "?" in name:
                    continue
                if ctx.catalog.find_action(name) is not None:
                    continue
                close = ctx.catalog.suggest_action(name, limit=1)
                hint = (
                    f"did you mean `lightsail:{close[0]}`?"
                    if close
                    else "see the Lightsail actions in the Service Authorization Reference"
                )
                fix = None
                if close:
                    best = f"lightsail:{close[0]}"
                    fix = ctx.fix_statement(
                        f"replace `{name}` with `{best}`",
                        "unsafe",
                        st,
                        replace_entry,
                        element,
                        i,
                        best,
                    )
                yield Report(
                    ctx.at_element(st, element, i),
                    f"unknown action `{name}`: lightsail defines no such action, so it matches "
                    "no request",
                    st.sid,
                    hint,
                    fix,
                )


RULE = Rule(
    code="LSP101",
    name="unknown-action",
    severity=Severity.ERROR,
    title="action name that lightsail does not define",
    doc=__doc__ or "",
    check=check,
    fixable=True,
)
