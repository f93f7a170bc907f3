"""Step 4 of the pipeline: ask the engine whether the caller may act on the instance.

The request is the one AWS would authorize: the instance's ARN (by id), one
``aws:ResourceTag/<key>`` per tag, the principal's global keys and tags, and the request's own
keys (``aws:SourceIp``, ``aws:CurrentTime``, ``aws:SecureTransport``...), built by
`lspolicy.lightsail.context.instance_request` — the same code the CLI and tests use.

**A name that matches no instance** must not become an existence oracle: a caller who may not
stop an instance gets the same AccessDenied whether it exists or not. So for a missing name the
engine is asked about every instance that name could denote, and NotFound is returned only when
the caller would be allowed on *all* of them; otherwise AccessDenied. Exactly: no statement that
bears on the action (in any layer) may depend on which instance it is — it may not read the
instance's tags (``aws:ResourceTag/...``, as a condition key or a policy variable), and its
Resource/NotResource must treat every instance ARN of the region and account alike (``*``, an
ARN prefix ending in ``*``, ``.../Instance/*``, or a pattern no instance ARN can match; never a
literal id, a partial id pattern or a policy variable) — and then the action must be allowed on a
hypothetical instance. Then no instance of that name could be refused, so "not found" tells the
caller nothing it could not already do. Any doubt answers AccessDenied.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from lspolicy.evaluate.authorize import PolicySet
from lspolicy.lightsail.catalog import load_catalog
from lspolicy.lightsail.context import Instance
from lspolicy.model.request import ContextValue, Request, RequestPart
from lspolicy.server.world import Principal

__all__ = ["allowed_on_any_instance", "allowed_on_instance", "allowed_on_star", "decide"]

_PROBE_IDS = ("00000000-0000-4000-8000-000000000000", "ffffffff-ffff-4fff-bfff-ffffffffffff")


_CACHE_LIMIT = 4096
"""Entries per cache below before it is emptied (a world has a few thousand principals at most)."""

_PARTS: dict[int, tuple[Principal, RequestPart]] = {}
_DEPENDS: dict[tuple[int, str], tuple[PolicySet, bool]] = {}


def _principal_part(principal: Principal) -> RequestPart:
    """The principal's global keys (``aws:PrincipalArn``, its tags...), normalised once per
    principal object and joined with each request's own keys (`Request.from_parts`). Keyed by
    the object itself (held, and compared with ``is``): another `Principal`, even one equal to
    it, is a miss, so a world loaded again is never answered from a stale part."""
    hit = _PARTS.get(id(principal))
    if hit is not None and hit[0] is principal:
        return hit[1]
    identity = principal.identity
    part = RequestPart(identity.context(), caller_arn=identity.arn)
    if len(_PARTS) >= _CACHE_LIMIT:
        _PARTS.clear()
    _PARTS[id(principal)] = (principal, part)
    return part


@functools.cache
def _resource_level(action: str) -> bool:
    """Whether the Service Authorization Reference gives ``action`` a resource type. Actions
    without one (``GetInstance``, ``GetInstanceState``) are authorized on ``*``, with no
    resource tags: a policy can only grant them with ``"Resource": "*"``.
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    found = load_catalog().find_action(action)
    return found is None or found.supports_resource_level_permissions


def allowed_on_star(principal: Principal, action: str, context: Mapping[str, ContextValue]) -> bool:
    """The engine's decision for ``principal`` calling an action the Service Authorization
    Reference gives no resource type (``GetInstances``: "Grants permission to get information
    about all instances", no resource, no condition key), so it is authorized on ``*``: only a
    statement whose Resource matches ``*`` grants it.
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    request = Request.from_parts(
        action,
        _principal_part(principal),
        context=context,
        resource="*",
        caller_arn=principal.identity.arn,
    )
    return principal.policies.is_allowed(request)


def allowed_on_instance(
    principal: Principal, action: str, instance: Instance, context: Mapping[str, ContextValue]
) -> bool:
    """The engine's decision for ``principal`` calling ``action`` on ``instance``."""
    if not _resource_level(action):
        return allowed_on_star(principal, action, context)
    # the keys of `instance_request`, in its order: the principal's, the instance's tags, the
    # instance's region, then the request's own (which win)
    keys: dict[str, ContextValue] = {f"aws:ResourceTag/{k}": v for k, v in instance.tags.items()}
    keys["aws:RequestedRegion"] = instance.region
    keys.update(context)
    request = Request.from_parts(
        action,
        _principal_part(principal),
        context=keys,
        resource=instance.arn,
        caller_arn=principal.identity.arn,
    )
    return principal.policies.is_allowed(request)


_INSTANCE_PREFIX = "Instance/"


