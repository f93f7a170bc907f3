"""What an intent means, decided from the intent alone: the oracle the proof holds the
generated policies to.

Nothing here reads a policy, a condition operator or the engine; it is written from the intent's
own words, so a mistake in `lspolicy.generate.build` cannot hide behind the same mistake here.
Where the meaning depends on AWS, the AWS fact is stated:

- Who: the caller is in the intent's account (an identity policy is attached in its own
  account: https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_identity-vs-resource.html),
  is one of ``arns`` when given, and carries every principal tag selected. A role session is
  its role: "for IAM roles, the request context returns the ARN of the role, not the ARN of the
  user that assumed the role"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn);
  the session's ARN has no room for the role's path, so a role with a path is known only when
  the identity says which role it is (``Identity.role_arn``).
- What: the action is one the grant names, ``lightsail:*`` meaning every action that can be
  scoped to an instance; action names ignore case
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).
  A request on anything but an instance is never granted.
- Which instances: in the intent's account and partition ``aws``, in one of the regions
  (when given), one of the ids (when given), and every tag selector holds. A tag is looked up by
  key without regard to case, because IAM compares condition key names that way
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html);
  values are compared exactly, case included, unless the selector says ``case_insensitive``:
  then both sides are lower-cased character by character first (IAM's ``...IgnoreCase``
  operators "ignore case" and say no more:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String).
  An instance without the tag never matches, not even "not one of" (an untagged instance is
  not "env is not prod"); "present" matches any value of the tag.
  ``principal_tag: k`` holds when the instance's tag and the caller's tag ``k`` are both
  present and equal.
- Requirements: MFA present and true; the source address in one of the blocks; the current time
  within the window, both ends included; MFA used at most N seconds ago, the caller's
  organization one of those listed, the source identity matching one of the values or
  patterns (`lspolicy.generate.request_keys.met`). A value that is absent fails its requirement.
- Exclusions: the action is one the exclusion names (default: any action some grant gives), the
  caller is one of its ``principals`` (when given; default: every caller), the instance
  matches its selectors, and the ``unless`` requirements do not all hold.

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

from lspolicy.generate import request_keys
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

__all__ = [
    "Circumstances",
    "IntentSemantics",
    "Probe",
    "Undecidable",
    "Verdict",
    "case_variant_warnings",
]


class Undecidable(ValueError):
    """The intent's meaning is not settled for this request (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class Circumstances:
    """The request's own facts: ``None`` means the key is absent from the request context."""

    mfa: bool | None = None
    source_ip: str | None = None
    current_time: str | None = None
    """ISO 8601 UTC, e.g. ``2026-01-01T00:00:00Z``."""
    mfa_age: float | None = None
    """Seconds since MFA was used (``aws:MultiFactorAuthAge``): always a number when present."""
    org_id: str | None = None
    """The caller's organization (``aws:PrincipalOrgID``)."""
    source_identity: str | None = None
    """The session's source identity (``aws:SourceIdentity``)."""

    def context(self) -> dict[str, ContextValue]:
        """The request context keys: ``aws:MultiFactorAuthPresent``, ``aws:SourceIp``,
        ``aws:CurrentTime`` and those of `extra`."""
        out: dict[str, ContextValue] = {}
        if self.mfa is not None:
            out["aws:MultiFactorAuthPresent"] = self.mfa
        if self.source_ip is not None:
            out["aws:SourceIp"] = self.source_ip
        if self.current_time is not None:
            out["aws:CurrentTime"] = self.current_time
        out.update(self.extra())
        return out

    def extra(self) -> dict[str, ContextValue]:
        """``aws:MultiFactorAuthAge``, ``aws:PrincipalOrgID``, ``aws:SourceIdentity`` when
        present (`lspolicy.generate.request_keys`)."""
        out: dict[str, ContextValue] = {}
        if self.mfa_age is not None:
            age = self.mfa_age
            out[request_keys.MFA_AGE] = int(age) if float(age).is_integer() else age
        if self.org_id is not None:
            out[request_keys.ORG_ID] = self.org_id
        if self.source_identity is not None:
            out[request_keys.SOURCE_IDENTITY] = self.source_identity
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


def _who_arn(identity: Identity) -> str:
    """The ARN the caller acts as: a role session acts as its role."""
    parts = identity.arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        if identity.role_arn is not None:
            return identity.role_arn
        return f"arn:{parts[1]}:iam::{parts[4]}:role/{parts[5].split('/')[1]}"
    return identity.arn


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


@dataclass(frozen=True, slots=True)
class _Facts:
    """What every grant and exclusion reads from one probe, computed once."""

    action: str
    """Folded; empty when the action is not an instance action."""
    caller_arn: str
    """The ARN the caller acts as (a role session: its role)."""
    caller_in_account: bool
    caller: Mapping[str, str]
    instance: Instance | None
    tags: Mapping[str, str]
    circumstances: Circumstances


