"""What an intent means, decided from the intent alone: the oracle the proof holds the
generated policies to.

Nothing here reads a policy, a condition operator or the engine; it is written from the intent's
own words, so a mistake in `lspolicy.generate.build` cannot hide behind the same mistake here.
Where the meaning depends on AWS, the AWS fact is stated:

- Who: the caller is in the intent's account (an identity policy is attached in its own
  account: https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_identity-vs-resource.html),
  is one of ``arns`` when given, and carries every principal tag selected.
- What: the action is one the grant names, ``lightsail:*`` meaning every action that can be
  scoped to an instance; action names ignore case
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).
  A request on anything but an instance is never granted.
- Which instances: in the intent's account and partition ``aws``, in one of the regions
  (when given), one of the ids (when given), and every tag selector holds. A tag is looked up by
  key without regard to case, because IAM compares condition key names that way
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html);
  values are compared exactly, case included. An instance without the tag never matches.
  ``principal_tag: k`` holds when the instance's tag and the caller's tag ``k`` are both
  present and equal.
- Requirements: MFA present and true; the source address in one of the blocks; the current time
  within the window, both ends included. A value that is absent fails its requirement.
- Exclusions: the action is one the exclusion names (default: any action some grant gives), the
  instance matches its selectors, and the ``unless`` requirements do not all hold.

An instance whose tag keys differ only in case (``env`` and ``Env``) cannot be judged: AWS's
documentation does not say which one a request context would carry. `Undecidable` is raised
and the proof counts such requests apart rather than guessing.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from lspolicy.generate.intent import (
    ActionSet,
    Exclusion,
    Grant,
    InstanceSelector,
    Intent,
    PrincipalSelector,
    Requirements,
    TagMatch,
    instance_actions,
)
from lspolicy.lightsail.context import Identity, Instance, instance_request
from lspolicy.model.request import ContextValue, Request

__all__ = ["Circumstances", "IntentSemantics", "Probe", "Undecidable", "Verdict"]


class Undecidable(ValueError):
    """The intent's meaning is not settled for this request (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class Circumstances:
    """The request's own facts: ``None`` means the key is absent from the request context."""

    mfa: bool | None = None
    source_ip: str | None = None
    current_time: str | None = None
    """ISO 8601 UTC, e.g. ``2026-01-01T00:00:00Z``."""

    def context(self) -> dict[str, ContextValue]:
        """The request context keys: ``aws:MultiFactorAuthPresent``, ``aws:SourceIp``,
        ``aws:CurrentTime``."""
        out: dict[str, ContextValue] = {}
        if self.mfa is not None:
            out["aws:MultiFactorAuthPresent"] = self.mfa
        if self.source_ip is not None:
            out["aws:SourceIp"] = self.source_ip
        if self.current_time is not None:
            out["aws:CurrentTime"] = self.current_time
        return out


@dataclass(frozen=True, slots=True)
class Probe:
    """One request to judge: who, which action, on which instance (or other resource), and
    the request's circumstances."""

    action: str
    identity: Identity
    circumstances: Circumstances
    instance: Instance | None = None
    resource: str = "*"
    """The resource when the request is not on an instance (``*``, a disk's ARN...)."""

    @property
    def resource_arn(self) -> str:
        """The ARN the request names."""
        return self.instance.arn if self.instance is not None else self.resource

    def request(self) -> Request:
        """The request the engine authorizes, built as the emulator builds it."""
        context = self.circumstances.context()
        if self.instance is not None:
            return instance_request(self.action, self.instance, self.identity, context=context)
        values = {**self.identity.context(), **context}
        return Request(self.action, self.resource, values, caller_arn=self.identity.arn)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The intent's answer with its reasons."""

    allowed: bool
    grants: tuple[str, ...]
    """Sids of the grants that give the request (before exclusions)."""
    exclusions: tuple[str, ...]
    """Sids of the exclusions that take it away."""
    reason: str


def _fold(tags: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tags.items():
        folded = key.casefold()
        if folded in out:
            raise Undecidable(f"tag keys differing only in case: {sorted(tags)}")
        out[folded] = value
    return out


@functools.lru_cache(maxsize=4096)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)
def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


