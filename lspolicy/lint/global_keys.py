"""AWS's global condition keys as data: name, type, and whether any request may carry them.

Source: "AWS global condition context keys",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
(checked against a stored copy of that page's source in the public awsdocs/iam-user-guide
repository; the keys that copy predates — aws:PrincipalIsAWSService, aws:PrincipalServiceName,
aws:PrincipalServiceNamesList, aws:ResourceAccount, aws:ResourceOrgID, aws:ResourceOrgPaths,
aws:SourceOrgID, aws:SourceOrgPaths, aws:SourceVpcArn, aws:VpceAccount, aws:VpceOrgID,
aws:VpceOrgPaths, aws:Ec2InstanceSourceVpc, aws:Ec2InstanceSourcePrivateIPv4, aws:SourceIdentity,
aws:FederatedProvider, aws:AssumedRoot, aws:ChatbotSourceArn — are from the current page).

``scope`` says where a key can appear:

- ``request``: any service's request context may carry it (availability varies by caller and
  path, which ``...IfExists`` is for, but no service excludes it): ``aws:SourceIp``...
- ``service``: the page lists it as global, but it is present only for the actions and resource
  types a service's own table lists (the tag keys: "This key is returned only for resources that
  support authorization based on tags"). For Lightsail those facts are in
  `lspolicy.lightsail.catalog`; the linter asks the catalog, never this table, about them.

``values`` is the closed set of values a key takes, where the page defines one, and
``lowercase`` marks keys whose values are always lower case (region codes): both let the linter
prove that a case-sensitive comparison can never match.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = ["GLOBAL_CONDITION_KEYS", "GlobalKey", "find_global_key"]

SOURCE_URL = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html"
)

KeyType = Literal["String", "ARN", "Bool", "Numeric", "Date", "IPAddress"]


@dataclass(frozen=True, slots=True)
class GlobalKey:
    """One global condition key. A name ending in ``/`` is a prefix: ``aws:PrincipalTag/`` stands
    for ``aws:PrincipalTag/<tag key>``."""

    name: str
    type: KeyType
    scope: Literal["request", "service"] = "request"
    multivalued: bool = False
    values: tuple[str, ...] | None = None
    lowercase: bool = False

    @property
    def is_prefix(self) -> bool:
        """Whether the key is written with a suffix (a tag key) after ``/``."""
        return self.name.endswith("/")

    def matches(self, key: str) -> bool:
        """Whether ``key`` as written in a policy is this key (names are case-insensitive)."""
        folded = key.casefold()
        name = self.name.casefold()
        if self.is_prefix:
            return folded.startswith(name) and len(folded) > len(name)
        return folded == name


_BOOL = ("true", "false")

_KEYS: tuple[GlobalKey, ...] = (
    # properties of the principal
    GlobalKey("aws:PrincipalArn", "ARN"),
    GlobalKey("aws:PrincipalAccount", "String"),
    GlobalKey("aws:PrincipalOrgPaths", "String", multivalued=True),
    GlobalKey("aws:PrincipalOrgID", "String"),
    GlobalKey("aws:PrincipalTag/", "String"),
    GlobalKey("aws:PrincipalIsAWSService", "Bool", values=_BOOL),
    GlobalKey("aws:PrincipalServiceName", "String"),
    GlobalKey("aws:PrincipalServiceNamesList", "String", multivalued=True),
    GlobalKey(
        "aws:PrincipalType",
        "String",
        values=("Account", "User", "FederatedUser", "AssumedRole", "Anonymous"),
    ),
    GlobalKey("aws:userid", "String"),
    GlobalKey("aws:username", "String"),
    # properties of a role session
    GlobalKey("aws:AssumedRoot", "Bool", values=_BOOL),
    GlobalKey("aws:FederatedProvider", "String"),
    GlobalKey("aws:TokenIssueTime", "Date"),
    GlobalKey("aws:MultiFactorAuthAge", "Numeric"),
    GlobalKey("aws:MultiFactorAuthPresent", "Bool", values=_BOOL),
    GlobalKey("aws:ChatbotSourceArn", "ARN"),
    GlobalKey("aws:Ec2InstanceSourceVpc", "String"),
    GlobalKey("aws:Ec2InstanceSourcePrivateIPv4", "IPAddress"),
    GlobalKey("aws:SourceIdentity", "String"),
    # properties of the network
    GlobalKey("aws:SourceIp", "IPAddress"),
    GlobalKey("aws:SourceVpc", "String"),
    GlobalKey("aws:SourceVpcArn", "ARN"),
    GlobalKey("aws:SourceVpce", "String"),
    GlobalKey("aws:VpceAccount", "String"),
    GlobalKey("aws:VpceOrgPaths", "String", multivalued=True),
    GlobalKey("aws:VpceOrgID", "String"),
    GlobalKey("aws:VpcSourceIp", "IPAddress"),
    # properties of the resource
    GlobalKey("aws:ResourceAccount", "String"),
    GlobalKey("aws:ResourceOrgPaths", "String", multivalued=True),
    GlobalKey("aws:ResourceOrgID", "String"),
    GlobalKey("aws:ResourceTag/", "String", scope="service"),
    # properties of the request
    GlobalKey("aws:CalledVia", "String", multivalued=True),
    GlobalKey("aws:CalledViaFirst", "String"),
    GlobalKey("aws:CalledViaLast", "String"),
    GlobalKey("aws:ViaAWSService", "Bool", values=_BOOL),
    GlobalKey("aws:CurrentTime", "Date"),
    GlobalKey("aws:EpochTime", "Date"),
    GlobalKey("aws:referer", "String"),
    GlobalKey("aws:RequestedRegion", "String", lowercase=True),
    GlobalKey("aws:RequestTag/", "String", scope="service"),
    GlobalKey("aws:TagKeys", "String", scope="service", multivalued=True),
    GlobalKey("aws:SecureTransport", "Bool", values=_BOOL),
    GlobalKey("aws:SourceAccount", "String"),
    GlobalKey("aws:SourceArn", "ARN"),
    GlobalKey("aws:SourceOrgID", "String"),
    GlobalKey("aws:SourceOrgPaths", "String", multivalued=True),
    GlobalKey("aws:UserAgent", "String"),
)


def _table(keys: tuple[GlobalKey, ...]) -> Mapping[str, GlobalKey]:
    out: dict[str, GlobalKey] = {}
    for key in keys:
        folded = key.name.casefold()
        if folded in out:
            raise RuntimeError(f"global condition key {key.name!r} is listed twice")
        out[folded] = key
    return MappingProxyType(out)


GLOBAL_CONDITION_KEYS: Mapping[str, GlobalKey] = _table(_KEYS)
"""Every global key by case-folded name (prefix keys end in ``/``)."""


def find_global_key(key: str) -> GlobalKey | None:
    """The global key ``key`` (as written in a policy) is, or an instance of; None if none."""
    folded = key.casefold()
    exact = GLOBAL_CONDITION_KEYS.get(folded)
    if exact is not None and not exact.is_prefix:
        return exact
    head, slash, _ = folded.partition("/")
    if slash:
        prefix = GLOBAL_CONDITION_KEYS.get(head + "/")
        if prefix is not None and prefix.matches(key):
            return prefix
    return None
