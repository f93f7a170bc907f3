"""Every error StopInstance can answer, through the real server and a real boto3 client.

Each test makes the server refuse a request in one documented way and checks what a boto3 user
sees: the modeled exception class (``client.exceptions.X``), the HTTP status (400 for client
errors, 500 for ``ServiceException``), and the error's wire form: the ``x-amzn-ErrorType``
header, and a JSON body whose ``__type`` is the code and which carries ``code``, ``message``,
``docs`` and ``tip`` (the members of Lightsail's error shapes), with no stack trace. Where a
refusal could pass by accident, a control request shows that the same caller, signed the same
way, gets through when the one thing that is wrong is right.

Requests boto3 would refuse to send (``force`` not a boolean, bodies that are not JSON) are
signed with botocore's own ``SigV4Auth`` and sent with ``http.client``.

The contract: the StopInstance API reference (errors and their HTTP statuses),
https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html
restated in ../shared/spec/stop-instance.md.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from serverwire import Wire, post, sign

from lspolicy.testing import RunningServer, serve_world

WORLD = Path(__file__).resolve().parent / "worlds" / "errors.yaml"

# What the API reference says each error travels with; written out here, not read from the
# server's own table, so that a wrong status in the server is caught.
STATUS = {
    "AccessDeniedException": 400,
    "AccountSetupInProgressException": 400,
    "InvalidInputException": 400,
    "NotFoundException": 400,
    "OperationFailureException": 400,
    "RegionSetupInProgressException": 400,
    "UnauthenticatedException": 400,
    "ServiceException": 500,
}
# Text that would mean the server leaked its internals into a response.
LEAKS = ("Traceback", 'File "', ".py", "sqlite", "OperationalError", "lspolicy.")


@pytest.fixture
def server() -> Iterator[RunningServer]:
    """A fresh server per test, for tests that change (or could change) state."""
    with serve_world(WORLD) as running:
        yield running


@pytest.fixture(scope="module")
def untouched() -> Iterator[RunningServer]:
    """One server for the tests whose requests must all be refused: each of them checks that
    no operation was recorded, so a request wrongly accepted fails the test that sent it."""
    with serve_world(WORLD) as running:
        yield running


# -- checking what came back --------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """An error as a boto3 user sees it, and as it was on the wire."""

    code: str
    status: int
    message: str
    body: dict[str, Any]
    attempts: int


def check_error_body(raw: bytes, code: str) -> dict[str, Any]:
    """The JSON 1.1 error body: ``__type`` names the code; Lightsail's error members are there."""
    text = raw.decode("utf-8")
    for leak in LEAKS:
        assert leak not in text, f"the error body leaks {leak!r}: {text}"
    body = json.loads(text)
    assert body["__type"] == code, body
    assert body["code"] == code, body
    for member in ("message", "docs", "tip"):
        assert isinstance(body[member], str), (member, body)
    assert body["message"], body
    return body


def refused(client: Any, code: str, *, operation: str = "stop_instance", **params: Any) -> Seen:
    """Call ``operation`` and expect ``client.exceptions.<code>``; check the error's wire form."""
    raw: list[Any] = []

    def keep(http_response: Any, **_: Any) -> None:
        raw.append(http_response)

    client.meta.events.register("after-call.lightsail", keep)
    try:
        with pytest.raises(getattr(client.exceptions, code)) as info:
            getattr(client, operation)(**params)
    finally:
        client.meta.events.unregister("after-call.lightsail", keep)
    response = info.value.response
    meta = response["ResponseMetadata"]
    assert response["Error"]["Code"] == code
    assert meta["HTTPStatusCode"] == STATUS[code], response
    assert meta["HTTPHeaders"]["x-amzn-errortype"] == code, meta["HTTPHeaders"]
    assert raw, "botocore emitted no after-call event"
    body = check_error_body(raw[-1].content, code)
    # botocore parses the modeled members of the error shape next to "Error"
    assert response["message"] == body["message"] == response["Error"]["Message"]
    assert (response["code"], response["docs"], response["tip"]) == (
        code,
        body["docs"],
        body["tip"],
    )
    return Seen(code, meta["HTTPStatusCode"], body["message"], body, len(raw))


