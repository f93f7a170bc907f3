"""The access intent: who may do which Lightsail instance actions on which instances, under
which requirements, and what is never allowed.

Pipeline (habit 1 of STYLE.md): text --`load_document`--> data with positions --JSON Schema
(``schemas/intent.schema.json``)--> --`_Builder`--> `Intent`, a frozen model in canonical form
(lists sorted, shorthands expanded, defaults filled), so that two intents that mean the same
thing are the same value and generate the same bytes. Every problem, from YAML syntax to an
action Lightsail does not have, is reported at once with file, path, line and column
(`IntentError`).

AWS facts the checks rely on:

- actions are Lightsail's, from the Service Authorization Reference, and must be scopable to
  the ``Instance`` resource type, since every grant is about instances; an action with no
  resource type (``lightsail:GetInstances``) can only be granted on ``"*"``
  (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html);
- regions are the ``RegionName`` values of Lightsail's API model (the checked-in
  ``schemas/stop-instance-response.schema.json``, kept in step with botocore by a test);
- policy documents may contain only tab, line feed, carriage return and U+0020..U+00FF
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-names);
- tag keys take letters, digits, spaces and ``+ - = . _ : / @`` and may not start with
  ``aws:`` (https://docs.aws.amazon.com/lightsail/latest/userguide/amazon-lightsail-tags.html);
- condition key names, so the tag key in ``aws:ResourceTag/<key>``, are compared without regard
  to case (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html),
  so two selectors whose keys differ only in case would be the same condition key.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import jsonschema
from pydantic import BaseModel, ConfigDict

from lspolicy.errors import Location, PolicyParseError, Problem
from lspolicy.generate import request_keys
from lspolicy.generate.source import DocPath, Loaded, load_document, schema_problems
from lspolicy.lightsail.catalog import SERVICE_PREFIX, load_catalog
from lspolicy.parse.jsonpos import format_path
from lspolicy.textfile import TooLargeError, read_bounded

__all__ = [
    "ATTACH_LIMITS",
    "MATCH_KINDS",
    "UNLESS_SUFFIXES",
    "ActionSet",
    "AttachAs",
    "Exclusion",
    "Grant",
    "InstanceSelector",
    "Intent",
    "IntentError",
    "MatchKind",
    "PrincipalSelector",
    "Requirements",
    "TagMatch",
    "instance_actions",
    "intent_from_data",
    "iso",
    "lightsail_regions",
    "load_intent",
    "parse_intent",
]

CODE = "intent"
MAX_INTENT_BYTES = 4 << 20

MatchKind = Literal["equals", "one_of", "prefix", "principal_tag", "not_one_of", "present"]
MATCH_KINDS: tuple[MatchKind, ...] = (
    "equals",
    "one_of",
    "prefix",
    "principal_tag",
    "not_one_of",
    "present",
)
"""How a tag's value is selected: exactly, one of several, by prefix, equal to the caller's
principal tag of a given key, none of several (the tag present with another value), or any
value (the tag present)."""

CASE_INSENSITIVE_KINDS: frozenset[MatchKind] = frozenset({"equals", "one_of", "not_one_of"})
"""The kinds ``case_insensitive`` applies to: IAM has ``StringEqualsIgnoreCase`` and
``StringNotEqualsIgnoreCase``, but no case-insensitive ``StringLike``
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String)."""

AttachAs = Literal["managed", "user-inline", "role-inline", "group-inline"]
ATTACH_LIMITS: Mapping[AttachAs, int] = {
    # characters, white space not counted:
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-entity-length
    "managed": 6144,
    "user-inline": 2048,
    "role-inline": 10240,
    "group-inline": 5120,
}
"""IAM's size quota for each way of attaching a policy."""

_SCHEMA_FILE = "schemas/intent.schema.json"

UNLESS_SUFFIXES = (
    "WithoutMfa",
    "OutsideSourceIp",
    "BeforeWindow",
    "AfterWindow",
    *request_keys.REQUEST_KEY_SUFFIXES,
)
GUARD_SID = "GuardTagKeys"
"""The Sid of the Deny that ``guard_tags`` adds (`lspolicy.generate.tagwrites`)."""
"""Sid suffixes of the Deny statements an exclusion with ``unless`` becomes, one per unmet
requirement (`lspolicy.generate.build`)."""


