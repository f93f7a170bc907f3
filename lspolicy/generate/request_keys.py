"""Request-key requirements beyond MFA, address and time: how recently MFA was used, the
caller's organization, and the source identity of a role session — and the keys an intent may
not ask for because Lightsail never sees them.

One table entry per requirement (habit 2 of STYLE.md) carries its facts for every stage: the
intent field, the condition key, what an Allow tests (`required`), what a Deny tests when the
requirement fails (`unmet`), how the intent itself decides it (`met`, written from the words,
not from a condition operator) and the values a request is drawn from (`pool_values`,
`satisfying`). `lspolicy.generate.intent`, `build`, `semantics`, `classes`, `population` and
`strategies` each call into this module at one place.

AWS facts (IAM User Guide, "AWS global condition context keys",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html):

- ``aws:MultiFactorAuthAge`` is the number of seconds since the caller authenticated with MFA;
  "If MFA was not used, this key is not present" (#condition-keys-multifactorauthage;
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_configure-api-require.html).
  ``mfa_max_age_seconds: N`` means "MFA was used, at most N seconds ago": an Allow tests
  ``NumericLessThanEquals N`` (an absent key makes the condition false: "If the key that you
  specify in a policy condition is not present in the request context, the values do not match
  and the condition is false",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html);
  a Deny for the requirement failing tests ``NumericGreaterThanIfExists N``, which is true
  when the key is absent ("If the key is not present, evaluate the condition element as
  true", #Conditions_IfExists): without ``IfExists`` a caller with long-term keys or a session
  without MFA would escape the Deny.
- ``aws:PrincipalOrgID`` is the AWS Organizations id of the caller's account, present only when
  the account is a member of an organization (#condition-keys-principalorgid). Organization ids
  match ``^o-[a-z0-9]{10,32}$``
  (https://docs.aws.amazon.com/organizations/latest/APIReference/API_Organization.html).
  Allow: ``StringEquals``; Deny: ``StringNotEquals``, true for an absent key (negated
  operators: the condition operators page above).
- ``aws:SourceIdentity`` is the source identity set when the role session was created, present
  in every request of that session (#condition-keys-sourceidentity,
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_monitor.html).
  Its value takes letters, digits and ``_+=,.@-`` only (``[\\w+=,.@-]*``, the ``SourceIdentity``
  parameter of STS ``AssumeRole``), so ``*`` and ``?`` in an intent value can only be wildcards:
  values with them become ``StringLike`` (the literals go into the same ``StringLike`` list, where
  they match only themselves), values without them ``StringEquals``; a Deny uses
  ``StringNotLike`` / ``StringNotEquals``.
- ``aws:SourceVpc`` and ``aws:SourceVpce`` are "included in the request context only if the
  requester uses a VPC endpoint to make the request" (#condition-keys-sourcevpc,
  #condition-keys-sourcevpce). Lightsail is not among the services with an interface VPC
  endpoint ("AWS services that integrate with AWS PrivateLink",
  https://docs.aws.amazon.com/vpc/latest/privatelink/aws-services-privatelink-support.html):
  its API is reached at its public endpoint only, so a request to Lightsail never carries the
  keys and a condition on them would never match. An intent asking for them is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - types only; intent.py imports this module
    from lspolicy.generate.intent import Requirements
    from lspolicy.generate.semantics import Circumstances

__all__ = [
    "MFA_AGE",
    "NO_VALUES",
    "ORG_ID",
    "ORG_ID_PATTERN",
    "REFUSED",
    "REQUEST_KEY_FIELDS",
    "REQUEST_KEY_SUFFIXES",
    "SOURCE_IDENTITY",
    "SOURCE_IDENTITY_PATTERN",
    "Values",
    "glob_matches",
    "met",
    "parse",
    "pool_values",
    "required",
    "satisfying",
    "unmet",
]

MFA_AGE = "aws:MultiFactorAuthAge"
ORG_ID = "aws:PrincipalOrgID"
SOURCE_IDENTITY = "aws:SourceIdentity"

ORG_ID_PATTERN = re.compile(r"o-[a-z0-9]{10,32}")
"""An AWS Organizations id (``Organization.Id`` in the Organizations API reference)."""
SOURCE_IDENTITY_PATTERN = re.compile(r"[\w+=,.@*?-]{1,128}", re.ASCII)
"""A source identity value or pattern: STS's characters plus the wildcards ``*`` and ``?``."""

