"""Principal classes: principals with the same identity class, the same reach (every role, each
chain and each hop's decision) and the same unevaluated policies, formed for a whole
organization in seconds.

The per-principal reference (`reference_principal_classes`, `classes.principal_key`) asks
the engine ``sts:AssumeRole`` for every (principal, candidate role), searches chains from every
principal and encodes each reach as JSON. Here (same partition, same class numbering, same
representatives, same reach answers):

- one-hop assumptions are decided once per caller class and trust view
  (`lspolicy.account.assume_classes.fill_edges`); equal edge lists are one object;
- chains are searched once per distinct edge list for users (a user is never a role of the
  graph, so its chains depend on its edges alone), once per role for roles (a role's search
  leaves the role itself out); equal reaches are one object;
- a reach is named by an interned id (equal ids exactly when `classes.reach_signature` would
  give equal strings), each verdict's signature computed once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from lspolicy.account.assume_classes import fill_edges
from lspolicy.account.classes import principal_key, verdict_signature
from lspolicy.account.decide import Verdict
from lspolicy.account.query import Review
from lspolicy.account.reach import Hop, Reach, reach

__all__ = ["PrincipalClasses", "form_principal_classes", "reference_principal_classes"]


@dataclass(frozen=True, slots=True)
class PrincipalClasses:
    """``of[principal]`` is its class id (0, 1, ... in the order of first members);
    ``reps[id]`` the class's first principal."""

    of: dict[str, int]
    reps: list[str]


class _ReachIds:
    """Interned reach ids: equal ids exactly when `classes.reach_signature` is equal (a reach
    is its chains, a chain its hops, a hop its role and its verdict's signature)."""

    def __init__(self) -> None:
        self._verdicts: dict[int, tuple[Verdict, int]] = {}
        self._signatures: dict[str, int] = {}
        self._hops: dict[int, tuple[Hop, int]] = {}
        self._hop_ids: dict[tuple[str, int], int] = {}
        self._reaches: dict[int, tuple[Reach, int]] = {}
        self._ids: dict[tuple[object, ...], int] = {}

    def _verdict(self, verdict: Verdict) -> int:
        hit = self._verdicts.get(id(verdict))
        if hit is None:
            text = json.dumps(verdict_signature(verdict), sort_keys=True)
            hit = self._verdicts[id(verdict)] = (
                verdict,
                self._signatures.setdefault(text, len(self._signatures)),
            )
        return hit[1]

    def _hop(self, hop: Hop) -> int:
        hit = self._hops.get(id(hop))
        if hit is None:
            key = (hop.role, self._verdict(hop.verdict))
            hit = self._hops[id(hop)] = (hop, self._hop_ids.setdefault(key, len(self._hop_ids)))
        return hit[1]

    def _chains(self, found: dict[str, tuple[Hop, ...]]) -> tuple[tuple[int, ...], ...]:
        # a chain ends with its role: the hops name it
        hop = self._hop
        return tuple([tuple([hop(h) for h in found[role]]) for role in sorted(found)])

    def of(self, reached: Reach) -> int:
        hit = self._reaches.get(id(reached))
        if hit is None:
            key = (self._chains(reached.unconditional), self._chains(reached.any))
            hit = self._reaches[id(reached)] = (reached, self._ids.setdefault(key, len(self._ids)))
        return hit[1]


def form_principal_classes(
    review: Review,
    identity_class: Callable[[str], int],
    extra: Callable[[str], Hashable] = lambda _: (),
) -> PrincipalClasses:
    """Every principal of the review's inventory in its class (module docstring): the class
    key is ``identity_class(p)``, the reach, the principal's unevaluated policies and
    ``extra(p)``; the same partition, ids and representatives as
    `reference_principal_classes`. The edges and reaches are kept in the review (shared
    objects: `Review.reach` answers from them)."""
    principals = review.authority.principals()
    graph = review.graph
    fill_edges(graph, principals)
    roles = review.inventory.roles
    by_edges: dict[int, tuple[list[Hop], Reach]] = {}
    ids = _ReachIds()
    keys: dict[tuple[object, ...], int] = {}
    of: dict[str, int] = {}
    reps: list[str] = []
    for p in principals:
        if p in roles:
            reached = reach(graph, p, max_chain=review.max_chain)
        else:
            edges = graph.edges(p)
            hit = by_edges.get(id(edges))
            if hit is None:
                hit = by_edges[id(edges)] = (edges, reach(graph, p, max_chain=review.max_chain))
            reached = hit[1]
        review.remember_reach(p, reached)
        key = (
            identity_class(p),
            ids.of(reached),
            review.authority.actor(p).incomplete,
            extra(p),
        )
        got = keys.setdefault(key, len(keys))
        if got == len(reps):
            reps.append(p)
        of[p] = got
    return PrincipalClasses(of, reps)


def reference_principal_classes(
    review: Review,
    identity_class: Callable[[str], int],
    extra: Callable[[str], Hashable] = lambda _: (),
    principals: Sequence[str] | None = None,
) -> PrincipalClasses:
    """The per-principal reference: `classes.principal_key` for each principal in turn."""
    keys: dict[tuple[object, ...], int] = {}
    of: dict[str, int] = {}
    reps: list[str] = []
    for p in review.authority.principals() if principals is None else principals:
        key = (*principal_key(review, p, identity_class(p)), extra(p))
        got = keys.setdefault(key, len(keys))
        if got == len(reps):
            reps.append(p)
        of[p] = got
    return PrincipalClasses(of, reps)