class IntentError(PolicyParseError):
    """The intent cannot be used; ``problems`` lists every problem, each with its location."""


# --------------------------------------------------------------------------- the model


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TagMatch(_Frozen):
    """One tag selector: the tag ``key`` and how its value must look.

    ``values`` holds the value for ``equals``, the sorted values for ``one_of`` and
    ``not_one_of``, the prefix for ``prefix``, the caller's principal tag key for
    ``principal_tag``, and nothing for ``present``. ``case_insensitive`` (``equals``,
    ``one_of``, ``not_one_of`` only) compares values as IAM's ``...IgnoreCase`` operators do.

    ``not_one_of`` ("env is not prod") requires the tag to be present: a negated operator is
    true when the key is absent
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html),
    and an untagged instance is not one someone meant by "env is not prod", so an untagged
    instance never matches it (the policy adds ``Null: false`` on the key).
    """

    key: str
    kind: MatchKind
    values: tuple[str, ...]
    case_insensitive: bool = False

    def describe(self) -> str:
        """How a person reads it: ``env in [dev, staging]``."""
        case = " (any case)" if self.case_insensitive else ""
        if self.kind == "equals":
            return f"{self.key} = {self.values[0]!r}{case}"
        if self.kind == "one_of":
            return f"{self.key} in [{', '.join(repr(v) for v in self.values)}]{case}"
        if self.kind == "not_one_of":
            return (
                f"{self.key} present and not in [{', '.join(repr(v) for v in self.values)}]{case}"
            )
        if self.kind == "present":
            return f"{self.key} present"
        if self.kind == "prefix":
            return f"{self.key} starts with {self.values[0]!r}"
        return f"{self.key} = the caller's principal tag {self.values[0]!r}"

    def to_data(self) -> object:
        """The canonical intent form of the match."""
        out: dict[str, object]
        if self.kind == "equals":
            out = {"equals": self.values[0]}
        elif self.kind in ("one_of", "not_one_of"):
            out = {self.kind: list(self.values)}
        elif self.kind == "present":
            out = {"present": True}
        else:
            out = {self.kind: self.values[0]}
        if self.case_insensitive:
            out["case_insensitive"] = True
        return out


class PrincipalSelector(_Frozen):
    """Who a grant is for: principals with all of ``tags``, and (when given) one of ``arns``."""

    arns: tuple[str, ...] = ()
    tags: tuple[TagMatch, ...] = ()

    def describe(self) -> str:
        """``principals tagged role = 'oncall'`` or ``arn:aws:iam::...:role/ci``."""
        parts = []
        if self.tags:
            parts.append("principals tagged " + " and ".join(t.describe() for t in self.tags))
        if self.arns:
            parts.append(("one of " if len(self.arns) > 1 else "") + ", ".join(self.arns))
        return "; ".join(parts)

    def slug(self) -> str:
        """A short file-name-safe label: ``tag-role-oncall``, ``role-ci``."""
        words: list[str] = []
        for t in self.tags:
            words += ["tag", t.key, *t.values]
        for arn in self.arns:
            kind, _, rest = arn.split(":", 5)[5].partition("/")
            words += [kind, rest.rsplit("/", 1)[-1]]
        text = "-".join(words)
        clean = "".join(c if c.isalnum() or c in "+=,.@_-" else "-" for c in text)
        return clean[:48].strip("-") or "principals"

    def to_data(self) -> dict[str, object]:
        """The canonical intent form."""
        out: dict[str, object] = {}
        if self.tags:
            out["tags"] = {t.key: t.to_data() for t in self.tags}
        if self.arns:
            out["arns"] = list(self.arns)
        return out


class InstanceSelector(_Frozen):
    """Which instances: all of ``tags`` hold and, when given, the id is one of ``ids``."""

    ids: tuple[str, ...] = ()
    tags: tuple[TagMatch, ...] = ()

    @property
    def everything(self) -> bool:
        """No selector: every instance of the account (in the regions given)."""
        return not self.ids and not self.tags

    def to_data(self) -> dict[str, object]:
        """The canonical intent form."""
        out: dict[str, object] = {}
        if self.tags:
            out["tags"] = {t.key: t.to_data() for t in self.tags}
        if self.ids:
            out["ids"] = list(self.ids)
        return out


