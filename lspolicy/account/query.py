"""``who-can`` and ``what-can``: the core question (principal, instance, action) → answer, the
chain of roles it goes through, and the deciding statements.

For a principal, every chain of assumed roles (the empty chain first) within the depth limit
ends in an identity whose own decision on the action and instance the engine makes
(`lspolicy.account.decide`). The principal *can* when some chain reaches an identity that is
allowed or allowed-if (``conditional``). The chain reported is the best one: an unconditional
chain (every hop and the final decision ``allowed``) before a conditional one, then the
shortest, then the smallest by role ARNs in order. Lightsail has no resource-based policies, so
an instance can be acted on only from its own account: across accounts the engine denies, and
access comes through a role of the instance's account.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lspolicy.account.decide import Authority, PolicySets, Verdict, statement_dict
from lspolicy.account.model import Instance, Inventory
from lspolicy.account.reach import DEFAULT_MAX_CHAIN, Graph, Hop, Reach, reach, trust_notes
from lspolicy.lightsail.context import INSTANCE_ACTIONS
from lspolicy.model.request import ContextValue, RequestPart

__all__ = ["Access", "Review", "instance_context"]


def instance_context(instance: Instance) -> dict[str, ContextValue]:
    """``aws:ResourceTag/*`` from the instance's tags and ``aws:RequestedRegion``."""
    out: dict[str, ContextValue] = {f"aws:ResourceTag/{k}": v for k, v in instance.tags.items()}
    out["aws:RequestedRegion"] = instance.region
    return out


_EMPTY: dict[str, tuple[str, ...]] = {}
_Reader = tuple[tuple[str, ...], tuple[Callable[[str, Any], bool], ...], bool]


def _reader(sets: PolicySets, action: str) -> _Reader:
    """The context keys (lower case) and static Resource matchers that the strict, relaxed and
    probe sets read for ``action``, and whether some Resource uses policy variables."""
    keys: set[str] = set()
    matchers: dict[int, Callable[[str, Any], bool]] = {}
    dynamic = False
    for ps in (sets.strict, sets.relaxed, sets.probe):
        if ps is None:
            continue
        read, with_resources = ps.keys_read(action)
        keys |= read
        for st in with_resources:
            if st.resource_shape[0] == "dynamic":
                dynamic = True
            else:
                matchers.setdefault(id(st.resource_match), st.resource_match)
    return tuple(sorted(keys)), tuple(matchers.values()), dynamic


@dataclass(frozen=True, slots=True)
class Access:
    """How a principal reaches an action on an instance."""

    principal: str
    via: tuple[Hop, ...]
    final: Verdict
    incomplete: tuple[str, ...] = ()

    @property
    def conditional(self) -> bool:
        """Some hop, or the final decision, holds only if caller conditions hold."""
        return self.final.answer != "allowed" or any(
            h.verdict.answer != "allowed" for h in self.via
        )

    def key(self) -> tuple[bool, int, tuple[str, ...]]:
        """Preference order: unconditional, shortest, smallest role ARNs."""
        return (self.conditional, len(self.via), tuple(h.role for h in self.via))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        conditions = [
            {"step": h.role, **c.to_dict()} for h in self.via for c in h.verdict.conditions
        ]
        conditions += [{"step": "action", **c.to_dict()} for c in self.final.conditions]
        out: dict[str, object] = {
            "arn": self.principal,
            "via": [h.role for h in self.via],
            "decision": "conditional" if self.conditional else "allowed",
            "statements": [statement_dict(s) for s in self.final.statements],
            "conditions": conditions,
            "chain": [
                {
                    "role": h.role,
                    "decision": h.verdict.answer,
                    "statements": [statement_dict(s) for s in h.verdict.statements],
                }
                for h in self.via
            ],
        }
        if self.incomplete:
            out["incomplete"] = list(self.incomplete)
        return out


class Review:
    """An inventory ready to answer questions; decisions and one-hop assumptions are kept."""

    def __init__(self, inventory: Inventory, *, max_chain: int = DEFAULT_MAX_CHAIN) -> None:
        self.inventory = inventory
        self.authority = Authority(inventory)
        self.graph = Graph(self.authority)
        self.max_chain = max_chain
        self._reach: dict[str, Reach] = {}
        self._final: dict[tuple[object, ...], Verdict] = {}
        self._readers: dict[tuple[str, str], _Reader] = {}
        self._parts: dict[str, tuple[Instance, RequestPart]] = {}

    def final(self, principal: str, action: str, instance: Instance) -> Verdict:
        """The principal's own decision (no assumption) on ``action`` on ``instance``: decided
        once per principal, action and instance signature (`signature`)."""
        if self.authority.reference:
            key: tuple[object, ...] = (principal, action, instance.arn)
        else:
            key = (principal, action, self.signature(principal, action, instance))
        got = self._final.get(key)
        if got is None:
            actor = self.authority.actor(principal)
            got = self.authority.decide(actor, action, instance.arn, instance_context(instance))
            self._final[key] = got
        return got

    def signature(self, principal: str, action: str, instance: Instance) -> tuple[object, ...]:
        """What the principal's policy sets read of ``instance`` for ``action``: the account,
        the values of every context key some relevant statement reads (an instance without
        the key: ``None``, the principal's own value then applies, the same for every
        instance), each Resource element's verdict on the ARN, and the ARN itself when a
        Resource uses policy variables. Instances with equal signatures get the same verdict
        from the engine (as `lspolicy.decide_matrix` groups them)."""
        reader = self._readers.get((principal, action))
        if reader is None:
            reader = self._readers[(principal, action)] = _reader(
                self.authority.actor(principal).sets(action.lower().startswith("sts:"), None),
                action,
            )
        part = self._parts.get(instance.arn)
        if part is None or part[0] is not instance:
            part = self._parts[instance.arn] = (
                instance,
                RequestPart(instance_context(instance), resource=instance.arn),
            )
        values = part[1].values
        keys, matchers, dynamic = reader
        return (
            part[1].resource_account,
            instance.arn if dynamic else None,
            tuple([values.get(k) for k in keys]),
            tuple([m(instance.arn, _EMPTY) for m in matchers]),
        )

    def reader(self, principal: str, action: str) -> tuple[tuple[str, ...], int, bool]:
        """The keys the principal's sets read for ``action`` (built by `signature`), how many
        Resource matchers, and whether a Resource uses policy variables."""
        keys, matchers, dynamic = self._readers[(principal, action)]
        return keys, len(matchers), dynamic

    def reach(self, principal: str) -> Reach:
        """The roles ``principal`` reaches (kept)."""
        got = self._reach.get(principal)
        if got is None:
            got = self._reach[principal] = reach(self.graph, principal, max_chain=self.max_chain)
        return got

    def remember_reach(self, principal: str, reached: Reach) -> None:
        """Keep ``reached`` as the principal's reach (computed by the caller, e.g. once for
        principals with equal edges: `lspolicy.account.principal_classes`)."""
        self._reach[principal] = reached

    def access(self, principal: str, action: str, instance: Instance) -> Access | None:
        """The best way ``principal`` performs ``action`` on ``instance`` (``None``: it cannot)."""
        reached = self.reach(principal)
        best: Access | None = None
        targets = [(principal, ())] + [
            (role, chain)
            for chains in (reached.unconditional, reached.any)
            for role, chain in chains.items()
        ]
        for target, chain in targets:
            verdict = self.final(target, action, instance)
            if not verdict.reaches:
                continue
            incomplete = [*self.authority.actor(principal).incomplete]
            for hop in chain:
                incomplete += self.authority.actor(hop.role).incomplete
            got = Access(principal, tuple(chain), verdict, tuple(dict.fromkeys(incomplete)))
            if best is None or got.key() < best.key():
                best = got
        return best

    def who_can(self, action: str, instance: Instance) -> list[Access]:
        """Every principal that can perform ``action`` on ``instance``, by ARN."""
        out = []
        for principal in self.authority.principals():
            got = self.access(principal, action, instance)
            if got is not None:
                out.append(got)
        return out

    def what_can(
        self, principal: str, actions: tuple[str, ...] = INSTANCE_ACTIONS
    ) -> list[tuple[Instance, str, Access]]:
        """Every (instance, action) ``principal`` reaches, by instance ARN then action."""
        out = []
        for arn in sorted(self.inventory.instances):
            instance = self.inventory.instances[arn]
            for action in actions:
                got = self.access(principal, action, instance)
                if got is not None:
                    out.append((instance, action, got))
        return out

    def notes(self) -> list[str]:
        """What the review assumed or did not traverse."""
        return trust_notes(self.authority)

    def not_evaluated(self) -> list[dict[str, object]]:
        """Everything read or decided without being evaluated, deduplicated."""
        seen: dict[tuple[object, ...], dict[str, object]] = {}
        for n in [*self.inventory.not_evaluated, *self.authority.notes]:
            d = n.to_dict()
            seen.setdefault(tuple(d.values()), d)
        return list(seen.values())
