"""LSP115 condition-values-differ-in-case: values for one key that differ only in case.

## What it does
Collects, across the policy, the values each condition key is compared with by case-sensitive
string operators (`StringEquals`, `StringNotEquals`, `StringLike`, `StringNotLike`), and reports
a value that differs only in case from one used earlier for the same key (`prod` and `Prod` for
`aws:ResourceTag/env`).

## Why is this bad
Tag values and most request values are case-sensitive: `prod` and `Prod` are different values,
and a given resource carries at most one of them. Two spellings in one policy usually mean one
statement never matches the resources the other was written for — a Deny that misses `Prod`
instances, or an Allow that does not reach them. (Only keys whose spelling AWS fixes are
provably wrong; LSP114 reports those as errors.)

## Example
```json
[{"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*",
  "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}}},
 {"Effect": "Deny", "Action": "lightsail:StopInstance", "Resource": "*",
  "Condition": {"StringEquals": {"aws:ResourceTag/env": "Prod"}}}]
```

## Use instead
Spell the value one way everywhere, or compare with `StringEqualsIgnoreCase`:
```json
{"Condition": {"StringEqualsIgnoreCase": {"aws:ResourceTag/env": "prod"}}}
```

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
- https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.conditions.base import ValueType
from lspolicy.lint.context import PolicyContext, Report
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule
from lspolicy.model.policy import Statement


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report values that differ only in case from an earlier value for the same key."""
    seen: dict[tuple[str, str], tuple[str, Statement]] = {}
    for st in ctx.statements():
        for cond in st.conditions:
            spec = ctx.operator(cond).spec
            if spec.value_type is not ValueType.STRING or spec.ignore_case:
                continue
            key = cond.key.casefold()
            for value in cond.values:
                folded = (key, value.casefold())
                first = seen.get(folded)
                if first is None:
                    seen[folded] = (value, st)
                    continue
                if first[0] == value:
                    continue
                yield Report(
                    ctx.at_condition(st, cond),
                    f"`{value}` differs only in case from `{first[0]}`, used for `{cond.key}` in "
                    f"`{first[1].label}`: `{cond.operator}` is case-sensitive, so no value "
                    "matches both",
                    st.sid,
                    "spell the value one way, or compare with `StringEqualsIgnoreCase`",
                    related=(ctx.at_statement(first[1]),),
                )


RULE = Rule(
    code="LSP115",
    name="condition-values-differ-in-case",
    severity=Severity.WARNING,
    title="values for one condition key that differ only in case",
    doc=__doc__ or "",
    check=check,
)
