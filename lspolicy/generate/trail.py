"""Observed access -> one intent per principal, for the generator and its proof.

Pipeline (habit 1 of STYLE.md): events --`read_trail`/`read_request_log`--> `Trail` (the
calls that happened, and every event left out with its reason) --`plan_from_trail` with the
world--> `Observed` (one `PrincipalPlan` per principal: an `Intent` and the choices made for
it). `lspolicy.generate.generate` and `lspolicy.generate.prove` take it from there, as for an
intent written by hand.

Inputs:

- CloudTrail records, as JSON lines (one event per line) or as a log file's
  ``{"Records": [...]}`` (gzipped, as CloudTrail delivers it, or not). The fields read are those of CloudTrail's record contents
  (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html):
  ``eventSource`` (``lightsail.amazonaws.com`` for Lightsail:
  https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-lightsail.html), ``eventName``
  (the API operation, which names the IAM action ``lightsail:<eventName>``), ``awsRegion``,
  ``recipientAccountId`` (the account that received the call, so owns the instance),
  ``requestParameters.instanceName`` (``resourceName`` for the operations in `NAMED_BY`, with
  ``resourceType``, ``resourceArn`` and ``responseElements`` to tell an instance from another
  resource of that name) and ``errorCode`` (present when the call failed: a
  denied or failed call is not access that happened, so it is left out and counted).
  ``userIdentity`` names the caller
  (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html):
  ``arn`` for an ``IAMUser``; for an ``AssumedRole`` session, the role is
  ``sessionContext.sessionIssuer.arn``, which is also what ``aws:PrincipalArn`` holds
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn),
  so every session of a role is one principal.
- The emulator's request log (``request_log`` of its SQLite state): rows whose decision is
  ``allowed``; every other row is left out with its decision and error code.

Instance names are per account and region; the world resolves each to its id and tags (the
ARN carries the id:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html#amazonlightsail-resources-for-iam-policies).

The choice per principal: actions observed on the same set of instances form one grant. By
default the grant names the instances by id, one grant per region, so that it names exactly the
observed ARNs (region, account and id), not every id in every region. With ``tag_conditions``, when every instance of
the grant shares one or more tag values, the grant selects them by tag instead
(``aws:ResourceTag/<key>``:
https://docs.aws.amazon.com/lightsail/latest/userguide/amazon-lightsail-controlling-access-using-tags.html):
the shared tags that narrow the world's instances (same account, observed regions) the most,
fewest first. Tag keys match regardless of case, as IAM reads condition key names
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html);
values are compared exactly, as ``StringEquals`` does. If that selector still covers an instance that was not observed, it is refused
(the grant keeps its ids) unless ``allow_broader``; either way the report names the instances
it would add. A tag selector also covers instances tagged so later; the report says so.
"""

from __future__ import annotations

import gzip
import json
import re
import sqlite3
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from lspolicy.errors import Location, Problem
from lspolicy.generate.intent import Intent, IntentError, instance_actions, intent_from_data
from lspolicy.lightsail.catalog import SERVICE_PREFIX
from lspolicy.lightsail.context import Identity, Instance
from lspolicy.textfile import TooLargeError, read_bounded

__all__ = [
    "LIGHTSAIL_EVENT_SOURCE",
    "NAMED_BY",
    "Choice",
    "Observation",
    "Observed",
    "PrincipalPlan",
    "Skipped",
    "Trail",
    "TrailError",
    "describe",
    "plan_from_trail",
    "read_request_log",
    "read_trail",
    "to_dict",
]

CODE = "trail"
LIGHTSAIL_EVENT_SOURCE = "lightsail.amazonaws.com"
MAX_TRAIL_BYTES = 256 << 20
MAX_GZIP_RATIO = 100
"""A .json.gz may inflate to 100 times its size (and at least 16 MiB): CloudTrail's JSON
compresses some 10 to 25 times; a gzip of zeros, a thousand times."""