class Requirements(_Frozen):
    """Conditions on the request itself: MFA, source address, time window, and the request keys
    of `lspolicy.generate.request_keys` (all must hold)."""

    mfa: bool = False
    source_ip: tuple[str, ...] = ()
    """CIDR blocks in canonical form (``198.51.100.0/24``), sorted."""
    not_before: datetime | None = None
    not_after: datetime | None = None
    mfa_max_age_seconds: int | None = None
    """MFA was used at most this many seconds ago (``aws:MultiFactorAuthAge``)."""
    principal_org_ids: tuple[str, ...] = ()
    """The caller's organization is one of these (``aws:PrincipalOrgID``), sorted."""
    source_identity: tuple[str, ...] = ()
    """The session's source identity is one of these values or ``*``/``?`` patterns
    (``aws:SourceIdentity``), sorted."""

    @property
    def empty(self) -> bool:
        """Nothing is required."""
        return not (
            self.mfa or self.source_ip or self.not_before or self.not_after
        ) and request_keys.empty(self)

    def describe(self) -> str:
        """``MFA, source IP in [...], from ... to ...``."""
        parts = []
        if self.mfa:
            parts.append("MFA")
        if self.source_ip:
            parts.append(f"source IP in [{', '.join(self.source_ip)}]")
        if self.not_before:
            parts.append(f"not before {iso(self.not_before)}")
        if self.not_after:
            parts.append(f"not after {iso(self.not_after)}")
        parts += request_keys.describe(self)
        return ", ".join(parts) or "nothing"

    def to_data(self) -> dict[str, object]:
        """The canonical intent form."""
        out: dict[str, object] = {}
        if self.mfa:
            out["mfa"] = True
        if self.source_ip:
            out["source_ip"] = list(self.source_ip)
        if self.not_before:
            out["not_before"] = iso(self.not_before)
        if self.not_after:
            out["not_after"] = iso(self.not_after)
        out.update(request_keys.to_data(self))
        return out


class ActionSet(_Frozen):
    """Canonical Lightsail action names (``lightsail:StopInstance``), or ``every`` for
    ``lightsail:*`` (every action that can be scoped to an instance)."""

    names: tuple[str, ...] = ()
    every: bool = False

    def describe(self) -> str:
        """``lightsail:*`` or the names."""
        return f"{SERVICE_PREFIX}:*" if self.every else ", ".join(self.names)

    def to_data(self) -> list[str]:
        """The canonical intent form."""
        return [f"{SERVICE_PREFIX}:*"] if self.every else list(self.names)


class Grant(_Frozen):
    """One grant: ``principals`` may do ``actions`` on the selected instances."""

    sid: str
    path: str
    principals: PrincipalSelector
    actions: ActionSet
    regions: tuple[str, ...] = ()
    """Empty: every region."""
    instances: InstanceSelector = InstanceSelector()
    require: Requirements = Requirements()
    description: str | None = None

    def to_data(self) -> dict[str, object]:
        """The canonical intent form."""
        out: dict[str, object] = {"sid": self.sid}
        if self.description is not None:
            out["description"] = self.description
        out["principals"] = self.principals.to_data()
        out["actions"] = self.actions.to_data()
        if self.regions:
            out["regions"] = list(self.regions)
        if not self.instances.everything:
            out["instances"] = self.instances.to_data()
        if not self.require.empty:
            out["require"] = self.require.to_data()
        return out