def state_of(server: RunningServer, name: str) -> str:
    """The instance's state, read by the admin through the API."""
    reply = server.client("admin").get_instance_state(instanceName=name)
    return str(reply["state"]["name"])


# -- raw signed requests ------------------------------------------------------------------------


def signed_post(server: RunningServer, who: str, body: bytes, **kwargs: Any) -> Wire:
    p = server.principal(who)
    headers = sign(
        server.url, body, access_key_id=p.access_key_id, secret=p.secret_access_key, **kwargs
    )
    return post(server.url, body, headers)


def check_wire_error(wire: Wire, code: str) -> dict[str, Any]:
    assert wire.status == STATUS[code], (wire.status, wire.body)
    assert wire.headers["x-amzn-errortype"] == code, wire.headers
    return check_error_body(wire.body, code)


# -- AccessDeniedException: authorization -------------------------------------------------------


def test_no_applicable_allow_is_access_denied(server: RunningServer) -> None:
    """A caller whose policies allow only reads is implicitly denied StopInstance: "an IAM
    principal is denied access by default, they must be explicitly allowed".
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html
    Lightsail answers AccessDeniedException (HTTP 400):
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    reader = server.client("reader")
    seen = refused(reader, "AccessDeniedException", instanceName="web-dev")
    assert "lightsail:StopInstance" in seen.message
    # control: the same credentials are good for what the policy does allow
    assert reader.get_instance_state(instanceName="web-dev")["state"]["name"] == "running"
    assert server.store.operations() == []


def test_explicit_deny_is_access_denied_even_with_an_allow(server: RunningServer) -> None:
    """An explicit Deny (on ``aws:ResourceTag/env`` = prod) overrides the Allow of
    ``lightsail:*``: "the Deny statement trumps the Allow statement".
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html"""
    careful = server.client("careful")
    refused(careful, "AccessDeniedException", instanceName="web-prod")
    assert state_of(server, "web-prod") == "running"
    # control: the deny is about prod only; the Allow stops the dev instance
    [op] = careful.stop_instance(instanceName="web-dev")["operations"]
    assert op["resourceName"] == "web-dev"


def test_permissions_boundary_without_allow_is_access_denied(server: RunningServer) -> None:
    """An identity policy allowing ``lightsail:*`` on ``*`` is capped by a boundary allowing
    only us-west-2: "the effective permissions are the intersection of both policy types".
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"""
    refused(
        server.client("fenced", region="us-east-1"), "AccessDeniedException", instanceName="web-dev"
    )
    assert state_of(server, "web-dev") == "running"
    # control: inside the boundary the same principal stops an instance
    west = server.client("fenced", region="us-west-2")
    [op] = west.stop_instance(instanceName="west-dev")["operations"]
    assert op["location"]["regionName"] == "us-west-2"


# -- AccessDeniedException: authentication failures ---------------------------------------------


def client_with(server: RunningServer, *, region: str = "us-east-1", **credentials: Any) -> Any:
    return boto3.client(
        "lightsail",
        endpoint_url=server.url,
        region_name=region,
        config=Config(retries={"total_max_attempts": 1}),
        **credentials,
    )


def test_wrong_secret_and_unknown_access_key_are_denied_alike(server: RunningServer) -> None:
    """A signature made with the wrong secret, and a key the service does not know, are
    "invalid credentials": AccessDeniedException, with the same message but for the key id, so
    a caller cannot tell which keys exist.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html
    (AccessDeniedException: "the user cannot be authenticated or uses invalid credentials");
    the signature check: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html"""
    admin = server.principal("admin")
    unknown_key = "AKIAUNKNOWNEXAMPLE01"
    wrong = client_with(
        server,
        aws_access_key_id=admin.access_key_id,
        aws_secret_access_key=admin.secret_access_key[:-1] + "X",
    )
    unknown = client_with(
        server, aws_access_key_id=unknown_key, aws_secret_access_key=admin.secret_access_key
    )
    bad_secret = refused(wrong, "AccessDeniedException", instanceName="web-dev")
    bad_key = refused(unknown, "AccessDeniedException", instanceName="web-dev")
    assert admin.access_key_id in bad_secret.message
    assert bad_secret.message.replace(admin.access_key_id, "KEY") == bad_key.message.replace(
        unknown_key, "KEY"
    )
    assert bad_secret.body["tip"] == bad_key.body["tip"]
    assert state_of(server, "web-dev") == "running"
    assert server.store.operations() == []


def test_temporary_credentials_need_their_session_token(server: RunningServer) -> None:
    """Temporary credentials sign with the session token in ``X-Amz-Security-Token``; without
    it, or with another, the credentials are invalid: AccessDeniedException.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-signing-elements.html"""
    temp = server.principal("temp")
    keys = {
        "aws_access_key_id": temp.access_key_id,
        "aws_secret_access_key": temp.secret_access_key,
    }
    refused(client_with(server, **keys), "AccessDeniedException", instanceName="web-dev")
    other = client_with(server, aws_session_token="FwoGZXIvYXdzOTHERTOKEN", **keys)
    refused(other, "AccessDeniedException", instanceName="web-dev")
    assert state_of(server, "web-dev") == "running"
    # control: with its own token the same key works
    [op] = server.client("temp").stop_instance(instanceName="web-dev")["operations"]
    assert op["operationType"] == "StopInstance"


def test_credential_scope_for_a_region_not_served_is_denied(server: RunningServer) -> None:
    """The credential scope names the region the signing key is derived for; a request scoped
    to a region this endpoint does not serve is refused: AccessDeniedException.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-signing-elements.html"""
    seen = refused(
        server.client("admin", region="ap-south-1"), "AccessDeniedException", instanceName="web-dev"
    )
    assert "ap-south-1" in seen.message
    assert server.store.operations() == []


@pytest.mark.parametrize("minutes", [-60, -6, 6, 60])
def test_request_signed_more_than_five_minutes_off_is_denied(
    server: RunningServer, minutes: int
) -> None:
    """ "A request must reach AWS within five minutes of the time stamp in the request.
    Otherwise, AWS denies the request."
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html
    The client signs at a patched time (botocore reads it from ``get_current_datetime``)."""
    admin = server.client("admin")
    skewed = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=minutes)
    with mock.patch("botocore.auth.get_current_datetime", return_value=skewed):
        seen = refused(admin, "AccessDeniedException", instanceName="web-dev")
    assert "5 minutes" in seen.message
    assert state_of(server, "web-dev") == "running"


@pytest.mark.parametrize("minutes", [-4, 4])
def test_request_signed_within_five_minutes_is_accepted(
    server: RunningServer, minutes: int
) -> None:
    """The control of the skew test: a clock 4 minutes off is within the window.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html"""
    admin = server.client("admin")
    skewed = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=minutes)
    with mock.patch("botocore.auth.get_current_datetime", return_value=skewed):
        [op] = admin.stop_instance(instanceName="web-dev")["operations"]
    assert op["resourceName"] == "web-dev"


# -- UnauthenticatedException -------------------------------------------------------------------


def test_unsigned_request_is_unauthenticated(server: RunningServer) -> None:
    """A request with no authentication at all: UnauthenticatedException, "the user has not
    been authenticated" (HTTP 400).
    https://docs.aws.amazon.com/botocore/latest/reference/services/lightsail/client/exceptions/UnauthenticatedException.html
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    unsigned = boto3.client(
        "lightsail",
        endpoint_url=server.url,
        region_name="us-east-1",
        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}),
    )
    refused(unsigned, "UnauthenticatedException", instanceName="web-dev")
    refused(unsigned, "UnauthenticatedException", instanceName="no-such-instance", force=True)
    assert state_of(server, "web-dev") == "running"