_PRINCIPAL = re.compile(
    r"arn:aws:iam::([0-9]{12}):(user|role)/(?:[A-Za-z0-9+=,.@_-]+/)*([A-Za-z0-9+=,.@_-]+)"
)
"""A user or role ARN, as an intent's ``principals.arns`` takes it."""
_LIGHTSAIL_ARN = re.compile(r"arn:aws[a-z-]*:lightsail:([a-z0-9-]*):([0-9]*):([A-Za-z]+)/(.+)")
"""A Lightsail resource ARN: region, account, resource type, id
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html#amazonlightsail-resources-for-iam-policies)."""

NAMED_BY: Mapping[str, str] = MappingProxyType(
    {
        # Operations whose request names the instance ``resourceName``, not ``instanceName``,
        # each from its page of the Lightsail API reference
        # (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_<Operation>.html).
        # TagResource, UntagResource, GetCostEstimate and SetIpAddressType take any resource's
        # name: the event's resourceType, resourceArn or responseElements say which it was.
        "CreateGUISessionAccessDetails": "resourceName",
        "GetCostEstimate": "resourceName",
        "GetSetupHistory": "resourceName",
        "SetIpAddressType": "resourceName",
        "SetResourceAccessForBucket": "resourceName",  # "the name of the Lightsail instance"
        "StartGUISession": "resourceName",
        "StopGUISession": "resourceName",
        "TagResource": "resourceName",
        "UntagResource": "resourceName",
    }
)
"""The request parameter that names the instance, by operation; ``instanceName`` otherwise."""
_TAG_KEY = re.compile(r"[A-Za-z0-9 +\-=._:/@]{1,128}")
"""The tag keys an intent selector takes (``schemas/intent.schema.json``)."""


class TrailError(IntentError):
    """The events cannot be read; ``problems`` lists every problem, each with its location."""


# --------------------------------------------------------------------------- what was observed


@dataclass(frozen=True, slots=True, order=True)
class Observation:
    """One call that happened: ``principal`` (a user or role ARN) did ``action`` on the
    instance named ``instance_name`` in ``account`` and ``region``."""

    principal: str
    action: str
    account: str
    region: str
    instance_name: str
    caller: str = field(compare=False)
    """The ARN as the event shows it (a role session's ``assumed-role`` ARN)."""
    where: str = field(compare=False)
    """``file:line`` (JSON lines), ``file: Records[i]`` or ``file: request_log seq N``."""
    instance_id: str = ""
    """The id the event's ``resourceArn`` names, when it has one: the world's instance of that
    name must have it."""


@dataclass(frozen=True, slots=True)
class Skipped:
    """An event left out, and why."""

    where: str
    reason: str


