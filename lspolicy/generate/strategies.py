"""Hypothesis strategies for intents and for the requests a proof checks.

`intent_documents` draws intent data (what a person writes, before `intent_from_data`) from
small pools, so that grants, exclusions and requests meet the same values; `probes` draws
requests from the pools of an intent (`lspolicy.generate.population.pools_for`), the same pools
the proof's seeded generator uses.
"""

from __future__ import annotations

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


@st.composite
def _match(draw: DrawFn, *, instance: bool) -> object:
    kinds = ["plain", "equals", "one_of", "prefix"]
    if instance:
        kinds += ["principal_tag", "not_equals", "not_one_of", "present"]
    kind = draw(st.sampled_from(kinds))
    if kind == "plain":
        return draw(st.sampled_from(TAG_VALUES))
    if kind == "present":
        return {"present": True}
    if kind in ("equals", "one_of", "not_equals", "not_one_of"):
        insensitive = instance and draw(st.booleans())
        if kind in ("equals", "not_equals"):
            out: JsonObject = {kind: draw(st.sampled_from(TAG_VALUES))}
        else:
            values = draw(_subset(TAG_VALUES))
            if insensitive:  # one spelling per value when case is ignored
                values = list({v.lower(): v for v in values}.values())
            out = {kind: values}
        if insensitive:
            out["case_insensitive"] = True
        return out
    if kind == "prefix":
        return {"prefix": draw(st.sampled_from(PREFIXES))}
    return {"principal_tag": draw(st.sampled_from(TAG_KEYS))}


def _tags(*, instance: bool, min_size: int = 0) -> SearchStrategy[dict[str, object]]:
    return st.dictionaries(
        st.sampled_from(TAG_KEYS), _match(instance=instance), min_size=min_size, max_size=2
    )


@st.composite
def _requirements(draw: DrawFn) -> JsonObject:
    out: JsonObject = {}
    if draw(st.booleans()):
        out["mfa"] = True
    if draw(st.booleans()):
        out["source_ip"] = draw(_subset(CIDRS, min_size=1).map(lambda x: x[:2]))
    window = draw(st.sampled_from(["none", "before", "after", "both"]))
    times = sorted(draw(_subset(TIMES, min_size=2)))
    if window in ("before", "both"):
        out["not_before"] = times[0]
    if window in ("after", "both"):
        out["not_after"] = times[-1]
    if not out:
        out["mfa"] = True
    return out


@st.composite
def request_key_documents(draw: DrawFn, *, each: float = 0.5) -> JsonObject:
    """Requirement fields of `lspolicy.generate.request_keys` (MFA age, organization ids,
    source identity values and patterns), each present with probability ``each``."""
    out: JsonObject = {}
    chance = st.floats(0, 1, exclude_max=True).map(lambda x: x < each)
    if draw(chance):
        out["mfa_max_age_seconds"] = draw(st.sampled_from(MFA_AGES))
    if draw(chance):
        out["principal_org_ids"] = draw(_subset(ORG_IDS).map(lambda x: x[:2]))
    if draw(chance):
        out["source_identity"] = draw(_subset(SOURCE_IDENTITIES).map(lambda x: x[:3]))
    return out


@st.composite
def _instances(draw: DrawFn) -> JsonObject:
    out: JsonObject = {}
    tags = draw(_tags(instance=True))
    if tags:
        out["tags"] = tags
    if draw(st.integers(0, 3)) == 0:
        out["ids"] = draw(_subset(IDS))
    return out


@st.composite
def grant_documents(draw: DrawFn, *, sid: str = "Grant") -> JsonObject:
    """One grant as an intent writes it."""
    principals: JsonObject = {}
    shape = draw(st.sampled_from(["tags", "arns", "both"]))
    if shape in ("tags", "both"):
        principals["tags"] = draw(_tags(instance=False, min_size=1))
    if shape in ("arns", "both"):
        principals["arns"] = draw(_subset(ARNS))
    grant: JsonObject = {"sid": sid, "principals": principals}
    grant["actions"] = ["lightsail:*"] if draw(st.integers(0, 5)) == 0 else draw(_subset(ACTIONS))
    if draw(st.booleans()):
        grant["regions"] = draw(_subset(REGIONS))
    instances = draw(_instances())
    if instances:
        grant["instances"] = instances
    if draw(st.booleans()):
        grant["require"] = draw(_requirements())
    return grant


