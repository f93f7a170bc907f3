"""LSP116 redundant-statement: a statement that changes no decision.

## What it does
Reports a statement when another statement of the same policy, with the same effect, provably
applies to every request it applies to (`lspolicy.lint.subsume`): the same or wider actions,
the same or wider resources, and a subset of its conditions. Identical statements (after
normalisation: order, case of action names, strings or lists) are the simplest case; the later
one is reported. Only what is provable is reported: two different wildcards, or variables in the
wider statement's ARNs, are left alone.

## Why is this bad
Removing the statement changes nothing, so it is noise that a reviewer must read, and a trap: the
next person narrows it, believing that tightens access, and nothing changes.

## Example
```json
[{"Sid": "Operate", "Effect": "Allow", "Action": "lightsail:*Instance", "Resource": "*"},
 {"Sid": "Stop", "Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*",
  "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}}}]
```
`Stop` is redundant: `Operate` already allows every instance action on every resource.

## Use instead
```json
[{"Sid": "Operate", "Effect": "Allow", "Action": "lightsail:*Instance", "Resource": "*"}]
```
The fix removes the statement and is safe: the test suite evaluates the policy before and after
on generated requests and finds no decision that changes.

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_statement.html
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.lint.context import PolicyContext, Report, remove_statement
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule
from lspolicy.lint.subsume import covers


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report statements another statement of the same effect covers."""
    statements = ctx.policy.statements
    for st in statements:
        for other in statements:
            if other is st or other.effect != st.effect:
                continue
            if not covers(ctx.policy, st, other):
                continue
            same = covers(ctx.policy, other, st)
            if same and other.index > st.index:
                continue  # identical: keep the first, report the later one
            what = "duplicates" if same else "is covered by"
            yield Report(
                ctx.at_statement(st),
                f"`{st.label}` {what} `{other.label}`: removing it changes no decision",
                st.sid,
                f"remove `{st.label}`",
                ctx.fix(f"remove `{st.label}`", "safe", remove_statement, st),
                related=(ctx.at_statement(other),),
            )
            break


RULE = Rule(
    code="LSP116",
    name="redundant-statement",
    severity=Severity.SUGGESTION,
    title="statement that another statement of the policy makes redundant",
    doc=__doc__ or "",
    check=check,
    fixable=True,
)
