"""Evaluator adapters for the engine benchmark: lspolicy and its peers (moto, principalmapper).

Every adapter has the same two steps, so that the benchmark treats them alike:

``compile(policies, principals)``
    Turn the policy JSON texts into whatever the evaluator works on, once per principal. The
    benchmark times this step and reports it separately from the decisions.
``prepare(requests)``
    Build each request's input in the evaluator's own form (untimed) and return it as a list of
    ``(callable, args)`` pairs. The timed loop is nothing but ``[fn(*args) for fn, args in calls]``,
    so the harness costs every evaluator the same.

The peers have no notion of a "policy set", so their adapters combine the per-policy answers the
way each peer combines them itself (moto: ``IAMRequestBase.check_action_permitted``;
principalmapper: ``query_interface.local_check_authorization_full``), and call the peer's own
evaluation function for every policy document. Nothing of the peers is copied here.
"""

from __future__ import annotations

import collections
import collections.abc
import importlib
import importlib.metadata
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

ContextValue = str | list[str]
Context = dict[str, ContextValue]
Call = tuple[Callable[..., bool], tuple[Any, ...]]


@dataclass(frozen=True)
class Principal:
    """A user or role of the workload, with the names of its policies."""

    arn: str
    kind: str  # "user" or "role"
    name: str
    tags: Mapping[str, str]
    policies: tuple[str, ...]
    boundary: str | None
    scps: tuple[tuple[str, ...], ...] = ()
    """The SCPs that apply, one group per level of the organization (each level must allow)."""
    session: str | None = None
    """The session policy of an assumed-role session."""


@dataclass(frozen=True)
class Request:
    """One request of the workload with its fully derived request context."""

    index: int
    principal: int  # index into the principals list
    action: str
    resource: str
    context: Context


def standard_principals(raw: Sequence[Mapping[str, Any]]) -> list[Principal]:
    """The standard workload's principals (``workload.json``'s ``principals``) as `Principal`s
    (`bench/run.py` and `bench/engine.py` read the same file)."""
    return [
        Principal(
            arn=p["arn"],
            kind=p["type"],
            name=p["name"],
            tags=dict(p.get("tags") or {}),
            policies=tuple(p["policies"]),
            boundary=p.get("permissions_boundary"),
        )
        for p in raw
    ]


def run_calls(calls: Sequence[Call]) -> list[bool]:
    """The timed loop over prepared calls: the same for every evaluator (`bench/run.py`, and
    the peers in `bench/engine.py`)."""
    return [fn(*args) for fn, args in calls]


class PeerUnavailable(Exception):
    """Raised when an evaluator cannot be imported or does not have the expected API."""


class Adapter(Protocol):
    """What the benchmark needs from an evaluator."""

    name: str
    version: str

    def compile(self, policies: Mapping[str, str], principals: Sequence[Principal]) -> None:
        """Compile every principal's policies from their JSON text (timed separately)."""
        ...

    def prepare(self, requests: Sequence[Request]) -> list[Call]:
        """Build each request's input outside the timed loop; one call per request."""
        ...


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# --------------------------------------------------------------------------------------------
# lspolicy — the engine under test
# --------------------------------------------------------------------------------------------


class LspolicyAdapter:
    """lspolicy: one compiled ``PolicySet`` per principal; the timed call is ``is_allowed``."""

    name = "lspolicy"

    def __init__(self) -> None:
        try:
            self.lib = importlib.import_module("lspolicy")
        except Exception as exc:  # any import failure means "not available", reported as such
            raise PeerUnavailable(f"cannot import lspolicy: {exc!r}") from exc
        missing = [
            attr for attr in ("parse_policy", "PolicySet", "Request") if not hasattr(self.lib, attr)
        ]
        if missing:
            raise PeerUnavailable(
                "lspolicy does not provide " + ", ".join(f"lspolicy.{m}" for m in missing) + " yet"
            )
        self.version = str(getattr(self.lib, "__version__", None) or _version("lspolicy"))
        self.sets: list[Any] = []

    def compile(self, policies: Mapping[str, str], principals: Sequence[Principal]) -> None:
        lib = self.lib
        parsed = {name: lib.parse_policy(text, source=name) for name, text in policies.items()}
        self.sets = [
            lib.PolicySet(
                identity=[parsed[n] for n in p.policies],
                boundary=[parsed[p.boundary]] if p.boundary else None,
            )
            for p in principals
        ]

    def prepare(self, requests: Sequence[Request]) -> list[Call]:
        make = self.lib.Request
        return [
            (
                self.sets[r.principal].is_allowed,
                (make(action=r.action, resource=r.resource, context=dict(r.context)),),
            )
            for r in requests
        ]

    def explain(self, request: Request) -> Any:
        """The full ``Decision`` for one request (used for disagreement reports, untimed)."""
        req = self.lib.Request(
            action=request.action, resource=request.resource, context=dict(request.context)
        )
        return self.sets[request.principal].evaluate(req)