@dataclass(frozen=True, slots=True)
class Trail:
    """The observed calls of one input, and every event left out."""

    source: str
    kind: Literal["cloudtrail", "request-log"]
    events: int
    observations: tuple[Observation, ...]
    skipped: tuple[Skipped, ...]

    def skipped_by_reason(self) -> dict[str, int]:
        """How many events each reason left out, most first."""
        counts = Counter(s.reason for s in self.skipped)
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _problem(
    source: str, message: str, *, path: str = "", line: int = 0, hint: str | None = None
) -> Problem:
    return Problem(message, Location(source, path, line, 1 if line else 0), hint=hint, code=CODE)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _from_event(
    event: Any, where: str, source: str, problems: list[Problem], *, path: str, line: int
) -> Observation | Skipped:
    """One CloudTrail record -> the call it shows, or why it is left out."""

    def bad(message: str) -> Skipped:
        problems.append(_problem(source, message, path=path, line=line))
        return Skipped(where, "malformed")

    if not isinstance(event, dict):
        return bad(f"an event must be a JSON object, found {type(event).__name__}")
    if event.get("eventSource") != LIGHTSAIL_EVENT_SOURCE:
        if not isinstance(event.get("eventSource"), str):
            return bad("the event has no eventSource")
        return Skipped(where, "another service's event")
    name = _text(event.get("eventName"))
    if name is None:
        return bad("the Lightsail event has no eventName")
    error = _text(event.get("errorCode"))
    if error is not None:
        return Skipped(where, f"the call failed ({error}): not access that happened")
    action = f"{SERVICE_PREFIX}:{name}"
    if action not in instance_actions():
        return Skipped(where, f"{action} is not an instance action")
    identity = event.get("userIdentity")
    region = _text(event.get("awsRegion"))
    if not isinstance(identity, dict) or region is None:
        return bad("the Lightsail event has no userIdentity or awsRegion")
    params = event.get("requestParameters")
    params = params if isinstance(params, dict) else {}
    parameter = NAMED_BY.get(name, "instanceName")
    instance_name = _text(params.get(parameter))
    if instance_name is None:
        return Skipped(where, f"no requestParameters.{parameter}")
    not_instance, named = _named_instance(
        params, event.get("responseElements"), instance_name, parameter
    )
    if not_instance is not None:
        return Skipped(where, f"{action} named {not_instance}")
    kind = identity.get("type")
    caller = _text(identity.get("arn")) or ""
    if kind == "AssumedRole":
        issuer = (identity.get("sessionContext") or {}).get("sessionIssuer") or {}
        principal = _text(issuer.get("arn")) if isinstance(issuer, dict) else None
        principal = principal or (Identity(caller).principal_arn if caller else None)
    elif kind == "IAMUser":
        principal = caller or None
    else:
        return Skipped(where, f"caller type {kind!r} is not an IAM user or role")
    if principal is None or not _PRINCIPAL.fullmatch(principal):
        return Skipped(where, f"caller {principal or caller!r} is not an IAM user or role ARN")
    account = _text(event.get("recipientAccountId")) or _text(identity.get("accountId"))
    if account is None:
        return bad("the Lightsail event has no recipientAccountId")
    if named is not None and named[:2] != (region, account):
        return Skipped(where, f"{action} named an instance in another region or account")
    return Observation(
        principal,
        action,
        account,
        region,
        instance_name,
        caller,
        where,
        named[2] if named is not None else "",
    )


def _named_instance(
    params: dict[str, Any], response: object, name: str, parameter: str
) -> tuple[str | None, tuple[str, str, str] | None]:
    """What the event says of the resource it named ``name``: why it was not an instance, when
    anything in it says so, and ``(region, account, id)`` when a ``resourceArn`` names an
    instance. What says so: ``resourceType`` (API_SetIpAddressType), ``resourceArn``
    (API_TagResource), and the ``resourceType`` of the result's ``operations`` or
    ``resourcesBudgetEstimate`` entry for that name (API_Operation, API_ResourceBudgetEstimate),
    all under https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/."""
    stated = _text(params.get("resourceType"))
    if stated is not None and stated != "Instance":
        return f"a {stated} {name!r}, not an instance", None
    found: tuple[str, str, str] | None = None
    arn = _text(params.get("resourceArn"))
    if arn is not None:
        m = _LIGHTSAIL_ARN.fullmatch(arn)
        if m is None:
            return f"the resource {arn!r}, not an instance ARN", None
        if m.group(3) != "Instance":
            return f"a {m.group(3)} {name!r}, not an instance", None
        found = (m.group(1), m.group(2), m.group(4))
    if parameter == "resourceName" and isinstance(response, dict):
        types = {
            entry.get("resourceType")
            for key in ("operations", "resourcesBudgetEstimate")
            if isinstance(response.get(key), list)
            for entry in response[key]
            if isinstance(entry, dict) and entry.get("resourceName") == name
        }
        if types and "Instance" not in types:
            return f"a {sorted(map(str, types))[0]} {name!r}, not an instance", None
    return None, found


def _inflate(data: bytes | bytearray, limit: int) -> bytearray:
    """The gzip members of ``data`` inflated, at most ``limit`` bytes: `TooLargeError` past it,
    counted as the bytes come out (never inflating all first)."""
    out = bytearray()
    rest = data
    while rest:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        out += inflater.decompress(rest, limit + 1 - len(out))
        if len(out) > limit or inflater.unconsumed_tail:
            raise TooLargeError(0, f"larger than {limit} bytes")
        if not inflater.eof:
            raise EOFError("the gzip stream ends early")
        rest = inflater.unused_data
    return out


