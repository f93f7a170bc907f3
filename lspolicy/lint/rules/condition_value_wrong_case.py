"""LSP114 condition-value-wrong-case: a case-sensitive comparison with a value in the wrong case.

## What it does
For global keys whose values AWS fixes — booleans such as `aws:SecureTransport` and
`aws:MultiFactorAuthPresent` (`true` / `false`), `aws:PrincipalType` (`User`, `AssumedRole`,
...), and region codes in `aws:RequestedRegion` (always lower case) — reports a value of a
case-sensitive operator (`StringEquals`, `StringNotEquals`, `StringLike`, `StringNotLike`) that
differs from every value the key can take, but only in case. That is provable: no request can
carry such a value.

## Why is this bad
`StringEquals {"aws:SecureTransport": "True"}` never matches, since the request holds `true`; in
an Allow the statement grants nothing, in a Deny it protects nothing. (`Bool` compares without
regard to case and is the operator meant for booleans.)

## Example
```json
{"Effect": "Deny", "Action": "lightsail:*", "Resource": "*",
 "Condition": {"StringNotEquals": {"aws:RequestedRegion": "US-EAST-1"}}}
```
This denies every request, in `us-east-1` too.

## Use instead
```json
{"Effect": "Deny", "Action": "lightsail:*", "Resource": "*",
 "Condition": {"StringNotEquals": {"aws:RequestedRegion": "us-east-1"}}}
```
The fix rewrites the value as AWS spells it; it is unsafe, since the condition then matches.

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Boolean
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.conditions.base import ValueType
from lspolicy.lint.context import JsonValue, PolicyContext, Report
from lspolicy.lint.finding import Severity
from lspolicy.lint.global_keys import GlobalKey, find_global_key
from lspolicy.lint.rule import Rule
from lspolicy.model.policy import Condition


def _correct(key: GlobalKey, value: str) -> str | None:
    """The spelling AWS uses when ``value`` is wrong only in case, else None."""
    if "${" in value or "*" in value or "?" in value:
        return None
    if key.values is not None:
        if value in key.values:
            return None
        return next((v for v in key.values if v.casefold() == value.casefold()), None)
    if key.lowercase and value != value.lower():
        return value.lower()
    return None


def _respell(stmt: dict[str, JsonValue], cond: Condition, wrong: str, right: str) -> bool:
    block = stmt.get("Condition")
    inner = block.get(cond.operator) if isinstance(block, dict) else None
    if not isinstance(inner, dict) or cond.key not in inner:
        return False
    raw = inner[cond.key]
    inner[cond.key] = [right if v == wrong else v for v in raw] if isinstance(raw, list) else right
    return True


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report values of fixed-spelling keys that are wrong only in case."""
    for st in ctx.statements():
        for cond in st.conditions:
            spec = ctx.operator(cond).spec
            if spec.value_type is not ValueType.STRING or spec.ignore_case:
                continue
            key = find_global_key(cond.key)
            if key is None:
                continue
            for value in cond.values:
                right = _correct(key, value)
                if right is None:
                    continue
                yield Report(
                    ctx.at_condition(st, cond),
                    f"`{cond.key}` is never `{value}`: aws spells it `{right}`, and "
                    f"`{cond.operator}` is case-sensitive, so this value never matches",
                    st.sid,
                    f"write `{right}`" + (", or use `Bool`" if key.type == "Bool" else ""),
                    ctx.fix_statement(
                        f"write `{right}` for `{value}`", "unsafe", st, _respell, cond, value, right
                    ),
                )


RULE = Rule(
    code="LSP114",
    name="condition-value-wrong-case",
    severity=Severity.ERROR,
    title="case-sensitive condition value that aws never spells that way",
    doc=__doc__ or "",
    check=check,
    fixable=True,
)