# --------------------------------------------------------------------------------------------
# moto — moto.iam.access_control.IAMPolicy
# --------------------------------------------------------------------------------------------


class _MotoPrincipal:
    """A principal's policies as moto ``IAMPolicy`` objects, combined the way moto does.

    moto's own ``check_action_permitted`` loops over the caller's policies: any ``DENIED`` result
    denies, otherwise any ``PERMITTED`` result allows. moto has no permissions boundaries; the
    boundary is applied here as one more required ``PERMITTED`` (the AWS rule), evaluated by the
    same moto class, so that moto is not penalised for a step it was never asked to do.
    """

    __slots__ = ("boundary", "denied", "permitted", "policies")

    def __init__(self, policies: list[Any], boundary: Any | None, result_enum: Any) -> None:
        self.policies = policies
        self.boundary = boundary
        self.denied = result_enum.DENIED
        self.permitted = result_enum.PERMITTED

    def is_allowed(self, action: str, resource: str, context: dict[str, Any]) -> bool:
        denied = self.denied
        permitted = False
        for policy in self.policies:
            result = policy.is_action_permitted(action, resource, None, context)
            if result is denied:
                return False
            if result is self.permitted:
                permitted = True
        if not permitted:
            return False
        if self.boundary is not None:
            return self.boundary.is_action_permitted(action, resource, None, context) is (
                self.permitted
            )
        return True


class MotoAdapter:
    """moto's identity-policy evaluator, ``moto.iam.access_control.IAMPolicy``.

    ``IAMPolicy(json_text).is_action_permitted(action, resource, principal, context)`` is the call
    moto's request authorisation makes for every attached policy; the request context is passed
    as ``incoming_condition_values`` (moto evaluates only ``StringEquals`` from it).
    """

    name = "moto"

    def __init__(self) -> None:
        try:
            access_control = importlib.import_module("moto.iam.access_control")
        except Exception as exc:
            raise PeerUnavailable(
                f"cannot import moto.iam.access_control ({exc!r}); "
                "install the bench extra: pip install -e '.[bench]'"
            ) from exc
        for attr in ("IAMPolicy", "PermissionResult"):
            if not hasattr(access_control, attr):
                raise PeerUnavailable(f"moto.iam.access_control has no {attr} (moto API changed)")
        self._policy_cls = access_control.IAMPolicy
        self._result = access_control.PermissionResult
        self.version = _version("moto")
        self.principals: list[_MotoPrincipal] = []

    def compile(self, policies: Mapping[str, str], principals: Sequence[Principal]) -> None:
        # moto parses the JSON text in IAMPolicy.__init__; one object per policy per principal,
        # as moto builds them per request from the principal's attached policies.
        self.principals = [
            _MotoPrincipal(
                [self._policy_cls(policies[n]) for n in p.policies],
                self._policy_cls(policies[p.boundary]) if p.boundary else None,
                self._result,
            )
            for p in principals
        ]

    def prepare(self, requests: Sequence[Request]) -> list[Call]:
        return [
            (self.principals[r.principal].is_allowed, (r.action, r.resource, dict(r.context)))
            for r in requests
        ]


# --------------------------------------------------------------------------------------------
# principalmapper — principalmapper.querying.local_policy_simulation
# --------------------------------------------------------------------------------------------