# -- account and region setup -------------------------------------------------------------------


def test_account_still_being_set_up(server: RunningServer) -> None:
    """AccountSetupInProgressException: "an account is still in the setup in progress state".
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    newcomer = server.client("newcomer")
    refused(newcomer, "AccountSetupInProgressException", instanceName="newcomer-dev")
    refused(newcomer, "AccountSetupInProgressException", instanceName="no-such-instance")
    assert server.store.operations() == []


def test_region_still_being_set_up(server: RunningServer) -> None:
    """RegionSetupInProgressException: "an operation is performed on resources in an opt-in
    Region that is currently being set up".
    https://docs.aws.amazon.com/botocore/latest/reference/services/lightsail/client/exceptions/RegionSetupInProgressException.html"""
    refused(
        server.client("admin", region="eu-west-1"),
        "RegionSetupInProgressException",
        instanceName="web-dev",
    )
    # control: the same caller in a region that is set up
    assert state_of(server, "web-dev") == "running"


# -- InvalidInputException ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "",
        "a",
        "bad name!",
        "-ab",
        "ab-",
        "a" * 300,
        "naïve",
        "\uff57\uff45\uff42",  # "web" in fullwidth letters: \w to Python, not to Lightsail
        "web-dev\n",
    ],
    ids=["empty", "one-char", "space-bang", "leading-hyphen", "trailing-hyphen", "300-chars",
         "non-ascii", "fullwidth", "trailing-newline"],
)  # fmt: skip
def test_invalid_instance_name(untouched: RunningServer, name: str) -> None:
    """instanceName must match ``\\w[\\w\\-]*\\w``; botocore checks only that it is a string,
    so the server enforces the pattern: InvalidInputException, "user input does not conform
    to the validation rules of an input field".
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    seen = refused(untouched.client("admin"), "InvalidInputException", instanceName=name)
    assert "instanceName" in seen.message
    assert untouched.store.operations() == []


@pytest.mark.parametrize("force", ["true", 1, 0, None, [], {}, "false"], ids=repr)
def test_force_that_is_not_a_boolean(untouched: RunningServer, force: object) -> None:
    """``force`` is a Boolean; boto3 would not send anything else, so the body is signed with
    botocore's SigV4Auth and sent raw.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    body = json.dumps({"instanceName": "web-dev", "force": force}).encode()
    wire = signed_post(untouched, "admin", body)
    assert "force" in check_wire_error(wire, "InvalidInputException")["message"]
    assert untouched.store.operations() == []
    # control: with a boolean the same body passes validation (and finds no such instance)
    good = json.dumps({"instanceName": "no-such-instance", "force": False}).encode()
    check_wire_error(signed_post(untouched, "admin", good), "NotFoundException")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'"web-dev"',
        b"{}",
        b'{"instanceName": 7}',
        b'{"InstanceName": "web-dev"}',
        b'{"instanceName": "web-dev", "extra": 1}',
        b'{"instanceName": "web-dev", "instanceName": "web-prod"}',
        b'{"instanceName": "web-dev", "force": NaN}',
        b'{"instanceName": "web-\xff"}',
    ],
    ids=repr,
)
def test_body_that_is_not_a_stop_instance_request(untouched: RunningServer, body: bytes) -> None:
    """A body that is not a JSON object of StopInstance's members (instanceName required, force
    optional) does not conform: InvalidInputException, never a 500.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    check_wire_error(signed_post(untouched, "admin", body), "InvalidInputException")
    assert untouched.store.operations() == []


# -- NotFoundException and OperationFailureException -------------------------------------------


def test_missing_instance_is_not_found_to_a_caller_allowed_everywhere(
    server: RunningServer,
) -> None:
    """NotFoundException, "it cannot find a resource", for a caller allowed on every instance
    (``lightsail:*`` on ``*``), so that the answer reveals nothing the caller could not learn.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    admin = server.client("admin")
    seen = refused(admin, "NotFoundException", instanceName="no-such-instance")
    assert "no-such-instance" in seen.message
    # names are per region: west-dev lives in us-west-2, not in us-east-1
    refused(admin, "NotFoundException", instanceName="west-dev")
    # ...and per account: newcomer-dev belongs to another account
    refused(admin, "NotFoundException", instanceName="newcomer-dev")
    assert server.store.operations() == []


