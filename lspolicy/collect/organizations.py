"""Organizations: the SCPs and where they are attached, in the ``lspolicy-organization/1``
format (``schemas/organization.schema.json``).

The tree is walked from each root: ``ListRoots``, then ``ListOrganizationalUnitsForParent``
and ``ListAccountsForParent`` for every root and OU; ``ListPoliciesForTarget`` (filter
``SERVICE_CONTROL_POLICY``) names the SCPs attached directly to each target, and
``DescribePolicy`` gives each one's content
(https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListPoliciesForTarget.html).
These calls answer only in the management account or a delegated administrator.

The file is all or nothing: if any call fails, no organization file is written (a tree with a
hole would misstate which SCPs apply), and every failure is in the report.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Final

from lspolicy.collect.calls import CallFailure, attempt

__all__ = ["FORMAT", "organization"]

FORMAT: Final = "lspolicy-organization/1"
SCP: Final = "SERVICE_CONTROL_POLICY"
_LOST: Final = "organization.json not written"


class _Walk:
    def __init__(self, client: Any, failures: list[CallFailure]) -> None:
        self.client = client
        self.failures = failures
        self.failed = False

    def call(self, operation: str, fn: Callable[[], Any]) -> Any:
        result = attempt(
            fn,
            self.failures,
            service="organizations",
            operation=operation,
            region=None,
            consequence=_LOST,
        )
        if result is None:
            self.failed = True
        return result

    def listed(self, operation: str, method: str, key: str, **params: Any) -> list[Any]:
        def fn() -> list[Any]:
            pages = self.client.get_paginator(method).paginate(**params)
            out: list[Any] = pages.build_full_result().get(key, [])
            return out

        result = self.call(operation, fn)
        return [] if result is None else list(result)

    def attached(self, target: str) -> list[str]:
        found = self.listed(
            "ListPoliciesForTarget",
            "list_policies_for_target",
            "Policies",
            TargetId=target,
            Filter=SCP,
        )
        return [p["Id"] for p in found]


def organization(client: Any, failures: list[CallFailure]) -> dict[str, Any] | None:
    """The organization document, or None (every failure recorded)."""
    walk = _Walk(client, failures)
    described = walk.call("DescribeOrganization", client.describe_organization)
    if described is None:
        return None
    org = described["Organization"]
    targets: list[dict[str, Any]] = []
    pending: list[tuple[str, str | None, dict[str, Any]]] = []
    for root in walk.listed("ListRoots", "list_roots", "Roots"):
        pending.append(("ROOT", None, root))
    while pending:
        kind, parent, node = pending.pop(0)
        target = {
            "id": node["Id"],
            "type": kind,
            "name": node.get("Name", ""),
            "parent": parent,
            "policies": walk.attached(node["Id"]),
        }
        targets.append(target)
        if kind == "ACCOUNT":
            continue
        for ou in walk.listed(
            "ListOrganizationalUnitsForParent",
            "list_organizational_units_for_parent",
            "OrganizationalUnits",
            ParentId=node["Id"],
        ):
            pending.append(("ORGANIZATIONAL_UNIT", node["Id"], ou))
        for account in walk.listed(
            "ListAccountsForParent", "list_accounts_for_parent", "Accounts", ParentId=node["Id"]
        ):
            pending.append(("ACCOUNT", node["Id"], account))
    policies: list[dict[str, Any]] = []
    for policy_id in sorted({p for t in targets for p in t["policies"]}):
        answer = walk.call("DescribePolicy", partial(client.describe_policy, PolicyId=policy_id))
        if answer is None:
            continue
        summary = answer["Policy"]["PolicySummary"]
        policies.append(
            {
                "id": summary["Id"],
                "arn": summary["Arn"],
                "name": summary["Name"],
                "aws_managed": bool(summary.get("AwsManaged", False)),
                "content": answer["Policy"]["Content"],
            }
        )
    if walk.failed:
        return None
    return {
        "format": FORMAT,
        "organization": {
            "id": org["Id"],
            "arn": org["Arn"],
            "management_account_id": org["MasterAccountId"],
        },
        "policies": policies,
        "targets": targets,
    }