def read_trail(path: str | Path) -> Trail:
    """Read CloudTrail records: JSON lines, or ``{"Records": [...]}`` (or a JSON array).

    Raises `TrailError` listing every malformed event with its file and line (JSON lines) or
    its index (``Records[i]``).
    """
    p = Path(path)
    source = str(p)
    try:
        # a regular file, counted while read; a .json.gz counted again as it inflates, so a
        # 2 MB gzip of zeros cannot become 2 GiB in memory
        raw: bytes | bytearray = read_bounded(p, MAX_TRAIL_BYTES)
        if raw[:2] == b"\x1f\x8b":  # a log file as CloudTrail delivers it: .json.gz
            raw = _inflate(raw, min(MAX_TRAIL_BYTES, max(16 << 20, MAX_GZIP_RATIO * len(raw))))
        text = raw.decode("utf-8-sig")
    except TooLargeError:
        raise TrailError(
            (
                _problem(
                    source,
                    f"the trail is larger than {MAX_TRAIL_BYTES} bytes, or its gzip inflates "
                    f"past {MAX_GZIP_RATIO} times its size",
                ),
            )
        ) from None
    except OSError as exc:
        raise TrailError(
            (_problem(source, f"cannot read the trail: {exc.strerror or exc}"),)
        ) from None
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError, zlib.error):
        raise TrailError(
            (_problem(source, "the trail is not UTF-8 text (or gzip of it)"),)
        ) from None
    problems: list[Problem] = []
    results: list[Observation | Skipped] = []
    whole: Any = None
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        try:
            whole = json.loads(stripped)
        except (ValueError, RecursionError):
            whole = None
    if isinstance(whole, dict) and "Records" not in whole and "eventSource" in whole:
        whole = [whole]  # one event, pretty-printed
    records = whole.get("Records") if isinstance(whole, dict) else whole
    if isinstance(records, list):
        for i, event in enumerate(records):
            where = f"{source}: Records[{i}]"
            results.append(
                _from_event(event, where, source, problems, path=f"Records[{i}]", line=0)
            )
    else:
        if isinstance(whole, dict) and "Records" in whole:
            raise TrailError(
                (_problem(source, "Records must be a list of events", path="Records"),)
            )
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except (ValueError, RecursionError) as exc:
                why = (
                    "nested too deeply"
                    if isinstance(exc, RecursionError)
                    else exc.args[0].split(":")[0].lower()
                )
                problems.append(
                    _problem(
                        source,
                        f"line is not a JSON event: {why}",
                        line=n,
                        hint='one CloudTrail event per line, or a file with {"Records": [...]}',
                    )
                )
                continue
            results.append(_from_event(event, f"{source}:{n}", source, problems, path="", line=n))
    if problems:
        raise TrailError(tuple(problems))
    return Trail(
        source,
        "cloudtrail",
        len(results),
        tuple(r for r in results if isinstance(r, Observation)),
        tuple(r for r in results if isinstance(r, Skipped)),
    )


def read_request_log(path: str | Path) -> Trail:
    """Read the emulator's request log: rows with decision ``allowed`` are observations."""
    source = str(path)
    if not Path(path).is_file():
        raise TrailError((_problem(source, "no such state database"),))
    try:
        db = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
        try:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM request_log ORDER BY seq").fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise TrailError(
            (
                _problem(
                    source,
                    f"cannot read the request log: {exc}",
                    hint="give the emulator's state database (lspolicy serve --state FILE)",
                ),
            )
        ) from None
    observations: list[Observation] = []
    skipped: list[Skipped] = []
    for row in rows:
        where = f"{source}: request_log seq {row['seq']}"
        decision = row["decision"]
        if decision != "allowed":
            code = f", {row['error_code']}" if row["error_code"] else ""
            skipped.append(Skipped(where, f"not allowed ({decision}{code})"))
            continue
        action = f"{SERVICE_PREFIX}:{row['operation']}"
        if action not in instance_actions():
            skipped.append(Skipped(where, f"{action} is not an instance action"))
            continue
        caller = row["principal_arn"] or ""
        principal = Identity(caller).principal_arn
        if not (_PRINCIPAL.fullmatch(principal) and row["account"] and row["region"]):
            skipped.append(Skipped(where, f"caller {caller!r} is not an IAM user or role ARN"))
            continue
        if not row["instance_name"]:
            skipped.append(Skipped(where, "no instance name"))
            continue
        observations.append(
            Observation(
                principal,
                action,
                row["account"],
                row["region"],
                row["instance_name"],
                caller,
                where,
            )
        )
    return Trail(source, "request-log", len(rows), tuple(observations), tuple(skipped))


