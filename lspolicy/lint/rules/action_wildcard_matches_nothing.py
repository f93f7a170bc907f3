"""LSP102 action-wildcard-matches-nothing: a `lightsail:` action pattern that covers no action.

## What it does
Expands each `lightsail:` entry with `*` or `?` in `Action` and `NotAction` over the Lightsail
actions of the Service Authorization Reference, with the same matcher the evaluator uses, and
reports patterns that match none.

## Why is this bad
The pattern grants (or denies, or excludes) nothing today. It is usually a misspelling
(`lightsail:Stopp*`) or another service's naming (`lightsail:Describe*`: Lightsail reads are
`Get*`).

## Example
```json
{"Effect": "Allow", "Action": "lightsail:Describe*", "Resource": "*"}
```

## Use instead
```json
{"Effect": "Allow", "Action": "lightsail:Get*", "Resource": "*"}
```

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
- https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.lint.context import PolicyContext, Report, is_lightsail_action
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report each Lightsail action pattern that matches no Lightsail action."""
    for st in ctx.statements():
        for element, entries in (("Action", st.actions), ("NotAction", st.not_actions)):
            for i, pattern in enumerate(entries or ()):
                if not is_lightsail_action(pattern) or ("*" not in pattern and "?" not in pattern):
                    continue
                if ctx.lightsail_actions(pattern):
                    continue
                yield Report(
                    ctx.at_element(st, element, i),
                    f"`{pattern}` matches no lightsail action",
                    st.sid,
                    "lightsail's read actions start with `Get`, not `Describe` or `List`"
                    if pattern.lower().startswith(("lightsail:describe", "lightsail:list"))
                    else "check the spelling against the Service Authorization Reference",
                )


RULE = Rule(
    code="LSP102",
    name="action-wildcard-matches-nothing",
    severity=Severity.ERROR,
    title="action pattern that matches no lightsail action",
    doc=__doc__ or "",
    check=check,
)