@st.composite
def exclusion_documents(draw: DrawFn, *, sid: str = "Exclude") -> JsonObject:
    """One exclusion as an intent writes it (it always names something)."""
    out: JsonObject = {"sid": sid}
    if draw(st.integers(0, 2)) == 0:
        out["principals"] = (
            {"tags": draw(_tags(instance=False, min_size=1))}
            if draw(st.booleans())
            else {"arns": draw(_subset(ARNS))}
        )
    if draw(st.booleans()):
        out["actions"] = ["lightsail:*"] if draw(st.integers(0, 5)) == 0 else draw(_subset(ACTIONS))
    if draw(st.integers(0, 2)) == 0:
        out["regions"] = draw(_subset(REGIONS))
    instances = draw(_instances())
    if instances or not ({"actions", "regions"} & set(out)):
        out["instances"] = instances or {"tags": {"env": "prod"}}
    if draw(st.booleans()):
        out["unless"] = draw(_requirements())
    return out


@st.composite
def intent_documents(draw: DrawFn, *, max_grants: int = 2, max_exclusions: int = 2) -> JsonObject:
    """A whole intent as data: one to ``max_grants`` grants, up to ``max_exclusions``
    exclusions, Sids unique."""
    grants = [
        draw(grant_documents(sid=f"Grant{i}")) for i in range(draw(st.integers(1, max_grants)))
    ]
    exclusions = [
        draw(exclusion_documents(sid=f"Exclude{i}"))
        for i in range(draw(st.integers(0, max_exclusions)))
    ]
    out: JsonObject = {"name": "drawn", "account": ACCOUNT, "grants": grants}
    if exclusions:
        out["exclude"] = exclusions
    return out


def _tag_sets(keys: tuple[str, ...], values: tuple[str, ...]) -> SearchStrategy[dict[str, str]]:
    def one_per_case(tags: dict[str, str]) -> dict[str, str]:
        first: dict[str, str] = {}
        for k in tags:
            first.setdefault(k.casefold(), k)
        return {k: tags[k] for k in first.values()}

    return st.dictionaries(st.sampled_from(keys), st.sampled_from(values), max_size=4).map(
        one_per_case
    )


@st.composite
def probes(draw: DrawFn, pools: Pools) -> Probe:
    """A request drawn from an intent's pools; the caller's ``principal_tag`` keys are often
    copied from the instance, so equal values are drawn as often as unequal ones."""
    account = draw(st.sampled_from((pools.account, pools.account, pools.other_account)))
    region = draw(st.sampled_from(pools.regions))
    tags = draw(_tag_sets(pools.instance_tag_keys, pools.tag_values))
    caller = draw(_tag_sets(pools.principal_tag_keys, pools.tag_values))
    for instance_key, principal_key in pools.principal_tag_pairs:
        if instance_key in tags and draw(st.booleans()):
            caller = {k: v for k, v in caller.items() if k.casefold() != principal_key.casefold()}
            caller[principal_key] = tags[instance_key]
    identity = pools.identity(draw(st.sampled_from(pools.principal_arns)), caller)
    extra = pools.request_values
    c = Circumstances(
        mfa=draw(st.sampled_from((True, False, None))),
        source_ip=draw(st.sampled_from(pools.ips)),
        current_time=draw(st.sampled_from(pools.times)),
        mfa_age=draw(st.sampled_from(extra.mfa_ages)) if extra.mfa_ages else None,
        org_id=draw(st.sampled_from(extra.org_ids)) if extra.org_ids else None,
        source_identity=draw(st.sampled_from(extra.source_identities))
        if extra.source_identities
        else None,
    )
    if draw(st.integers(0, 15)) == 0:
        action, resource = draw(st.sampled_from(NON_INSTANCE_ACTIONS))
        if resource != "*":
            resource = f"arn:aws:lightsail:{region}:{account}:{resource}"
        return Probe(action, identity, c, None, resource)
    instance = Instance(
        id=draw(st.sampled_from(pools.instance_ids)), region=region, account=account, tags=tags
    )
    return Probe(draw(st.sampled_from(pools.actions)), identity, c, instance)
