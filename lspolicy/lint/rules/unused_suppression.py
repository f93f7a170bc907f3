"""LSP903 unused-suppression: a suppression that matched no finding in this run.

## What it does
Reports each suppression — a `[[suppress]]` entry of a `.lspolicy.toml` beside the policies, or
a `[[suppress]]`/`[[per-path-ignores]]` entry of `lspolicy.toml` or `[tool.lspolicy]` — that
suppressed nothing, at the line and column of its entry in its TOML file. A suppression is
checked only when the run covered it: one of its rules ran (`--select`/`ignore` leave it on;
`LSP901` needs `--base`), and a checked policy matches its file pattern or the run went over its
whole folder (so an entry for a deleted or renamed file is reported too).

## Why is this bad
A suppression outlives its reason: the statement it excused is fixed, renamed (suppressions
name statements by `Sid`) or deleted, and the entry stays, ready to hide the next finding of
that rule in that place without anyone reviewing it. Reviewers also read suppressions as a list
of accepted risks; stale ones make that list wrong.

## Example
```toml
# policies/.lspolicy.toml: admin.json has no statement `BreakGlass` any more
[[suppress]]
file = "admin.json"
sid = "BreakGlass"
codes = ["LSP108"]
reason = "break-glass role; reviewed by security 2024-05"
```

## Use instead
Delete the entry, or point it at the statement it is meant for (its new `Sid`, its new file),
with its reason reviewed again.

## References
- https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_sid.html
- https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_ValidatePolicyFinding.html
- ruff's unused-noqa (RUF100): https://docs.astral.sh/ruff/rules/unused-noqa/
"""

from __future__ import annotations

from lspolicy.lint.finding import Severity
from lspolicy.lint.rule import Rule

RULE = Rule(
    code="LSP903",
    name="unused-suppression",
    severity=Severity.WARNING,
    title="suppression that matched no finding",
    doc=__doc__ or "",
)
"""Reported by `lspolicy.lint.unused` over a whole run, not by a check of one policy."""