def test_stopping_a_stopped_instance_fails(server: RunningServer) -> None:
    """StopInstance "stops a specific Amazon Lightsail instance that is currently running";
    on a stopped one the operation fails to execute: OperationFailureException.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    admin = server.client("admin")
    refused(admin, "OperationFailureException", instanceName="web-stopped")
    # force is for an instance stuck in stopping; it does not stop a stopped instance again
    refused(admin, "OperationFailureException", instanceName="web-stopped", force=True)
    assert server.store.operations() == []
    assert state_of(server, "web-stopped") == "stopped"


def test_starting_a_running_instance_fails(server: RunningServer) -> None:
    """StartInstance starts a stopped instance; on a running one: OperationFailureException.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StartInstance.html"""
    admin = server.client("admin")
    refused(admin, "OperationFailureException", operation="start_instance", instanceName="web-dev")
    assert server.store.operations() == []
    # control: stop, then the start is accepted
    admin.stop_instance(instanceName="web-dev")
    [op] = admin.start_instance(instanceName="web-dev")["operations"]
    assert op["operationType"] == "StartInstance"


# -- ServiceException ---------------------------------------------------------------------------


@pytest.fixture
def broken_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A server whose database lost its ``instances`` table under it: every lookup fails inside
    the server, as a real fault would, with no mock of ours involved."""
    state = tmp_path / "state.db"
    with serve_world(WORLD, state=str(state)) as running:
        other = sqlite3.connect(state)
        try:
            other.execute("DROP TABLE instances")
            other.commit()
        finally:
            other.close()
        yield running


