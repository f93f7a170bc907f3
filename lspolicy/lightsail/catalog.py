"""Amazon Lightsail's IAM actions, resource types and condition keys, as typed data.

The facts live in ``data/service.json`` (refreshed by ``scripts/refresh_lightsail_data.py``) and
come from AWS's Service Authorization Reference for Lightsail:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html

Matching follows IAM: action names match case-insensitively and ``*``/``?`` wildcards span the
whole ``service:action`` string
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html);
ARNs are case-sensitive
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html).
"""

from __future__ import annotations

import datetime
import difflib
import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

from lspolicy.errors import LspolicyError
from lspolicy.glob import Glob, tokens_of

__all__ = [
    "ACCESS_LEVELS",
    "PROVENANCES",
    "SERVICE_PREFIX",
    "Action",
    "ActionPattern",
    "ActionResourceType",
    "Catalog",
    "CatalogDataError",
    "ConditionKey",
    "DataProblem",
    "LightsailArn",
    "ResourceType",
    "Source",
    "UnknownActionError",
    "UnknownResourceTypeError",
    "catalog_from_dict",
    "catalog_from_json",
    "compile_action_pattern",
    "load_catalog",
    "suggest_action",
]

_PACKAGE = "lspolicy.lightsail"

SERVICE_PREFIX = "lightsail"
"""The IAM service prefix: actions are written ``lightsail:StopInstance``."""

ACCESS_LEVELS = frozenset({"List", "Read", "Write", "Permissions management", "Tagging"})
"""The access levels the Service Authorization Reference uses
(https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_understand-policy-summary-access-level-summaries.html)."""

PROVENANCES = frozenset({"service-authorization-reference", "botocore-model"})
"""Where an action's facts came from: the reference page itself, or only botocore's API model
(then only the name is certain)."""

_ACTION_NAME = re.compile(r"[A-Za-z0-9]+")
_TEMPLATE_VARIABLE = re.compile(r"\$\{[A-Za-z]+\}")
_ARN_TEMPLATE = re.compile(
    r"arn:\$\{Partition\}:lightsail:\$\{Region\}:\$\{Account\}:(?P<type>[A-Za-z]+)/\$\{Id\}"
)


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True, slots=True)
class DataProblem:
    """One problem in the data file: where it is (a JSON path) and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class CatalogDataError(LspolicyError, ValueError):
    """The Lightsail data file is malformed; ``problems`` lists every problem found."""

    def __init__(self, problems: Iterable[DataProblem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"the lightsail data file has {len(self.problems)} problem(s):\n{lines}")


class UnknownActionError(LspolicyError, LookupError):
    """An action name that Lightsail does not define; ``hint`` suggests close names."""

    def __init__(self, name: str, suggestions: tuple[str, ...]) -> None:
        self.name = name
        self.suggestions = suggestions
        self.hint = (
            "did you mean " + " or ".join(f"`{SERVICE_PREFIX}:{s}`" for s in suggestions) + "?"
            if suggestions
            else None
        )
        super().__init__(f"unknown lightsail action `{name}`")


class UnknownResourceTypeError(LspolicyError, LookupError):
    """A resource type name that Lightsail does not define."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown lightsail resource type `{name}`")


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True, slots=True)
class Source:
    """The page the data was taken from and the date it was taken."""

    title: str
    url: str
    retrieved: datetime.date


@dataclass(frozen=True, slots=True)
class ConditionKey:
    """A condition key the service supports, possibly a template such as
    ``aws:ResourceTag/${TagKey}`` that stands for ``aws:ResourceTag/<any tag key>``.

    Condition key names are case-insensitive
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html).
    """

    name: str
    type: str
    description: str

    @property
    def is_template(self) -> bool:
        """Whether the key ends in a ``${...}`` variable that a policy fills in."""
        return _TEMPLATE_VARIABLE.search(self.name) is not None

    def matches(self, key: str) -> bool:
        """Whether ``key`` as written in a policy is this key (or an instance of the template).

        A template matches any non-empty value for its variable: tag keys may themselves
        contain ``/`` or ``:``.
        """
        folded = key.casefold()
        prefix, template, _ = self.name.partition("${")
        if not template:
            return folded == self.name.casefold()
        return folded.startswith(prefix.casefold()) and len(folded) > len(prefix)


