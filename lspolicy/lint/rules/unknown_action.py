"""LSP101 unknown-action: an action name that no AWS service defines.

## What it does
Checks each entry without wildcards in `Action` and `NotAction`, of any service, against the
actions of the Service Authorization Reference (`lspolicy.services`, a dated extract of every
service), and suggests the closest names. An unknown service prefix (`ec3:`) is reported as
such, with the close prefixes' actions. Action names are case-insensitive, so
`ec2:stopinstances` is fine; `ec2:StopInstancez` is not.

## Why is this bad
An action that does not exist matches no request: the statement silently grants (or denies)
nothing for it. Common causes are typos and another service's spelling: `ec2:StopInstances` is
plural, Lightsail's `lightsail:StopInstance` is not.

## Example
```json
{"Effect": "Allow", "Action": ["lightsail:StopInstances", "s3:GetObjekt"], "Resource": "*"}
```

## Use instead
```json
{"Effect": "Allow", "Action": ["lightsail:StopInstance", "s3:GetObject"], "Resource": "*"}
```
The fix replaces the name with the closest action. It is unsafe: it changes what the statement
grants, which is the point, so read it before applying it. An action that AWS added after the
bundled extract was made is also reported: refresh the extract
(`scripts/refresh_service_data.py`).

## References
- https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.lint.context import PolicyContext, Report, is_pattern, replace_entry
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule
from lspolicy.sources.symbolic import MARK


def _known(ctx: PolicyContext, name: str) -> bool:
    if ctx.services.find_action(name) is not None:
        return True
    # Lightsail's own catalog may know an action the reference does not list yet
    return name.lower().startswith("lightsail:") and ctx.catalog.find_action(name) is not None


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report each unknown action name, with a did-you-mean and a fix."""
    for st in ctx.statements():
        for element, entries in (("Action", st.actions), ("NotAction", st.not_actions)):
            for i, name in enumerate(entries or ()):
                prefix, colon, _ = name.partition(":")
                if not colon or is_pattern(name) or MARK in name or _known(ctx, name):
                    continue
                close = ctx.services.suggest_action(name, limit=1)
                best = next((c for c in close if ":" in c), None)
                if ctx.services.service(prefix) is None:
                    message = (
                        f"unknown action `{name}`: no aws service has the prefix `{prefix}`, so "
                        "it matches no request"
                    )
                else:
                    message = (
                        f"unknown action `{name}`: {prefix.lower()} defines no such action, so it "
                        "matches no request"
                    )
                if best is not None:
                    hint = f"did you mean `{best}`?"
                elif close:
                    hint = f"did you mean the service `{close[0]}`?"
                else:
                    hint = "see the service's actions in the Service Authorization Reference"
                fix = None
                if best is not None:
                    fix = ctx.fix_statement(
                        f"replace `{name}` with `{best}`",
                        "unsafe",
                        st,
                        replace_entry,
                        element,
                        i,
                        best,
                    )
                yield Report(ctx.at_element(st, element, i), message, st.sid, hint, fix)


RULE = Rule(
    code="LSP101",
    name="unknown-action",
    severity=Severity.ERROR,
    title="action name that no aws service defines",
    doc=__doc__ or "",
    check=check,
    fixable=True,
)