class IntentSemantics:
    """Decides requests by the intent's meaning."""

    def __init__(self, intent: Intent) -> None:
        self.intent = intent
        self._instance_actions = frozenset(a.casefold() for a in instance_actions())
        self._granted = intent.granted_actions()
        self._networks: dict[
            Requirements, tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
        ] = {}

    # -- the parts

    def _action_in(self, actions: ActionSet, action: str) -> bool:
        folded = action.casefold()
        if folded not in self._instance_actions:
            return False
        return actions.every or any(folded == n.casefold() for n in actions.names)

    @staticmethod
    def _match(m: TagMatch, tags: Mapping[str, str], caller: Mapping[str, str]) -> bool:
        value = tags.get(m.key.casefold())
        if value is None:
            return False
        if m.kind == "equals":
            return value == m.values[0]
        if m.kind == "one_of":
            return value in m.values
        if m.kind == "prefix":
            return value.startswith(m.values[0])
        own = caller.get(m.values[0].casefold())
        return own is not None and own == value

    def _who(self, who: PrincipalSelector, identity: Identity, caller: Mapping[str, str]) -> bool:
        if identity.account != self.intent.account:
            return False
        if who.arns and identity.arn not in who.arns:
            return False
        return all(self._match(m, caller, caller) for m in who.tags)

    def _where(
        self,
        regions: Sequence[str],
        selector: InstanceSelector,
        instance: Instance,
        tags: Mapping[str, str],
        caller: Mapping[str, str],
    ) -> bool:
        if instance.account != self.intent.account or instance.partition != "aws":
            return False
        if regions and instance.region not in regions:
            return False
        if selector.ids and instance.id not in selector.ids:
            return False
        return all(self._match(m, tags, caller) for m in selector.tags)

    def _met(self, req: Requirements, c: Circumstances) -> bool:
        if req.mfa and c.mfa is not True:
            return False
        if req.source_ip:
            networks = self._networks.get(req)
            if networks is None:
                networks = tuple(ipaddress.ip_network(n) for n in req.source_ip)
                self._networks[req] = networks
            address = _address(c.source_ip) if c.source_ip is not None else None
            if address is None or not any(
                address.version == n.version and address in n for n in networks
            ):
                return False
        if req.not_before or req.not_after:
            moment = _moment(c.current_time) if c.current_time is not None else None
            if moment is None:
                return False
            if req.not_before and moment < req.not_before:
                return False
            if req.not_after and moment > req.not_after:
                return False
        return True

    def grant_allows(self, grant: Grant, probe: Probe) -> bool:
        """Whether ``grant`` gives ``probe`` (exclusions aside)."""
        instance = probe.instance
        if instance is None or not self._action_in(grant.actions, probe.action):
            return False
        caller = _fold(probe.identity.tags)
        return (
            self._who(grant.principals, probe.identity, caller)
            and self._where(grant.regions, grant.instances, instance, _fold(instance.tags), caller)
            and self._met(grant.require, probe.circumstances)
        )

    def excludes(self, exclusion: Exclusion, probe: Probe) -> bool:
        """Whether ``exclusion`` takes ``probe`` away."""
        instance = probe.instance
        actions = exclusion.actions if exclusion.actions is not None else self._granted
        if instance is None or not self._action_in(actions, probe.action):
            return False
        caller = _fold(probe.identity.tags)
        if not self._where(
            exclusion.regions, exclusion.instances, instance, _fold(instance.tags), caller
        ):
            return False
        return exclusion.unless.empty or not self._met(exclusion.unless, probe.circumstances)

    # -- the answer

    def allows(self, probe: Probe, grants: Sequence[Grant] | None = None) -> bool:
        """The intent's decision (over ``grants`` only, when given: one policy's share)."""
        chosen = self.intent.grants if grants is None else grants
        if not any(self.grant_allows(g, probe) for g in chosen):
            return False
        return not any(self.excludes(e, probe) for e in self.intent.exclusions)

    def explain(self, probe: Probe, grants: Sequence[Grant] | None = None) -> Verdict:
        """The decision with the grants and exclusions behind it."""
        chosen = self.intent.grants if grants is None else grants
        giving = tuple(g.sid for g in chosen if self.grant_allows(g, probe))
        taking = tuple(e.sid for e in self.intent.exclusions if self.excludes(e, probe))
        if not giving:
            return Verdict(False, (), taking, "no grant of the intent covers it")
        if taking:
            return Verdict(
                False,
                giving,
                taking,
                f"granted by {', '.join(giving)} but excluded by {', '.join(taking)}",
            )
        return Verdict(True, giving, (), f"granted by {', '.join(giving)}")
