"""Is this action, this resource ARN, something a request can name? One place to ask, so a
policy test about ``lightsail:StopInstanse`` is an error instead of a vacuous implicitDeny.

Actions are checked against the all-service catalog (`lspolicy.services`, AWS's Service
Authorization Reference as shipped), so ``s3:GetObjekt`` is an error too.
"""

from __future__ import annotations

import fnmatch

from lspolicy.services import load_services

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
    services = load_services()
    if "*" in name or "?" in name:
        if services.actions_matching(name):
            return None
        return (f"action pattern {name!r} matches no action of any AWS service", None)
    if services.find_action(name) is not None:
        return None
    close = services.suggest_action(name)
    hint = "did you mean " + " or ".join(f"'{c}'" for c in close) + "?" if close else None
    if services.service(service) is None:
        return (f"unknown action {name!r}: no AWS service has the prefix {service!r}", hint)
    return (f"unknown action {name!r}: the {service} service has no such action", hint)


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