class Exclusion(_Frozen):
    """Never allowed: ``actions`` (None: every granted action) on the selected instances,
    unless every requirement of ``unless`` holds."""

    sid: str
    path: str
    actions: ActionSet | None = None
    principals: PrincipalSelector | None = None
    """Whom it applies to (None: every caller). Its Deny still goes into every policy, with
    the selector as conditions, so it also guards those principals' other policies."""
    regions: tuple[str, ...] = ()
    instances: InstanceSelector = InstanceSelector()
    unless: Requirements = Requirements()
    description: str | None = None

    def to_data(self) -> dict[str, object]:
        """The canonical intent form."""
        out: dict[str, object] = {"sid": self.sid}
        if self.description is not None:
            out["description"] = self.description
        if self.principals is not None:
            out["principals"] = self.principals.to_data()
        if self.actions is not None:
            out["actions"] = self.actions.to_data()
        if self.regions:
            out["regions"] = list(self.regions)
        if not self.instances.everything:
            out["instances"] = self.instances.to_data()
        if not self.unless.empty:
            out["unless"] = self.unless.to_data()
        return out


class Intent(_Frozen):
    """A whole intent, in canonical form."""

    name: str
    account: str
    grants: tuple[Grant, ...]
    exclusions: tuple[Exclusion, ...] = ()
    attach_as: AttachAs = "managed"
    description: str | None = None
    source: str = "<intent>"
    guard_tags: bool = False
    """Also deny writing (adding, changing, removing) the selectors' tag keys
    (`lspolicy.generate.tagwrites`)."""

    @property
    def size_limit(self) -> int:
        """Characters (white space not counted) each generated policy may have."""
        return ATTACH_LIMITS[self.attach_as]

    def principal_groups(self) -> tuple[PrincipalSelector, ...]:
        """The distinct principal selectors, in order of first appearance: one policy each."""
        return tuple(dict.fromkeys(g.principals for g in self.grants))

    def granted_actions(self) -> ActionSet:
        """Every action some grant gives (``every`` if one grants ``lightsail:*``)."""
        if any(g.actions.every for g in self.grants):
            return ActionSet(every=True)
        return ActionSet(names=tuple(sorted({n for g in self.grants for n in g.actions.names})))

    def to_data(self) -> dict[str, object]:
        """The canonical intent as data: `intent_from_data` of it gives an equal intent."""
        out: dict[str, object] = {"name": self.name}
        if self.description is not None:
            out["description"] = self.description
        out["account"] = self.account
        if self.attach_as != "managed":
            out["attach_as"] = self.attach_as
        out["grants"] = [g.to_data() for g in self.grants]
        if self.exclusions:
            out["exclude"] = [e.to_data() for e in self.exclusions]
        if self.guard_tags:
            out["guard_tags"] = True
        return out


# --------------------------------------------------------------------------- AWS facts


def iso(moment: datetime) -> str:
    """UTC, whole seconds, ``Z``: the form ``aws:CurrentTime`` takes."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.cache
def lightsail_regions() -> tuple[str, ...]:
    """Lightsail's regions, from the ``RegionName`` enum of its API model."""
    text = resources.files("lspolicy").joinpath("schemas/stop-instance-response.schema.json")
    data = json.loads(text.read_text("utf-8"))
    return tuple(data["$defs"]["RegionName"]["enum"])


@functools.cache
def instance_actions() -> tuple[str, ...]:
    """Every Lightsail action that can be scoped to the ``Instance`` resource type, as
    ``lightsail:<Name>``: what ``lightsail:*`` means in a grant."""
    return tuple(sorted(a.iam_name for a in load_catalog().actions_for_resource_type("Instance")))


@functools.cache
def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        resources.files("lspolicy").joinpath(_SCHEMA_FILE).read_text("utf-8")
    )
    return data


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(_schema())


_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
"""A Lightsail instance id, as it appears in the instance's ARN
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html#amazonlightsail-resources-for-iam-policies)."""


def _allowed_in_policy(ch: str) -> bool:
    code = ord(ch)
    return 0x20 <= code <= 0xFF and not 0x7F <= code <= 0x9F


# --------------------------------------------------------------------------- the builder


