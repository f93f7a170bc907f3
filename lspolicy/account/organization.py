"""The organization file (``lspolicy-organization/1``): SCPs and where they are attached, read
into SCP levels per account.

AWS has no single export of an organization's SCPs and their attachments; the format is
lspolicy's (``schemas/organization.schema.json``; ``lspolicy collect`` writes it from
Organizations' ListRoots/ListChildren/ListPoliciesForTarget/DescribePolicy).

SCP evaluation (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html):
the levels of an account are the root, each OU on the path from the root, then the account; at
every level some attached SCP must allow the action, and a Deny at any level denies. SCPs do not
affect the management account
(https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html).
An account absent from ``targets`` gets no SCPs and is reported in ``not_evaluated``.
"""

from __future__ import annotations

import json
from pathlib import Path

from lspolicy.account.jsondocs import fail, read_documents
from lspolicy.account.model import Inventory, NotEvaluated
from lspolicy.errors import PolicyParseError
from lspolicy.model.policy import Policy
from lspolicy.parse import parse_policy

__all__ = ["FORMAT", "read_organization"]

FORMAT = "lspolicy-organization/1"
_MAX_DEPTH = 16  # Organizations allows OUs nested five deep under the root; a guard only


def read_organization(path: str | Path, inventory: Inventory | None = None) -> Inventory:
    """Read the organization file into ``inventory.scp_levels``."""
    inv = inventory if inventory is not None else Inventory()
    source = str(path)
    docs = read_documents(path)
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise fail(source, "", f"not an organization file: expected one JSON object ({FORMAT})")
    doc = docs[0]
    if doc.get("format") != FORMAT:
        raise fail(source, "format", f"not an organization file: format must be {FORMAT!r}")
    org = doc.get("organization")
    if not isinstance(org, dict):
        raise fail(source, "organization", "organization must be an object")
    management = org.get("management_account_id")
    org_id = org.get("id")
    inv.organization_id = org_id if isinstance(org_id, str) else None
    inv.has_organization = True

    def note(what: str, name: str, message: str, where: str) -> None:
        inv.not_evaluated.append(NotEvaluated(what, name, message, source, where))

    policies: dict[str, Policy | None] = {}
    raw_policies = doc.get("policies")
    if not isinstance(raw_policies, list):
        raise fail(source, "policies", "policies must be a list")
    for i, p in enumerate(raw_policies):
        where = f"policies[{i}]"
        if not isinstance(p, dict) or not isinstance(p.get("id"), str):
            note("scp", source, "policy entry without an id", where)
            continue
        label = str(p.get("arn") or p.get("name") or p["id"])
        content = p.get("content")
        if isinstance(content, dict):
            content = json.dumps(content)
        if not isinstance(content, str):
            note(
                "scp", label, "policy without content (a JSON string or object)", f"{where}.content"
            )
            policies[p["id"]] = None
            continue
        try:
            policies[p["id"]] = parse_policy(content, source=label, kind="scp", max_size=0)
        except PolicyParseError as exc:
            first = exc.problems[0]
            note(
                "scp",
                label,
                f"SCP does not parse: {first.location.path}: {first.message}",
                f"{where}.content",
            )
            policies[p["id"]] = None

    targets: dict[str, dict[str, object]] = {}
    raw_targets = doc.get("targets")
    if not isinstance(raw_targets, list):
        raise fail(source, "targets", "targets must be a list")
    for i, t in enumerate(raw_targets):
        if not isinstance(t, dict) or not isinstance(t.get("id"), str):
            note("target", source, "target entry without an id", f"targets[{i}]")
            continue
        targets[t["id"]] = {**t, "_path": f"targets[{i}]"}

    def level(target: dict[str, object]) -> tuple[Policy, ...]:
        out: list[Policy] = []
        attached = target.get("policies")
        for pid in attached if isinstance(attached, list) else []:
            if not isinstance(pid, str) or pid not in policies:
                note(
                    "scp",
                    str(pid),
                    f"target {target['id']} names a policy the file does not hold",
                    str(target["_path"]),
                )
                continue
            got = policies[pid]
            if got is not None:
                out.append(got)
        return tuple(out)

    for tid, target in targets.items():
        if target.get("type") != "ACCOUNT":
            continue
        if tid == management:
            inv.scp_levels[tid] = None
            continue
        chain: list[dict[str, object]] = [target]
        parent = target.get("parent")
        while isinstance(parent, str) and len(chain) <= _MAX_DEPTH:
            node = targets.get(parent)
            if node is None:
                note(
                    "target",
                    tid,
                    f"parent {parent!r} is not in targets: SCPs above it are missing",
                    str(target["_path"]),
                )
                break
            chain.append(node)
            parent = node.get("parent")
        inv.scp_levels[tid] = tuple(level(t) for t in reversed(chain))
    return inv
