"""The request pipeline: route, authenticate, account state, validate, authorize, act, log.

Each step is a small function of its own module that returns a value or an `ApiError`; this
module only sequences them. Any unexpected exception becomes ``ServiceException`` (HTTP 500),
logged here with detail and never shown to the client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lspolicy.lightsail.context import Instance
from lspolicy.model.request import ContextValue
from lspolicy.server.auth import Authenticated, Credential, ReceivedRequest, authenticate
from lspolicy.server.authorize import allowed_on_star, decide
from lspolicy.server.errors import ApiError
from lspolicy.server.ids import uuid4_text
from lspolicy.server.pages import PageTokens
from lspolicy.server.state import STATE_CODES, InstanceRow, StateStore, Transition
from lspolicy.server.validate import validate_body
from lspolicy.server.world import Principal, World

__all__ = ["GET_INSTANCES_PAGE_SIZE", "OPERATIONS", "Response", "Service"]

log = logging.getLogger("lspolicy.server")

TARGET_PREFIX = "Lightsail_20161128."
_LOGGED = "_logged"
"""Set in a request's log entry once its row is written (with the operation it started)."""
JSON_TYPE = "application/x-amz-json-1.1"
_COMPACT = json.JSONEncoder(separators=(",", ":")).encode
"""``json.dumps(value, separators=(",", ":"))`` without building an encoder per call."""
_SORTED = json.JSONEncoder(sort_keys=True).encode
"""``json.dumps(value, sort_keys=True)``, likewise."""
_VIEWS_LIMIT = 4096
GET_INSTANCES_PAGE_SIZE = 25
"""Instances per ``GetInstances`` page. The API reference says the results may be paginated but
not how many a page holds (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstances.html);
25 keeps pages small enough that a test world of a few dozen instances spans several."""


@dataclass(frozen=True, slots=True)
class Response:
    """What goes back on the wire."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class _Operation:
    action: str
    transition: Transition | None
    lists: bool = False
    """A listing of the caller's account and region (no instance named, authorized on ``*``)."""


_STOP = Transition("StopInstance", frozenset({"running"}), "stopping", "stopped")
_FORCE_STOP = Transition("StopInstance", frozenset({"stopping"}), None, "stopped")
_START = Transition("StartInstance", frozenset({"stopped"}), "pending", "running")

OPERATIONS: Mapping[str, _Operation] = {
    "StopInstance": _Operation("lightsail:StopInstance", _STOP),
    "StartInstance": _Operation("lightsail:StartInstance", _START),
    "GetInstance": _Operation("lightsail:GetInstance", None),
    "GetInstanceState": _Operation("lightsail:GetInstanceState", None),
    "GetInstances": _Operation("lightsail:GetInstances", None, lists=True),
}


def _refusal(operation: str, state: str) -> ApiError:
    # Lightsail documents StopInstance as stopping "an instance that is currently running" and
    # OperationFailureException as "the operation fails to execute"; it does not document the
    # message, so ours says plainly what failed.
    verb = "stop" if operation == "StopInstance" else "start"
    return ApiError(
        "OperationFailureException",
        f"You can't {verb} instance in the {state} state.",
        "Stop only a running instance (use force=true only when it is stuck in stopping); start only a stopped one.",
    )