def apply_principalmapper_shim() -> list[str]:
    """Make principalmapper 1.1.5 importable on Python >= 3.10, at run time only.

    ``principalmapper/util/case_insensitive_dict.py`` does
    ``from collections import Mapping, MutableMapping, OrderedDict``; the ABC aliases in
    ``collections`` were deprecated in 3.3 and removed in Python 3.10, so the import fails with
    ``ImportError: cannot import name 'Mapping' from 'collections'``. Re-expose the two names from
    ``collections.abc`` (the same classes) before importing it. Returns the names it added.
    """
    added = []
    for name in ("Mapping", "MutableMapping"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
            added.append(f"collections.{name} = collections.abc.{name}")
    return added


class _PmapperPrincipal:
    """A principal's policies as principalmapper ``Policy`` objects, combined in its own order.

    Mirrors ``local_check_authorization_full`` for identity policies, SCP groups, a session
    policy and a boundary (no resource policy, no group memberships): a matching Deny in the
    identity policies, the SCPs, the session policy or the boundary denies; then every SCP
    group must hold a matching Allow (SCPs do not restrict a service-linked role); then the
    boundary, then the session policy; then any identity policy with a matching Allow allows.
    Each step is ``policy_has_matching_statement``.
    """

    __slots__ = ("boundary", "denies", "identity", "match", "scps", "session")

    def __init__(
        self,
        identity: list[Any],
        boundary: Any | None,
        match: Callable[..., bool],
        *,
        scps: list[list[Any]] | None = None,
        session: Any | None = None,
    ):
        self.identity = identity
        self.boundary = boundary
        self.scps = scps or []
        self.session = session
        self.denies = [
            *identity,
            *(p for group in self.scps for p in group),
            *([session] if session is not None else []),
            *([boundary] if boundary is not None else []),
        ]
        self.match = match

    def is_allowed(self, action: str, resource: str, context: Any) -> bool:
        match = self.match
        for policy in self.denies:
            if match(policy, "Deny", action, resource, context):
                return False
        # Plain loops, not any(<generator>): the adapter must not add overhead to the peer.
        for group in self.scps:
            for policy in group:
                if match(policy, "Allow", action, resource, context):
                    break
            else:
                return False
        if self.boundary is not None and not match(
            self.boundary, "Allow", action, resource, context
        ):
            return False
        if self.session is not None and not match(self.session, "Allow", action, resource, context):
            return False
        for policy in self.identity:  # noqa: SIM110
            if match(policy, "Allow", action, resource, context):
                return True
        return False


class PrincipalmapperAdapter:
    """principalmapper's local policy simulation (``policy_has_matching_statement``).

    The request context is handed over as principalmapper's ``CaseInsensitiveDict``, built once
    per request outside the timed loop (``local_check_authorization_full`` would deep-copy it and
    infer keys on every call; the workload already supplies every key it would infer).
    """

    name = "principalmapper"

    def __init__(self) -> None:
        self.shim = apply_principalmapper_shim()
        try:
            lps = importlib.import_module("principalmapper.querying.local_policy_simulation")
            common = importlib.import_module("principalmapper.common")
            cid = importlib.import_module("principalmapper.util.case_insensitive_dict")
        except Exception as exc:
            raise PeerUnavailable(
                f"cannot import principalmapper ({exc!r}); "
                "install the bench extra: pip install -e '.[bench]'"
            ) from exc
        if not hasattr(lps, "policy_has_matching_statement"):
            raise PeerUnavailable("principalmapper has no policy_has_matching_statement")
        self._match = lps.policy_has_matching_statement
        self._policy_cls = common.Policy
        self._cid = cid.CaseInsensitiveDict
        self.version = _version("principalmapper")
        self.principals: list[_PmapperPrincipal] = []

    def compile(self, policies: Mapping[str, str], principals: Sequence[Principal]) -> None:
        account = principals[0].arn.split(":")[4] if principals else "000000000000"
        docs = {
            name: self._policy_cls(f"arn:aws:iam::{account}:policy/{name}", name, json.loads(text))
            for name, text in policies.items()
        }
        self.principals = [
            _PmapperPrincipal(
                [docs[n] for n in p.policies],
                docs[p.boundary] if p.boundary else None,
                self._match,
                # SCPs do not restrict service-linked roles (`_check_if_service_linked_role`)
                scps=None
                if _service_linked(p.arn)
                else [[docs[n] for n in level] for level in p.scps],
                session=docs[p.session] if p.session else None,
            )
            for p in principals
        ]

    def prepare(self, requests: Sequence[Request]) -> list[Call]:
        cid = self._cid
        return [
            (
                self.principals[r.principal].is_allowed,
                (r.action, r.resource, cid({k: _copy(v) for k, v in r.context.items()})),
            )
            for r in requests
        ]


def _service_linked(arn: str) -> bool:
    """principalmapper's test for a service-linked role (whose requests SCPs do not restrict)."""
    return ":role/" in arn and arn.rsplit("/", maxsplit=1)[-1].startswith("AWSServiceRoleFor")


def _copy(value: ContextValue) -> ContextValue:
    return list(value) if isinstance(value, list) else value


#: The peers, in the order they are reported.
PEERS: dict[str, type[MotoAdapter] | type[PrincipalmapperAdapter]] = {
    "moto": MotoAdapter,
    "principalmapper": PrincipalmapperAdapter,
}
