"""Who the caller is, and whether a resource-based policy's ``Principal`` names them.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
- ``"*"`` / ``{"AWS": "*"}`` is everyone; no other wildcard is allowed in a principal.
- An account id or ``arn:...:iam::ACCOUNT:root`` names the account (delegating to its IAM
  policies); a role ARN names the role's sessions; an ``assumed-role`` ARN names one session.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from lspolicy.model.policy import Principal

__all__ = ["Caller", "GrantKind", "match_principal"]


class GrantKind(int, Enum):
    """How directly a principal entry names the caller (higher is more direct)."""

    NONE = 0
    ACCOUNT = 1
    ROLE = 2
    USER = 3
    SESSION = 4
    EVERYONE = 5


@dataclass(frozen=True, slots=True)
class Caller:
    """The caller's identity forms, parsed once from its ARN."""

    arn: str
    account: str | None
    kind: str  # user | role | assumed-role | root | federated-user | other
    role_name: str | None = None

    @classmethod
    def from_arn(cls, arn: str) -> Caller:
        """Parse an IAM user, role, root, or STS assumed-role ARN."""
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            return cls(arn, None, "other")
        account, resource = parts[4], parts[5]
        if parts[2] == "iam":
            if resource == "root":
                return cls(arn, account, "root")
            if resource.startswith("user/"):
                return cls(arn, account, "user")
            if resource.startswith("role/"):
                return cls(arn, account, "role", resource.rsplit("/", 1)[-1])
        if parts[2] == "sts":
            if resource.startswith("assumed-role/"):
                pieces = resource.split("/")
                return cls(arn, account, "assumed-role", pieces[1] if len(pieces) > 1 else None)
            if resource.startswith("federated-user/"):
                return cls(arn, account, "federated-user")
        return cls(arn, account, "other")

    def forms(self) -> int:
        """How many identity forms must be excluded by NotPrincipal (account, role, session)."""
        return {"assumed-role": 3, "user": 2, "role": 2, "federated-user": 2}.get(self.kind, 1)


def _entry_kind(value: str, caller: Caller) -> GrantKind:
    if value == "*":
        return GrantKind.EVERYONE
    if value.isdigit() and len(value) == 12:
        return GrantKind.ACCOUNT if value == caller.account else GrantKind.NONE
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return GrantKind.NONE
    account, resource = parts[4], parts[5]
    if account != caller.account:
        return GrantKind.NONE
    if parts[2] == "iam" and resource == "root":
        return GrantKind.ACCOUNT
    if value == caller.arn:
        if caller.kind in ("assumed-role", "federated-user"):
            return GrantKind.SESSION
        if caller.kind == "user":
            return GrantKind.USER
        if caller.kind == "role":
            return GrantKind.ROLE
        return GrantKind.USER
    if (
        parts[2] == "iam"
        and resource.startswith("role/")
        and caller.role_name is not None
        and resource.rsplit("/", 1)[-1] == caller.role_name
    ):
        return GrantKind.ROLE
    return GrantKind.NONE


def match_principal(principal: Principal, caller: Caller | None) -> GrantKind:
    """The most direct way ``principal`` names ``caller`` (NONE if it does not)."""
    if principal.wildcard:
        return GrantKind.EVERYONE
    best = GrantKind.NONE
    for kind, values in principal.entries:
        for value in values:
            if kind == "AWS":
                if caller is None:
                    got = GrantKind.EVERYONE if value == "*" else GrantKind.NONE
                else:
                    got = _entry_kind(value, caller)
            else:
                got = (
                    GrantKind.USER if caller is not None and value == caller.arn else GrantKind.NONE
                )
            best = max(best, got)
    return best


def not_principal_excludes(principal: Principal, caller: Caller | None) -> bool:
    """Whether ``NotPrincipal`` exempts the caller: every identity form of it must be listed.

    The docs ask Deny + NotPrincipal users to list the account and, for role sessions, the role
    and the session too, because each form of the caller is evaluated.
    """
    if principal.wildcard:
        return True
    if caller is None:
        return False
    found: set[GrantKind] = set()
    for kind, values in principal.entries:
        for value in values:
            got = (
                _entry_kind(value, caller)
                if kind == "AWS"
                else (GrantKind.USER if value == caller.arn else GrantKind.NONE)
            )
            if got is GrantKind.EVERYONE:
                return True
            if got is not GrantKind.NONE:
                found.add(got)
    needed = {GrantKind.ACCOUNT}
    if caller.kind == "assumed-role":
        needed |= {GrantKind.ROLE, GrantKind.SESSION}
    elif caller.kind in ("user", "federated-user"):
        needed.add(GrantKind.USER)
    elif caller.kind == "role":
        needed.add(GrantKind.ROLE)
    return needed <= found