class _Builder:
    """Schema-valid data -> `Intent`, collecting every problem."""

    def __init__(self, loaded: Loaded) -> None:
        self.loaded = loaded
        self.problems: list[Problem] = []
        self.catalog = load_catalog()

    def problem(self, path: DocPath, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(message, self.loaded.locate(path), hint=hint, code=CODE))

    # -- leaves

    def text(self, value: str, path: DocPath, what: str) -> None:
        bad = sorted({c for c in value if not _allowed_in_policy(c)})
        if bad:
            shown = ", ".join(f"U+{ord(c):04X}" for c in bad)
            self.problem(
                path,
                f"{what} {value!r} has characters an IAM policy cannot contain ({shown})",
                "policy documents take only U+0020..U+00FF (and tab, line feed, carriage return)",
            )

    def tag_key(self, key: str, path: DocPath) -> None:
        if key.casefold().startswith("aws:"):
            self.problem(path, f"tag key {key!r} starts with 'aws:', which AWS reserves")

    def matches(
        self, raw: Mapping[str, Any], path: DocPath, *, instance: bool
    ) -> tuple[TagMatch, ...]:
        out: list[TagMatch] = []
        folded: dict[str, str] = {}
        for key, spec in raw.items():
            where = (*path, key)
            self.tag_key(key, where)
            self.text(key, where, "tag key")
            other = folded.get(key.casefold())
            if other is not None:
                self.problem(
                    where,
                    f"tag keys {other!r} and {key!r} differ only in case",
                    "IAM compares condition key names without regard to case, so both would be "
                    "the same aws:ResourceTag key; keep one",
                )
            folded[key.casefold()] = key
            given = {"equals": spec} if isinstance(spec, str) else dict(spec)
            insensitive = bool(given.pop("case_insensitive", False))
            if len(given) != 1:
                kinds = "equals, one_of, prefix, not_equals, not_one_of, present" + (
                    ", principal_tag" if instance else ""
                )
                self.problem(
                    where,
                    f"give exactly one of these, found {', '.join(repr(k) for k in given)}"
                    if given
                    else "case_insensitive alone does not say which values to match",
                    f"one of {kinds}; case_insensitive may qualify it",
                )
                continue
            ((kind, value),) = given.items()
            if insensitive and kind not in ("equals", "one_of", "not_equals", "not_one_of"):
                self.problem(
                    (*where, "case_insensitive"),
                    f"case_insensitive cannot qualify {kind}",
                    "IAM has StringEqualsIgnoreCase and StringNotEqualsIgnoreCase but no "
                    "case-insensitive StringLike; use equals, one_of, not_equals or not_one_of",
                )
                continue
            if insensitive:
                lowered = [value] if isinstance(value, str) else list(value)
                seen: dict[str, str] = {}
                for v in lowered:
                    if v.lower() in seen:
                        self.problem(
                            (*where, kind),
                            f"{seen[v.lower()]!r} and {v!r} are the same value when case is "
                            "ignored",
                            "keep one",
                        )
                    seen.setdefault(v.lower(), v)
            if kind in ("not_equals", "not_one_of"):
                values = [value] if isinstance(value, str) else list(value)
                for i, v in enumerate(values):
                    self.text(
                        v,
                        (*where, kind, i) if kind == "not_one_of" else (*where, kind),
                        "tag value",
                    )
                out.append(
                    TagMatch(
                        key=key,
                        kind="not_one_of",
                        values=tuple(sorted(set(values))),
                        case_insensitive=insensitive,
                    )
                )
            elif kind == "present":
                out.append(TagMatch(key=key, kind="present", values=()))
            elif kind == "equals":
                self.text(value, where if isinstance(spec, str) else (*where, kind), "tag value")
                out.append(
                    TagMatch(key=key, kind="equals", values=(value,), case_insensitive=insensitive)
                )
            elif kind == "one_of":
                for i, v in enumerate(value):
                    self.text(v, (*where, kind, i), "tag value")
                listed = tuple(sorted(set(value)))
                out.append(
                    TagMatch(
                        key=key,
                        kind="equals" if len(listed) == 1 else "one_of",
                        values=listed,
                        case_insensitive=insensitive,
                    )
                )
            elif kind == "prefix":
                self.text(value, (*where, kind), "prefix")
                out.append(TagMatch(key=key, kind="prefix", values=(value,)))
            else:
                assert instance and kind == "principal_tag"
                self.tag_key(value, (*where, kind))
                if " " in value:
                    self.problem(
                        (*where, kind),
                        f"principal tag key {value!r} has a space, which a policy variable "
                        "name cannot have",
                        "the variable ${aws:PrincipalTag/...} stops being a variable",
                    )
                out.append(TagMatch(key=key, kind="principal_tag", values=(value,)))
        return tuple(sorted(out, key=lambda t: (t.key.casefold(), t.key)))

    def actions(self, raw: Sequence[str], path: DocPath) -> ActionSet:
        names: dict[str, int] = {}
        every = False
        allowed = set(instance_actions())
        for i, text in enumerate(raw):
            where = (*path, i)
            service, _, name = text.partition(":")
            if service.casefold() != SERVICE_PREFIX:
                self.problem(
                    where,
                    f"{text!r} is not a Lightsail action",
                    f"an intent grants Lightsail instance actions, written {SERVICE_PREFIX}:<Action>",
                )
                continue
            if name == "*":
                every = True
                continue
            if "*" in name or "?" in name:
                matching = [
                    a.iam_name for a in self.catalog.actions_matching(text) if a.iam_name in allowed
                ]
                self.problem(
                    where,
                    f"action wildcard {text!r} is not allowed: an intent names exact actions",
                    ("write the ones you mean: " + ", ".join(matching))
                    if matching
                    else f"only {SERVICE_PREFIX}:* (every instance action) may be written",
                )
                continue
            action = self.catalog.find_action(text)
            if action is None:
                close = [
                    c
                    for c in self.catalog.suggest_action(text, limit=5)
                    if f"{SERVICE_PREFIX}:{c}" in allowed
                ][:2]
                self.problem(
                    where,
                    f"unknown Lightsail action {text!r}",
                    ("did you mean " + " or ".join(f"{SERVICE_PREFIX}:{c}" for c in close) + "?")
                    if close
                    else None,
                )
                continue
            if action.iam_name not in allowed:
                scoped = [r.name for r in action.resource_types]
                self.problem(
                    where,
                    f"{action.iam_name} cannot be limited to instances: "
                    + (
                        "Lightsail lists no resource type for it, so a policy can only grant it "
                        'on "*"'
                        if not scoped
                        else f"it is scoped to {', '.join(scoped)}, not Instance"
                    ),
                    "grant it outside lspolicy generate, which writes instance-scoped grants only",
                )
                continue
            if action.iam_name in names:
                self.problem(where, f"{action.iam_name} is listed twice (names ignore case)")
            names[action.iam_name] = i
        if every and names:
            self.problem(
                path,
                f"{SERVICE_PREFIX}:* already covers {', '.join(names)}",
                f"write {SERVICE_PREFIX}:* alone, or only the exact actions",
            )
        return ActionSet(names=tuple(sorted(names)), every=every)

    def regions(self, raw: Sequence[str], path: DocPath) -> tuple[str, ...]:
        known = lightsail_regions()
        for i, region in enumerate(raw):
            if region not in known:
                close = difflib.get_close_matches(region, known, n=1, cutoff=0.6)
                self.problem(
                    (*path, i),
                    f"{region!r} is not a Lightsail region",
                    f"did you mean {close[0]!r}?" if close else f"Lightsail has {', '.join(known)}",
                )
        return tuple(sorted(set(raw)))

    def moment(self, text: str, path: DocPath) -> datetime | None:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.problem(
                path,
                f"{text!r} is not an ISO 8601 date and time",
                "write it like 2026-01-01T00:00:00Z",
            )
            return None
        if moment.tzinfo is None:
            self.problem(
                path,
                f"{text!r} has no time zone",
                f"say which instant you mean, e.g. {text}Z for UTC"
                if "T" in text
                else f"write it like {text}T00:00:00Z",
            )
            return None
        if moment.microsecond:
            self.problem(path, f"{text!r} has fractions of a second", "use whole seconds")
            return None
        return moment.astimezone(UTC)

    def requirements(self, raw: Mapping[str, Any], path: DocPath) -> Requirements:
        blocks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for i, cidr in enumerate(raw.get("source_ip", [])):
            where = (*path, "source_ip", i)
            try:
                blocks.append(ipaddress.ip_network(cidr, strict=True))
            except ValueError:
                try:
                    loose = ipaddress.ip_network(cidr, strict=False)
                except ValueError:
                    self.problem(where, f"{cidr!r} is not an IP address or CIDR block")
                else:
                    self.problem(
                        where,
                        f"{cidr!r} has host bits set",
                        f"did you mean {str(loose)!r}?",
                    )
        if len(set(blocks)) != len(blocks):
            self.problem((*path, "source_ip"), "the same CIDR block is listed twice")
        not_before = not_after = None
        if "not_before" in raw:
            not_before = self.moment(raw["not_before"], (*path, "not_before"))
        if "not_after" in raw:
            not_after = self.moment(raw["not_after"], (*path, "not_after"))
        if not_before and not_after and not_before >= not_after:
            self.problem(
                (*path, "not_after"),
                f"the window is empty: not_after {iso(not_after)} is not later than "
                f"not_before {iso(not_before)}",
            )
        ordered = sorted(set(blocks), key=lambda n: (n.version, n.network_address, n.prefixlen))
        return Requirements(
            mfa=bool(raw.get("mfa", False)),
            source_ip=tuple(str(n) for n in ordered),
            not_before=not_before,
            not_after=not_after,
            **request_keys.parse(raw, path, self.problem),
        )

    def instances(self, raw: Mapping[str, Any] | None, path: DocPath) -> InstanceSelector:
        if raw is None:
            return InstanceSelector()
        for i, instance_id in enumerate(raw.get("ids", [])):
            if not _UUID.fullmatch(instance_id):
                self.problem(
                    (*path, "ids", i),
                    f"{instance_id!r} is not an instance id: Lightsail instance ARNs carry the "
                    "instance's id, a UUID, not its name",
                    f"`aws lightsail get-instance --instance-name {instance_id}` shows its ARN; "
                    "or select the instance by tag",
                )
        tags = self.matches(raw.get("tags", {}), (*path, "tags"), instance=True)
        return InstanceSelector(ids=tuple(sorted(set(raw.get("ids", [])))), tags=tags)

    def principals(self, raw: Mapping[str, Any], path: DocPath, account: str) -> PrincipalSelector:
        tags = self.matches(raw.get("tags", {}), (*path, "tags"), instance=False)
        arns = raw.get("arns", [])
        for i, arn in enumerate(arns):
            owner = arn.split(":")[4]
            if owner != account:
                self.problem(
                    (*path, "arns", i),
                    f"{arn!r} is in account {owner}, not the intent's account {account}",
                    "an identity policy is attached in the principal's own account; "
                    "write one intent per account",
                )
        return PrincipalSelector(arns=tuple(sorted(set(arns))), tags=tags)

    # -- the whole

    def build(self) -> Intent | None:
        data = self.loaded.data
        account = data["account"]
        grants: list[Grant] = []
        sids: dict[str, DocPath] = {}

        def sid_of(raw: Mapping[str, Any], path: DocPath, default: str) -> str:
            sid = str(raw.get("sid", default))
            if sid in sids:
                self.problem(
                    (*path, "sid"),
                    f"the Sid {sid!r} is used twice (first at {format_path(sids[sid])})",
                    "every grant and exclusion needs its own Sid",
                )
            sids.setdefault(sid, path)
            return sid

        for i, raw in enumerate(data["grants"]):
            path: DocPath = ("grants", i)
            grants.append(
                Grant(
                    sid=sid_of(raw, path, f"Grant{i + 1}"),
                    path=format_path(path),
                    description=raw.get("description"),
                    principals=self.principals(raw["principals"], (*path, "principals"), account),
                    actions=self.actions(raw["actions"], (*path, "actions")),
                    regions=self.regions(raw.get("regions", []), (*path, "regions")),
                    instances=self.instances(raw.get("instances"), (*path, "instances")),
                    require=self.requirements(raw.get("require", {}), (*path, "require")),
                )
            )
        exclusions: list[Exclusion] = []
        for i, raw in enumerate(data.get("exclude", [])):
            path = ("exclude", i)
            if not any(k in raw for k in ("actions", "regions", "instances")):
                self.problem(
                    path,
                    "this exclusion names no actions, regions or instances, so it would take "
                    "away everything the grants give",
                    "say which instances (or actions, or regions) are never allowed",
                )
            exclusions.append(
                Exclusion(
                    sid=sid_of(raw, path, f"Exclude{i + 1}"),
                    path=format_path(path),
                    description=raw.get("description"),
                    actions=self.actions(raw["actions"], (*path, "actions"))
                    if "actions" in raw
                    else None,
                    principals=self.principals(raw["principals"], (*path, "principals"), account)
                    if "principals" in raw
                    else None,
                    regions=self.regions(raw.get("regions", []), (*path, "regions")),
                    instances=self.instances(raw.get("instances"), (*path, "instances")),
                    unless=self.requirements(raw.get("unless", {}), (*path, "unless")),
                )
            )
        for i, e in enumerate(exclusions):
            if e.unless.empty:
                continue
            for derived in (e.sid + suffix for suffix in UNLESS_SUFFIXES):
                if derived in sids:
                    self.problem(
                        ("exclude", i, "sid"),
                        f"the Sid {derived!r} this exclusion's statements would take is "
                        f"already used at {format_path(sids[derived])}",
                        "rename one of them",
                    )
        guard_tags = bool(data.get("guard_tags", False))
        if guard_tags and GUARD_SID in sids:
            self.problem(
                (*sids[GUARD_SID], "sid"),
                f"the Sid {GUARD_SID!r} is the one guard_tags gives its Deny statement",
                "rename this grant or exclusion",
            )
        if self.problems:
            return None
        return Intent(
            guard_tags=guard_tags,
            name=data["name"],
            account=account,
            description=data.get("description"),
            attach_as=data.get("attach_as", "managed"),
            grants=tuple(grants),
            exclusions=tuple(exclusions),
            source=self.loaded.source,
        )


