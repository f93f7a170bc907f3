"""LSP113 string-equals-with-wildcard: `StringEquals` with a `*` or `?` in a value.

## What it does
Reports a `StringEquals`-family condition (`StringEquals`, `StringNotEquals` and their
`IgnoreCase` forms, with any qualifier) with a value that holds `*` or `?` in the policy's own
text (not from `${*}` or a substituted variable).

## Why is this bad
`StringEquals` compares characters exactly: `"dev-*"` matches only the literal text `dev-*`,
never `dev-1`. Tag values and user names cannot even contain `*`, so such a value usually never
matches. The author meant `StringLike`.

## Example
```json
{"Condition": {"StringEquals": {"aws:ResourceTag/env": "dev-*"}}}
```

## Use instead
```json
{"Condition": {"StringLike": {"aws:ResourceTag/env": "dev-*"}}}
```
The fix (for the case-sensitive operators) is unsafe: it makes the condition match what it did
not match before.

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.conditions.base import ValueType
from lspolicy.lint.context import PolicyContext, Report, has_wildcard_value, move_condition
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule

_LIKE = {"StringEquals": "StringLike", "StringNotEquals": "StringNotLike"}


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report exact string comparisons against values that look like patterns."""
    substitute = ctx.policy.substitutes_variables
    for st in ctx.statements():
        for cond in st.conditions:
            ref = ctx.operator(cond)
            if ref.spec.value_type is not ValueType.STRING or ref.spec.wildcards:
                continue
            starred = [v for v in cond.values if has_wildcard_value(v, substitute=substitute)]
            if not starred:
                continue
            like = _LIKE.get(ref.spec.name)
            new = ref.name.replace(ref.spec.name, like, 1) if like else None
            fix = (
                ctx.fix_statement(
                    f"replace `{cond.operator}` with `{new}`",
                    "unsafe",
                    st,
                    move_condition,
                    cond,
                    new,
                )
                if new
                else None
            )
            yield Report(
                ctx.at_condition(st, cond),
                f"`{cond.operator}` compares `{starred[0]}` literally: `*` and `?` are wildcards "
                "only for `StringLike`",
                st.sid,
                f"use `{new}`" if new else "use `StringLike` (it is case-sensitive)",
                fix,
            )


RULE = Rule(
    code="LSP113",
    name="string-equals-with-wildcard",
    severity=Severity.WARNING,
    title="StringEquals condition with a wildcard in a value",
    doc=__doc__ or "",
    check=check,
    fixable=True,
)
