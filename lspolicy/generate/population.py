"""The requests a proof checks, drawn from pools built from the intent itself.

A request can only tell a right policy from a wrong one if it touches the values the policy
names, so the pools are the intent's own tag keys and values, CIDR blocks, time limits,
regions, ids and ARNs, each with its near misses (another case, one character short, one
second late, the address just outside the block), plus values the intent never mentions.
Three populations come from them:

- **boundary**: for each grant, a request it allows (a witness) and every one-step variation
  of it (each selector broken in each way, each requirement failed, another action, another
  account, another region), and the same around each exclusion, with its ``unless`` met and not;
- **world**: every instance of a world, each checked with a witness caller of each grant
  (built to match that instance) and with the world's own principals in turn;
- **random**: ``n`` requests drawn from the pools by a seeded generator, with the correlations
  that matter (a caller's tag copied from the instance's, so ``principal_tag`` selectors meet
  equal values often).

Everything is deterministic: the same intent, world and seed give the same requests. The same
pools feed the hypothesis strategies in `lspolicy.generate.strategies`.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from lspolicy.generate import request_keys
from lspolicy.generate.intent import (
    Grant,
    InstanceSelector,
    Intent,
    PrincipalSelector,
    Requirements,
    TagMatch,
    instance_actions,
    iso,
    lightsail_regions,
)
from lspolicy.generate.semantics import Circumstances, Probe
from lspolicy.lightsail.context import Identity, Instance

__all__ = [
    "NON_INSTANCE_ACTIONS",
    "Pools",
    "Witness",
    "boundary_probes",
    "pools_for",
    "random_probes",
    "seed_for",
    "witnesses",
    "world_probes",
]

NON_INSTANCE_ACTIONS: tuple[tuple[str, str], ...] = (
    ("lightsail:GetInstances", "*"),
    ("lightsail:GetInstance", "*"),
    ("lightsail:CreateInstances", "*"),
    ("lightsail:AttachDisk", "Disk/probe-disk"),
    ("lightsail:DeleteDisk", "Disk/probe-disk"),
)
"""Requests on anything but an instance (``Disk/...`` is completed with region and account):
never granted by an intent, whatever ``lightsail:*`` says."""

FRESH_VALUE = "zz-unlisted"
FRESH_KEY = "zz-other-key"
ODD_VALUES = ("", "*", "?", "${aws:PrincipalTag/team}")
"""Values that catch escaping mistakes: a wildcard or variable in a value must stay literal."""
DEFAULT_TIME = "2026-06-15T12:00:00Z"
OUTSIDE_IPS = ("203.0.113.9", "10.1.2.3", "2001:db8::7")


def _other_account(account: str) -> str:
    return "999988887777" if account != "999988887777" else "444455556666"


def _variants(value: str) -> list[str]:
    """Near misses of a value: another case, one character more or less."""
    out = [value, value.swapcase(), value + "-x"]
    if len(value) > 1:
        out.append(value[:-1])
    return out


def _prefix_variants(prefix: str) -> list[str]:
    out = [prefix, prefix + "-x", prefix.swapcase() + "-x", "x" + prefix]
    if len(prefix) > 1:
        out.append(prefix[:-1])
    return out


def _unique(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _ips(blocks: Sequence[str]) -> list[str]:
    out: list[str] = []
    for text in blocks:
        net = ipaddress.ip_network(text)
        first, last = net.network_address, net.broadcast_address
        out += [str(first), str(last), str(first + net.num_addresses // 2)]
        top = 2**32 - 1 if net.version == 4 else 2**128 - 1
        if int(first) > 0:
            out.append(str(first - 1))
        if int(last) < top:
            out.append(str(last + 1))
    return out


def _times(moments: Sequence[datetime]) -> list[str]:
    out: list[str] = []
    for m in moments:
        out += [iso(m - timedelta(seconds=1)), iso(m), iso(m + timedelta(seconds=1))]
    return out


def _requirements(intent: Intent) -> list[Requirements]:
    return [g.require for g in intent.grants] + [e.unless for e in intent.exclusions]


def _selectors(intent: Intent) -> list[InstanceSelector]:
    return [g.instances for g in intent.grants] + [e.instances for e in intent.exclusions]


@dataclass(frozen=True, slots=True)
class Pools:
    """Everything a request is drawn from."""

    account: str
    other_account: str
    regions: tuple[str, ...]
    instance_ids: tuple[str, ...]
    instance_tag_keys: tuple[str, ...]
    tag_values: tuple[str, ...]
    principal_arns: tuple[str, ...]
    principal_tag_keys: tuple[str, ...]
    actions: tuple[str, ...]
    """Instance actions, the intent's first."""
    ips: tuple[str | None, ...]
    times: tuple[str | None, ...]
    principal_tag_pairs: tuple[tuple[str, str], ...]
    """``(instance tag key, principal tag key)`` of every ``principal_tag`` selector."""
    session_roles: tuple[tuple[str, str], ...] = ()
    """``(role session ARN, its role's ARN)`` for sessions in ``principal_arns`` whose role is
    known."""
    request_values: request_keys.Values = request_keys.NO_VALUES
    """MFA ages, organization ids and source identities
    (`lspolicy.generate.request_keys.pool_values`)."""

    def identity(self, arn: str, tags: Mapping[str, str]) -> Identity:
        """The caller ``arn`` with ``tags`` (a role session knows its role, path included)."""
        for session, role in self.session_roles:
            if session == arn:
                return Identity(arn, tags, role_arn=role)
        return Identity(arn, tags)