REQUEST_KEY_FIELDS: tuple[str, ...] = (
    "mfa_max_age_seconds",
    "principal_org_ids",
    "source_identity",
)
"""The `Requirements` fields this module owns, in the order of their Deny statements."""

REQUEST_KEY_SUFFIXES: tuple[str, ...] = ("MfaTooOld", "OutsideOrg", "OtherSourceIdentity")
"""Sid suffixes of an exclusion's Deny statements for each field failing (same order)."""

_REFUSAL = (
    "{key} is only in the request context of a call made through a VPC endpoint, and "
    "Lightsail's API is reached at its public endpoint only, so a condition on {key} would "
    "never match a Lightsail request"
)
REFUSED: Mapping[str, tuple[str, str]] = {
    "source_vpc": ("aws:SourceVpc", _REFUSAL.format(key="aws:SourceVpc")),
    "source_vpce": ("aws:SourceVpce", _REFUSAL.format(key="aws:SourceVpce")),
}
"""Intent fields refused, with the condition key they would have become and why."""
_REFUSED_HINT = (
    "restrict by source_ip (aws:SourceIp) instead; a Lightsail request carries the caller's "
    "public address"
)


# --------------------------------------------------------------------------- parsing

Report = Callable[[tuple[str | int, ...], str, "str | None"], None]


def _is_pattern(value: str) -> bool:
    return "*" in value or "?" in value


def parse(raw: Mapping[str, Any], path: tuple[str | int, ...], report: Report) -> dict[str, Any]:
    """The `Requirements` fields of this module from schema-valid ``raw``, in canonical form;
    each problem goes to ``report(path, message, hint)``."""
    for name, (_key, why) in REFUSED.items():
        if name in raw:
            report((*path, name), why, _REFUSED_HINT)
    out: dict[str, Any] = {}
    if "mfa_max_age_seconds" in raw:
        out["mfa_max_age_seconds"] = int(raw["mfa_max_age_seconds"])
    orgs: list[str] = []
    for i, org in enumerate(raw.get("principal_org_ids", [])):
        if not ORG_ID_PATTERN.fullmatch(org):
            lowered = org.strip().lower()
            report(
                (*path, "principal_org_ids", i),
                f"{org!r} is not an AWS Organizations id",
                f"did you mean {lowered!r}?"
                if ORG_ID_PATTERN.fullmatch(lowered)
                else "an organization id is o- and 10 to 32 lowercase letters or digits, "
                "e.g. o-a1b2c3d4e5 (aws organizations describe-organization shows it)",
            )
        orgs.append(org)
    if orgs:
        out["principal_org_ids"] = tuple(sorted(set(orgs)))
    identities: list[str] = []
    for i, value in enumerate(raw.get("source_identity", [])):
        if not SOURCE_IDENTITY_PATTERN.fullmatch(value):
            bad = sorted({c for c in value if not SOURCE_IDENTITY_PATTERN.fullmatch(c)})
            report(
                (*path, "source_identity", i),
                f"source identity {value!r} has characters a source identity cannot contain "
                f"({', '.join(repr(c) for c in bad) or 'too long'})",
                "a source identity takes letters, digits and _+=,.@- (STS AssumeRole); "
                "* and ? are wildcards",
            )
        elif value.strip("*") == "":
            report(
                (*path, "source_identity", i),
                f"{value!r} matches every source identity",
                "to require only that a source identity is set, name the values or patterns "
                "you expect",
            )
        identities.append(value)
    if identities:
        out["source_identity"] = tuple(sorted(set(identities)))
    return out


