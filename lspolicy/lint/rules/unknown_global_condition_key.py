"""LSP104 unknown-global-condition-key: an `aws:` condition key AWS does not define.

## What it does
Checks each `aws:` condition key against AWS's list of global condition keys (kept as data in
`lspolicy.lint.global_keys`) and the Lightsail catalog, and suggests the closest known key. Key
names are case-insensitive, so `aws:sourceip` is fine; `aws:SourceIpAddress` is not.

## Why is this bad
No request carries an unknown key: a positive condition on it never matches (the statement never
applies), and `...IfExists` or a negated operator always matches (the condition restricts
nothing).

## Example
```json
{"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*",
 "Condition": {"IpAddress": {"aws:SourceIpAddress": "203.0.113.0/24"}}}
```

## Use instead
```json
{"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*",
 "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}
```
The fix renames the key to the closest known one; it is unsafe, since it changes when the
statement applies.

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
- https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from lspolicy.lint.context import PolicyContext, Report, move_condition
from lspolicy.lint.finding import Severity
from lspolicy.lint.global_keys import GLOBAL_CONDITION_KEYS, find_global_key
from lspolicy.lint.rule import Rule


def _suggest(key: str) -> str | None:
    names = {k.name.casefold(): k.name for k in GLOBAL_CONDITION_KEYS.values() if not k.is_prefix}
    head, slash, tail = key.partition("/")
    if slash:  # a prefix key with its suffix: aws:ResourceTags/env -> aws:ResourceTag/env
        prefixes = {
            k.name.casefold()[:-1]: k.name[:-1]
            for k in GLOBAL_CONDITION_KEYS.values()
            if k.is_prefix
        }
        close = difflib.get_close_matches(head.casefold(), list(prefixes), n=1, cutoff=0.75)
        return f"{prefixes[close[0]]}/{tail}" if close else None
    close = difflib.get_close_matches(key.casefold(), list(names), n=1, cutoff=0.75)
    return names[close[0]] if close else None


def check(ctx: PolicyContext) -> Iterator[Report]:
    """Report each ``aws:`` key that is neither a global key nor a Lightsail key."""
    for st in ctx.statements():
        for cond in st.conditions:
            key = cond.key
            if not key.casefold().startswith("aws:"):
                continue
            if find_global_key(key) is not None or ctx.catalog.condition_key(key) is not None:
                continue
            best = _suggest(key)
            fix = (
                ctx.fix_statement(
                    f"rename `{key}` to `{best}`",
                    "unsafe",
                    st,
                    move_condition,
                    cond,
                    cond.operator,
                    best,
                )
                if best
                else None
            )
            yield Report(
                ctx.at_condition(st, cond),
                f"unknown condition key `{key}`: no request carries it",
                st.sid,
                f"did you mean `{best}`?" if best else "see AWS's list of global condition keys",
                fix,
            )


RULE = Rule(
    code="LSP104",
    name="unknown-global-condition-key",
    severity=Severity.ERROR,
    title="aws: condition key that aws does not define",
    doc=__doc__ or "",
    check=check,
    fixable=True,
)
