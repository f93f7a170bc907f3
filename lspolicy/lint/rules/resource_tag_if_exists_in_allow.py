"""LSP107 resource-tag-if-exists-in-allow: an Allow that tests a resource tag with `...IfExists`.

## What it does
Reports a positive `...IfExists` condition (`StringEqualsIfExists`, `StringLikeIfExists`, ...)
on `aws:ResourceTag/<key>` in an Allow statement, unless the same statement also requires the tag
to be present (a positive condition on the key without `IfExists`, or `Null: false`).

## Why is this bad
`...IfExists` is true when the key is missing, and the key is missing for every resource without
that tag. So `StringEqualsIfExists {"aws:ResourceTag/env": "dev"}` lets the principal act on dev
instances *and on every untagged instance* — often including the production instance someone
forgot to tag.

## Example
```json
{"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*",
 "Condition": {"StringEqualsIfExists": {"aws:ResourceTag/env": "dev"}}}
```

## Use instead
```json
{"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*",
 "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}}}
```
The fix drops `IfExists`; it is unsafe, because untagged resources are then denied (which is
the point).

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists
- https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html
- https://docs.aws.amazon.com/lightsail/latest/userguide/amazon-lightsail-controlling-access-using-tags.html
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.conditions.base import ValueType
from lspolicy.lint.context import PolicyContext, Report, move_condition
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule
from lspolicy.model.policy import Statement

_PREFIX = "aws:resourcetag/"


def _requires_presence(ctx: PolicyContext, st: Statement, key: str) -> bool:
    for ci, other in enumerate(st.conditions):
        if other.key.casefold() != key:
            continue
        if ctx.operator(other).spec.value_type is ValueType.NULL:
            if "false" in (v.lower() for v in other.values) and "true" not in (
                v.lower() for v in other.values
            ):
                return True
        elif not ctx.holds_when_missing(st, ci):
            return True
    return False


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report resource-tag ``...IfExists`` conditions that let untagged resources through."""
    for st in ctx.statements():
        if st.effect != "Allow":
            continue
        for cond in st.conditions:
            ref = ctx.operator(cond)
            key = cond.key.casefold()
            if not ref.if_exists or ref.spec.negated or not key.startswith(_PREFIX):
                continue
            if _requires_presence(ctx, st, key):
                continue
            strict = cond.operator[: -len("IfExists")]
            tag = cond.key[len(_PREFIX) :]
            yield Report(
                ctx.at_condition(st, cond),
                f"`{cond.operator}` on `{cond.key}` allows every resource without a `{tag}` tag, "
                "not only those whose tag matches",
                st.sid,
                f"use `{strict}`, so that untagged resources are denied",
                ctx.fix_statement(
                    f"replace `{cond.operator}` with `{strict}`",
                    "unsafe",
                    st,
                    move_condition,
                    cond,
                    strict,
                ),
            )


RULE = Rule(
    code="LSP107",
    name="resource-tag-if-exists-in-allow",
    severity=Severity.SECURITY,
    title="allow whose resource-tag condition also matches untagged resources",
    doc=__doc__ or "",
    check=check,
    fixable=True,
)