class Service:
    """The emulated Lightsail endpoint over a world and its state store."""

    def __init__(
        self,
        world: World,
        store: StateStore,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        page_size: int = GET_INSTANCES_PAGE_SIZE,
    ) -> None:
        self.world = world
        self.store = store
        self.now = now
        self.page_size = page_size
        self._tokens = PageTokens()
        self._credentials: dict[str, tuple[Principal, Credential]] = {}
        self._views: dict[
            tuple[str, str, str, str, int], tuple[Mapping[str, str], Instance, str, str]
        ] = {}
        self._times: tuple[datetime | None, str, str] = (None, "", "")
        """The last second whose ``aws:CurrentTime`` and ``aws:EpochTime`` were formatted."""
        self._regions = frozenset(
            r for a in world.accounts.values() for r in a.regions | a.regions_in_setup
        )
        store.seed(world.instances)

    def log_rejection(self, error: ApiError, target: str) -> None:
        """Record a request the HTTP layer refused before the pipeline (size, encoding)."""
        try:
            self.store.log(
                {"operation": target[:128], "decision": "error", "error_code": error.code}
            )
        except Exception:
            log.exception("a rejected request could not be logged")

    def _credential(self, access_key_id: str) -> Credential | None:
        p = self.world.principals.get(access_key_id)
        if p is None:
            return None
        hit = self._credentials.get(access_key_id)
        if hit is not None and hit[0] is p:  # the same principal object: the same credential
            return hit[1]
        credential = Credential(
            p.access_key_id, p.secret_access_key, p.identity.arn, p.session_token
        )
        self._credentials[access_key_id] = (p, credential)
        return credential

    def _view(self, row: InstanceRow) -> tuple[Instance, str, str]:
        """The row as authorization sees it, its ARN and its tags as logged (JSON, sorted keys),
        kept per (account, region, name, id, tags object): the store hands out one tags object
        per stored text, held here and compared with ``is``; the state is not part of it."""
        key = (row.account, row.region, row.name, row.id, id(row.tags))
        hit = self._views.get(key)
        if hit is not None and hit[0] is row.tags:
            return hit[1], hit[2], hit[3]
        instance = Instance(
            id=row.id, region=row.region, account=row.account, name=row.name, tags=row.tags
        )
        view = (row.tags, instance, instance.arn, _SORTED(dict(row.tags)))
        if len(self._views) >= _VIEWS_LIMIT:
            self._views.clear()
        self._views[key] = view
        return instance, view[2], view[3]

    # -- the pipeline ---------------------------------------------------------------------------

    def handle(self, request: ReceivedRequest, *, source_ip: str = "127.0.0.1") -> Response:
        """Serve one request; never raises."""
        request_id = uuid4_text()
        entry: dict[str, Any] = {"operation": ""}
        try:
            result = self._pipeline(request, source_ip, entry)
        except Exception:
            log.exception("request %s failed", request_id)
            result = ApiError("ServiceException", "An internal error occurred. Please try again.")
        if isinstance(result, ApiError):
            entry.setdefault("decision", "error")
            entry["error_code"] = result.code
            body = json.dumps(result.body()).encode()
            headers: tuple[tuple[str, str], ...] = (
                ("x-amzn-ErrorType", result.code),
                ("x-amzn-RequestId", request_id),
            )
            status = result.status
        else:
            entry.setdefault("decision", "allowed")
            body = _COMPACT(result).encode()
            headers = (("x-amzn-RequestId", request_id),)
            status = 200
        try:
            if not entry.pop(_LOGGED, False):  # a state change is logged with its operation
                self.store.log(entry)
        except Exception:
            log.exception("request %s could not be logged", request_id)
        return Response(status, body, (("Content-Type", JSON_TYPE), *headers))

    def _pipeline(
        self, request: ReceivedRequest, source_ip: str, entry: dict[str, Any]
    ) -> dict[str, Any] | ApiError:
        authn = authenticate(request, self._credential, regions=self._regions, now=self.now)
        targets = request.header_values("x-amz-target")
        target = targets[0] if len(targets) == 1 else ""
        operation = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
        entry["operation"] = operation or target[:128]
        if isinstance(authn, ApiError):
            entry["decision"] = "unauthenticated"
            return authn
        principal = self.world.principals[authn.credential.access_key_id]
        entry.update(
            principal_arn=principal.identity.arn,
            access_key_id=principal.access_key_id,
            region=authn.region,
        )
        op = OPERATIONS.get(operation)
        if op is None:
            return ApiError("InvalidInputException", f"Unknown operation {target[:128]!r}.")
        account_id = principal.account  # a property that splits the ARN: read once
        account = self.world.accounts.get(account_id)
        entry["account"] = account_id
        if account is None or account.setup_in_progress:
            return ApiError(
                "AccountSetupInProgressException",
                "Your account is still being set up. Please try again in a few minutes.",
            )
        if authn.region in account.regions_in_setup:
            return ApiError(
                "RegionSetupInProgressException",
                f"Region {authn.region} is still being set up for your account.",
            )
        body = validate_body(operation, request.body, scope=account_id)
        if isinstance(body, ApiError):
            return body
        if op.lists:
            return self._list(
                principal, op.action, body, entry, region=authn.region, source_ip=source_ip
            )
        name = body["instanceName"]
        entry["instance_name"] = name
        context = self._context(authn, source_ip)
        # The same work whether or not the instance exists, so that the time of a denial says
        # no more than its text: the same lookup cost, and both evaluations on every request, a
        # missing name's against a stand-in shaped like a real instance of its account and region.
        found, row = self.store.lookup(account_id, authn.region, name)
        exists = found is not None
        instance, arn, tags = self._view(row)
        # the log's instance columns set on both paths, the same work (a missing name's are
        # stored as NULL: `state._LOG_EMPTY_IS_NULL`)
        entry.update(resource_arn=arn if exists else "", tags=tags if exists else "")
        on_instance, on_any = decide(
            principal,
            op.action,
            instance,
            account=account_id,
            region=authn.region,
            name=name,
            context=context,
        )
        if not exists:
            if not on_any:
                entry["decision"] = "denied"
                return _denied(principal, op.action)
            entry["decision"] = "not-found"
            return ApiError("NotFoundException", f"The Instance does not exist: {name}")
        if not on_instance:
            entry["decision"] = "denied"
            return _denied(principal, op.action)
        if op.transition is None:
            return _describe(operation, row)
        change = op.transition
        if operation == "StopInstance" and body.get("force") is True and row.state == "stopping":
            # force is for an instance stuck in stopping; in any other state it stops normally
            change = _FORCE_STOP
        done = self.store.transition(
            account_id,
            authn.region,
            name,
            change,
            self.world.transition_seconds,
            log_entry={**entry, "decision": "allowed"},
        )
        if isinstance(done, str):
            entry["decision"] = "refused"
            return _refusal(operation, done)
        _, operation_row = done
        entry["operation_id"] = operation_row.id
        entry[_LOGGED] = True
        return {"operations": [operation_row.to_api()]}

    def _list(
        self,
        principal: Principal,
        action: str,
        body: Mapping[str, Any],
        entry: dict[str, Any],
        *,
        region: str,
        source_ip: str,
    ) -> dict[str, Any] | ApiError:
        """``GetInstances``: the caller's instances in the region this request is signed for,
        a page at a time, when the policy allows the action on ``*`` (it has no resource type).
        https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstances.html"""
        context = self._request_context(region, source_ip)
        if not allowed_on_star(principal, action, context):
            entry["decision"] = "denied"
            return _denied(principal, action)
        after: str | None = None
        token = body.get("pageToken")
        if token is not None:
            after = self._tokens.after(token, principal.account, region)
            if after is None:
                return ApiError(
                    "InvalidInputException",
                    "pageToken: not a page token this endpoint issued for your account and region",
                    "send the nextPageToken of a previous GetInstances answer, unchanged",
                )
        rows, more = self.store.page(principal.account, region, after=after, limit=self.page_size)
        out: dict[str, Any] = {"instances": [_instance(row) for row in rows]}
        if more and rows:
            out["nextPageToken"] = self._tokens.issue(principal.account, region, rows[-1].name)
        return out

    def _context(self, authn: Authenticated, source_ip: str) -> dict[str, ContextValue]:
        return self._request_context(authn.region, source_ip)

    def _request_context(self, region: str, source_ip: str) -> dict[str, ContextValue]:
        now = self.now()
        second = now.replace(microsecond=0)
        times = self._times
        if times[0] != second:
            # after 1970 both strings are functions of the whole second (int() truncates a
            # positive timestamp down to it): formatted once per second. Before, int() rounds
            # toward zero, so the fraction matters: never kept.
            epoch = int(now.timestamp())
            key = second if epoch > 0 else None
            times = (key, now.strftime("%Y-%m-%dT%H:%M:%SZ"), str(epoch))
            self._times = times
        return {
            "aws:SourceIp": source_ip,
            "aws:CurrentTime": times[1],
            "aws:EpochTime": times[2],
            "aws:SecureTransport": "false",
            "aws:RequestedRegion": region,
        }


