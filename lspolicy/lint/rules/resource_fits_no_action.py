"""LSP121 resource-fits-no-action: a resource ARN that none of the statement's actions acts on.

## What it does
For an Allow or Deny statement with `Action` and `Resource`, checks each ARN in `Resource`
against the resource types of every action the statement names, of any service (their ARN
templates in the Service Authorization Reference, matched as the evaluator matches: `*` and `?`
within a segment, a segment-final `*` across colons, policy variables as anything). It reports an
ARN that fits none of them, e.g. an `arn:aws:ec2:...` ARN under `lightsail:StopInstance`.
Statements whose actions have a wildcard service part (`*`), and ARNs that `malformed-arn` or
`unknown-resource-type` already report, are left alone.

## Why is this bad
No request of these actions is ever for that resource, so the entry does nothing: an Allow
grants nothing through it and a Deny protects nothing. Usually the ARN belongs in another
statement (with that service's actions), or the ARN was copied from the wrong service.

## Example
```json
{"Effect": "Allow", "Action": "lightsail:StopInstance",
 "Resource": "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc"}
```

## Use instead
```json
{"Effect": "Allow", "Action": "lightsail:StopInstance",
 "Resource": "arn:aws:lightsail:us-east-1:111122223333:Instance/*"}
```

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
- https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.lint.context import PolicyContext, Report
from lspolicy.lint.finding import Severity
from lspolicy.lint.resource_fit import statement_fit
from lspolicy.lint.rule import Rule


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report each statement resource that no statement action acts on."""
    for st in ctx.statements():
        fit = statement_fit(ctx, st)
        if fit is None:
            continue
        first = next(a for c in fit.actions.values() for a in c)
        example = next(
            (
                rt.arn
                for a in (first,)
                for r in a.resource_types
                if (rt := ctx.services.resource_type(a.service, r.name)) is not None
            ),
            None,
        )
        for j, ok in fit.resources.items():
            if ok:
                continue
            arn = (st.resources or ())[j]
            shown = ", ".join(f"`{e}`" for e in (st.actions or ())[:3])
            yield Report(
                ctx.at_element(st, "Resource", j),
                f"`{arn}` fits no resource type of the statement's actions ({shown}), so it "
                "matches no request they make",
                st.sid,
                f"`{first.iam_name}` acts on `{example}`; move the ARN to a statement with its "
                "own service's actions"
                if example
                else f'`{first.iam_name}` acts only on `"Resource": "*"`',
            )


RULE = Rule(
    code="LSP121",
    name="resource-fits-no-action",
    severity=Severity.ERROR,
    title="resource ARN that none of the statement's actions acts on",
    doc=__doc__ or "",
    check=check,
)
