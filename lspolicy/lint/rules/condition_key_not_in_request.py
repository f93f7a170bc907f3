"""LSP103 condition-key-not-in-request: a condition key the statement's action never carries.

## What it does
For each condition on a tag key (`aws:ResourceTag/<key>`, `aws:RequestTag/<key>`,
`aws:TagKeys`) or a service's key (`lightsail:`, `s3:`, `ec2:`, ... any service prefix), asks
the catalog — the Service Authorization Reference's condition keys per action and per resource
type, for every service (`lspolicy.services`; Lightsail's own catalog for `lightsail:` actions)
— whether each action the statement names can carry it. It reports an action named explicitly (or a pattern none of whose actions can) that
never carries the key, and says what the condition then does, as the evaluator computes it for a
request without the key: a positive operator never matches; `...IfExists`, a negated operator,
`ForAllValues` or `Null: true` always match.

Global keys that any request may carry (`aws:SourceIp`, `aws:PrincipalTag/<key>`,
`aws:MultiFactorAuthPresent`, ...) are never reported: AWS's list of them is kept as data in
`lspolicy.lint.global_keys`.

## Why is this bad
`lightsail:StopInstance` carries no request tags: a stop request does not tag anything. So
`StringEquals {"aws:RequestTag/env": "dev"}` on a stop never matches and the statement grants
nothing for it, while `StringEqualsIfExists` on the same key always matches and restricts
nothing. Either way the condition does not do what it says.

## Example
```json
{"Effect": "Allow", "Action": ["lightsail:StopInstance", "lightsail:TagResource"],
 "Resource": "*", "Condition": {"StringEquals": {"aws:RequestTag/env": "dev"}}}
```

## Use instead
Test the tags of the instance being stopped, and keep request-tag conditions for the actions
that tag:
```json
[{"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*",
  "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}}},
 {"Effect": "Allow", "Action": "lightsail:TagResource", "Resource": "*",
  "Condition": {"StringEquals": {"aws:RequestTag/env": "dev"}}}]
```

## References
- https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
- https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.lint.context import PolicyContext, Report, is_lightsail_action, is_pattern
from lspolicy.lint.finding import Severity
from lspolicy.lint.global_keys import find_global_key
from lspolicy.lint.rule import Rule
from lspolicy.model.policy import Statement


def _service_scoped(ctx: PolicyContext, key: str) -> bool:
    found = find_global_key(key)
    if found is not None:
        return found.scope == "service"
    prefix, colon, _ = key.partition(":")
    return bool(colon) and ctx.services.service(prefix) is not None


def _carries(ctx: PolicyContext, pattern: str, key: str) -> tuple[str, bool] | None:
    """The name to show for ``pattern`` and whether one of its actions carries ``key``; None for
    an entry this rule leaves alone (another service part wildcard, or matching nothing)."""
    if is_lightsail_action(pattern):
        ls = ctx.lightsail_actions(pattern)
        if not ls:
            return None  # an unknown action or an empty pattern: LSP101/LSP102 report it
        shown = ls[0].iam_name if ls[0].iam_name.lower() == pattern.lower() else pattern
        return shown, any(ctx.catalog.supports_condition_key(a, key) for a in ls)
    if is_pattern(pattern.partition(":")[0]):
        return None  # `*` or `ec*:...`: covers many services, some carry the key
    covered = ctx.actions(pattern)
    if not covered:
        return None
    shown = covered[0].iam_name if covered[0].iam_name.lower() == pattern.lower() else pattern
    return shown, any(ctx.services.supports_condition_key(a, key) for a in covered)


def _never_carried(ctx: PolicyContext, st: Statement, key: str) -> list[str]:
    out: list[str] = []
    for pattern in st.actions or ():
        got = _carries(ctx, pattern, key)
        if got is not None and not got[1]:
            out.append(got[0])
    return out


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report conditions on keys that some named action never carries."""
    for st in ctx.statements():
        for ci, cond in enumerate(st.conditions):
            if not _service_scoped(ctx, cond.key):
                continue
            missing = _never_carried(ctx, st, cond.key)
            if not missing:
                continue
            names = ", ".join(f"`{m}`" for m in missing)
            verb = "carries" if len(missing) == 1 else "carry"
            if ctx.holds_when_missing(st, ci):
                effect = (
                    f"`{cond.operator}` always matches without it, so this condition restricts "
                    "nothing for "
                )
            else:
                effect = f"`{cond.operator}` never matches without it, so this statement never applies to "
            yield Report(
                ctx.at_condition(st, cond),
                f"{names} never {verb} `{cond.key}`: {effect}{'it' if len(missing) == 1 else 'them'}",
                st.sid,
                "move these actions to a statement of their own, with conditions on keys they carry"
                if len(missing) < len(st.actions or ())
                else "condition on keys these actions carry (see the Service Authorization Reference)",
            )


RULE = Rule(
    code="LSP103",
    name="condition-key-not-in-request",
    severity=Severity.ERROR,
    title="condition key that the statement's action never carries",
    doc=__doc__ or "",
    check=check,
)