@dataclass(frozen=True, slots=True)
class ActionResourceType:
    """A resource type an action can be scoped to; ``required`` is the page's ``*`` mark."""

    name: str
    required: bool
    condition_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Action:
    """One IAM action of Lightsail, as the Actions table of the reference page gives it.

    ``condition_keys`` are the keys on the action's rows that name no resource type (the
    request keys); use :meth:`Catalog.condition_keys_for` for every key the action supports.
    An action without resource types supports only ``"Resource": "*"``.
    """

    name: str
    access_level: str
    description: str
    resource_types: tuple[ActionResourceType, ...]
    condition_keys: tuple[str, ...]
    dependent_actions: tuple[str, ...]
    provenance: str

    @property
    def iam_name(self) -> str:
        """The name as written in a policy, e.g. ``lightsail:StopInstance``."""
        return f"{SERVICE_PREFIX}:{self.name}"

    @property
    def required_resource_types(self) -> tuple[str, ...]:
        """Names of the resource types marked required (``*``) for this action."""
        return tuple(r.name for r in self.resource_types if r.required)

    @property
    def supports_resource_level_permissions(self) -> bool:
        """Whether a statement can name specific ARNs for this action, rather than ``*``."""
        return bool(self.resource_types)


@dataclass(frozen=True, slots=True)
class ResourceType:
    """A Lightsail resource type with its ARN template and resource condition keys."""

    name: str
    arn: str
    condition_keys: tuple[str, ...]

    @property
    def arn_resource_prefix(self) -> str:
        """The resource part's type segment in the ARN, e.g. ``Instance`` in ``Instance/${Id}``."""
        match = _ARN_TEMPLATE.fullmatch(self.arn)
        return match.group("type") if match else self.name


@dataclass(frozen=True, slots=True)
class LightsailArn:
    """The parts of a Lightsail ARN: ``arn:partition:lightsail:region:account:Type/id``.

    Lightsail ARNs carry the resource's id, not its name, e.g.
    ``arn:aws:lightsail:us-east-1:111122223333:Instance/244ad76f-8aad-4741-809f-12345EXAMPLE``.
    """

    partition: str
    region: str
    account: str
    resource_type: str
    id: str

    def __str__(self) -> str:
        return (
            f"arn:{self.partition}:{SERVICE_PREFIX}:{self.region}:{self.account}:"
            f"{self.resource_type}/{self.id}"
        )


# --------------------------------------------------------------------------- wildcards


@dataclass(frozen=True, slots=True)
class ActionPattern:
    """A compiled IAM action pattern (``*`` any run, ``?`` any one character), case-insensitive.

    Matching is `lspolicy.glob`'s linear piece search, the same matcher the evaluator uses, so
    the catalog and the engine can never disagree about which actions a pattern covers
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).
    """

    pattern: str
    glob: Glob

    def matches(self, action: str) -> bool:
        """Whether ``action`` (a full name such as ``lightsail:StopInstance``) matches."""
        return self.glob(action.lower())


@functools.lru_cache(maxsize=4096)
def compile_action_pattern(pattern: str) -> ActionPattern:
    """Compile an action pattern once; repeated patterns come from a cache."""
    return ActionPattern(pattern=pattern, glob=Glob(tokens_of(pattern.lower())))


# --------------------------------------------------------------------------- the catalog


def _strip_prefix(name: str) -> str:
    service, sep, action = name.partition(":")
    if sep and service.casefold() == SERVICE_PREFIX:
        return action
    return name


