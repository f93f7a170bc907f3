"""The emulator's world file: accounts, principals (credentials, tags, policies) and instances.

YAML or JSON, validated against ``schemas/world.schema.json``; every problem is reported with
the file, the path, line and column (errors as data, like policy parse errors). Policies are
parsed and compiled once, here, into a `PolicySet` per principal.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from lspolicy.errors import Location, PolicyParseError, Problem
from lspolicy.evaluate.authorize import PolicySet
from lspolicy.lightsail.context import Identity, Instance
from lspolicy.model.policy import Policy, PolicyKind
from lspolicy.parse import parse_policy
from lspolicy.paths import named_path_problem
from lspolicy.server.plaincheck import Check, Unsupported, compile_check
from lspolicy.textfile import TooLargeError, read_bounded
from lspolicy.yamlpos import YamlError, check_bounds

__all__ = [
    "Account",
    "InstanceSpec",
    "Principal",
    "World",
    "WorldError",
    "load_world",
    "schema_errors",
    "world_from_data",
]

MAX_WORLD_BYTES = 8 << 20
_ID_NAMESPACE = uuid.UUID("6f1c3c4e-58a4-4f0e-9a55-7a1d3f0c2b11")


class WorldError(PolicyParseError):
    """The world file (or a policy it names) is invalid; ``problems`` lists every problem."""


@dataclass(frozen=True, slots=True)
class Account:
    """An AWS account of the world."""

    id: str
    setup_in_progress: bool = False
    regions: frozenset[str] = frozenset()
    regions_in_setup: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Principal:
    """A principal with its credentials and compiled policies."""

    name: str
    identity: Identity
    access_key_id: str
    secret_access_key: str
    policies: PolicySet
    session_token: str | None = None

    @property
    def account(self) -> str:
        """The account id in the principal's ARN."""
        return self.identity.account or ""


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    """An instance as the world declares it (its initial state)."""

    instance: Instance
    availability_zone: str
    state: str


@dataclass(frozen=True, slots=True)
class World:
    """Everything the server serves, compiled."""

    path: Path
    accounts: Mapping[str, Account]
    principals: Mapping[str, Principal] = field(repr=False)
    """By access key id."""
    instances: tuple[InstanceSpec, ...] = ()
    transition_seconds: float = 0.0


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("lspolicy").joinpath("schemas/world.schema.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def _finite_number(checker: Any, instance: Any) -> bool:
    """JSON has no NaN or infinity; YAML does (``.nan``, ``.inf``). A schema "number" is a
    finite one: ``transition_seconds: .nan`` passed ``minimum: 0`` (every comparison with NaN is
    false) and left instances stopping forever."""
    base = jsonschema.Draft202012Validator.TYPE_CHECKER
    return bool(base.is_type(instance, "number")) and (
        not isinstance(instance, float) or math.isfinite(instance)
    )


_FiniteValidator: Any = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("number", _finite_number),
)


@cache
def _plain_check() -> Check | None:
    """The world schema as a plain check, or None when it uses a keyword the check lacks."""
    schema = _schema()
    try:
        return compile_check(schema, schema.get("$defs", {}))
    except Unsupported:
        return None


def schema_errors(data: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """The world schema's errors for ``data`` (path, message), in path order: none, cheaply,
    for a valid world (the plain check); otherwise every error from the JSON Schema
    validator, which is what gives each its path."""
    plain = _plain_check()
    if plain is not None and plain(data):
        return []
    validator = _FiniteValidator(_schema())
    return [
        (tuple(err.absolute_path), err.message)
        for err in sorted(
            validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]
        )
    ]


_FastLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it: ~3x faster on a fleet-sized world."""


class _Positions:
    """JSON path -> (line, column) for a YAML document, from the composed node tree.

    The tree is composed only when a position is first asked for (that is, when there is a
    problem to report): a valid world is decoded once, by the fast loader.
    """

    def __init__(self, text: str | None = None) -> None:
        self._text = text
        self._at: dict[tuple[str | int, ...], tuple[int, int]] | None = None if text else {}

    @property
    def at(self) -> dict[tuple[str | int, ...], tuple[int, int]]:
        if self._at is None:
            self._at = {}
            node = yaml.compose(self._text or "", Loader=_FastLoader)
            if node is not None:
                self.walk(node, ())
        return self._at

    def walk(self, node: yaml.Node, path: tuple[str | int, ...]) -> None:
        at = self._at if self._at is not None else self.at
        at[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self.walk(value, (*path, str(key.value)))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.walk(item, (*path, i))

    def locate(self, source: str, path: tuple[str | int, ...]) -> Location:
        at = self.at
        probe = path
        while probe not in at and probe:
            probe = probe[:-1]
        line, column = at.get(probe, (0, 0))
        text = "".join(
            f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path)
        )
        return Location(source, text, line, column)


def _load_yaml(text: str, source: str) -> tuple[Any, _Positions]:
    try:
        # aliases, nesting and cycles bounded first, event by event: the values are then
        # decoded by libyaml, and the schema check and the position walk below expand aliases
        check_bounds(text)
    except YamlError as exc:
        raise WorldError(
            (
                Problem(
                    f"invalid YAML: {exc.message}",
                    Location(source, "", exc.line, exc.column),
                    code="world",
                ),
            )
        ) from None
    try:
        data = yaml.load(text, Loader=_FastLoader)  # a safe loader (libyaml or pure Python)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        problem = getattr(exc, "problem", None) or str(exc)
        raise WorldError(
            (Problem(f"invalid YAML: {problem}", Location(source, "", line, col), code="world"),)
        ) from None
    return data, _Positions(text)


def _instance_id(account: str, region: str, name: str) -> str:
    """A stable id for an instance declared without one (same world, same id, every start)."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{account}/{region}/{name}"))