# --------------------------------------------------------------------------- the choice


@dataclass(frozen=True, slots=True)
class Choice:
    """How one grant of a principal selects its instances, and why."""

    sid: str
    actions: tuple[str, ...]
    regions: tuple[str, ...]
    instances: tuple[str, ...]
    """Observed instance names (``region/name``), sorted."""
    form: Literal["ids", "tags"]
    tags: tuple[tuple[str, str], ...]
    """The tag selector (chosen, or the one considered and refused)."""
    reason: str
    adds: tuple[str, ...] = ()
    """World instances the tag selector covers that were not observed."""


@dataclass(frozen=True, slots=True)
class PrincipalPlan:
    """One principal: its observed calls, the intent they make, and the choices taken."""

    principal: str
    intent: Intent
    observations: tuple[Observation, ...]
    choices: tuple[Choice, ...]


@dataclass(frozen=True, slots=True)
class Observed:
    """The plans of every principal, and what could not be used."""

    trail: Trail
    plans: tuple[PrincipalPlan, ...]
    unresolved: tuple[Skipped, ...]
    """Observations whose instance the world does not have (or in another account)."""


def _usable_tag(key: str, value: str) -> bool:
    ok_chars = all(0x20 <= ord(c) <= 0xFF and not 0x7F <= ord(c) <= 0x9F for c in key + value)
    return (
        bool(_TAG_KEY.fullmatch(key))
        and not key.casefold().startswith("aws:")
        and len(value) <= 256
        and ok_chars
    )


def _label(i: Instance) -> str:
    return f"{i.region}/{i.name}"


def _by_folded_key(tags: Mapping[str, str]) -> dict[str, list[str]]:
    """Every value ``aws:ResourceTag/<key>`` could read on a resource with ``tags``, by folded
    key. Condition key names are not case-sensitive, so ``aws:ResourceTag/owner`` reads a tag
    ``Owner`` as well, and of keys equal but for case it reads one, which is not documented
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html).
    Keys fold as the engine folds them (``str.lower``) and as Unicode does (``casefold``)."""
    out: dict[str, list[str]] = {}
    for key, value in tags.items():
        for folded in {key.lower(), key.casefold()}:
            out.setdefault(folded, []).append(value)
    return out


def _select(
    observed: Sequence[Instance], candidates: Sequence[Instance]
) -> tuple[tuple[tuple[str, str], ...], list[Instance]]:
    """The shared tags that narrow ``candidates`` most, fewest tags first (greedy), and what
    they cover. Empty when the observed instances share no usable tag value.

    Tag keys match as IAM matches them, regardless of case; values stay case-sensitive, as
    ``StringEquals`` compares them. A tag is shared only when it surely selects every observed
    instance (each has one key of that spelling but for case, with that value); an instance is
    covered when any of its keys equal but for case has the value, so an ambiguous instance
    counts as covered, never as left out."""
    shared = set.intersection(
        *(
            {(f, values[0]) for f, values in _by_folded_key(i.tags).items() if len(values) == 1}
            for i in observed
        )
    )
    spelled = {k.lower(): k for k in observed[0].tags}
    pairs = sorted(
        (spelled[f], v) for f, v in shared if f in spelled and _usable_tag(spelled[f], v)
    )
    if not pairs:
        return (), []
    readable = [(c, _by_folded_key(c.tags)) for c in candidates]

    def cover(sel: Iterable[tuple[str, str]]) -> list[Instance]:
        chosen = [(k.lower(), v) for k, v in sel]
        return [c for c, tags in readable if all(v in tags.get(k, ()) for k, v in chosen)]

    target = len(cover(pairs))
    chosen: list[tuple[str, str]] = []
    covered = list(candidates)
    while len(covered) > target:
        best = min(
            pairs, key=lambda p: (len(cover([*chosen, p])), p) if p not in chosen else (1 << 62, p)
        )
        chosen.append(best)
        covered = cover(chosen)
    if not chosen:  # every candidate already matches: one tag says so
        chosen = [min(pairs, key=lambda p: (len(cover([p])), p))]
        covered = cover(chosen)
    return tuple(sorted(chosen)), covered