def pools_for(intent: Intent) -> Pools:
    """The pools of ``intent``: its values, their near misses, and fresh ones."""
    account = intent.account
    other = _other_account(account)
    tag_keys: list[str] = []
    values: list[str] = []
    pairs: list[tuple[str, str]] = []
    principal_keys: list[str] = []
    ids: list[str] = []
    for sel in _selectors(intent):
        ids += sel.ids
        for m in sel.tags:
            tag_keys += [m.key, m.key.swapcase()]
            if m.kind == "principal_tag":
                pairs.append((m.key, m.values[0]))
                principal_keys += [m.values[0]]
            elif m.kind == "prefix":
                values += _prefix_variants(m.values[0])
            else:
                for v in m.values:
                    values += _variants(v)
    arns: list[str] = []
    sessions: list[tuple[str, str]] = []
    for g in intent.grants:
        for m in g.principals.tags:
            principal_keys += [m.key, m.key.swapcase()]
            if m.kind == "prefix":
                values += _prefix_variants(m.values[0])
            else:
                for v in m.values:
                    values += _variants(v)
        for arn in g.principals.arns:
            head, _, tail = arn.rpartition(":")
            kind, _, name = tail.partition("/")
            swapped = "role" if kind == "user" else "user"
            arns += [arn, f"arn:aws:iam::{other}:{tail}", f"{head}:{swapped}/{name}"]
            if kind == "role":
                # a session of the role acts as the role (with its path, when the identity
                # knows it); one of a same-named role elsewhere does not
                base = name.rsplit("/", 1)[-1]
                sessions += [
                    (f"arn:aws:sts::{account}:assumed-role/{base}/probe-session", arn),
                    (f"arn:aws:sts::{other}:assumed-role/{base}/probe-session", ""),
                ]
    arns += [
        f"arn:aws:iam::{account}:user/probe-user",
        f"arn:aws:iam::{account}:role/probe-role",
        f"arn:aws:iam::{other}:user/probe-user",
    ]
    named = [
        a
        for g in intent.grants
        for a in (g.actions.names if not g.actions.every else instance_actions())
    ]
    for e in intent.exclusions:
        if e.actions is not None:
            named += e.actions.names
    blocks = [b for r in _requirements(intent) for b in r.source_ip]
    moments = [m for r in _requirements(intent) for m in (r.not_before, r.not_after) if m]
    return Pools(
        account=account,
        other_account=other,
        regions=lightsail_regions(),
        instance_ids=_unique([*ids, "probe-instance-1", "probe-instance-2"]),
        instance_tag_keys=_unique([*tag_keys, FRESH_KEY, "Name"]),
        tag_values=_unique([*values, FRESH_VALUE, *ODD_VALUES]),
        principal_arns=_unique([*arns, *(session for session, _ in sessions)]),
        principal_tag_keys=_unique([*principal_keys, *tag_keys, FRESH_KEY]),
        actions=_unique([*named, *instance_actions()]),
        ips=(*_unique([*_ips(blocks), *OUTSIDE_IPS]), None),
        times=(
            *_unique(
                [*_times(moments), "2019-01-01T00:00:00Z", DEFAULT_TIME, "2039-01-01T00:00:00Z"]
            ),
            None,
        ),
        principal_tag_pairs=tuple(dict.fromkeys(pairs)),
        session_roles=tuple((session, role) for session, role in sessions if role),
        request_values=request_keys.pool_values(_requirements(intent)),
    )