def log_size(server: RunningServer) -> int:
    return len(server.store.request_log())


def test_internal_failure_is_a_service_exception_with_no_detail(
    broken_server: RunningServer,
) -> None:
    """ServiceException, "a general service exception", travels with HTTP 500; the body says
    nothing of the failure's cause (no stack trace, no SQL).
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html
    With retries off (one attempt), exactly one request reaches the server."""
    admin = broken_server.principal("admin")
    client = client_with(
        broken_server,
        aws_access_key_id=admin.access_key_id,
        aws_secret_access_key=admin.secret_access_key,
    )
    before = log_size(broken_server)
    seen = refused(client, "ServiceException", instanceName="web-dev")
    assert seen.status == 500
    assert seen.attempts == 1
    assert log_size(broken_server) == before + 1
    [entry] = broken_server.store.request_log()[before:]
    assert (entry["operation"], entry["error_code"]) == ("StopInstance", "ServiceException")
    # the same through a raw request: the 500 comes before anything is acted on
    wire = signed_post(broken_server, "admin", b'{"instanceName": "web-dev"}')
    check_wire_error(wire, "ServiceException")
    # (store.operations() would fail too: it settles transitions in the lost table)
    db = sqlite3.connect(broken_server.store.path)
    try:
        assert db.execute("SELECT count(*) FROM operations").fetchone() == (0,)
    finally:
        db.close()


def test_service_exception_is_retried_by_botocore_and_each_attempt_is_served(
    broken_server: RunningServer,
) -> None:
    """botocore retries a 500 in its standard mode; with ``max_attempts=3`` (three calls in all,
    so two retries) the server sees three requests and answers each with ServiceException.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html
    (a 5xx is a server-side failure, the kind a client may retry)."""
    client = broken_server.client("admin", max_attempts=3)
    before = log_size(broken_server)
    with pytest.raises(client.exceptions.ServiceException) as info:
        client.stop_instance(instanceName="web-dev")
    retries = info.value.response["ResponseMetadata"]["RetryAttempts"]
    assert retries == 2
    codes = [e["error_code"] for e in broken_server.store.request_log()[before:]]
    assert codes == ["ServiceException"] * (retries + 1)


def test_server_client_with_max_attempts_1_makes_one_attempt(
    broken_server: RunningServer,
) -> None:
    """``RunningServer.client(..., max_attempts=1)`` (the default) is meant to turn retries
    off, so that a test sees exactly the requests it makes. botocore's ``max_attempts`` counts
    retries, not attempts: "setting this value to 2 will result in the request being retried
    at most two times after the initial request"; ``total_max_attempts`` of 1 "indicates that
    no requests will be retried" (botocore's ``Config`` docstring; the boto3 retries guide,
    https://boto3.amazonaws.com/v1/documentation/api/latest/guide/retries.html).
    A 500 is a server fault, which SDKs retry:
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html"""
    client = broken_server.client("admin")
    before = log_size(broken_server)
    with pytest.raises(client.exceptions.ServiceException):
        client.stop_instance(instanceName="web-dev")
    assert log_size(broken_server) == before + 1


# -- the table itself ----------------------------------------------------------------------------


def test_the_status_table_covers_every_modeled_error() -> None:
    """The statuses this module checks against cover exactly the errors botocore's Lightsail
    model lists for StopInstance (each one provoked by a test above), so a newly modeled error
    cannot go unnoticed.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    model = boto3.session.Session().client("lightsail", region_name="us-east-1").meta.service_model
    modeled = {shape.name for shape in model.operation_model("StopInstance").error_shapes}
    assert modeled == set(STATUS)