def _per_region(grant: dict[str, Any], group: Sequence[Instance]) -> list[dict[str, Any]]:
    """One grant per region, each naming the ids observed there. A grant's resources are every
    region it lists with every id it lists; an instance's ARN is its region, account and id
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html#amazonlightsail-resources-for-iam-policies),
    so one grant over A in us-east-1 and B in us-west-2 would also name A's id in us-west-2
    and B's in us-east-1."""
    out = []
    for region in sorted({i.region for i in group}):
        here = [i for i in group if i.region == region]
        tail = "".join(part.capitalize() for part in region.split("-"))
        out.append(
            {
                **grant,
                "sid": f"{grant['sid']}In{tail}"[:64],
                "regions": [region],
                "instances": {"ids": sorted(i.id for i in here)},
                "description": f"observed: {', '.join(grant['actions'])} on "
                + ", ".join(_label(i) for i in here),
            }
        )
    return out


def _intent_name(principal: str, taken: set[str]) -> str:
    m = _PRINCIPAL.fullmatch(principal)
    assert m is not None
    account, kind, name = m.groups()
    base = f"observed-{kind}-{name}"[:80]
    out = base if base not in taken else f"{base}-{account}"
    taken.add(out)
    return out


def plan_from_trail(
    trail: Trail,
    instances: Sequence[Instance],
    *,
    tag_conditions: bool = False,
    allow_broader: bool = False,
) -> Observed:
    """One intent per principal from what ``trail`` observed, resolving names with
    ``instances`` (the world's)."""
    by_name: dict[tuple[str, str, str], Instance] = {
        (i.account, i.region, i.name or ""): i for i in instances
    }
    unresolved: list[Skipped] = []
    per_principal: dict[str, list[tuple[Observation, Instance]]] = {}
    for o in sorted(set(trail.observations)):
        owner = _PRINCIPAL.fullmatch(o.principal)
        assert owner is not None
        if owner.group(1) != o.account:
            unresolved.append(
                Skipped(
                    o.where,
                    f"{o.principal} called into account {o.account}: an identity policy covers "
                    "its own account only",
                )
            )
            continue
        inst = by_name.get((o.account, o.region, o.instance_name))
        if inst is None:
            unresolved.append(
                Skipped(
                    o.where,
                    f"no instance {o.instance_name!r} in {o.account} {o.region} in the world",
                )
            )
            continue
        if o.instance_id and o.instance_id != inst.id:
            unresolved.append(
                Skipped(
                    o.where,
                    f"the call named instance id {o.instance_id}, but {o.instance_name!r} in "
                    f"{o.account} {o.region} is {inst.id} in the world",
                )
            )
            continue
        per_principal.setdefault(o.principal, []).append((o, inst))
    plans: list[PrincipalPlan] = []
    taken: set[str] = set()
    for principal in sorted(per_principal):
        seen = per_principal[principal]
        account = seen[0][0].account
        on: dict[str, set[str]] = {}
        for o, inst in seen:
            on.setdefault(o.action, set()).add(inst.id)
        groups: dict[frozenset[str], list[str]] = {}
        for action, targets in sorted(on.items()):
            groups.setdefault(frozenset(targets), []).append(action)
        by_id = {inst.id: inst for _, inst in seen}
        grants: list[dict[str, Any]] = []
        choices: list[Choice] = []
        ordered = sorted(groups.items(), key=lambda kv: (kv[1], sorted(kv[0])))
        for n, (ids, actions) in enumerate(ordered, start=1):
            sid = f"Observed{n}"
            group = sorted((by_id[i] for i in ids), key=lambda i: (i.region, i.name or "", i.id))
            regions = sorted({i.region for i in group})
            labels = tuple(_label(i) for i in group)
            grant: dict[str, Any] = {
                "sid": sid,
                "principals": {"arns": [principal]},
                "actions": actions,
                "regions": regions,
                "instances": {"ids": sorted(ids)},
            }
            form: Literal["ids", "tags"] = "ids"
            tags: tuple[tuple[str, str], ...] = ()
            adds: tuple[str, ...] = ()
            if not tag_conditions:
                reason = f"{len(group)} instance(s) by id (tag conditions not asked for)"
            else:
                candidates = sorted(
                    (i for i in instances if i.account == account and i.region in regions),
                    key=lambda i: (i.region, i.name or "", i.id),
                )
                tags, covered = _select(group, candidates)
                adds = tuple(_label(i) for i in covered if i.id not in ids)
                shown = ", ".join(f"{k}={v}" for k, v in tags)
                if not tags:
                    reason = f"the {len(group)} instance(s) share no tag value: ids"
                elif not adds:
                    form = "tags"
                    reason = (
                        f"all {len(group)} instance(s) share {shown}, which selects exactly them "
                        "in the world (and instances tagged so later)"
                    )
                elif allow_broader:
                    form = "tags"
                    reason = (
                        f"all {len(group)} instance(s) share {shown}; it also selects "
                        f"{len(adds)} not observed ({', '.join(adds)}), allowed by --allow-broader"
                    )
                else:
                    reason = (
                        f"all {len(group)} instance(s) share {shown}, but it would also select "
                        f"{len(adds)} not observed ({', '.join(adds)}): ids "
                        "(--allow-broader takes the tag condition)"
                    )
                if form == "tags":
                    grant["instances"] = {"tags": {k: {"equals": v} for k, v in tags}}
            grant["description"] = f"observed: {', '.join(actions)} on {', '.join(labels)}"
            if form == "ids" and len(regions) > 1:
                grants.extend(_per_region(grant, group))
            else:
                grants.append(grant)
            choices.append(
                Choice(sid, tuple(actions), tuple(regions), labels, form, tags, reason, adds)
            )
        name = _intent_name(principal, taken)
        data = {
            "name": name,
            "description": f"what {principal} was observed doing in {trail.source}",
            "account": account,
            "grants": grants,
        }
        intent = intent_from_data(data, source=f"{trail.source} ({principal})")
        plans.append(PrincipalPlan(principal, intent, tuple(o for o, _ in seen), tuple(choices)))
    return Observed(trail, tuple(plans), tuple(unresolved))


