"""LSP122 action-fits-no-resource: an action that none of the statement's resources can name.

## What it does
For a statement with `Action` and `Resource` where at least one resource fits some action (a
statement none of whose resources fits is `resource-fits-no-action`'s), reports each `Action`
entry, of any service, whose actions none of the statement's resources can be asked for: no ARN
fits the ARN template of one of their resource types (Service Authorization Reference), and,
for actions with no required resource type (`ec2:DescribeInstances`, `s3:ListAllMyBuckets`), no
resource is `"*"`.

## Why is this bad
The action is granted (or denied) nothing by this statement. Typical cause: a read-only
`Describe`/`List` action, which works only on `"Resource": "*"`, added to a statement scoped to
specific ARNs; or one service's action next to another service's ARNs.

## Example
```json
{"Effect": "Allow", "Action": ["lightsail:StopInstance", "ec2:StopInstances"],
 "Resource": "arn:aws:lightsail:us-east-1:111122223333:Instance/*"}
```

## Use instead
```json
[{"Effect": "Allow", "Action": "lightsail:StopInstance",
  "Resource": "arn:aws:lightsail:us-east-1:111122223333:Instance/*"},
 {"Effect": "Allow", "Action": "ec2:StopInstances",
  "Resource": "arn:aws:ec2:us-east-1:111122223333:instance/*"}]
```

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
- https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

from collections.abc import Iterator

from lspolicy.lint.context import PolicyContext, Report
from lspolicy.lint.finding import Severity
from lspolicy.lint.resource_fit import statement_fit
from lspolicy.lint.rule import Rule


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report each action entry that no resource of its statement can be asked for."""
    for st in ctx.statements():
        fit = statement_fit(ctx, st)
        if fit is None or not any(fit.resources.values()):
            continue
        if len(fit.resources) < len(st.resources or ()):
            continue  # `*`, a non-ARN or a malformed ARN: too little known to judge
        for i, covered in fit.actions.items():
            if any(fit.usable(ctx, st, a) for a in covered):
                continue
            entry = (st.actions or ())[i]
            star_only = all(not a.resource_types for a in covered)
            yield Report(
                ctx.at_element(st, "Action", i),
                f'`{entry}` acts only on `"Resource": "*"`, which this statement does not '
                "name, so it is granted nothing here"
                if star_only
                else f"none of the statement's resources is one `{entry}` acts on, so it is "
                "granted nothing here",
                st.sid,
                "move the action to a statement with its own resources",
            )


RULE = Rule(
    code="LSP122",
    name="action-fits-no-resource",
    severity=Severity.ERROR,
    title="action that none of the statement's resources can name",
    doc=__doc__ or "",
    check=check,
)
