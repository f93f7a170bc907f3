"""The all-service catalog's objects: frozen, typed, built from the bundled extract.

The facts are the Service Authorization Reference's, per service: actions (access level, the
resource types each can be scoped to, ``required`` being the reference's ``*`` mark, and its
request condition keys), resource types (ARN template and condition keys), and condition keys
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "ActionResource",
    "Service",
    "ServiceAction",
    "ServiceDataSource",
    "ServiceResourceType",
]


@dataclass(frozen=True, slots=True)
class ServiceDataSource:
    """Where the extract came from: the package, its version, the date of its data, and the
    reference it is derived from."""

    package: str
    version: str
    retrieved: datetime.date
    url: str


class ActionResource(NamedTuple):
    """A resource type an action can be scoped to, as the action's row names it."""

    name: str
    required: bool


@dataclass(frozen=True, slots=True)
class ServiceAction:
    """One IAM action. ``name`` is the action part as AWS spells it (``StopInstances``),
    ``iam_name`` the full name a policy writes (``ec2:StopInstances``); ``condition_keys`` are
    the action's own (request) keys: `ServiceCatalog.condition_keys_for` adds its resource
    types' keys. An action with no resource types supports only ``"Resource": "*"``."""

    service: str
    name: str
    iam_name: str
    access_level: str
    resource_types: tuple[ActionResource, ...]
    condition_keys: tuple[str, ...]
    resource_condition_keys: tuple[str, ...] = ()
    """Keys listed on the action's resource-type rows (the reference's per-row keys)."""


@dataclass(frozen=True, slots=True)
class ServiceResourceType:
    """A resource type: its name (``object``), ARN template and condition keys."""

    name: str
    arn: str
    condition_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Service:
    """One service's actions, resource types and condition keys; lookups are by lower-case
    name (action names and resource-type names are case-insensitive in the reference's index;
    the objects keep AWS's spelling)."""

    prefix: str
    name: str
    actions: Mapping[str, ServiceAction]
    resource_types: Mapping[str, ServiceResourceType]
    condition_keys: tuple[str, ...]
    """The service's condition keys, as AWS spells them (templates such as
    ``aws:ResourceTag/${TagKey}`` included)."""
