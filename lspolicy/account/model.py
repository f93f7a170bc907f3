"""The review's inputs as typed, frozen objects: principals, instances, SCP levels, and every
problem found while reading them (nothing is dropped silently).

Policy documents are parsed once, here, into `lspolicy.Policy`; one that does not parse is kept
as ``None`` with its problem recorded, and the rest of the review goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from lspolicy.errors import LspolicyError, Problem
from lspolicy.model.policy import Policy

__all__ = [
    "AccountInputError",
    "Group",
    "Instance",
    "Inventory",
    "ManagedPolicy",
    "NamedPolicy",
    "NotEvaluated",
    "Role",
    "User",
    "account_of",
]


class AccountInputError(LspolicyError):
    """An input file cannot be used at all (unreadable, not JSON, not the export it should be);
    ``problems`` names the file and the JSON path of each."""

    def __init__(self, problems: tuple[Problem, ...]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def account_of(arn: str) -> str | None:
    """The account id field of an ARN (``None`` when there is none)."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[4]:
        return parts[4]
    return None


def _frozen(tags: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(tags))


@dataclass(frozen=True, slots=True)
class NotEvaluated:
    """Something the review could not evaluate: what, where, and why."""

    what: str
    """``policy``, ``principal``, ``instance``, ``trust``, ``page``, ``account``..."""
    name: str
    """The policy ARN or name, the principal's ARN, the file..."""
    message: str
    source: str = ""
    path: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "what": self.what,
            "name": self.name,
            "message": self.message,
            "source": self.source,
            "path": self.path,
        }


@dataclass(frozen=True, slots=True)
class NamedPolicy:
    """An inline policy: its name and parsed document (``None`` when it did not parse)."""

    name: str
    policy: Policy | None


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    """A managed policy and its default version's document (``None`` when it did not parse)."""

    arn: str
    name: str
    policy: Policy | None


@dataclass(frozen=True, slots=True)
class Group:
    """An IAM group: its inline and attached managed policies."""

    arn: str
    name: str
    inline: tuple[NamedPolicy, ...] = ()
    managed: tuple[str, ...] = ()

    @property
    def account(self) -> str | None:
        """The account id in the ARN."""
        return account_of(self.arn)


@dataclass(frozen=True, slots=True)
class User:
    """An IAM user with its own policies, groups (by name), boundary and tags."""

    arn: str
    name: str
    user_id: str | None = None
    path: str = "/"
    inline: tuple[NamedPolicy, ...] = ()
    managed: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    boundary: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _frozen(self.tags))

    @property
    def account(self) -> str | None:
        """The account id in the ARN."""
        return account_of(self.arn)


@dataclass(frozen=True, slots=True)
class Role:
    """An IAM role: trust policy (``None`` when it did not parse), policies, boundary, tags."""

    arn: str
    name: str
    role_id: str | None = None
    path: str = "/"
    trust: Policy | None = None
    inline: tuple[NamedPolicy, ...] = ()
    managed: tuple[str, ...] = ()
    boundary: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    last_used: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _frozen(self.tags))

    @property
    def account(self) -> str | None:
        """The account id in the ARN."""
        return account_of(self.arn)


@dataclass(frozen=True, slots=True)
class Instance:
    """A Lightsail instance as ``get-instances`` describes it."""

    name: str
    arn: str
    region: str
    tags: Mapping[str, str] = field(default_factory=dict)
    state: str | None = None
    resource_type: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _frozen(self.tags))

    @property
    def account(self) -> str | None:
        """The account id in the ARN."""
        return account_of(self.arn)


@dataclass
class Inventory:
    """Everything the review reads, merged over every input file.

    ``scp_levels`` maps an account id to its SCP levels (root first), or to ``None`` when the
    account is not affected by SCPs (the management account); an account absent from the map
    is not covered by the organization file and gets no SCPs (said in ``not_evaluated``).
    """

    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    policies: dict[str, ManagedPolicy] = field(default_factory=dict)
    instances: dict[str, Instance] = field(default_factory=dict)
    scp_levels: dict[str, tuple[tuple[Policy, ...], ...] | None] = field(default_factory=dict)
    organization_id: str | None = None
    has_organization: bool = False
    not_evaluated: list[NotEvaluated] = field(default_factory=list)

    _group_index: dict[tuple[str | None, str], str] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def group(self, account: str | None, name: str) -> Group | None:
        """The group ``name`` of ``account`` (a user names its groups by name only): the first
        such group in ``groups``' order, found through an index by (account, name) that is
        checked against ``groups`` on every hit (a miss scans, so a changed ``groups`` is
        never answered from a stale index)."""
        key = (account, name)
        arn = self._group_index.get(key)
        if arn is not None:
            g = self.groups.get(arn)
            if g is not None and g.name == name and g.account == account:
                return g
        index: dict[tuple[str | None, str], str] = {}
        for arn, g in self.groups.items():
            index.setdefault((g.account, g.name), arn)
        self._group_index = index
        found = index.get(key)
        return None if found is None else self.groups[found]
