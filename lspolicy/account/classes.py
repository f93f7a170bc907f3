"""Equivalence classes that let the review decide once per class instead of once per cell.

Exact by construction, never a heuristic: two members of a class get the same decision, the same
role chain and the same deciding statements from the engine, because everything the engine
reads for an instance action is equal between them.

What the engine reads (`lspolicy.account.decide.Authority.decide`,
`lspolicy.evaluate.authorize.PolicySet`) for an instance action, with no resource-based policy:

- of the instance: its ARN (matched against every ``Resource``/``NotResource`` pattern; its
  account decides whether the request is cross-account), ``aws:RequestedRegion`` (the region),
  and ``aws:ResourceTag/*`` (the tags). An instance's class key is its ARN less the id, its
  region, the tags whose key some policy reads (a condition key or a policy variable
  ``${aws:ResourceTag/k}``; every tag when a read key cannot be told), and which resource
  patterns of any policy match its ARN. A pattern with policy variables could match anything its
  variables could make it: every instance that such a pattern, with each variable made ``*``,
  matches is put in a class of its own.
- of the identity (the user, or the role's session) deciding at the end of a chain: its
  identity policies, boundary and SCP levels (the same policy objects: a policy shared through a
  group or a managed policy is one object), its account, and the values of the request keys its
  policies read (``aws:PrincipalTag/*``, ``aws:username``, ``aws:PrincipalArn``...).
- of a principal: its own identity class, and every role it reaches with the chain and each
  hop's decision (`lspolicy.account.reach`), and the policies it could not evaluate.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from lspolicy.account.decide import Actor, Verdict
from lspolicy.account.model import Instance, Inventory, NamedPolicy
from lspolicy.account.query import Review
from lspolicy.account.reach import Hop, Reach
from lspolicy.evaluate.resource import compile_resource_pattern
from lspolicy.glob import has_wildcard, tokens_of
from lspolicy.model.policy import Policy
from lspolicy.variables import Literal, parse_template

__all__ = [
    "InstanceClasses",
    "Signature",
    "hop_signature",
    "identity_key",
    "inventory_policies",
    "principal_key",
    "reach_signature",
    "read_keys",
    "verdict_signature",
]

_TAG = "aws:resourcetag/"
Signature = str


def inventory_policies(inventory: Inventory) -> list[Policy]:
    """Every policy that can decide an instance action: inline (users, groups, roles), managed
    and SCPs. Trust policies decide only ``sts:AssumeRole`` and are left out."""
    out: list[Policy] = []
    inlines: list[tuple[NamedPolicy, ...]] = [u.inline for u in inventory.users.values()]
    inlines += [g.inline for g in inventory.groups.values()]
    inlines += [r.inline for r in inventory.roles.values()]
    out += [p.policy for inline in inlines for p in inline if p.policy is not None]
    out += [m.policy for m in inventory.policies.values() if m.policy is not None]
    for levels in inventory.scp_levels.values():
        for level in levels or ():
            out += list(level)
    return out


def read_keys(policies: Iterable[Policy]) -> tuple[frozenset[str], bool]:
    """The request keys (lower case) the policies read in conditions and policy variables, and
    whether some key read cannot be told exactly (a wildcard or variable in a key name)."""
    keys: set[str] = set()
    unknown = False
    for policy in policies:
        substitute = policy.substitutes_variables
        for st in policy.statements:
            for cond in st.conditions:
                key = cond.key.lower()
                if any(c in key for c in "*?$"):
                    unknown = True
                keys.add(key)
                for value in cond.values:
                    keys.update(
                        v.key for v in parse_template(value, substitute=substitute).variables
                    )
            for pattern in (*(st.resources or ()), *(st.not_resources or ())):
                keys.update(v.key for v in parse_template(pattern, substitute=substitute).variables)
    return frozenset(keys), unknown


def _matcher(pattern: str, substitute: bool) -> tuple[Callable[[str], bool], bool]:
    """The engine's own matcher for a resource pattern, and whether it has variables (then it
    matches what the pattern with each variable made ``*`` matches: a superset)."""
    template = parse_template(pattern, substitute=substitute)
    if template.is_literal:
        tokens = template.literal_tokens()
        if not has_wildcard(tokens):
            text = "".join(t for t in tokens if isinstance(t, str))
            return text.__eq__, False
        return compile_resource_pattern(tokens), False
    loose = "".join(p.text if isinstance(p, Literal) else "*" for p in template.parts)
    return compile_resource_pattern(tokens_of(loose)), True


@dataclass
class InstanceClasses:
    """Instances grouped by the class key above; ``of[arn]`` is the class id (0, 1, ...) and
    ``members[id]`` the instance ARNs, sorted; ``reps[id]`` the first member."""

    of: dict[str, int]
    members: list[list[str]]
    reps: list[Instance]
    tag_keys: frozenset[str]
    all_tags: bool
    singletons: int
    patterns: dict[str, tuple[object, ...]]
    """By instance ARN: which resource patterns match it (and its ARN when a pattern with
    variables may: then it is a class of its own)."""

    @staticmethod
    def build(inventory: Inventory) -> InstanceClasses:
        """Group every instance of the inventory."""
        policies = inventory_policies(inventory)
        keys, unknown = read_keys(policies)
        tag_keys = frozenset(k[len(_TAG) :] for k in keys if k.startswith(_TAG))
        all_tags = unknown or any(any(c in k for c in "*?$") for k in tag_keys)
        patterns: dict[tuple[str, bool], None] = {}
        for policy in policies:
            for st in policy.statements:
                for pattern in (*(st.resources or ()), *(st.not_resources or ())):
                    if pattern != "*":
                        patterns[(pattern, policy.substitutes_variables)] = None
        matchers = [_matcher(p, s) for p, s in patterns]
        groups: dict[tuple[object, ...], list[str]] = {}
        by_arn: dict[str, tuple[object, ...]] = {}
        singletons = 0
        for arn in sorted(inventory.instances):
            inst = inventory.instances[arn]
            hits = tuple(m(arn) for m, _ in matchers)
            own = any(h and dynamic for h, (_, dynamic) in zip(hits, matchers, strict=True))
            prefix = arn.rsplit("/", 1)[0] if "/" in arn else arn
            tags = tuple(
                sorted((k, v) for k, v in inst.tags.items() if all_tags or k.lower() in tag_keys)
            )
            key: tuple[object, ...] = (prefix, inst.region, tags, hits, arn if own else "")
            by_arn[arn] = (hits, arn if own else "")
            singletons += own
            groups.setdefault(key, []).append(arn)
        members = list(groups.values())
        of = {arn: i for i, group in enumerate(members) for arn in group}
        reps = [inventory.instances[group[0]] for group in members]
        return InstanceClasses(of, members, reps, tag_keys, all_tags, singletons, by_arn)


def identity_key(actor: Actor) -> tuple[object, ...]:
    """What decides this identity's instance requests (see the module docstring)."""
    every = [
        *actor.identity,
        *(actor.boundary or ()),
        *(p for lvl in actor.scps or () for p in lvl),
    ]
    keys, unknown = read_keys(every)
    context = sorted(
        (k, json.dumps(v, sort_keys=True))
        for k, v in actor.context.items()
        if unknown or k.lower() in keys
    )
    caller_account = actor.caller_arn.split(":")[4] if actor.caller_arn.count(":") >= 5 else ""
    return (
        actor.kind,
        caller_account,
        tuple(id(p) for p in actor.identity),
        None if actor.boundary is None else tuple(id(p) for p in actor.boundary),
        None if actor.scps is None else tuple(tuple(id(p) for p in lvl) for lvl in actor.scps),
        tuple(context),
    )


def verdict_signature(verdict: Verdict) -> list[object]:
    """A verdict as plain data (answer, statements, caller conditions), for class keys."""
    return [
        verdict.answer,
        [[s.policy, s.policy_kind, s.index, s.sid, s.effect] for s in verdict.statements],
        [c.to_dict() for c in verdict.conditions],
    ]


def hop_signature(hop: Hop) -> list[object]:
    """One hop as plain data."""
    return [hop.role, verdict_signature(hop.verdict)]


def reach_signature(reached: Reach) -> Signature:
    """Every role reached with its chains, as one string (equal strings, equal reach)."""

    def chains(found: Mapping[str, Sequence[Hop]]) -> list[object]:
        return [[role, [hop_signature(h) for h in found[role]]] for role in sorted(found)]

    return json.dumps([chains(reached.unconditional), chains(reached.any)], sort_keys=True)


def principal_key(review: Review, principal: str, identity_class: int) -> tuple[object, ...]:
    """A principal's class key: its identity class, its reach, what it could not evaluate."""
    return (
        identity_class,
        reach_signature(review.reach(principal)),
        review.authority.actor(principal).incomplete,
    )
