"""The shape of a resource ARN a policy writes: partition, service, region, account, resource.

Shared by the rules that read ARNs of any service (`malformed-arn`, and `resource-fits-no-action`
which leaves malformed ARNs to it). The expected shapes come from the ARN format
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html) and from each service's
resource-type ARN templates in the Service Authorization Reference (`lspolicy.services`): whether
the service's ARNs have a region and an account, and what their resource part looks like.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Final

from lspolicy.glob import compile_glob
from lspolicy.services import ServiceCatalog
from lspolicy.sources.symbolic import MARK

__all__ = ["PARTITIONS", "ArnProblem", "arn_problems"]

PARTITIONS: Final = (
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
)
"""The partitions AWS has (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
lists the public three; the isolated and sovereign ones follow the same ``aws-`` naming)."""

# a fixed pattern applied to policy text, never one built from it: us-east-1, us-gov-west-1,
# cn-north-1, ap-southeast-5, eusc-de-east-1
_REGION: Final = re.compile(r"[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}")
_ACCOUNT: Final = re.compile(r"[0-9]{12}")


@dataclass(frozen=True, slots=True)
class ArnProblem:
    """One problem of an ARN: the part it is in (``region``), a message and advice."""

    part: str
    message: str
    hint: str | None = None


def _wild(text: str) -> bool:
    return "*" in text or "?" in text or "${" in text


def arn_problems(catalog: ServiceCatalog, arn: str) -> tuple[ArnProblem, ...]:
    """The problems of ``arn``'s shape; () for ``*``, text that is not an ARN, a good ARN, or
    one with a part only deploy time decides (`lspolicy.sources.symbolic`: not judged)."""
    if not arn.startswith("arn:") or MARK in arn:
        return ()
    parts = arn.split(":", 5)
    if len(parts) < 6:
        if arn.endswith("*"):
            return ()  # a final `*` may run past the colons still missing
        return (
            ArnProblem(
                "arn",
                f"`{arn}` has {len(parts)} of the 6 colon-separated parts of an ARN",
                "write `arn:partition:service:region:account:resource`",
            ),
        )
    out: list[ArnProblem] = []
    _, partition, prefix, region, account, resource = parts
    if "${" not in partition and not any(compile_glob(partition)(p) for p in PARTITIONS):
        close = difflib.get_close_matches(partition, PARTITIONS, n=1)
        out.append(
            ArnProblem(
                "partition",
                f"`{partition}` in `{arn}` is not an aws partition",
                f"did you mean `{close[0]}`?" if close else f"use one of {', '.join(PARTITIONS)}",
            )
        )
    if _wild(prefix):
        return tuple(out)
    service = catalog.service(prefix)
    if service is None:
        close = difflib.get_close_matches(prefix.lower(), catalog.prefixes, n=1)
        out.append(
            ArnProblem(
                "service",
                f"no aws service has the prefix `{prefix}` in `{arn}`",
                f"did you mean `{close[0]}`?" if close else None,
            )
        )
        return tuple(out)
    templates = [rt.arn.split(":", 5) for rt in service.resource_types.values()]
    templates = [t for t in templates if len(t) == 6]
    if not templates:
        return tuple(out)
    with_region = any(t[3] for t in templates)
    without_region = any(not t[3] for t in templates)
    if not _wild(region):
        if not region and not without_region:
            out.append(
                ArnProblem("region", f"`{arn}` has no region, but {service.prefix} ARNs have one")
            )
        elif region and not with_region:
            out.append(
                ArnProblem(
                    "region",
                    f"`{arn}` names the region `{region}`, but {service.prefix} ARNs have none",
                    "leave the region empty: `::`",
                )
            )
        elif region and not _REGION.fullmatch(region):
            out.append(
                ArnProblem(
                    "region",
                    f"`{region}` in `{arn}` is not a region code",
                    "region codes look like `us-east-1`",
                )
            )
    with_account = any(t[4] for t in templates)
    without_account = any(not t[4] for t in templates)
    if "${" not in account:
        digits = account.replace("*", "").replace("?", "")
        if _wild(account):
            if digits and not digits.isdigit():
                out.append(
                    ArnProblem("account", f"`{account}` in `{arn}` cannot match an account id")
                )
        elif not account:
            if not without_account:
                out.append(
                    ArnProblem(
                        "account", f"`{arn}` has no account, but {service.prefix} ARNs have one"
                    )
                )
        elif account != "aws" and not _ACCOUNT.fullmatch(account):
            out.append(
                ArnProblem(
                    "account",
                    f"`{account}` in `{arn}` is not a 12-digit account id",
                    "account ids have 12 digits; `aws` is for aws managed policies",
                )
            )
        elif not with_account and account != "aws":
            out.append(
                ArnProblem(
                    "account", f"`{arn}` names an account, but {service.prefix} ARNs have none"
                )
            )
    if not _wild(resource):
        names = list(service.resource_types.values())
        if not any(catalog.resource_type_fits(prefix, rt.name, arn) for rt in names):
            for sep in ("/", ":"):
                longer = [
                    rt
                    for rt in names
                    if catalog.resource_type_fits(prefix, rt.name, arn + sep + "x")
                ]
                if longer:
                    shape = longer[0].arn.split(":", 5)[5]
                    out.append(
                        ArnProblem(
                            "resource",
                            f"`{resource}` in `{arn}` has no resource id: "
                            f"{service.prefix} writes it `{shape}`",
                            f"add the id, or `{sep}*` for every {longer[0].name}",
                        )
                    )
                    break
    return tuple(out)
