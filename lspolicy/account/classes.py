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
from dataclasses import dataclass, field
from typing import TypeVar

from lspolicy.account.decide import Actor, Authority, Verdict
from lspolicy.account.model import Instance, Inventory, NamedPolicy
from lspolicy.account.patterns import PatternIndex
from lspolicy.account.query import Review
from lspolicy.account.reach import Hop, Reach
from lspolicy.conditions.registry import OperatorRef, parse_operator
from lspolicy.evaluate.clause import CompiledCondition
from lspolicy.evaluate.resource import compile_resource_pattern
from lspolicy.evaluate.statement import statement_core
from lspolicy.glob import has_wildcard, tokens_of
from lspolicy.model.policy import Policy
from lspolicy.variables import Literal, Variable, parse_template

__all__ = [
    "JOIN_OPERATORS",
    "InstanceClasses",
    "JoinFeature",
    "OutcomeKeys",
    "Signature",
    "find_join_features",
    "hop_signature",
    "identity_key",
    "inventory_policies",
    "outcome_keys",
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


JOIN_OPERATORS = frozenset(
    {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"}
)
"""Operators whose answer for ``aws:ResourceTag/t`` against ``${v}`` is a function of one
equality (exact, or after the operator's own case folding), with or without ``IfExists``:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String"""
_PRINCIPAL_VARIABLES = ("aws:username", "aws:userid")
_PRINCIPAL_TAG = "aws:principaltag/"
JOIN_MARK = "\x00other"
"""An instance class key's value for a join tag whose value no role holds."""


@dataclass(frozen=True, slots=True)
class JoinFeature:
    """A tag ``t`` that every policy compares only with one principal variable ``v``
    (``"aws:ResourceTag/t": "${v}"`` under `JOIN_OPERATORS`): a decision depends on ``v``'s
    value only through whether it equals the instance's ``t`` (policy variables are replaced
    by the request's value before the comparison:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html).
    Then ``v``'s value leaves the identity keys, ``t``'s leaves the instance keys (unless
    ``kept``: ``t`` is also read otherwise, so its value stays), and each cell carries that
    equality as a bit, computed by the expansion's join."""

    tag: str
    """``t``, lower case."""
    variable: str
    """``v``, lower case (``aws:username``, ``aws:principaltag/k``...)."""
    ignore_case: bool
    kept: bool

    def norm(self, text: str) -> str:
        """The operator's own normalisation (`lspolicy.conditions.string`): equal norms, equal
        for the operator."""
        op = parse_operator("StringEqualsIgnoreCase" if self.ignore_case else "StringEquals")
        assert isinstance(op, OperatorRef)
        return str(op.spec.prepare(text))


def _join_shape(
    cond_operator: str, values: Sequence[str], substitute: bool
) -> tuple[str, bool] | None:
    """``(v, ignore_case)`` when the condition is a join comparison on a principal variable."""
    op = parse_operator(cond_operator)
    if not isinstance(op, OperatorRef) or op.qualifier is not None:
        return None
    if op.spec.name not in JOIN_OPERATORS or len(values) != 1:
        return None
    parts = parse_template(values[0], substitute=substitute).parts
    if len(parts) != 1 or not isinstance(parts[0], Variable) or parts[0].default is not None:
        return None
    key = parts[0].key
    if key not in _PRINCIPAL_VARIABLES and not key.startswith(_PRINCIPAL_TAG):
        return None
    return key, op.spec.ignore_case


OutcomeKeys = dict[str, tuple[CompiledCondition, ...]]
"""Request keys (lower case) that the policies read only through variable-free conditions ->
those distinct conditions (compiled by the engine's own compiler, `statement_core`)."""


def outcome_keys(policies: Iterable[Policy], joins: Sequence[JoinFeature] = ()) -> OutcomeKeys:
    """The keys whose value bears on every decision under ``policies`` only through the
    outcomes of the conditions on them, with those conditions.

    A condition reads its key and the keys of its values' policy variables, nothing else
    (IAM User Guide, "IAM JSON policy elements: Condition operators"); a statement applies when
    all its conditions hold ("Creating a condition with multiple keys or values": AND across
    conditions). So two values of such a key that give every such condition the same outcome
    give every statement, hence every decision, the same outcome. Left out (their value is
    read otherwise): a key some policy reads as a policy variable (in a condition's values or
    a Resource), a key with a condition whose values hold a variable (except a join feature's
    own comparison on its tag: the cell's bit answers it), and every key when some condition
    key cannot be told (wildcards: then nothing is returned). Conditions are distinct by
    operator (with its set qualifier and ``IfExists``), key, values and whether the policy
    substitutes variables."""
    found: dict[str, dict[tuple[object, ...], CompiledCondition]] = {}
    raw: set[str] = set()
    join_of = {_TAG + f.tag: f for f in joins}
    for policy in policies:
        sub = policy.substitutes_variables
        for st in policy.statements:
            for pattern in (*(st.resources or ()), *(st.not_resources or ())):
                raw.update(v.key for v in parse_template(pattern, substitute=sub).variables)
            core = statement_core(st, sub)
            for cond, c in zip(st.conditions, core.conditions, strict=True):
                key = c.key
                if any(ch in key for ch in "*?$"):
                    return {}
                if c.variable_keys:
                    raw.update(c.variable_keys)
                    f = join_of.get(key)
                    shape = _join_shape(cond.operator, cond.values, sub)
                    if f is None or shape != (f.variable, f.ignore_case):
                        raw.add(key)
                    continue
                found.setdefault(key, {}).setdefault(
                    (cond.operator, key, tuple(cond.values), sub), c
                )
    return {k: tuple(v.values()) for k, v in found.items() if k not in raw}


def outcomes(
    conditions: Sequence[CompiledCondition], values: Mapping[str, tuple[str, ...]]
) -> tuple[bool, ...]:
    """Each condition's outcome on a normalised context (`RequestPart.values`): a key missing
    from ``values`` is absent from the request (``...IfExists`` and ``Null`` see that)."""
    return tuple([c.holds(values) for c in conditions])


def find_join_features(inventory: Inventory, authority: Authority) -> tuple[JoinFeature, ...]:
    """The join features of the inventory's policies (trust policies aside: they decide only
    ``sts:AssumeRole``, and reach is computed per principal). Conservative: a variable used
    any other way (another condition, a Resource, a default, a set qualifier), read as a key
    itself, or compared with two tags or in two ways; a tag compared with two variables; a
    key that cannot be told (wildcards); tag keys or principal keys differing only in case:
    no feature."""
    policies = inventory_policies(inventory)
    _, unknown = read_keys(policies)
    if unknown:
        return ()
    uses: dict[str, set[tuple[str, bool]]] = {}
    bad_vars: set[str] = set()
    other_tags: set[str] = set()
    for policy in policies:
        sub = policy.substitutes_variables
        for st in policy.statements:
            for pattern in (*(st.resources or ()), *(st.not_resources or ())):
                for v in parse_template(pattern, substitute=sub).variables:
                    bad_vars.add(v.key)
                    if v.key.startswith(_TAG):
                        other_tags.add(v.key[len(_TAG) :])
            for cond in st.conditions:
                key = cond.key.lower()
                shape = _join_shape(cond.operator, cond.values, sub)
                if key.startswith(_TAG) and shape is not None:
                    uses.setdefault(shape[0], set()).add((key[len(_TAG) :], shape[1]))
                    continue
                if key.startswith(_TAG):
                    other_tags.add(key[len(_TAG) :])
                bad_vars.add(key)
                for value in cond.values:
                    for v in parse_template(value, substitute=sub).variables:
                        bad_vars.add(v.key)
                        if v.key.startswith(_TAG):
                            other_tags.add(v.key[len(_TAG) :])
    by_tag: dict[str, list[str]] = {}
    for var, found in uses.items():
        for tag, _ in found:
            by_tag.setdefault(tag, []).append(var)
    twins = _case_twins(inventory, authority)
    out: list[JoinFeature] = []
    for var in sorted(uses):
        found = uses[var]
        if var in bad_vars or len(found) != 1 or var in twins:
            continue
        ((tag, ignore_case),) = found
        if len(by_tag[tag]) != 1 or _TAG + tag in twins:
            continue
        out.append(JoinFeature(tag, var, ignore_case, tag in other_tags))
    return tuple(out)


def _case_twins(inventory: Inventory, authority: Authority) -> set[str]:
    """Lower-case keys that some instance or principal carries under two spellings."""
    twins: set[str] = set()
    for inst in inventory.instances.values():
        seen: set[str] = set()
        for k in inst.tags:
            low = k.lower()
            if low in seen:
                twins.add(_TAG + low)
            seen.add(low)
    for arn in authority.principals():
        seen = set()
        for k in authority.actor(arn).context:
            low = k.lower()
            if low in seen:
                twins.add(low)
            seen.add(low)
    return twins


def role_values(
    inventory: Inventory, authority: Authority, joins: Sequence[JoinFeature]
) -> list[frozenset[str]]:
    """Per join feature, the values (normalised) its variable takes for the inventory's roles:
    a role reached through a chain compares its own value, so `InstanceClasses.build` keeps
    these values in the class key."""
    return [
        frozenset(
            f.norm(v) for r in inventory.roles if (v := principal_value(authority.actor(r), f))
        )
        for f in joins
    ]


def principal_value(actor: Actor, feature: JoinFeature) -> str | None:
    """The actor's value of the feature's variable (``None``: absent or not one string)."""
    for k, v in actor.context.items():
        if k.lower() == feature.variable:
            return v if isinstance(v, str) else None
    return None


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
    """By instance ARN: the positions of the resource patterns that match it (`PatternIndex`),
    and its ARN when a pattern with variables may: then it is a class of its own."""
    joins: tuple[JoinFeature, ...] = ()
    join_values: dict[str, tuple[str | None, ...]] = field(default_factory=dict)
    """By instance ARN: each join tag's normalised value (``None``: no such tag)."""
    class_join: list[tuple[str | None, ...]] = field(default_factory=list)
    """By class: each join tag's normalised value when the class key holds it, else None."""
    class_has: list[tuple[bool, ...]] = field(default_factory=list)
    """By class: whether its instances carry each join tag."""
    join_raw: dict[str, tuple[tuple[str, str] | None, ...]] = field(default_factory=dict)
    """By instance ARN (with join features): each join tag as written, ``(key, value)``."""
    class_join_key: list[tuple[object, ...]] = field(default_factory=list)
    """By class: what its key holds of each join tag (``None``: absent, or two spellings)."""
    outcome_tags: frozenset[str] = frozenset()
    """Tags (lower case) that count by the outcomes of the conditions on them
    (`outcome_keys`), not by their value: members of a class may differ in those values."""

    @staticmethod
    def build(
        inventory: Inventory,
        joins: Sequence[JoinFeature] = (),
        role_values: Sequence[frozenset[str]] = (),
    ) -> InstanceClasses:
        """Group every instance of the inventory; with join features, a join tag's value is
        in the key only when the tag is ``kept`` or the value (normalised) is some role's
        value of the variable (``role_values``: roles are targets of chains whose bit must
        be known per class), else only its presence is."""
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
        index = PatternIndex([p for p, _ in patterns], [m for m, _ in matchers])
        dynamic = [i for i, (_, d) in enumerate(matchers) if d]
        reducible = {} if all_tags else outcome_keys(policies, joins)
        tag_conds = {k[len(_TAG) :]: v for k, v in reducible.items() if k.startswith(_TAG)}
        join_at = {f.tag: j for j, f in enumerate(joins)}
        raw_kept = tuple(f.kept and f.tag not in tag_conds for f in joins)
        groups: dict[tuple[object, ...], list[str]] = {}
        by_arn: dict[str, tuple[object, ...]] = {}
        parts: dict[str, dict[str, object]] = {}
        singletons = 0
        for arn in sorted(inventory.instances):
            inst = inventory.instances[arn]
            hits = index.hits(arn)
            own = bool(dynamic) and any(matchers[i][1] for i in hits)
            prefix = arn.rsplit("/", 1)[0] if "/" in arn else arn
            read = [(k, v) for k, v in inst.tags.items() if all_tags or k.lower() in tag_keys]
            lows = [k.lower() for k, _ in read]
            tags: tuple[object, ...]
            if len(set(lows)) < len(lows):
                # two spellings of one key: the engine's merge depends on the order, kept
                tags = ("\x00twins", tuple(read))
                part: dict[str, object] = {f.tag: tags for f in joins}
            else:
                part = {
                    low: _tag_part(
                        low,
                        v,
                        tag_conds=tag_conds,
                        join_at=join_at,
                        joins=joins,
                        raw_kept=raw_kept,
                        role_values=role_values,
                    )
                    for low, (_, v) in zip(lows, read, strict=True)
                }
                tags = tuple(sorted((k, part[low]) for low, (k, _) in zip(lows, read, strict=True)))
            key: tuple[object, ...] = (prefix, inst.region, tags, hits, arn if own else "")
            by_arn[arn] = (hits, arn if own else "")
            singletons += own
            parts[arn] = part
            groups.setdefault(key, []).append(arn)
        members = list(groups.values())
        of = {arn: i for i, group in enumerate(members) for arn in group}
        reps = [inventory.instances[group[0]] for group in members]
        join_values = {arn: _join_values(inventory.instances[arn], joins) for arn in of}
        class_has = [tuple(v is not None for v in join_values[r.arn]) for r in reps]
        class_join = [
            tuple(
                v if v is not None and (raw_kept[j] or v in role_values[j]) else None
                for j, v in enumerate(join_values[r.arn])
            )
            for r in reps
        ]
        class_join_key = [tuple(parts[r.arn].get(f.tag) for f in joins) for r in reps]
        join_raw = {
            arn: tuple(
                next(
                    (
                        (k, v)
                        for k, v in inventory.instances[arn].tags.items()
                        if k.lower() == f.tag
                    ),
                    None,
                )
                for f in joins
            )
            for arn in (of if joins else ())
        }
        return InstanceClasses(
            of, members, reps, tag_keys, all_tags, singletons, by_arn,
            tuple(joins), join_values, class_join, class_has, join_raw, class_join_key,
            frozenset(tag_conds),
        )  # fmt: skip


def _tag_part(
    low: str,
    value: str,
    *,
    tag_conds: Mapping[str, Sequence[CompiledCondition]],
    join_at: Mapping[str, int],
    joins: Sequence[JoinFeature],
    raw_kept: Sequence[bool],
    role_values: Sequence[frozenset[str]],
) -> object:
    """What a class key holds of the tag ``low`` (lower case) with ``value``: the outcomes of
    the conditions on it where only those read it (`outcome_keys`); for a join tag, the
    normalised value when some role holds it (a chain's target compares its own value), else
    `JOIN_MARK`; the value itself otherwise."""
    j = join_at.get(low)
    conds = tag_conds.get(low)
    if j is None:
        if conds is None:
            return value
        return outcomes(conds, {_TAG + low: (value,)})
    f = joins[j]
    if raw_kept[j]:
        return value
    norm = f.norm(value)
    role: str = norm if norm in role_values[j] else JOIN_MARK
    if conds is None:
        return role
    return (role, outcomes(conds, {_TAG + low: (value,)}))


def _join_values(inst: Instance, joins: Sequence[JoinFeature]) -> tuple[str | None, ...]:
    out: list[str | None] = []
    for f in joins:
        got = None
        for k, v in inst.tags.items():
            if k.lower() == f.tag:
                got = f.norm(v)
        out.append(got)
    return tuple(out)


def identity_key(actor: Actor, joins: Sequence[JoinFeature] = ()) -> tuple[object, ...]:
    """What decides this identity's instance requests (see the module docstring); a join
    feature's variable counts by its presence only (its value is the cells' bit), and a key
    that the identity's policies read only through variable-free conditions
    (`outcome_keys`: ``aws:PrincipalArn`` under ``ArnNotLike`` in an SCP) by those
    conditions' outcomes on its value."""
    joined = {f.variable for f in joins}
    every = [
        *actor.identity,
        *(actor.boundary or ()),
        *(p for lvl in actor.scps or () for p in lvl),
    ]
    keys, unknown = _read_keys_of(every)
    part = actor.part()
    # with two spellings of one key the engine's merge depends on their order: values kept
    reducible = {} if unknown or part.duplicates else _outcome_keys_of(every)
    context: list[tuple[str, object]] = []
    for k, v in actor.context.items():
        low = k.lower()
        if not unknown and low not in keys:
            continue
        if low in joined:
            context.append((k, JOIN_MARK))
        elif low in reducible:
            context.append((k, outcomes(reducible[low], part.values)))
        else:
            context.append((k, json.dumps(v, sort_keys=True)))
    context.sort(key=lambda kv: kv[0])
    caller_account = actor.caller_arn.split(":")[4] if actor.caller_arn.count(":") >= 5 else ""
    return (
        actor.kind,
        caller_account,
        tuple(id(p) for p in actor.identity),
        None if actor.boundary is None else tuple(id(p) for p in actor.boundary),
        None if actor.scps is None else tuple(tuple(id(p) for p in lvl) for lvl in actor.scps),
        tuple(context),
    )


_OUTCOME_KEYS: dict[tuple[int, ...], tuple[list[Policy], OutcomeKeys]] = {}
"""Policy object ids -> (the policies, their `outcome_keys`): computed once per set of
policies, not once per principal (the entry holds the policies, so their ids are not reused)."""


_READ_KEYS: dict[tuple[int, ...], tuple[list[Policy], tuple[frozenset[str], bool]]] = {}
"""Policy object ids -> (the policies, their `read_keys`): once per set of policies."""


_T = TypeVar("_T")


def _per_policies(
    memo: dict[tuple[int, ...], tuple[list[Policy], _T]],
    policies: list[Policy],
    compute: Callable[[list[Policy]], _T],
    limit: int,
) -> _T:
    """``compute(policies)``, once per set of policy objects (kept with the answer, so their
    ids stay theirs); the memo is emptied when it reaches ``limit`` entries."""
    ids = tuple(id(p) for p in policies)
    hit = memo.get(ids)
    if hit is None:
        if len(memo) >= limit:
            memo.clear()
        hit = memo[ids] = (policies, compute(policies))
    return hit[1]


def _read_keys_of(policies: list[Policy]) -> tuple[frozenset[str], bool]:
    return _per_policies(_READ_KEYS, policies, read_keys, 1 << 14)


def _outcome_keys_of(policies: list[Policy]) -> OutcomeKeys:
    return _per_policies(_OUTCOME_KEYS, policies, outcome_keys, 1 << 12)


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