def world_from_data(data: Any, *, path: Path, positions: _Positions | None = None) -> World:
    """Check and compile decoded world data; raise `WorldError` listing every problem."""
    source = str(path)
    pos = positions or _Positions()
    problems: list[Problem] = []

    def problem(where: tuple[str | int, ...], message: str) -> None:
        problems.append(Problem(message, pos.locate(source, where), code="world"))

    if data is None:
        problems.append(
            Problem("the world file is empty", Location(source, "", 1, 1), code="world")
        )
        raise WorldError(tuple(problems))
    for at, message in schema_errors(data):
        problem(at, message)
    if problems:
        raise WorldError(tuple(problems))

    accounts: dict[str, Account] = {}
    for i, a in enumerate(data["accounts"]):
        if a["id"] in accounts:
            problem(("accounts", i, "id"), f"account {a['id']!r} is declared twice")
        accounts[a["id"]] = Account(
            a["id"],
            bool(a.get("setup_in_progress", False)),
            frozenset(a.get("regions", [])),
            frozenset(a.get("regions_in_setup", [])),
        )
    default_account = next(iter(accounts)) if len(accounts) == 1 else None

    base = path.parent
    texts: dict[tuple[str, PolicyKind], Policy] = {}

    def policy(rel: str, kind: PolicyKind, where: tuple[str | int, ...]) -> Policy | None:
        file = (base / rel).resolve()
        key = (str(file), kind)
        if key in texts:
            return texts[key]
        outside = named_path_problem(rel, path)
        if outside is not None:
            problem(where, outside)
            return None
        try:
            text = read_bounded(file, MAX_WORLD_BYTES).decode("utf-8")
        except OSError as exc:
            problem(where, f"cannot read policy {rel!r}: {exc.strerror or exc}")
            return None
        except UnicodeDecodeError as exc:
            problem(where, f"policy {rel!r} is not UTF-8 text (byte {exc.start}: {exc.reason})")
            return None
        try:
            texts[key] = parse_policy(text, source=str(base / rel), kind=kind)
        except PolicyParseError as exc:
            problems.extend(exc.problems)
            return None
        return texts[key]

    principals: dict[str, Principal] = {}
    for i, p in enumerate(data["principals"]):
        where: tuple[str | int, ...] = ("principals", i)
        identity = Identity(p["arn"], p.get("tags", {}))
        if identity.account not in accounts:
            problem(
                (*where, "arn"),
                f"principal's account {identity.account!r} is not declared under accounts",
            )
        if p["access_key_id"] in principals:
            problem((*where, "access_key_id"), f"access key {p['access_key_id']!r} is used twice")
        ident = [
            policy(r, "identity", (*where, "policies", j))
            for j, r in enumerate(p.get("policies", []))
        ]
        raw_boundary = p.get("boundary")
        boundary_paths = [raw_boundary] if isinstance(raw_boundary, str) else raw_boundary
        boundary = (
            None
            if boundary_paths is None
            else [policy(r, "boundary", (*where, "boundary")) for r in boundary_paths]
        )
        if any(x is None for x in ident) or (
            boundary is not None and any(x is None for x in boundary)
        ):
            continue
        principals[p["access_key_id"]] = Principal(
            name=p.get("name") or p["arn"].rsplit("/", 1)[-1],
            identity=identity,
            access_key_id=p["access_key_id"],
            secret_access_key=p["secret_access_key"],
            policies=PolicySet(
                [x for x in ident if x is not None],
                boundary=None if boundary is None else [x for x in boundary if x is not None],
            ),
            session_token=p.get("session_token"),
        )

    instances: list[InstanceSpec] = []
    seen: dict[tuple[str, str, str], int] = {}
    ids: set[str] = set()
    for i, inst in enumerate(data["instances"]):
        where = ("instances", i)
        account = inst.get("account", default_account)
        if account is None:
            problem(where, "instance needs an account: the world declares more than one")
            continue
        if account not in accounts:
            problem((*where, "account"), f"account {account!r} is not declared under accounts")
            continue
        region = inst["region"]
        key = (account, region, inst["name"])
        if key in seen:
            problem(
                (*where, "name"),
                f"instance name {inst['name']!r} is used twice in {region} (first at instances[{seen[key]}])",
            )
            continue
        seen[key] = i
        instance_id = inst.get("id") or _instance_id(account, region, inst["name"])
        if instance_id in ids:
            problem((*where, "id"), f"instance id {instance_id!r} is used twice")
        ids.add(instance_id)
        zone = inst.get("availability_zone", f"{region}a")
        if not zone.startswith(region):
            problem(
                (*where, "availability_zone"),
                f"availability zone {zone!r} is not in region {region!r}",
            )
        instances.append(
            InstanceSpec(
                Instance(
                    id=instance_id,
                    region=region,
                    account=account,
                    name=inst["name"],
                    tags=inst.get("tags", {}),
                ),
                availability_zone=zone,
                state=inst.get("state", "running"),
            )
        )
    if problems:
        raise WorldError(tuple(problems))
    # an account with no declared regions may use every region its instances are in
    filled = {
        k: a
        if a.regions
        else Account(
            a.id,
            a.setup_in_progress,
            frozenset(s.instance.region for s in instances if s.instance.account == k),
            a.regions_in_setup,
        )
        for k, a in accounts.items()
    }
    return World(
        path, filled, principals, tuple(instances), float(data.get("transition_seconds", 0))
    )


def load_world(path: str | Path) -> World:
    """Read, validate and compile a world file (YAML or JSON)."""
    p = Path(path)
    source = str(p)
    try:
        # a regular file, its size counted while it is read (a FIFO or /dev/zero is refused)
        raw = read_bounded(p, MAX_WORLD_BYTES)
    except TooLargeError:
        message = f"world file is larger than {MAX_WORLD_BYTES} bytes"
    except OSError as exc:
        message = f"cannot read the world file: {exc.strerror or exc}"
    else:
        message = ""
    if message:
        raise WorldError((Problem(message, Location(source, "", 0, 0), code="world"),))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WorldError(
            (Problem("world file is not UTF-8 text", Location(source, "", 0, 0), code="world"),)
        ) from None
    data, positions = _load_yaml(text, source)
    return world_from_data(data, path=p, positions=positions)