class IntentSemantics:
    """Decides requests by the intent's meaning."""

    def __init__(self, intent: Intent) -> None:
        self.intent = intent
        every = frozenset(a.casefold() for a in instance_actions())
        self._instance_actions = every

        def folded(actions: ActionSet) -> frozenset[str]:
            return every if actions.every else frozenset(n.casefold() for n in actions.names)

        self._grant_actions = [folded(g.actions) for g in intent.grants]
        granted = folded(intent.granted_actions())
        self._exclusion_actions = [
            granted if e.actions is None else folded(e.actions) for e in intent.exclusions
        ]
        self._networks: dict[
            Requirements, tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
        ] = {}

    # -- the parts

    def facts(self, probe: Probe) -> _Facts:
        """The probe's facts (raises `Undecidable` for tag keys that differ only in case)."""
        action = probe.action.casefold()
        instance = probe.instance
        return _Facts(
            action=action if action in self._instance_actions else "",
            caller_arn=_who_arn(probe.identity),
            caller_in_account=probe.identity.account == self.intent.account,
            caller=_fold(probe.identity.tags),
            instance=instance,
            tags=_fold(instance.tags) if instance is not None else {},
            circumstances=probe.circumstances,
        )

    @staticmethod
    def _match(m: TagMatch, tags: Mapping[str, str], caller: Mapping[str, str]) -> bool:
        value = tags.get(m.key.casefold())
        if value is None:
            return False  # also for "not one of": an untagged instance is not "env is not prod"
        if m.kind == "present":
            return True
        if m.kind in ("equals", "one_of", "not_one_of"):
            if m.case_insensitive:
                listed = value.lower() in {v.lower() for v in m.values}
            else:
                listed = value in m.values
            return listed != (m.kind == "not_one_of")
        if m.kind == "prefix":
            return value.startswith(m.values[0])
        own = caller.get(m.values[0].casefold())
        return own is not None and own == value

    def _who(self, who: PrincipalSelector, f: _Facts) -> bool:
        if not f.caller_in_account:
            return False
        if who.arns and f.caller_arn not in who.arns:
            return False
        return all(self._match(m, f.caller, f.caller) for m in who.tags)

    def _where(self, regions: Sequence[str], selector: InstanceSelector, f: _Facts) -> bool:
        instance = f.instance
        if instance is None:
            return False
        if instance.account != self.intent.account or instance.partition != "aws":
            return False
        if regions and instance.region not in regions:
            return False
        if selector.ids and instance.id not in selector.ids:
            return False
        return all(self._match(m, f.tags, f.caller) for m in selector.tags)

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
        return request_keys.met(req, c)

    def giving(self, probe: Probe, f: _Facts | None = None) -> list[int]:
        """Indexes of the grants that give ``probe`` (exclusions aside)."""
        f = f or self.facts(probe)
        if not f.action or f.instance is None:
            return []
        return [
            i
            for i, g in enumerate(self.intent.grants)
            if f.action in self._grant_actions[i]
            and self._who(g.principals, f)
            and self._where(g.regions, g.instances, f)
            and self._met(g.require, f.circumstances)
        ]

    def taking(self, probe: Probe, f: _Facts | None = None) -> list[int]:
        """Indexes of the exclusions that take ``probe`` away."""
        f = f or self.facts(probe)
        if not f.action or f.instance is None:
            return []
        return [
            j
            for j, e in enumerate(self.intent.exclusions)
            if f.action in self._exclusion_actions[j]
            and (e.principals is None or self._who(e.principals, f))
            and self._where(e.regions, e.instances, f)
            and (e.unless.empty or not self._met(e.unless, f.circumstances))
        ]

    def grant_allows(self, grant: Grant, probe: Probe) -> bool:
        """Whether ``grant`` gives ``probe`` (exclusions aside)."""
        return self.intent.grants.index(grant) in self.giving(probe)

    def excludes(self, exclusion: Exclusion, probe: Probe) -> bool:
        """Whether ``exclusion`` takes ``probe`` away."""
        return self.intent.exclusions.index(exclusion) in self.taking(probe)

    # -- the answer

    def allows(self, probe: Probe, grants: Sequence[Grant] | None = None) -> bool:
        """The intent's decision (over ``grants`` only, when given: one policy's share)."""
        f = self.facts(probe)
        giving = self.giving(probe, f)
        if grants is not None:
            wanted = {self.intent.grants.index(g) for g in grants}
            giving = [i for i in giving if i in wanted]
        return bool(giving) and not self.taking(probe, f)

    def explain(self, probe: Probe, grants: Sequence[Grant] | None = None) -> Verdict:
        """The decision with the grants and exclusions behind it."""
        f = self.facts(probe)
        chosen = set(range(len(self.intent.grants)))
        if grants is not None:
            chosen = {self.intent.grants.index(g) for g in grants}
        giving = tuple(self.intent.grants[i].sid for i in self.giving(probe, f) if i in chosen)
        taking = tuple(self.intent.exclusions[j].sid for j in self.taking(probe, f))
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


def case_variant_warnings(intent: Intent, instances: Sequence[Instance]) -> list[str]:
    """Warnings for instances whose tag value differs from a case-sensitive selector's value
    only in case (``Prod`` where the intent says ``prod``): the selector misses them, since
    ``StringEquals`` is case-sensitive
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String);
    ``case_insensitive: true`` on the selector would take them in."""
    out: list[str] = []
    entries = [("grant", g.sid, g.instances) for g in intent.grants]
    entries += [("exclusion", e.sid, e.instances) for e in intent.exclusions]
    for what, sid, selector in entries:
        for m in selector.tags:
            if m.case_insensitive or m.kind not in ("equals", "one_of", "not_one_of"):
                continue
            lowered = {v.lower(): v for v in m.values}
            for instance in instances:
                for key, value in instance.tags.items():
                    if key.casefold() != m.key.casefold():
                        continue
                    listed = lowered.get(value.lower())
                    if listed is not None and listed != value and value not in m.values:
                        out.append(
                            f"{what} {sid} selects {m.key} = {listed!r}, but instance "
                            f"{instance.name or instance.id} is tagged {key} = {value!r}: it "
                            "differs only in case, so the selector misses it (add "
                            "case_insensitive: true to match every spelling)"
                        )
    return out