def describe(observed: Observed) -> list[str]:
    """The report of what was observed and chosen, as text lines."""
    t = observed.trail
    lines = [
        f"observed: {len(t.observations)} of {t.events} events in {t.source} are calls that "
        f"happened; {len(observed.plans)} principal(s)"
    ]
    for reason, n in t.skipped_by_reason().items():
        lines.append(f"  skipped {n}: {reason}")
    for u in observed.unresolved:
        lines.append(f"  unresolved: {u.where}: {u.reason}")
    for plan in observed.plans:
        lines.append(f"principal {plan.principal} ({len(plan.observations)} distinct calls):")
        for c in plan.choices:
            lines.append(f"  {c.sid} {', '.join(c.actions)}: {c.form} - {c.reason}")
    return lines


def to_dict(observed: Observed) -> dict[str, Any]:
    """The JSON form of `describe`."""
    t = observed.trail
    return {
        "source": t.source,
        "kind": t.kind,
        "events": t.events,
        "observed": len(t.observations),
        "skipped": t.skipped_by_reason(),
        "unresolved": [{"where": u.where, "reason": u.reason} for u in observed.unresolved],
        "principals": [
            {
                "principal": p.principal,
                "intent": p.intent.name,
                "calls": len(p.observations),
                "choices": [
                    {
                        "sid": c.sid,
                        "actions": list(c.actions),
                        "regions": list(c.regions),
                        "instances": list(c.instances),
                        "form": c.form,
                        "tags": dict(c.tags),
                        "adds": list(c.adds),
                        "reason": c.reason,
                    }
                    for c in p.choices
                ],
            }
            for p in observed.plans
        ],
    }
