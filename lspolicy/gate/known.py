"""Is this action, this resource ARN, something a request can name? One place to ask, so a
policy test about ``lightsail:StopInstanse`` is an error instead of a vacuous implicitDeny.

Today only ``lightsail:`` actions are checked, against the shipped Lightsail catalog; other
services' actions are accepted unchecked until the all-service catalog is merged.
"""

from __future__ import annotations

import fnmatch

from lspolicy.lightsail.catalog import load_catalog

__all__ = ["malformed_arn_problem", "unknown_action_problem"]

Advice = tuple[str, str | None]
"""A message and an optional hint."""


def unknown_action_problem(name: str) -> Advice | None:
    """Why ``name`` (an action, or an action pattern such as ``lightsail:Stop*``) names no
    action, with a did-you-mean hint; None when it names one (or cannot be checked yet)."""
    service, sep, action = name.partition(":")
    if not sep or not service or not action:
        return (
            f"action {name!r} is not of the form service:Action",
            "write it as IAM does, e.g. 'lightsail:StopInstance'",
        )
    if service.casefold() != "lightsail":
        # TODO(services): ask lspolicy.services.load_services().find_action(name) and
        # .suggest_action(name) once the all-service catalog is merged; unchecked until then.
        return None
    catalog = load_catalog()
    if "*" in action or "?" in action:
        if catalog.actions_matching(name):
            return None
        return (f"action pattern {name!r} matches no Lightsail action", None)
    if catalog.find_action(name) is not None:
        return None
    close = catalog.suggest_action(name)
    hint = "did you mean " + " or ".join(f"'lightsail:{c}'" for c in close) + "?" if close else None
    return (f"unknown action {name!r}: the Lightsail service has no such action", hint)


def malformed_arn_problem(arn: str, *, service: str = "lightsail") -> Advice | None:
    """Why ``arn`` (an ARN or ARN pattern for a ``service`` resource) is malformed or names
    another service's resource; None when it is well formed.

    ARN format: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
    """
    parts = arn.split(":", 5)
    if parts[0] != "arn" or len(parts) < 5 or not parts[1]:
        return (
            f"malformed resource ARN {arn!r}",
            "an ARN reads arn:partition:service:region:account:resource, e.g. "
            "'arn:aws:lightsail:us-east-1:111122223333:Instance/*'",
        )
    if not fnmatch.fnmatchcase(service, parts[2]):
        return (f"resource ARN {arn!r} names service {parts[2]!r}, not {service!r}", None)
    return None
