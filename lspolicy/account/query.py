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

from dataclasses import dataclass

from lspolicy.account.decide import Authority, Verdict, statement_dict
from lspolicy.account.model import Instance, Inventory
from lspolicy.account.reach import DEFAULT_MAX_CHAIN, Graph, Hop, Reach, reach, trust_notes
from lspolicy.lightsail.context import INSTANCE_ACTIONS
from lspolicy.model.request import ContextValue

__all__ = ["Access", "Review", "instance_context"]


def instance_context(instance: Instance) -> dict[str, ContextValue]:
    """``aws:ResourceTag/*`` from the instance's tags and ``aws:RequestedRegion``."""
    out: dict[str, ContextValue] = {f"aws:ResourceTag/{k}": v for k, v in instance.tags.items()}
    out["aws:RequestedRegion"] = instance.region
    return out


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
        self._final: dict[tuple[str, str, str], Verdict] = {}

    def final(self, principal: str, action: str, instance: Instance) -> Verdict:
        """The principal's own decision (no assumption) on ``action`` on ``instance``."""
        key = (principal, action, instance.arn)
        got = self._final.get(key)
        if got is None:
            actor = self.authority.actor(principal)
            got = self.authority.decide(actor, action, instance.arn, instance_context(instance))
            self._final[key] = got
        return got

    def reach(self, principal: str) -> Reach:
        """The roles ``principal`` reaches (kept)."""
        got = self._reach.get(principal)
        if got is None:
            got = self._reach[principal] = reach(self.graph, principal, max_chain=self.max_chain)
        return got

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
