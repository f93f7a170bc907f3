"""Helpers shared by the diff tests: policies in a line, and the witness of one direction."""

from __future__ import annotations

import json
from typing import Any

import lspolicy
from lspolicy.diff import Difference, DiffResult

STOP = "lightsail:StopInstance"
START = "lightsail:StartInstance"
INSTANCES = "arn:aws:lightsail:*:111122223333:Instance/*"


def policy(*statements: dict[str, Any], source: str = "p.json", version: str = "2012-10-17"):
    """A parsed identity policy with these statements (``lspolicy.Policy``)."""
    doc = {"Version": version, "Statement": list(statements)}
    return lspolicy.parse_policy(json.dumps(doc, indent=2), source=source)


def allow(action: Any = STOP, condition: dict[str, Any] | None = None, **extra: Any):
    """An Allow statement (Resource "*" unless given)."""
    return _statement("Allow", action, condition, extra)


def deny(action: Any = STOP, condition: dict[str, Any] | None = None, **extra: Any):
    """A Deny statement (Resource "*" unless given)."""
    return _statement("Deny", action, condition, extra)


def _statement(effect: str, action: Any, condition: Any, extra: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": effect}
    if "NotAction" not in extra:
        out["Action"] = action
    if "Resource" not in extra and "NotResource" not in extra:
        out["Resource"] = "*"
    if condition:
        out["Condition"] = condition
    out.update(extra)
    return out


def only(result: DiffResult, direction: str) -> Difference:
    """The single difference in ``direction`` (and assert there is exactly one)."""
    found = [d for d in result.differences if d.direction == direction]
    assert len(found) == 1, [d.lines() for d in result.differences]
    return found[0]


def confirm(old: Any, new: Any, result: DiffResult, **layers: Any) -> None:
    """Every witness decides as reported, run again through fresh engines."""
    old_set = lspolicy.PolicySet(old, boundary=layers.get("boundary_old"))
    new_set = lspolicy.PolicySet(new, boundary=layers.get("boundary_new"))
    for d in result.differences:
        request = d.witness.request
        want_new = d.direction == "new-access"
        assert new_set.evaluate(request).allowed is want_new, d.lines()
        assert old_set.evaluate(request).allowed is (not want_new), d.lines()
        assert new_set.is_allowed(request) is want_new
        assert old_set.is_allowed(request) is (not want_new)
