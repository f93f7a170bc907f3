"""``aws iam get-account-authorization-details`` output, as the AWS CLI writes it.

Response shape (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html):
``UserDetailList``, ``GroupDetailList``, ``RoleDetailList``, ``Policies`` (each with
``PolicyVersionList``, the default version marked ``IsDefaultVersion``), ``IsTruncated`` and
``Marker``. Element shapes: UserDetail, GroupDetail, RoleDetail, ManagedPolicyDetail,
PolicyDetail, AttachedPolicy, AttachedPermissionsBoundary, Tag, RoleLastUsed in the same API
reference.

- Policy documents are JSON objects in the CLI's output (it decodes them) and URL-encoded
  strings in the raw API's XML ("Policies returned by this operation are URL-encoded compliant
  with RFC 3986"): both are accepted.
- Several pages in one file (documents one after another) and one file per account are merged;
  each entity's account is the one in its own ARN.
- Unknown fields are ignored (AWS adds fields). A document that is not this export at all is an
  input error; an entry or a policy that cannot be read is recorded in ``not_evaluated`` with
  its file and JSON path, and the review goes on. Policies are parsed without IAM's size quota
  (AWS managed policies exceed it, and AWS has accepted every policy it exports).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path

from lspolicy.account.jsondocs import fail, read_documents
from lspolicy.account.model import (
    Group,
    Inventory,
    ManagedPolicy,
    NamedPolicy,
    NotEvaluated,
    Role,
    User,
    account_of,
)
from lspolicy.errors import PolicyParseError
from lspolicy.model.policy import Policy, PolicyKind
from lspolicy.parse import parse_policy

__all__ = ["LIST_KEYS", "read_auth_details"]

LIST_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


class _Reader:
    def __init__(self, inventory: Inventory, source: str) -> None:
        self.inv = inventory
        self.source = source

    def note(self, what: str, name: str, message: str, path: str) -> None:
        self.inv.not_evaluated.append(NotEvaluated(what, name, message, self.source, path))

    # -- values ---------------------------------------------------------------------------

    def text(self, obj: Mapping[str, object], key: str, path: str) -> str | None:
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
        return None

    def items(self, obj: Mapping[str, object], key: str, path: str, name: str) -> list[object]:
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.note("entry", name, f"{key} must be a list, found {type(value).__name__}", path)
            return []
        return value

    def policy(self, doc: object, label: str, kind: PolicyKind, path: str) -> Policy | None:
        if isinstance(doc, str):
            raw = doc.strip()
            if not raw.startswith("{"):
                raw = urllib.parse.unquote(raw)
            doc = raw
        elif not isinstance(doc, dict):
            self.note("policy", label, "policy document must be a JSON object or string", path)
            return None
        try:
            return parse_policy(doc, source=label, kind=kind, max_size=0)
        except PolicyParseError as exc:
            first = exc.problems[0] if exc.problems else None
            detail = f"{first.location.path}: {first.message}" if first else "does not parse"
            more = f" (and {len(exc.problems) - 1} more problems)" if len(exc.problems) > 1 else ""
            self.note("policy", label, f"policy does not parse: {detail}{more}", path)
            return None

    def inline(
        self, obj: Mapping[str, object], key: str, owner: str, path: str
    ) -> tuple[NamedPolicy, ...]:
        out: list[NamedPolicy] = []
        for i, item in enumerate(self.items(obj, key, f"{path}.{key}", owner)):
            p = f"{path}.{key}[{i}]"
            if not isinstance(item, dict) or not isinstance(item.get("PolicyName"), str):
                self.note("policy", owner, "inline policy entry without a PolicyName", p)
                continue
            name = item["PolicyName"]
            label = f"{owner}#{name}"
            out.append(
                NamedPolicy(
                    name,
                    self.policy(
                        item.get("PolicyDocument"), label, "identity", f"{p}.PolicyDocument"
                    ),
                )
            )
        return tuple(out)

    def managed(self, obj: Mapping[str, object], owner: str, path: str) -> tuple[str, ...]:
        out: list[str] = []
        key = "AttachedManagedPolicies"
        for i, item in enumerate(self.items(obj, key, f"{path}.{key}", owner)):
            arn = item.get("PolicyArn") if isinstance(item, dict) else None
            if not isinstance(arn, str):
                self.note(
                    "policy",
                    owner,
                    "attached policy entry without a PolicyArn",
                    f"{path}.{key}[{i}]",
                )
                continue
            out.append(arn)
        return tuple(out)

    def boundary(self, obj: Mapping[str, object]) -> str | None:
        b = obj.get("PermissionsBoundary")
        if isinstance(b, dict) and isinstance(b.get("PermissionsBoundaryArn"), str):
            return str(b["PermissionsBoundaryArn"])
        return None

    def tags(self, obj: Mapping[str, object], owner: str, path: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for i, item in enumerate(self.items(obj, "Tags", f"{path}.Tags", owner)):
            if isinstance(item, dict) and isinstance(item.get("Key"), str):
                value = item.get("Value", "")
                out[item["Key"]] = value if isinstance(value, str) else str(value)
            else:
                self.note("tag", owner, "tag entry without a Key", f"{path}.Tags[{i}]")
        return out

    def entity(
        self, item: object, path: str, name_key: str
    ) -> tuple[dict[str, object], str, str] | None:
        if not isinstance(item, dict):
            self.note("entry", self.source, "entry is not an object", path)
            return None
        arn, name = item.get("Arn"), item.get(name_key)
        if not isinstance(arn, str) or not isinstance(name, str) or account_of(arn) is None:
            self.note(
                "entry", str(name or arn or "?"), f"entry without a usable Arn and {name_key}", path
            )
            return None
        return item, arn, name

    # -- entities -------------------------------------------------------------------------

    def user(self, item: object, path: str) -> None:
        got = self.entity(item, path, "UserName")
        if got is None:
            return
        obj, arn, name = got
        groups = [
            g for g in self.items(obj, "GroupList", f"{path}.GroupList", arn) if isinstance(g, str)
        ]
        self.inv.users[arn] = User(
            arn=arn,
            name=name,
            user_id=self.text(obj, "UserId", path),
            path=self.text(obj, "Path", path) or "/",
            inline=self.inline(obj, "UserPolicyList", arn, path),
            managed=self.managed(obj, arn, path),
            groups=tuple(groups),
            boundary=self.boundary(obj),
            tags=self.tags(obj, arn, path),
        )

    def group(self, item: object, path: str) -> None:
        got = self.entity(item, path, "GroupName")
        if got is None:
            return
        obj, arn, name = got
        self.inv.groups[arn] = Group(
            arn=arn,
            name=name,
            inline=self.inline(obj, "GroupPolicyList", arn, path),
            managed=self.managed(obj, arn, path),
        )

    def role(self, item: object, path: str) -> None:
        got = self.entity(item, path, "RoleName")
        if got is None:
            return
        obj, arn, name = got
        trust_doc = obj.get("AssumeRolePolicyDocument")
        trust = None
        if trust_doc is None:
            self.note(
                "trust",
                arn,
                "role has no AssumeRolePolicyDocument: nobody can be shown to assume it",
                path,
            )
        else:
            trust = self.policy(
                trust_doc, f"{arn}#trust", "resource", f"{path}.AssumeRolePolicyDocument"
            )
        used = obj.get("RoleLastUsed")
        last = used.get("LastUsedDate") if isinstance(used, dict) else None
        self.inv.roles[arn] = Role(
            arn=arn,
            name=name,
            role_id=self.text(obj, "RoleId", path),
            path=self.text(obj, "Path", path) or "/",
            trust=trust,
            inline=self.inline(obj, "RolePolicyList", arn, path),
            managed=self.managed(obj, arn, path),
            boundary=self.boundary(obj),
            tags=self.tags(obj, arn, path),
            last_used=last if isinstance(last, str) else None,
        )

    def managed_policy(self, item: object, path: str) -> None:
        if not isinstance(item, dict) or not isinstance(item.get("Arn"), str):
            self.note("policy", self.source, "managed policy entry without an Arn", path)
            return
        arn = str(item["Arn"])
        name = str(item.get("PolicyName") or arn.rsplit("/", 1)[-1])
        versions = self.items(item, "PolicyVersionList", f"{path}.PolicyVersionList", arn)
        default = item.get("DefaultVersionId")
        chosen: tuple[int, dict[str, object]] | None = None
        for i, v in enumerate(versions):
            if isinstance(v, dict) and (
                v.get("IsDefaultVersion") is True
                or (default is not None and v.get("VersionId") == default)
            ):
                chosen = (i, v)
                break
        if chosen is None:
            self.note("policy", arn, "no default version in PolicyVersionList", path)
            self.inv.policies.setdefault(arn, ManagedPolicy(arn, name, None))
            return
        i, version = chosen
        doc = self.policy(
            version.get("Document"), arn, "identity", f"{path}.PolicyVersionList[{i}].Document"
        )
        self.inv.policies[arn] = ManagedPolicy(arn, name, doc)


def _read_page(reader: _Reader, doc: object, where: str) -> bool:
    """One page into the inventory; returns its ``IsTruncated``."""
    if not isinstance(doc, dict) or not any(k in doc for k in LIST_KEYS):
        raise fail(
            reader.source,
            where,
            "not get-account-authorization-details output: expected an object with "
            + ", ".join(LIST_KEYS),
        )
    handlers = {
        "UserDetailList": reader.user,
        "GroupDetailList": reader.group,
        "RoleDetailList": reader.role,
        "Policies": reader.managed_policy,
    }
    for key, handle in handlers.items():
        value = doc.get(key, [])
        if not isinstance(value, list):
            raise fail(reader.source, f"{where}{key}", f"{key} must be a list")
        for i, item in enumerate(value):
            handle(item, f"{where}{key}[{i}]")
    return doc.get("IsTruncated") is True


def read_auth_details(paths: Iterable[str | Path], inventory: Inventory | None = None) -> Inventory:
    """Read every file (each one or more pages) into one inventory."""
    inv = inventory if inventory is not None else Inventory()
    for path in paths:
        docs = read_documents(path)
        reader = _Reader(inv, str(path))
        truncated = [
            _read_page(reader, doc, f"document {n}: " if len(docs) > 1 else "")
            for n, doc in enumerate(docs, 1)
        ]
        if truncated[-1]:
            inv.not_evaluated.append(
                NotEvaluated(
                    "page",
                    str(path),
                    "the last page says IsTruncated: true; unless a later file holds the next "
                    "pages (from its Marker), the export is incomplete",
                    str(path),
                    "IsTruncated",
                )
            )
    return inv
