"""The request context of a Lightsail call: which keys AWS puts there, built from an instance
and the principal that makes the call.

- The instance's ARN carries its id, not its name:
  ``arn:aws:lightsail:<region>:<account>:Instance/<id>``
  (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html).
- Each tag of the instance is ``aws:ResourceTag/<key>``
  (https://docs.aws.amazon.com/lightsail/latest/userguide/amazon-lightsail-controlling-access-using-tags.html).
- Global keys of the principal: ``aws:PrincipalArn``, ``aws:PrincipalAccount``,
  ``aws:PrincipalType``, ``aws:username`` (IAM users only), ``aws:PrincipalTag/<key>``, and
  ``aws:RequestedRegion`` from the instance's region
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from lspolicy.model.request import ContextValue, Request

__all__ = ["INSTANCE_ACTIONS", "Identity", "Instance", "instance_request"]

INSTANCE_ACTIONS = (
    "lightsail:StopInstance",
    "lightsail:StartInstance",
    "lightsail:RebootInstance",
    "lightsail:GetInstance",
    "lightsail:GetInstanceState",
    "lightsail:DeleteInstance",
)
"""The instance actions lspolicy builds requests for (all authorize on the Instance ARN)."""


def _frozen(tags: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(tags or {}))


@dataclass(frozen=True, slots=True)
class Instance:
    """A Lightsail instance as authorization sees it: where it is, its id, and its tags."""

    id: str
    region: str
    account: str
    name: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    partition: str = "aws"

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _frozen(self.tags))

    @property
    def arn(self) -> str:
        """``arn:<partition>:lightsail:<region>:<account>:Instance/<id>``."""
        return f"arn:{self.partition}:lightsail:{self.region}:{self.account}:Instance/{self.id}"


@dataclass(frozen=True, slots=True)
class Identity:
    """The principal making a call: an IAM user, a role, or an assumed-role session."""

    arn: str
    tags: Mapping[str, str] = field(default_factory=dict)
    role_arn: str | None = None
    """For a role session: the role's ARN, with its path (derived without one when not given)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", _frozen(self.tags))

    @property
    def principal_arn(self) -> str:
        """``aws:PrincipalArn``: for a role session, the role's ARN, not the session's.

        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn
        """
        parts = self.arn.split(":", 5)
        if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
            if self.role_arn is not None:
                return self.role_arn
            role = parts[5].split("/")[1] if parts[5].count("/") >= 1 else ""
            return f"arn:{parts[1]}:iam::{parts[4]}:role/{role}"
        return self.arn

    @property
    def account(self) -> str | None:
        """The account id in the ARN."""
        parts = self.arn.split(":", 5)
        return parts[4] if len(parts) == 6 else None

    @property
    def kind(self) -> str:
        """``User``, ``AssumedRole``, ``Role``, ``Account`` or ``FederatedUser`` (aws:PrincipalType)."""
        resource = self.arn.split(":", 5)[-1]
        if resource.startswith("user/"):
            return "User"
        if resource.startswith("assumed-role/"):
            return "AssumedRole"
        if resource.startswith("role/"):
            return "AssumedRole"  # a role acts through sessions
        if resource.startswith("federated-user/"):
            return "FederatedUser"
        return "Account" if resource == "root" else "User"

    @property
    def username(self) -> str | None:
        """``aws:username``: the friendly name of an IAM user; roles have none."""
        resource = self.arn.split(":", 5)[-1]
        if resource.startswith("user/"):
            return resource.rsplit("/", 1)[-1]
        return None

    def context(self) -> dict[str, ContextValue]:
        """The principal's global condition keys."""
        out: dict[str, ContextValue] = {
            "aws:PrincipalArn": self.principal_arn,
            "aws:PrincipalType": self.kind,
        }
        if self.account:
            out["aws:PrincipalAccount"] = self.account
        if self.username is not None:
            out["aws:username"] = self.username
        for key, value in self.tags.items():
            out[f"aws:PrincipalTag/{key}"] = value
        return out


def instance_request(
    action: str,
    instance: Instance,
    identity: Identity,
    *,
    context: Mapping[str, ContextValue] | None = None,
) -> Request:
    """The request AWS authorizes when ``identity`` calls ``action`` on ``instance``.

    Keys in ``context`` (e.g. ``aws:MultiFactorAuthPresent``, ``aws:SourceIp``,
    ``aws:CurrentTime``) are added last and win over derived ones.
    """
    values: dict[str, ContextValue] = identity.context()
    for key, value in instance.tags.items():
        values[f"aws:ResourceTag/{key}"] = value
    values["aws:RequestedRegion"] = instance.region
    values.update(context or {})
    return Request(action, instance.arn, values, caller_arn=identity.arn)