def to_data(req: Requirements) -> dict[str, object]:
    """The canonical intent form of this module's fields."""
    out: dict[str, object] = {}
    if req.mfa_max_age_seconds is not None:
        out["mfa_max_age_seconds"] = req.mfa_max_age_seconds
    if req.principal_org_ids:
        out["principal_org_ids"] = list(req.principal_org_ids)
    if req.source_identity:
        out["source_identity"] = list(req.source_identity)
    return out


def describe(req: Requirements) -> list[str]:
    """How a person reads this module's fields."""
    parts = []
    if req.mfa_max_age_seconds is not None:
        parts.append(f"MFA within {req.mfa_max_age_seconds} s")
    if req.principal_org_ids:
        parts.append(f"organization in [{', '.join(req.principal_org_ids)}]")
    if req.source_identity:
        parts.append(f"source identity in [{', '.join(req.source_identity)}]")
    return parts


def empty(req: Requirements) -> bool:
    """None of this module's fields is set."""
    return req.mfa_max_age_seconds is None and not req.principal_org_ids and not req.source_identity


# --------------------------------------------------------------------------- policy conditions


def _identity_operator(values: Sequence[str], *, negated: bool) -> str:
    like = any(_is_pattern(v) for v in values)
    return ("StringNotLike" if like else "StringNotEquals") if negated else (
        "StringLike" if like else "StringEquals"
    )  # fmt: skip


def required(req: Requirements) -> list[tuple[str, str, list[str]]]:
    """``(operator, key, values)`` on an Allow: all hold exactly when every field holds."""
    out: list[tuple[str, str, list[str]]] = []
    if req.mfa_max_age_seconds is not None:
        out.append(("NumericLessThanEquals", MFA_AGE, [str(req.mfa_max_age_seconds)]))
    if req.principal_org_ids:
        out.append(("StringEquals", ORG_ID, list(req.principal_org_ids)))
    if req.source_identity:
        values = list(req.source_identity)
        out.append((_identity_operator(values, negated=False), SOURCE_IDENTITY, values))
    return out


def unmet(req: Requirements) -> list[tuple[str, str, str, list[str]]]:
    """``(sid suffix, operator, key, values)``: one condition per field, true exactly when that
    field fails, an absent key included."""
    suffix = dict(zip(REQUEST_KEY_FIELDS, REQUEST_KEY_SUFFIXES, strict=True))
    out: list[tuple[str, str, str, list[str]]] = []
    if req.mfa_max_age_seconds is not None:
        out.append(
            (
                suffix["mfa_max_age_seconds"],
                "NumericGreaterThanIfExists",
                MFA_AGE,
                [str(req.mfa_max_age_seconds)],
            )
        )
    if req.principal_org_ids:
        out.append(
            (suffix["principal_org_ids"], "StringNotEquals", ORG_ID, list(req.principal_org_ids))
        )
    if req.source_identity:
        values = list(req.source_identity)
        out.append(
            (
                suffix["source_identity"],
                _identity_operator(values, negated=True),
                SOURCE_IDENTITY,
                values,
            )
        )
    return out


# --------------------------------------------------------------------------- the intent's reading


def glob_matches(pattern: str, text: str) -> bool:
    """``*`` any run (none included), ``?`` one character, all else itself, case included.

    Written here, not taken from the engine (`lspolicy.glob`), so the intent's reading does not
    share the engine's code."""
    # positions of the pattern reachable after each character of the text
    states = {0}

    def close(positions: set[int]) -> set[int]:
        out = set(positions)
        for start in positions:
            p = start
            while p < len(pattern) and pattern[p] == "*":
                p += 1
                out.add(p)
        return out

    states = close(states)
    for ch in text:
        nxt: set[int] = set()
        for p in states:
            if p < len(pattern):
                if pattern[p] == "*":
                    nxt.add(p)
                elif pattern[p] == "?" or pattern[p] == ch:
                    nxt.add(p + 1)
        states = close(nxt)
        if not states:
            return False
    return len(pattern) in states