def _pattern_treats_instances_alike(pattern: str, substitutes: bool) -> bool:
    """Whether a Resource pattern matches every instance ARN of a region/account, or none.

    The id only appears in the ARN's sixth segment (``Instance/<id>``, ids have no colons), so
    only that segment of the pattern can tell instances apart.
    """
    if substitutes and "${" in pattern:
        return False
    segments = pattern.split(":", 5)
    if len(segments) < 6:
        return True  # a short pattern ends in "*", which swallows the whole resource part
    sixth = segments[5]
    cut = min((i for i in (sixth.find("*"), sixth.find("?")) if i >= 0), default=-1)
    if cut < 0:  # literal: names one id (instance-specific) or no instance at all
        return not sixth.startswith(_INSTANCE_PREFIX)
    head = sixth[:cut]
    if not (_INSTANCE_PREFIX.startswith(head) or head.startswith(_INSTANCE_PREFIX)):
        return True  # can never match an instance ARN
    # matches every instance exactly when it is a prefix of "Instance/" followed by a lone "*"
    return sixth == head + "*" and _INSTANCE_PREFIX.startswith(head)


def _depends_on_instance(policies: PolicySet, action: str) -> bool:
    """`_statements_depend_on_instance`, once per policy set object and action (a `PolicySet`
    is immutable; the set itself is held and compared with ``is``)."""
    key = (id(policies), action)
    hit = _DEPENDS.get(key)
    if hit is not None and hit[0] is policies:
        return hit[1]
    answer = _statements_depend_on_instance(policies, action)
    if len(_DEPENDS) >= _CACHE_LIMIT:
        _DEPENDS.clear()
    _DEPENDS[key] = (policies, answer)
    return answer


def _statements_depend_on_instance(policies: PolicySet, action: str) -> bool:
    lowered = action.lower()
    for st in policies.statements():
        if not st.action_match(lowered):
            continue
        if any(key.startswith("aws:resourcetag/") for key in st.condition_keys):
            return True
        statement = st.statement
        patterns = statement.resources or statement.not_resources or ()
        substitutes = st.policy.substitutes_variables
        if not all(_pattern_treats_instances_alike(p, substitutes) for p in patterns):
            return True
    return False


def allowed_on_any_instance(
    principal: Principal,
    action: str,
    *,
    account: str,
    region: str,
    name: str,
    context: Mapping[str, ContextValue],
) -> bool:
    """Whether ``principal`` would be allowed on every instance the name could denote."""
    if _resource_level(action) and _depends_on_instance(principal.policies, action):
        return False
    return all(
        allowed_on_instance(
            principal,
            action,
            Instance(id=probe, region=region, account=account, name=name),
            context,
        )
        for probe in _PROBE_IDS
    )


_DECISIONS: dict[
    tuple[int, str, int, str, str, str, tuple[tuple[str, ContextValue], ...]],
    tuple[Principal, Instance, tuple[bool, bool]],
] = {}
"""`decide`'s answers by (principal object, action, instance object, account, region, name,
the request's keys): the engine's decision is a function of the principal's immutable policy
set and the request built from exactly these, so asking again within the same second (the keys
hold ``aws:CurrentTime``) gives the same answer. The principal and instance objects are held and
compared with ``is``: another object, even an equal one, is a miss."""


def decide(
    principal: Principal,
    action: str,
    instance: Instance,
    *,
    account: str,
    region: str,
    name: str,
    context: Mapping[str, ContextValue],
) -> tuple[bool, bool]:
    """``(allowed on instance, allowed on any instance the name could denote)``: the two
    answers the pipeline asks for every instance call, with the same work whether ``instance``
    is the named one or the stand-in for a missing name.

    For an action without a resource type both are the one decision on ``*`` (the probes would
    ask that very request again), so it is asked once.

    Remembered (`_DECISIONS`) per principal object: a caller's repeated call is answered from
    its own earlier one, never from another principal's, for a missing name as for an existing
    one (its stand-in is an instance object like any other)."""
    key = (id(principal), action, id(instance), account, region, name, tuple(context.items()))
    hit = _DECISIONS.get(key)
    if hit is not None and hit[0] is principal and hit[1] is instance:
        return hit[2]
    answer = _decide(
        principal, action, instance, account=account, region=region, name=name, context=context
    )
    if len(_DECISIONS) >= _CACHE_LIMIT:
        _DECISIONS.clear()
    _DECISIONS[key] = (principal, instance, answer)
    return answer


def _decide(
    principal: Principal,
    action: str,
    instance: Instance,
    *,
    account: str,
    region: str,
    name: str,
    context: Mapping[str, ContextValue],
) -> tuple[bool, bool]:
    if not _resource_level(action):
        star = allowed_on_star(principal, action, context)
        return star, star
    on_instance = allowed_on_instance(principal, action, instance, context)
    on_any = allowed_on_any_instance(
        principal,
        action,
        account=account,
        region=region,
        name=name,
        context=context,
    )
    return on_instance, on_any