def seed_for(intent: Intent, seed: int = 0) -> int:
    """The random population's seed: the intent's canonical form hashed, mixed with ``seed``."""
    canonical = json.dumps(intent.to_data(), sort_keys=True).encode()
    return int.from_bytes(hashlib.sha256(canonical).digest()[:8], "big") ^ seed


# --------------------------------------------------------------------------- witnesses


def _pick(values: Sequence[str], variant: int) -> str:
    return values[variant % len(values)]


def _satisfying_value(m: TagMatch, variant: int) -> str:
    if m.kind == "prefix":
        return m.values[0] + ("" if variant % 2 else "-x")
    if m.kind in ("present", "not_one_of"):
        taken = {v.lower() for v in m.values}
        return next(v for v in (FRESH_VALUE, "zz-other", "") if v.lower() not in taken)
    value = _pick(m.values, variant)
    # a case-insensitive selector is met by another spelling too
    return value.swapcase() if m.case_insensitive and variant % 2 else value


def _satisfy(requirements: Sequence[Requirements], variant: int) -> Circumstances:
    """Circumstances meeting every requirement given, as far as they can be met together (the
    first one always); they vary with ``variant``."""
    return _satisfy_cached(tuple(requirements), variant % 60)


@functools.lru_cache(maxsize=4096)
def _satisfy_cached(requirements: tuple[Requirements, ...], variant: int) -> Circumstances:
    mfa: bool | None = (True, False, None)[variant % 3]
    if any(r.mfa for r in requirements):
        mfa = True
    address: str | None = (*OUTSIDE_IPS, None)[variant % 4]
    networks = [[ipaddress.ip_network(b) for b in r.source_ip] for r in requirements if r.source_ip]
    if networks:
        candidates = [str(n.network_address + n.num_addresses // 2) for n in networks[0]]
        both = [
            c
            for c in candidates
            if all(any(ipaddress.ip_address(c) in n for n in group) for group in networks[1:])
        ]
        address = _pick(both or candidates, variant)
    starts = [r.not_before for r in requirements if r.not_before]
    ends = [r.not_after for r in requirements if r.not_after]
    moment = DEFAULT_TIME
    if starts or ends:
        low = max(starts) if starts else None
        high = min(ends) if ends else None
        if low and high and low > high:
            low, high = requirements[0].not_before, requirements[0].not_after
        if low and high:
            moment = iso(low + (high - low) / 2)
        elif low:
            moment = iso(low + timedelta(hours=1))
        elif high:
            moment = iso(high - timedelta(hours=1))
    return Circumstances(
        mfa=mfa,
        source_ip=address,
        current_time=moment,
        **request_keys.satisfying(requirements, variant),
    )


def _witness_identity(
    who: PrincipalSelector,
    account: str,
    instance_tags: dict[str, str],
    pairs: Sequence[tuple[str, str]],
    variant: int,
) -> Identity:
    arn = _pick(who.arns, variant) if who.arns else f"arn:aws:iam::{account}:user/witness"
    tags = {m.key: _satisfying_value(m, variant) for m in who.tags}
    folded = {k.casefold(): v for k, v in instance_tags.items()}
    for instance_key, principal_key in pairs:
        value = folded.get(instance_key.casefold())
        if value is not None and principal_key.casefold() not in {k.casefold() for k in tags}:
            tags[principal_key] = value
    return Identity(arn, tags)


def _witness_instance(
    grant: Grant, account: str, regions: Sequence[str], variant: int, *, name: str
) -> Instance:
    region = _pick(grant.regions or regions, variant)
    instance_id = _pick(grant.instances.ids, variant) if grant.instances.ids else name
    tags = {"Name": name}
    for m in grant.instances.tags:
        tags[m.key] = "pt-value" if m.kind == "principal_tag" else _satisfying_value(m, variant)
    return Instance(id=instance_id, region=region, account=account, tags=tags)


def _with_tags(instance: Instance, tags: dict[str, str], **changes: str) -> Instance:
    return Instance(
        id=changes.get("id", instance.id),
        region=changes.get("region", instance.region),
        account=changes.get("account", instance.account),
        tags=tags,
    )


def _tag_breaks(tags: dict[str, str], m: TagMatch) -> Iterator[dict[str, str]]:
    """Tag sets that vary the one ``m`` looks at, in every way that matters."""
    current = tags.get(m.key)
    rest = {k: v for k, v in tags.items() if k != m.key}
    yield rest  # the tag is missing
    yield {**rest, m.key: FRESH_VALUE}
    if current is not None:
        yield {**rest, m.key.swapcase(): current}  # the key in another case
        for v in [*_variants(current), *ODD_VALUES]:
            yield {**rest, m.key: v}
    if m.kind == "prefix":
        for v in _prefix_variants(m.values[0]):
            yield {**rest, m.key: v}
    if m.kind in ("equals", "one_of", "not_one_of"):
        for v in m.values:
            yield {**rest, m.key: v}
            yield {**rest, m.key: v.swapcase()}


def _circumstance_breaks(c: Circumstances, pools: Pools) -> Iterator[Circumstances]:
    for mfa in (True, False, None):
        yield replace(c, mfa=mfa)
    for ip in pools.ips:
        yield replace(c, source_ip=ip)
    for moment in pools.times:
        yield replace(c, current_time=moment)
    extra = pools.request_values
    for age in extra.mfa_ages:
        yield replace(c, mfa_age=age)
    for org in extra.org_ids:
        yield replace(c, org_id=org)
    for identity in extra.source_identities:
        yield replace(c, source_identity=identity)


def _around(
    probe: Probe, pools: Pools, instance_tags: Sequence[TagMatch], who: PrincipalSelector
) -> Iterator[Probe]:
    """The probe and its one-step variations."""
    yield probe
    instance, identity, c = probe.instance, probe.identity, probe.circumstances
    assert instance is not None
    for action in pools.actions:
        if action != probe.action:
            yield Probe(action, identity, c, instance)
    for action, resource in NON_INSTANCE_ACTIONS:
        arn = (
            resource
            if resource == "*"
            else f"arn:aws:lightsail:{instance.region}:{instance.account}:{resource}"
        )
        yield Probe(action, identity, c, None, arn)
    # who
    tail = identity.arn.rpartition(":")[2]
    other_arn = f"arn:aws:iam::{pools.other_account}:{tail}"
    yield Probe(probe.action, Identity(other_arn, identity.tags), c, instance)
    for arn in pools.principal_arns:
        if arn != identity.arn:
            yield Probe(probe.action, pools.identity(arn, identity.tags), c, instance)
    caller_tags = dict(identity.tags)
    for m in who.tags:
        for tags in _tag_breaks(caller_tags, m):
            yield Probe(probe.action, replace(identity, tags=tags), c, instance)
    # where
    tags = dict(instance.tags)
    yield Probe(probe.action, identity, c, _with_tags(instance, tags, account=pools.other_account))
    for region in pools.regions:
        if region != instance.region:
            yield Probe(probe.action, identity, c, _with_tags(instance, tags, region=region))
    for instance_id in pools.instance_ids:
        if instance_id != instance.id:
            yield Probe(probe.action, identity, c, _with_tags(instance, tags, id=instance_id))
    for m in instance_tags:
        for changed in _tag_breaks(tags, m):
            yield Probe(probe.action, identity, c, _with_tags(instance, changed))
        if m.kind == "principal_tag":
            key = m.values[0]
            without = {k: v for k, v in caller_tags.items() if k.casefold() != key.casefold()}
            yield Probe(probe.action, replace(identity, tags=without), c, instance)
            for v in (FRESH_VALUE, *ODD_VALUES):
                yield Probe(probe.action, replace(identity, tags={**without, key: v}), c, instance)
    # the request itself
    for changed_c in _circumstance_breaks(c, pools):
        yield Probe(probe.action, identity, changed_c, instance)


@dataclass(frozen=True, slots=True)
class Witness:
    """A request the intent decides on purpose, with the selectors to vary around it."""

    probe: Probe
    instance_tags: tuple[TagMatch, ...]
    who: PrincipalSelector


def witnesses(intent: Intent, pools: Pools) -> list[Witness]:
    """For each grant, two requests it gives; for each exclusion, requests it takes away from
    each grant, with its ``unless`` met and not met."""
    everything = [g.require for g in intent.grants] + [e.unless for e in intent.exclusions]
    out: list[Witness] = []
    for gi, grant in enumerate(intent.grants):
        actions = grant.actions.names or (pools.actions[0],)
        for variant in range(2):
            instance = _witness_instance(
                grant, intent.account, pools.regions, variant, name=f"witness-{gi}-{variant}"
            )
            identity = _witness_identity(
                grant.principals, intent.account, dict(instance.tags), pools.principal_tag_pairs,
                variant,
            )  # fmt: skip
            if any(m.kind == "principal_tag" for m in grant.instances.tags):
                # the instance's value comes from the caller: make them equal
                tags = dict(instance.tags)
                caller = dict(identity.tags)
                for m in grant.instances.tags:
                    if m.kind == "principal_tag":
                        caller[m.values[0]] = tags[m.key] = f"pt-{variant}"
                instance = _with_tags(instance, tags)
                identity = replace(identity, tags=caller)
            reqs = [grant.require] if variant else [grant.require, *everything]
            c = _satisfy(reqs, variant)
            probe = Probe(_pick(actions, variant), identity, c, instance)
            out.append(Witness(probe, grant.instances.tags, grant.principals))
            for ei, exclusion in enumerate(intent.exclusions):
                tags = dict(instance.tags)
                for m in exclusion.instances.tags:
                    if m.kind == "principal_tag":
                        tags[m.key] = dict(identity.tags).get(m.values[0], "pt-value")
                    else:
                        tags[m.key] = _satisfying_value(m, variant + ei)
                hit = _with_tags(
                    instance,
                    tags,
                    region=_pick(exclusion.regions, variant)
                    if exclusion.regions
                    else instance.region,
                    id=_pick(exclusion.instances.ids, variant)
                    if exclusion.instances.ids
                    else instance.id,
                )
                action = (
                    _pick(exclusion.actions.names, variant)
                    if exclusion.actions is not None and exclusion.actions.names
                    else probe.action
                )
                for c2 in (_satisfy([grant.require, exclusion.unless], variant), c):
                    out.append(
                        Witness(Probe(action, identity, c2, hit), exclusion.instances.tags,
                                grant.principals)
                    )  # fmt: skip
    return out


def boundary_probes(intent: Intent, pools: Pools) -> Iterator[Probe]:
    """Witnesses of every grant and exclusion with their one-step variations."""
    for w in witnesses(intent, pools):
        yield from _around(w.probe, pools, w.instance_tags, w.who)


# --------------------------------------------------------------------------- world


def world_probes(
    intent: Intent,
    pools: Pools,
    instances: Sequence[Instance],
    identities: Sequence[Identity],
) -> Iterator[Probe]:
    """Every instance of a world: with a witness caller of each grant built for it (and, for
    one grant in turn, an action it does not give) and with two of the world's principals in
    turn, under rotating circumstances: ``instances x (grants + 3)`` requests."""
    everything = [g.require for g in intent.grants] + [e.unless for e in intent.exclusions]
    callers = list(identities)
    actions = pools.actions
    for i, instance in enumerate(instances):
        for k, grant in enumerate(intent.grants):
            identity = _witness_identity(
                grant.principals, intent.account, dict(instance.tags), pools.principal_tag_pairs, i
            )
            c = _satisfy([grant.require] if i % 2 else [grant.require, *everything], i)
            granted = grant.actions.names or (actions[i % len(actions)],)
            yield Probe(_pick(granted, i), identity, c, instance)
            if k == i % len(intent.grants):
                # and an action this grant does not give, for one grant in turn
                other = [a for a in actions if a not in granted]
                if other:
                    yield Probe(_pick(other, i), identity, c, instance)
        for j in range(2):
            if not callers:
                break
            caller = callers[(i * 2 + j) % len(callers)]
            c = _satisfy(everything, i + j) if j else _satisfy([], i + j)
            yield Probe(_pick(actions, i + j), caller, c, instance)


# --------------------------------------------------------------------------- random


def _drop_case_twins(tags: dict[str, str]) -> dict[str, str]:
    """Keep one of several keys that differ only in case (they cannot be judged; see
    `lspolicy.generate.semantics`)."""
    first: dict[str, str] = {}
    for k in tags:
        first.setdefault(k.casefold(), k)
    return tags if len(first) == len(tags) else {k: tags[k] for k in first.values()}


def _random_circumstances(rng: random.Random, pools: Pools) -> Circumstances:
    return Circumstances(
        mfa=rng.choice((True, False, None)),
        source_ip=rng.choice(pools.ips),
        current_time=rng.choice(pools.times),
        **_random_request_values(rng, pools),
    )


def _random_request_values(rng: random.Random, pools: Pools) -> dict[str, Any]:
    """The request keys of `lspolicy.generate.request_keys`, drawn only for intents that use
    them (so the draws of other intents stay what they were)."""
    extra = pools.request_values
    out: dict[str, Any] = {}
    for name, values in (
        ("mfa_age", extra.mfa_ages),
        ("org_id", extra.org_ids),
        ("source_identity", extra.source_identities),
    ):
        if values:
            out[name] = rng.choice(values)
    return out


def _fresh(intent: Intent, pools: Pools, rng: random.Random, regions: Sequence[str]) -> Probe:
    account = pools.account if rng.random() < 0.9 else pools.other_account
    region = rng.choice(regions) if rng.random() < 0.6 else rng.choice(pools.regions)
    keys = [k for k in pools.instance_tag_keys if rng.random() < 0.7]
    tags = _drop_case_twins(
        dict(zip(keys, rng.choices(pools.tag_values, k=len(keys)), strict=True))
    )
    instance = Instance(
        id=rng.choice(pools.instance_ids), region=region, account=account, tags=tags
    )
    keys = [k for k in pools.principal_tag_keys if rng.random() < 0.6]
    caller = dict(zip(keys, rng.choices(pools.tag_values, k=len(keys)), strict=True))
    for instance_key, principal_key in pools.principal_tag_pairs:
        if instance_key in tags and rng.random() < 0.5:
            caller[principal_key] = tags[instance_key]
    identity = pools.identity(rng.choice(pools.principal_arns), _drop_case_twins(caller))
    c = _random_circumstances(rng, pools)
    if rng.random() < 0.03:
        action, resource = rng.choice(NON_INSTANCE_ACTIONS)
        if resource != "*":
            resource = f"arn:aws:lightsail:{region}:{account}:{resource}"
        return Probe(action, identity, c, None, resource)
    return Probe(rng.choice(pools.actions), identity, c, instance)


def _perturb(probe: Probe, pools: Pools, rng: random.Random) -> Probe:
    """One random change to one part of the request."""
    instance, identity, c = probe.instance, probe.identity, probe.circumstances
    assert instance is not None
    tags, caller = dict(instance.tags), dict(identity.tags)
    what = rng.randrange(9)
    if what == 0:
        key = rng.choice(pools.instance_tag_keys)
        if rng.random() < 0.25:
            tags.pop(key, None)
        else:
            tags[key] = rng.choice(pools.tag_values)
        return Probe(probe.action, identity, c, _with_tags(instance, _drop_case_twins(tags)))
    if what == 1:
        key = rng.choice(pools.principal_tag_keys)
        if rng.random() < 0.25:
            caller.pop(key, None)
        else:
            caller[key] = rng.choice(pools.tag_values)
        return Probe(probe.action, replace(identity, tags=_drop_case_twins(caller)), c, instance)
    if what == 2:
        changed = _with_tags(instance, tags, region=rng.choice(pools.regions))
    elif what == 3:
        changed = _with_tags(instance, tags, id=rng.choice(pools.instance_ids))
    elif what == 4:
        changed = _with_tags(instance, tags, account=pools.other_account)
    elif what == 5:
        return Probe(
            probe.action, pools.identity(rng.choice(pools.principal_arns), caller), c, instance
        )
    elif what == 6:
        return Probe(rng.choice(pools.actions), identity, c, instance)
    else:
        return Probe(probe.action, identity, _random_circumstances(rng, pools), instance)
    return Probe(probe.action, identity, c, changed)


def random_probes(intent: Intent, pools: Pools, n: int, seed: int) -> Iterator[Probe]:
    """``n`` requests drawn by ``random.Random(seed)``: half fresh from the pools, half a
    witness with one to three random changes (so both sides of every boundary are sampled)."""
    rng = random.Random(seed)
    regions = sorted({r for g in intent.grants for r in g.regions}) or list(pools.regions)
    bases = [w.probe for w in witnesses(intent, pools)]
    for k in range(n):
        if k % 2 == 0 or not bases:
            yield _fresh(intent, pools, rng, regions)
            continue
        probe = rng.choice(bases)
        for _ in range(rng.randint(1, 3)):
            probe = _perturb(probe, pools, rng)
        yield probe
