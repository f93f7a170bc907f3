"""LSP102 action-wildcard-matches-nothing: an action pattern that covers no action of any service.

## What it does
Expands each entry with `*` or `?` in `Action` and `NotAction` over the actions of every service
in the Service Authorization Reference (`lspolicy.services`), with the same matcher the
evaluator uses (case-insensitive; a wildcard spans the whole `service:action` name), and reports
patterns that match none.

## Why is this bad
The pattern grants (or denies, or excludes) nothing today. It is usually a misspelling
(`ec2:Stopp*`), an unknown service prefix (`ec3:*`) or another service's naming
(`lightsail:Describe*`: Lightsail reads are `Get*`).

## Example
```json
{"Effect": "Allow", "Action": ["lightsail:Describe*", "ec2:Stopp*"], "Resource": "*"}
```

## Use instead
```json
{"Effect": "Allow", "Action": ["lightsail:Get*", "ec2:Stop*"], "Resource": "*"}
```

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
- https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.lint.context import PolicyContext, Report, is_pattern
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule


def _hint(ctx: PolicyContext, pattern: str) -> str:
    prefix, colon, rest = pattern.lower().partition(":")
    if prefix == "lightsail" and rest.startswith(("describe", "list")):
        return "lightsail's read actions start with `Get`, not `Describe` or `List`"
    if colon and not is_pattern(prefix) and ctx.services.service(prefix) is None:
        close = ctx.services.suggest_action(f"{prefix}:{rest.strip('*?')}")
        near = sorted({c.partition(":")[0] for c in close})
        if near:
            return (
                f"no aws service has the prefix `{prefix}`; did you mean "
                + " or ".join(f"`{n}`" for n in near)
                + "?"
            )
        return f"no aws service has the prefix `{prefix}`"
    return "check the spelling against the Service Authorization Reference"


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report each action pattern that matches no action."""
    for st in ctx.statements():
        for element, entries in (("Action", st.actions), ("NotAction", st.not_actions)):
            for i, pattern in enumerate(entries or ()):
                if not is_pattern(pattern) or ctx.actions(pattern):
                    continue
                if pattern.lower().startswith("lightsail:") and ctx.lightsail_actions(pattern):
                    continue
                yield Report(
                    ctx.at_element(st, element, i),
                    f"`{pattern}` matches no action of any aws service",
                    st.sid,
                    _hint(ctx, pattern),
                )


RULE = Rule(
    code="LSP102",
    name="action-wildcard-matches-nothing",
    severity=Severity.ERROR,
    title="action pattern that matches no action",
    doc=__doc__ or "",
    check=check,
)
