"""LSP106 unknown-resource-type: a Lightsail ARN whose resource type Lightsail does not define.

## What it does
Reads the resource type of each Lightsail ARN in `Resource` and `NotResource` (`Instance` in
`...:Instance/<id>`) and checks it against the catalog's resource types, suggesting the closest.
ARNs are case-sensitive: `instance/<id>` is not `Instance/<id>`.

## Why is this bad
No Lightsail ARN has that type segment, so the entry never matches: an Allow grants nothing on it
and a Deny protects nothing.

## Example
```json
{"Effect": "Allow", "Action": "lightsail:StopInstance",
 "Resource": "arn:aws:lightsail:us-east-1:111122223333:instance/*"}
```

## Use instead
```json
{"Effect": "Allow", "Action": "lightsail:StopInstance",
 "Resource": "arn:aws:lightsail:us-east-1:111122223333:Instance/*"}
```
The fix corrects the type segment; it is unsafe, since the statement then matches requests it
did not match before.

## References
- https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html#amazonlightsail-resources-for-iam-policies
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from lspolicy.lint.context import PolicyContext, Report, replace_entry
from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report Lightsail ARNs with an unknown resource type segment."""
    segments = {r.arn_resource_prefix: r for r in ctx.catalog.resource_types.values()}
    folded = {s.casefold(): s for s in segments}
    for st in ctx.statements():
        for element, entries in (("Resource", st.resources), ("NotResource", st.not_resources)):
            for i, arn in enumerate(entries or ()):
                parsed = ctx.catalog.parse_arn(arn)
                if parsed is None or any(c in parsed.resource_type for c in "*?$"):
                    continue
                if parsed.resource_type in segments:
                    continue
                best = folded.get(parsed.resource_type.casefold())
                if best is None:
                    close = difflib.get_close_matches(parsed.resource_type, list(segments), n=1)
                    best = close[0] if close else None
                fix = None
                if best is not None:
                    head, _, tail = arn.rpartition(f":{parsed.resource_type}/")
                    fixed = f"{head}:{best}/{tail}"
                    fix = ctx.fix_statement(
                        f"use the resource type `{best}`",
                        "unsafe",
                        st,
                        replace_entry,
                        element,
                        i,
                        fixed,
                    )
                yield Report(
                    ctx.at_element(st, element, i),
                    f"lightsail has no resource type `{parsed.resource_type}`, so `{arn}` never matches",
                    st.sid,
                    f"did you mean `{best}`? ARNs are case-sensitive" if best else None,
                    fix,
                )


RULE = Rule(
    code="LSP106",
    name="unknown-resource-type",
    severity=Severity.ERROR,
    title="lightsail ARN with a resource type lightsail does not define",
    doc=__doc__ or "",
    check=check,
    fixable=True,
)
