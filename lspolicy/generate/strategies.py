"""Hypothesis strategies for intents and for the requests a proof checks.

`intent_documents` draws intent data (what a person writes, before `intent_from_data`) from
small pools, so that grants, exclusions and requests meet the same values; `probes` draws
requests from the pools of an intent (`lspolicy.generate.population.pools_for`), the same pools
the proof's seeded generator uses.

Cheap to draw: every strategy an intent is drawn from is built once, at import, and `probes`
builds the strategies of a pools once (the test draws ten requests per intent from one pools).
Building a strategy inside a draw costs far more than the draw itself: hypothesis validates
each new strategy object and computes its label and emptiness the first time it is drawn from.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import DrawFn, SearchStrategy

from lspolicy.generate.population import NON_INSTANCE_ACTIONS, Pools
from lspolicy.generate.semantics import Circumstances, Probe
from lspolicy.lightsail.context import Instance

__all__ = [
    "exclusion_documents",
    "grant_documents",
    "intent_documents",
    "probes",
    "request_key_documents",
]

ACCOUNT = "111122223333"
TAG_KEYS = ("env", "team", "owner")
TAG_VALUES = ("dev", "staging", "prod", "web", "a*b?", "x${y}", "")
PREFIXES = ("st", "pro", "a*", "w")
ACTIONS = ("lightsail:StopInstance", "lightsail:StartInstance", "lightsail:RebootInstance")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
ARNS = (
    f"arn:aws:iam::{ACCOUNT}:user/alice",
    f"arn:aws:iam::{ACCOUNT}:role/ci",
    f"arn:aws:iam::{ACCOUNT}:role/ops/break-glass",
)
IDS = (
    "8a831817-4d64-4fa6-913c-513a42f8eda1",
    "7d791a3c-a63c-45f9-bdcd-c219fe72c33b",
    "035594D2-A226-44F4-A6D8-402D970D0159",
)
CIDRS = ("198.51.100.0/24", "10.0.0.0/8", "203.0.113.7/32", "2001:db8::/32")
TIMES = ("2026-01-01T00:00:00Z", "2026-03-01T12:00:00Z", "2026-06-30T23:59:59Z")
MFA_AGES = (0, 300, 3600, 3601)
ORG_IDS = ("o-a1b2c3d4e5", "o-zz9yy8xx7w", "o-0123456789abcdef")
SOURCE_IDENTITIES = ("alice", "alice@example.com", "*@example.com", "ops-*", "a?ice", "*-ci-*")

JsonObject = dict[str, Any]


def _subset(items: tuple[str, ...], *, min_size: int = 1) -> SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(items), min_size=min_size, max_size=len(items), unique=True)


# -- built once: a strategy built inside a draw is validated anew at every draw ----------------

_BOOLEANS = st.booleans()
_UNIT = st.floats(0, 1, exclude_max=True)
_TAG_VALUE = st.sampled_from(TAG_VALUES)
_TAG_VALUE_SUBSET = _subset(TAG_VALUES)
_PREFIX = st.sampled_from(PREFIXES)
_TAG_KEY = st.sampled_from(TAG_KEYS)
_KINDS = {
    False: st.sampled_from(["plain", "equals", "one_of", "prefix"]),
    True: st.sampled_from(
        [
            "plain",
            "equals",
            "one_of",
            "prefix",
            "principal_tag",
            "not_equals",
            "not_one_of",
            "present",
        ]
    ),
}
_ARN_SUBSET = _subset(ARNS)
_ACTION_SUBSET = _subset(ACTIONS)
_REGION_SUBSET = _subset(REGIONS)
_ID_SUBSET = _subset(IDS)
_SOURCE_IPS = _subset(CIDRS, min_size=1).map(lambda x: x[:2])
_WINDOW = st.sampled_from(["none", "before", "after", "both"])
_TIME_PAIR = _subset(TIMES, min_size=2)
_MFA_AGE = st.sampled_from(MFA_AGES)
_ORG_ID_SUBSET = _subset(ORG_IDS).map(lambda x: x[:2])
_SOURCE_IDENTITY_SUBSET = _subset(SOURCE_IDENTITIES).map(lambda x: x[:3])
_ONE_IN_3 = st.integers(0, 2)
_ONE_IN_4 = st.integers(0, 3)
_ONE_IN_6 = st.integers(0, 5)


@st.composite
def _match(draw: DrawFn, *, instance: bool) -> object:
    kind = draw(_KINDS[instance])
    if kind == "plain":
        return draw(_TAG_VALUE)
    if kind == "present":
        return {"present": True}
    if kind in ("equals", "one_of", "not_equals", "not_one_of"):
        insensitive = instance and draw(_BOOLEANS)
        if kind in ("equals", "not_equals"):
            out: JsonObject = {kind: draw(_TAG_VALUE)}
        else:
            values = draw(_TAG_VALUE_SUBSET)
            if insensitive:  # one spelling per value when case is ignored
                values = list({v.lower(): v for v in values}.values())
            out = {kind: values}
        if insensitive:
            out["case_insensitive"] = True
        return out
    if kind == "prefix":
        return {"prefix": draw(_PREFIX)}
    return {"principal_tag": draw(_TAG_KEY)}


_INSTANCE_TAGS = st.dictionaries(_TAG_KEY, _match(instance=True), min_size=0, max_size=2)
_PRINCIPAL_TAGS = st.dictionaries(_TAG_KEY, _match(instance=False), min_size=1, max_size=2)


@st.composite
def _requirements(draw: DrawFn) -> JsonObject:
    out: JsonObject = {}
    if draw(_BOOLEANS):
        out["mfa"] = True
    if draw(_BOOLEANS):
        out["source_ip"] = draw(_SOURCE_IPS)
    window = draw(_WINDOW)
    times = sorted(draw(_TIME_PAIR))
    if window in ("before", "both"):
        out["not_before"] = times[0]
    if window in ("after", "both"):
        out["not_after"] = times[-1]
    if not out:
        out["mfa"] = True
    return out


_REQUIREMENTS = _requirements()


@st.composite
def request_key_documents(draw: DrawFn, *, each: float = 0.5) -> JsonObject:
    """Requirement fields of `lspolicy.generate.request_keys` (MFA age, organization ids,
    source identity values and patterns), each present with probability ``each``."""
    out: JsonObject = {}
    if draw(_UNIT) < each:
        out["mfa_max_age_seconds"] = draw(_MFA_AGE)
    if draw(_UNIT) < each:
        out["principal_org_ids"] = draw(_ORG_ID_SUBSET)
    if draw(_UNIT) < each:
        out["source_identity"] = draw(_SOURCE_IDENTITY_SUBSET)
    return out


@st.composite
def _instances(draw: DrawFn) -> JsonObject:
    out: JsonObject = {}
    tags = draw(_INSTANCE_TAGS)
    if tags:
        out["tags"] = tags
    if draw(_ONE_IN_4) == 0:
        out["ids"] = draw(_ID_SUBSET)
    return out


_INSTANCES = _instances()


def _actions(draw: DrawFn) -> list[str]:
    return ["lightsail:*"] if draw(_ONE_IN_6) == 0 else draw(_ACTION_SUBSET)


_SHAPE = st.sampled_from(["tags", "arns", "both"])


def _grant(draw: DrawFn, sid: str) -> JsonObject:
    principals: JsonObject = {}
    shape = draw(_SHAPE)
    if shape in ("tags", "both"):
        principals["tags"] = draw(_PRINCIPAL_TAGS)
    if shape in ("arns", "both"):
        principals["arns"] = draw(_ARN_SUBSET)
    grant: JsonObject = {"sid": sid, "principals": principals}
    grant["actions"] = _actions(draw)
    if draw(_BOOLEANS):
        grant["regions"] = draw(_REGION_SUBSET)
    instances = draw(_INSTANCES)
    if instances:
        grant["instances"] = instances
    if draw(_BOOLEANS):
        grant["require"] = draw(_REQUIREMENTS)
    return grant


def _exclusion(draw: DrawFn, sid: str) -> JsonObject:
    out: JsonObject = {"sid": sid}
    if draw(_ONE_IN_3) == 0:
        out["principals"] = (
            {"tags": draw(_PRINCIPAL_TAGS)} if draw(_BOOLEANS) else {"arns": draw(_ARN_SUBSET)}
        )
    if draw(_BOOLEANS):
        out["actions"] = _actions(draw)
    if draw(_ONE_IN_3) == 0:
        out["regions"] = draw(_REGION_SUBSET)
    instances = draw(_INSTANCES)
    if instances or not ({"actions", "regions"} & set(out)):
        out["instances"] = instances or {"tags": {"env": "prod"}}
    if draw(_BOOLEANS):
        out["unless"] = draw(_REQUIREMENTS)
    return out


@st.composite
def grant_documents(draw: DrawFn, *, sid: str = "Grant") -> JsonObject:
    """One grant as an intent writes it."""
    return _grant(draw, sid)


@st.composite
def exclusion_documents(draw: DrawFn, *, sid: str = "Exclude") -> JsonObject:
    """One exclusion as an intent writes it (it always names something)."""
    return _exclusion(draw, sid)


@lru_cache(maxsize=16)
def _count(low: int, high: int) -> SearchStrategy[int]:
    return st.integers(low, high)


@st.composite
def intent_documents(draw: DrawFn, *, max_grants: int = 2, max_exclusions: int = 2) -> JsonObject:
    """A whole intent as data: one to ``max_grants`` grants, up to ``max_exclusions``
    exclusions, Sids unique."""
    grants = [_grant(draw, f"Grant{i}") for i in range(draw(_count(1, max_grants)))]
    exclusions = [_exclusion(draw, f"Exclude{i}") for i in range(draw(_count(0, max_exclusions)))]
    out: JsonObject = {"name": "drawn", "account": ACCOUNT, "grants": grants}
    if exclusions:
        out["exclude"] = exclusions
    return out


def _one_per_case(tags: dict[str, str]) -> dict[str, str]:
    first: dict[str, str] = {}
    for k in tags:
        first.setdefault(k.casefold(), k)
    return {k: tags[k] for k in first.values()}


def _tag_sets(keys: tuple[str, ...], values: tuple[str, ...]) -> SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from(keys), st.sampled_from(values), max_size=4).map(
        _one_per_case
    )


_MFA = st.sampled_from((True, False, None))
_NON_INSTANCE = st.sampled_from(NON_INSTANCE_ACTIONS)
_ONE_IN_16 = st.integers(0, 15)


def _optional(values: tuple[Any, ...]) -> SearchStrategy[Any] | None:
    return st.sampled_from(values) if values else None


def probes(pools: Pools) -> SearchStrategy[Probe]:
    """A request drawn from an intent's pools; the caller's ``principal_tag`` keys are often
    copied from the instance, so equal values are drawn as often as unequal ones."""
    hit = _PROBES.get(id(pools))
    if hit is not None and hit[0] is pools:
        return hit[1]
    strategy = _probes(pools)
    if len(_PROBES) >= _PROBES_KEPT:
        _PROBES.clear()
    _PROBES[id(pools)] = (pools, strategy)
    return strategy


_PROBES: dict[int, tuple[Pools, SearchStrategy[Probe]]] = {}
"""`probes` of the last few pools, by identity (the entry keeps its pools alive, so the id is
not reused; equal pools are not trusted to be the same: ``0 == 0.0``)."""
_PROBES_KEPT = 64


@dataclass(frozen=True, slots=True)
class _ProbeDraws:
    """The strategies a probe of one pools is drawn from (None: that pool is empty)."""

    pools: Pools
    account: SearchStrategy[str]
    region: SearchStrategy[str]
    tags: SearchStrategy[dict[str, str]]
    caller: SearchStrategy[dict[str, str]]
    arn: SearchStrategy[str]
    ip: SearchStrategy[str | None]
    time: SearchStrategy[str | None]
    mfa_age: SearchStrategy[Any] | None
    org_id: SearchStrategy[Any] | None
    source_identity: SearchStrategy[Any] | None
    instance_id: SearchStrategy[str]
    action: SearchStrategy[str]


def _probes(pools: Pools) -> SearchStrategy[Probe]:
    """`probes`, built once per pools (one module-level composite: decorating a new one per
    pools costs more than its draws)."""
    extra = pools.request_values
    return _probe(
        _ProbeDraws(
            pools=pools,
            account=st.sampled_from((pools.account, pools.account, pools.other_account)),
            region=st.sampled_from(pools.regions),
            tags=_tag_sets(pools.instance_tag_keys, pools.tag_values),
            caller=_tag_sets(pools.principal_tag_keys, pools.tag_values),
            arn=st.sampled_from(pools.principal_arns),
            ip=st.sampled_from(pools.ips),
            time=st.sampled_from(pools.times),
            mfa_age=_optional(extra.mfa_ages),
            org_id=_optional(extra.org_ids),
            source_identity=_optional(extra.source_identities),
            instance_id=st.sampled_from(pools.instance_ids),
            action=st.sampled_from(pools.actions),
        )
    )


@st.composite
def _probe(draw: DrawFn, s: _ProbeDraws) -> Probe:
    pools = s.pools
    account = draw(s.account)
    region = draw(s.region)
    tags = draw(s.tags)
    caller = draw(s.caller)
    for instance_key, principal_key in pools.principal_tag_pairs:
        if instance_key in tags and draw(_BOOLEANS):
            caller = {k: v for k, v in caller.items() if k.casefold() != principal_key.casefold()}
            caller[principal_key] = tags[instance_key]
    identity = pools.identity(draw(s.arn), caller)
    c = Circumstances(
        mfa=draw(_MFA),
        source_ip=draw(s.ip),
        current_time=draw(s.time),
        mfa_age=draw(s.mfa_age) if s.mfa_age is not None else None,
        org_id=draw(s.org_id) if s.org_id is not None else None,
        source_identity=draw(s.source_identity) if s.source_identity is not None else None,
    )
    if draw(_ONE_IN_16) == 0:
        action, resource = draw(_NON_INSTANCE)
        if resource != "*":
            resource = f"arn:aws:lightsail:{region}:{account}:{resource}"
        return Probe(action, identity, c, None, resource)
    instance = Instance(id=draw(s.instance_id), region=region, account=account, tags=tags)
    return Probe(draw(s.action), identity, c, instance)