def met(req: Requirements, c: Circumstances) -> bool:
    """Whether every field of this module holds for ``c``. An absent value fails each: no MFA
    age means MFA was not used; no organization id means the caller's account is in none; no
    source identity means none was set."""
    if req.mfa_max_age_seconds is not None and (
        c.mfa_age is None or c.mfa_age > req.mfa_max_age_seconds
    ):
        return False
    if req.principal_org_ids and c.org_id not in req.principal_org_ids:
        return False
    if req.source_identity:
        value = c.source_identity
        if value is None or not any(glob_matches(p, value) for p in req.source_identity):
            return False
    return True


# --------------------------------------------------------------------------- request values


@dataclass(frozen=True, slots=True)
class Values:
    """What requests draw the three keys from (None: the key absent)."""

    mfa_ages: tuple[float | None, ...]
    org_ids: tuple[str | None, ...]
    source_identities: tuple[str | None, ...]


NO_VALUES = Values((), (), ())
"""An intent that uses none of the keys."""
OTHER_ORG = "o-zz99zz99zz99"
"""An organization id no intent example names."""
OTHER_IDENTITY = "zz-unlisted"


def _instances(pattern: str) -> list[str]:
    """Values a pattern matches (its wildcards filled in two ways) and near misses."""
    plain = pattern.replace("*", "").replace("?", "x")
    filled = pattern.replace("*", "ab").replace("?", "y")
    out = [plain, filled, plain.swapcase(), plain + "-x", "x" + plain]
    if len(plain) > 1:
        out.append(plain[:-1])
    return out


def pool_values(requirements: Sequence[Requirements]) -> Values:
    """Each bound with its neighbours, each organization and its near misses, each source
    identity pattern filled in and missed, plus a fresh value and absent — for each key some
    requirement uses (none for the others: their requests stay as they were)."""
    ages: list[float] = []
    orgs: list[str] = []
    identities: list[str] = []
    for r in requirements:
        if r.mfa_max_age_seconds is not None:
            n = r.mfa_max_age_seconds
            ages += [n - 1, n, n + 0.5, n + 1]
        for org in r.principal_org_ids:
            orgs += [org, org[:-1] + ("0" if org[-1] != "0" else "1"), org.upper()]
        for value in r.source_identity:
            identities += _instances(value)
    return Values(
        mfa_ages=(*dict.fromkeys(a for a in [0, *ages, 86_400] if a >= 0), None) if ages else (),
        org_ids=(*dict.fromkeys(orgs), OTHER_ORG, None) if orgs else (),
        source_identities=(*dict.fromkeys(identities), OTHER_IDENTITY, "", None)
        if identities
        else (),
    )


def satisfying(requirements: Sequence[Requirements], variant: int) -> dict[str, Any]:
    """``Circumstances`` fields meeting this module's fields of every requirement given, as far
    as they can be met together (the first one always), varying with ``variant``; a key no
    requirement given uses is left absent."""
    out: dict[str, Any] = {}
    bounds = [r.mfa_max_age_seconds for r in requirements if r.mfa_max_age_seconds is not None]
    if bounds:
        out["mfa_age"] = min(bounds) if variant % 2 else min(bounds) // 2
    org_sets = [set(r.principal_org_ids) for r in requirements if r.principal_org_ids]
    if org_sets:
        common = sorted(set.intersection(*org_sets)) or sorted(org_sets[0])
        out["org_id"] = common[variant % len(common)]
    pattern_sets = [r.source_identity for r in requirements if r.source_identity]
    if pattern_sets:
        candidates = [v for p in pattern_sets[0] for v in _instances(p)[:2]]
        both = [
            v for v in candidates if all(any(glob_matches(p, v) for p in ps) for ps in pattern_sets)
        ]
        chosen = both or [v for v in candidates if any(glob_matches(p, v) for p in pattern_sets[0])]
        out["source_identity"] = chosen[variant % len(chosen)]
    return out
