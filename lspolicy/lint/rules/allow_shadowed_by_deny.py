"""LSP117 allow-shadowed-by-deny: an Allow statement that a Deny always overrides.

## What it does
Reports an Allow statement when a Deny statement of the same policy provably applies to every
request the Allow applies to (`lspolicy.lint.subsume`: the same or wider actions and resources,
and a subset of the Allow's conditions).

## Why is this bad
An explicit Deny wins over any Allow, so this Allow never grants anything: whatever its author
meant to allow is denied. Either the Allow is dead text or the Deny is broader than intended.

## Example
```json
[{"Sid": "StopDev", "Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*",
  "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}}},
 {"Sid": "NoStops", "Effect": "Deny", "Action": "lightsail:Stop*", "Resource": "*"}]
```

## Use instead
Narrow the Deny to what must never happen:
```json
[{"Sid": "StopDev", "Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*",
  "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}}},
 {"Sid": "NoProdStops", "Effect": "Deny", "Action": "lightsail:Stop*", "Resource": "*",
  "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}}}]
```
The fix removes the Allow, which is safe (no decision changes) but rarely what is wanted: read
the Deny first.

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html#policy-eval-denyallow
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.lint.context import PolicyContext, Report, remove_statement
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule
from lspolicy.lint.subsume import covers


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report Allow statements that a Deny of the same policy covers."""
    statements = ctx.policy.statements
    for st in statements:
        if st.effect != "Allow":
            continue
        deny = next(
            (d for d in statements if d.effect == "Deny" and covers(ctx.policy, st, d)), None
        )
        if deny is None:
            continue
        yield Report(
            ctx.at_statement(st),
            f"`{st.label}` never allows anything: `{deny.label}` denies every request it allows",
            st.sid,
            f"narrow `{deny.label}`, or remove `{st.label}`",
            ctx.fix(f"remove `{st.label}`", "safe", remove_statement, st),
            related=(ctx.at_statement(deny),),
        )


RULE = Rule(
    code="LSP117",
    name="allow-shadowed-by-deny",
    severity=Severity.ERROR,
    title="allow statement that a deny always overrides",
    doc=__doc__ or "",
    check=check,
    fixable=True,
)