def _from_loaded(loaded: Loaded) -> Intent:
    problems = list(loaded.problems)
    if loaded.data is None:
        if not problems:
            problems.append(
                Problem("the intent is empty", Location(loaded.source, "", 0, 0), code=CODE)
            )
        raise IntentError(tuple(problems))
    problems += schema_problems(_validator(), loaded, code=CODE)
    if problems and len(problems) > len(loaded.problems):
        # the builder reads schema-valid data only
        raise IntentError(tuple(problems))
    builder = _Builder(loaded)
    intent = builder.build()
    problems += builder.problems
    if intent is None or problems:
        raise IntentError(tuple(problems))
    return intent


def parse_intent(text: str, *, source: str = "<intent>") -> Intent:
    """Parse intent text (YAML or JSON); raise `IntentError` listing every problem."""
    return _from_loaded(load_document(text.lstrip("\ufeff"), source, code=CODE))


def intent_from_data(data: Any, *, source: str = "<intent>") -> Intent:
    """Check already-decoded intent data (``Intent.to_data()``, a dict from a test) the same way.

    Problems are located by path only (the data has no text), line and column 0.
    """
    from lspolicy.server.world import _Positions  # noqa: PLC0415 - the same locator, no text

    return _from_loaded(Loaded(data, source, _Positions(), ()))


def load_intent(path: str | Path) -> Intent:
    """Read and check an intent file (YAML or JSON)."""
    p = Path(path)
    source = str(p)
    try:
        # a regular file, counted while read: a FIFO or /dev/zero is refused, not waited on
        raw = read_bounded(p, MAX_INTENT_BYTES)
    except TooLargeError:
        raw = b""
        too_large = True
    except OSError as exc:
        raise IntentError(
            (
                Problem(
                    f"cannot read the intent: {exc.strerror or exc}",
                    Location(source, "", 0, 0),
                    code=CODE,
                ),
            )
        ) from None
    else:
        too_large = False
    if too_large:
        raise IntentError(
            (
                Problem(
                    f"the intent is larger than {MAX_INTENT_BYTES} bytes",
                    Location(source, "", 0, 0),
                    code=CODE,
                ),
            )
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise IntentError(
            (Problem("the intent is not UTF-8 text", Location(source, "", 0, 0), code=CODE),)
        ) from None
    return parse_intent(text, source=source)