def _denied(principal: Principal, action: str) -> ApiError:
    # The same message whether or not the instance exists: no existence oracle.
    return ApiError(
        "AccessDeniedException",
        f"User: {principal.identity.arn} is not authorized to perform: {action}",
    )


def _describe(operation: str, row: InstanceRow) -> dict[str, Any]:
    if operation == "GetInstanceState":
        return {"state": _state(row)}
    return {"instance": _instance(row)}


def _state(row: InstanceRow) -> dict[str, Any]:
    return {"code": STATE_CODES.get(row.state, 0), "name": row.state}


def _instance(row: InstanceRow) -> dict[str, Any]:
    """The API's ``Instance`` shape, with the members the world can fill honestly. Omitted, as
    the world file does not hold them: ``blueprintId``/``blueprintName``, ``bundleId``,
    ``hardware``, ``networking``, the IP addresses, ``addOns``, ``username``, ``sshKeyName``,
    ``metadataOptions`` (every member of the shape is optional in Lightsail's model)."""
    return {
        "name": row.name,
        "arn": row.arn,
        "supportCode": f"{row.account}/{row.id}",
        "createdAt": row.created_at,
        "location": {"availabilityZone": row.availability_zone, "regionName": row.region},
        "resourceType": "Instance",
        "tags": [{"key": k, "value": v} for k, v in sorted(row.tags.items())],
        "state": _state(row),
    }