class Catalog:
    """Lightsail's actions, resource types and condition keys, with IAM-style lookups.

    Build one with :func:`load_catalog` (the shipped data, cached) or :func:`catalog_from_dict`.
    """

    __slots__ = (
        "_by_arn_segment",
        "_by_folded_name",
        "actions",
        "actions_without_operation",
        "condition_keys",
        "notes",
        "operation_extra_actions",
        "operations_without_action",
        "resource_types",
        "source",
    )

    def __init__(
        self,
        *,
        source: Source,
        actions: Mapping[str, Action],
        resource_types: Mapping[str, ResourceType],
        condition_keys: Mapping[str, ConditionKey],
        notes: tuple[str, ...] = (),
        operations_without_action: Mapping[str, str] | None = None,
        actions_without_operation: Mapping[str, str] | None = None,
        operation_extra_actions: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.source = source
        self.actions: Mapping[str, Action] = MappingProxyType(dict(actions))
        self.resource_types: Mapping[str, ResourceType] = MappingProxyType(dict(resource_types))
        self.condition_keys: Mapping[str, ConditionKey] = MappingProxyType(dict(condition_keys))
        self.notes = notes
        self.operations_without_action: Mapping[str, str] = MappingProxyType(
            dict(operations_without_action or {})
        )
        self.actions_without_operation: Mapping[str, str] = MappingProxyType(
            dict(actions_without_operation or {})
        )
        self.operation_extra_actions: Mapping[str, tuple[str, ...]] = MappingProxyType(
            dict(operation_extra_actions or {})
        )
        self._by_folded_name = {name.casefold(): action for name, action in self.actions.items()}
        self._by_arn_segment = {r.arn_resource_prefix: r for r in self.resource_types.values()}

    def __repr__(self) -> str:
        return (
            f"<Catalog lightsail: {len(self.actions)} actions, "
            f"{len(self.resource_types)} resource types, retrieved {self.source.retrieved}>"
        )

    # ---- actions

    def find_action(self, name: str) -> Action | None:
        """The action called ``name`` (``StopInstance`` or ``lightsail:stopinstance``), or None.

        IAM matches action names case-insensitively.
        """
        return self._by_folded_name.get(_strip_prefix(name).casefold())

    def action(self, name: str) -> Action:
        """The action called ``name``; raises :class:`UnknownActionError` with a hint if none."""
        found = self.find_action(name)
        if found is None:
            raise UnknownActionError(name, self.suggest_action(name))
        return found

    def actions_matching(self, pattern: str) -> tuple[Action, ...]:
        """Actions an IAM ``Action`` entry such as ``lightsail:Stop*`` or ``*`` covers, by name."""
        compiled = compile_action_pattern(pattern)
        return tuple(a for a in self.actions.values() if compiled.matches(a.iam_name))

    def suggest_action(self, name: str, *, limit: int = 3) -> tuple[str, ...]:
        """Close action names for a "did you mean" hint, best first (``StopInstances`` ->
        ``StopInstance``)."""
        folded = _strip_prefix(name).casefold()
        close = difflib.get_close_matches(folded, list(self._by_folded_name), n=limit, cutoff=0.75)
        return tuple(self._by_folded_name[c].name for c in close)

    def actions_for_operation(self, operation: str) -> tuple[Action, ...]:
        """The actions an API call authorizes: the action of the same name (if any) and those in
        ``operation_extra_actions`` (``CreateInstances`` -> ``CreateInstances``, ``TagResource``).
        """
        own = self.actions.get(operation)
        extra = (self.actions[name] for name in self.operation_extra_actions.get(operation, ()))
        return (*((own,) if own else ()), *extra)

    def actions_for_resource_type(self, resource_type: str) -> tuple[Action, ...]:
        """Actions that can be scoped to ``resource_type`` (e.g. every ``Instance`` action)."""
        return tuple(
            a
            for a in self.actions.values()
            if any(r.name == resource_type for r in a.resource_types)
        )

    # ---- condition keys

    def condition_key(self, key: str) -> ConditionKey | None:
        """The defined key ``key`` is an instance of (``aws:ResourceTag/env`` ->
        ``aws:ResourceTag/${TagKey}``), or None."""
        for candidate in self.condition_keys.values():
            if candidate.matches(key):
                return candidate
        return None

    def condition_keys_for(self, action: str | Action) -> tuple[ConditionKey, ...]:
        """Every service-listed condition key an action supports: its own (request) keys, the
        keys on its resource rows, and the resource condition keys of each resource type it
        can be scoped to (the page's note on resource condition keys). Global condition keys
        such as ``aws:SourceIp`` apply to every action and are not included."""
        resolved = action if isinstance(action, Action) else self.action(action)
        names: dict[str, None] = dict.fromkeys(resolved.condition_keys)
        for entry in resolved.resource_types:
            names.update(dict.fromkeys(entry.condition_keys))
            names.update(dict.fromkeys(self.resource_types[entry.name].condition_keys))
        return tuple(self.condition_keys[n] for n in names)

    def supports_condition_key(self, action: str | Action, key: str) -> bool:
        """Whether ``key`` as written in a policy (``aws:ResourceTag/env``) is listed for the
        action; templated keys match any filled-in variable, names case-insensitively."""
        return any(ck.matches(key) for ck in self.condition_keys_for(action))

    # ---- resource types and ARNs

    def resource_type(self, name: str) -> ResourceType:
        """The resource type ``name``; raises :class:`UnknownResourceTypeError` if none."""
        try:
            return self.resource_types[name]
        except KeyError:
            raise UnknownResourceTypeError(name) from None

    def arn_for(
        self,
        resource_type: str,
        *,
        region: str,
        account: str,
        id: str,
        partition: str = "aws",
    ) -> str:
        """Fill in the resource type's ARN template, e.g.
        ``arn:aws:lightsail:us-east-1:111122223333:Instance/244ad76f-...``."""
        template = self.resource_type(resource_type).arn
        parts = {"Partition": partition, "Region": region, "Account": account, "Id": id}
        for part, value in parts.items():
            if not value or (part != "Id" and ":" in value):
                raise ValueError(f"invalid {part.lower()} `{value}` for a lightsail arn")
            template = template.replace("${" + part + "}", value)
        return template

    def parse_arn(self, arn: str) -> LightsailArn | None:
        """Split a Lightsail ARN into its parts, or None if ``arn`` is not one.

        The resource type segment is not checked here; see :meth:`resource_type_of`.
        """
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or parts[2] != SERVICE_PREFIX:
            return None
        type_segment, slash, resource_id = parts[5].partition("/")
        if not parts[1] or not slash or not type_segment or not resource_id:
            return None
        return LightsailArn(parts[1], parts[3], parts[4], type_segment, resource_id)

    def resource_type_of(self, arn: str) -> ResourceType | None:
        """The resource type an ARN names (``...:Instance/<id>`` -> ``Instance``), or None.

        ARNs are case-sensitive, so ``instance/<id>`` names no type.
        """
        parsed = self.parse_arn(arn)
        if parsed is None:
            return None
        return self._by_arn_segment.get(parsed.resource_type)


# --------------------------------------------------------------------------- loading


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    duplicates = []
    for key, value in pairs:
        if key in out:
            duplicates.append(key)
        out[key] = value
    if duplicates:
        raise CatalogDataError(
            DataProblem("<json>", f"duplicate key `{key}`") for key in duplicates
        )
    return out


class _Builder:
    """Turns the JSON document into the model, collecting every problem before failing."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.problems: list[DataProblem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(DataProblem(path, message))

    def strings(self, value: Any, path: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(path, "expected a list of strings")
            return ()
        if len(set(value)) != len(value):
            self.problem(path, "lists an entry twice")
        return tuple(value)

    def mapping(self, key: str) -> Mapping[str, Any]:
        value = self.data.get(key, {})
        if not isinstance(value, Mapping):
            self.problem(key, "expected an object")
            return {}
        return value

    def source(self) -> Source:
        raw = self.mapping("source")
        try:
            retrieved = datetime.date.fromisoformat(str(raw.get("retrieved", "")))
        except ValueError:
            self.problem("source.retrieved", "expected a YYYY-MM-DD date")
            retrieved = datetime.date.min
        return Source(str(raw.get("title", "")), str(raw.get("url", "")), retrieved)

    def condition_keys(self) -> dict[str, ConditionKey]:
        out = {}
        for name, raw in self.mapping("condition_keys").items():
            path = f"condition_keys.{name}"
            if not isinstance(raw, Mapping) or not raw.get("type"):
                self.problem(path, "expected an object with a `type`")
                continue
            out[name] = ConditionKey(name, str(raw["type"]), str(raw.get("description", "")))
        folded = [n.casefold() for n in out]
        for name in out:
            if folded.count(name.casefold()) > 1:
                self.problem(f"condition_keys.{name}", "defined twice (names are case-insensitive)")
        return out

    def known_keys(self, keys: tuple[str, ...], path: str, defined: Mapping[str, Any]) -> None:
        for key in keys:
            if key not in defined:
                self.problem(path, f"condition key `{key}` is not in `condition_keys`")

    def resource_types(self, keys: Mapping[str, ConditionKey]) -> dict[str, ResourceType]:
        out = {}
        segments: dict[str, str] = {}
        for name, raw in self.mapping("resource_types").items():
            path = f"resource_types.{name}"
            if not isinstance(raw, Mapping):
                self.problem(path, "expected an object")
                continue
            arn = str(raw.get("arn", ""))
            match = _ARN_TEMPLATE.fullmatch(arn)
            if match is None:
                self.problem(f"{path}.arn", f"`{arn}` is not a lightsail arn template")
            elif match.group("type") in segments:
                other = segments[match.group("type")]
                self.problem(f"{path}.arn", f"same arn type segment as resource type `{other}`")
            else:
                segments[match.group("type")] = name
            ck = self.strings(raw.get("condition_keys", []), f"{path}.condition_keys")
            self.known_keys(ck, f"{path}.condition_keys", keys)
            out[name] = ResourceType(name, arn, ck)
        return out

    def action(
        self,
        name: str,
        raw: Any,
        types: Mapping[str, ResourceType],
        keys: Mapping[str, ConditionKey],
    ) -> Action | None:
        path = f"actions.{name}"
        if not isinstance(raw, Mapping):
            self.problem(path, "expected an object")
            return None
        if not _ACTION_NAME.fullmatch(name):
            self.problem(path, "an action name is letters and digits only")
        level = raw.get("access_level")
        if level not in ACCESS_LEVELS:
            self.problem(f"{path}.access_level", f"unknown access level `{level}`")
        provenance = raw.get("provenance")
        if provenance not in PROVENANCES:
            self.problem(f"{path}.provenance", f"unknown provenance `{provenance}`")
        entries = []
        raw_types = raw.get("resource_types", [])
        for index, entry in enumerate(raw_types if isinstance(raw_types, list) else []):
            entry_path = f"{path}.resource_types[{index}]"
            if not isinstance(entry, Mapping) or not isinstance(entry.get("required"), bool):
                self.problem(entry_path, "expected an object with `name` and boolean `required`")
                continue
            if entry.get("name") not in types:
                self.problem(entry_path, f"resource type `{entry.get('name')}` is not defined")
            ck = self.strings(entry.get("condition_keys", []), f"{entry_path}.condition_keys")
            self.known_keys(ck, f"{entry_path}.condition_keys", keys)
            entries.append(ActionResourceType(str(entry.get("name")), entry["required"], ck))
        if not isinstance(raw_types, list):
            self.problem(f"{path}.resource_types", "expected a list")
        if len({e.name for e in entries}) != len(entries):
            self.problem(f"{path}.resource_types", "lists a resource type twice")
        action_keys = self.strings(raw.get("condition_keys", []), f"{path}.condition_keys")
        self.known_keys(action_keys, f"{path}.condition_keys", keys)
        return Action(
            name=name,
            access_level=str(level),
            description=str(raw.get("description", "")),
            resource_types=tuple(entries),
            condition_keys=action_keys,
            dependent_actions=self.strings(
                raw.get("dependent_actions", []), f"{path}.dependent_actions"
            ),
            provenance=str(provenance),
        )

    def build(self) -> Catalog:
        if self.data.get("service") != SERVICE_PREFIX:
            self.problem("service", f"expected `{SERVICE_PREFIX}`")
        source = self.source()
        keys = self.condition_keys()
        types = self.resource_types(keys)
        actions: dict[str, Action] = {}
        seen: dict[str, str] = {}
        for name, raw in self.mapping("actions").items():
            if name.casefold() in seen:
                self.problem(
                    f"actions.{name}",
                    f"same name as `{seen[name.casefold()]}` (IAM ignores case in action names)",
                )
            seen[name.casefold()] = name
            action = self.action(name, raw, types, keys)
            if action is not None:
                actions[name] = action
        without_action = {k: str(v) for k, v in self.mapping("operations_without_action").items()}
        for operation in without_action:
            if operation in actions:
                self.problem(f"operations_without_action.{operation}", "is also an action")
        without_operation = {
            k: str(v) for k, v in self.mapping("actions_without_operation").items()
        }
        for name in without_operation:
            if name not in actions:
                self.problem(f"actions_without_operation.{name}", "is not an action")
        extra: dict[str, tuple[str, ...]] = {}
        for operation, names in self.mapping("operation_extra_actions").items():
            path = f"operation_extra_actions.{operation}"
            extra[operation] = self.strings(names, path)
            for name in extra[operation]:
                if name not in actions or name == operation:
                    self.problem(path, f"`{name}` is not another action")
        notes = self.strings(self.data.get("notes", []), "notes")
        if self.problems:
            raise CatalogDataError(self.problems)
        return Catalog(
            source=source,
            actions=actions,
            resource_types=types,
            condition_keys=keys,
            notes=notes,
            operations_without_action=without_action,
            actions_without_operation=without_operation,
            operation_extra_actions=extra,
        )


def catalog_from_dict(data: Mapping[str, Any]) -> Catalog:
    """Build and check a catalog from the data file's JSON shape.

    Raises :class:`CatalogDataError` listing every problem (unknown resource types or keys,
    bad access levels, names that differ only in case, ...), not just the first.
    """
    return _Builder(data).build()


def catalog_from_json(text: str) -> Catalog:
    """Build and check a catalog from the data file's text; a key repeated within one JSON
    object is an error here, where ``json.loads`` alone would keep the last silently."""
    data = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    if not isinstance(data, Mapping):
        raise CatalogDataError([DataProblem("<json>", "expected an object")])
    return catalog_from_dict(data)


@functools.cache
def load_catalog() -> Catalog:
    """The catalog built from the shipped ``data/service.json``, loaded once per process."""
    text = resources.files(_PACKAGE).joinpath("data").joinpath("service.json").read_text("utf-8")
    return catalog_from_json(text)


def suggest_action(name: str, *, limit: int = 3) -> tuple[str, ...]:
    """Close Lightsail action names for a "did you mean" hint, from the shipped catalog."""
    return load_catalog().suggest_action(name, limit=limit)
