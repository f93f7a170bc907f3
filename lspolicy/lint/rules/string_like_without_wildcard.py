"""LSP112 string-like-without-wildcard: `StringLike` with values that have no wildcard.

## What it does
Reports a `StringLike` or `StringNotLike` condition (with any set qualifier and `IfExists`) none
of whose values has a `*` or `?` of the policy's own (`${*}` is a literal star, and a value a
policy variable substitutes is literal too).

## Why is this bad
Without a wildcard `StringLike` is `StringEquals`: the same decisions, but a reader expects a
pattern and wonders whether one was lost. Saying `StringEquals` states the intent.

## Example
```json
{"Condition": {"StringLike": {"aws:ResourceTag/env": "dev"}}}
```

## Use instead
```json
{"Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}}}
```
The fix is safe: the test suite evaluates policies before and after it on generated requests and
finds no decision that changes.

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.lint.context import PolicyContext, Report, has_wildcard_value, move_condition
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule

_EQUIVALENT = {"StringLike": "StringEquals", "StringNotLike": "StringNotEquals"}


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report ``StringLike`` conditions with no wildcard, with a safe fix to ``StringEquals``."""
    substitute = ctx.policy.substitutes_variables
    for st in ctx.statements():
        for cond in st.conditions:
            ref = ctx.operator(cond)
            target = _EQUIVALENT.get(ref.spec.name)
            if target is None or any(
                has_wildcard_value(v, substitute=substitute) for v in cond.values
            ):
                continue
            new = ref.name.replace(ref.spec.name, target, 1)
            yield Report(
                ctx.at_condition(st, cond),
                f"`{cond.operator}` on `{cond.key}` has no wildcard in its values: it is `{new}`",
                st.sid,
                f"use `{new}`",
                ctx.fix_statement(
                    f"replace `{cond.operator}` with `{new}`", "safe", st, move_condition, cond, new
                ),
            )


RULE = Rule(
    code="LSP112",
    name="string-like-without-wildcard",
    severity=Severity.SUGGESTION,
    title="StringLike condition whose values have no wildcard",
    doc=__doc__ or "",
    check=check,
    fixable=True,
)
