"""The emulated endpoint, end to end: the real server on a free port, a real boto3 client.

StopInstance's contract: https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html
(restated in ../shared/spec/stop-instance.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from lspolicy.testing import RunningServer, serve_world

WORLD = Path(__file__).resolve().parents[2] / "policies" / "world.yaml"


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with serve_world(WORLD) as running:
        yield running


def test_stop_then_watch_the_state_change(server: RunningServer) -> None:
    """StopInstance returns the operation it started; GetInstanceState shows the new state."""
    alice = server.client("alice")
    assert alice.get_instance_state(instanceName="web-dev")["state"] == {
        "code": 16,
        "name": "running",
    }
    [op] = alice.stop_instance(instanceName="web-dev")["operations"]
    assert (op["operationType"], op["resourceName"], op["resourceType"]) == (
        "StopInstance",
        "web-dev",
        "Instance",
    )
    assert op["location"] == {"availabilityZone": "us-east-1a", "regionName": "us-east-1"}
    assert alice.get_instance_state(instanceName="web-dev")["state"]["name"] == "stopped"
    [start] = alice.start_instance(instanceName="web-dev")["operations"]
    assert start["operationType"] == "StartInstance"
    assert alice.get_instance(instanceName="web-dev")["instance"]["state"]["name"] == "running"


def test_denied_and_missing_look_the_same_to_a_caller_without_permission(
    server: RunningServer,
) -> None:
    """No existence oracle: AccessDeniedException, same status and message shape, whether the
    instance exists (data-dev, another team's) or not."""
    alice = server.client("alice")
    errors = []
    for name in ("data-dev", "no-such-instance"):
        with pytest.raises(alice.exceptions.AccessDeniedException) as info:
            alice.stop_instance(instanceName=name)
        errors.append(info.value.response)
    assert errors[0]["Error"] == errors[1]["Error"]
    assert (
        errors[0]["ResponseMetadata"]["HTTPStatusCode"]
        == errors[1]["ResponseMetadata"]["HTTPStatusCode"]
        == 400
    )


def test_unsigned_is_unauthenticated_and_wrong_secret_is_denied(server: RunningServer) -> None:
    """Lightsail's CommonErrors: UnauthenticatedException when the caller is not authenticated
    at all; AccessDeniedException for invalid credentials."""
    unsigned = boto3.client(
        "lightsail",
        endpoint_url=server.url,
        region_name="us-east-1",
        config=Config(signature_version=UNSIGNED),
    )
    with pytest.raises(unsigned.exceptions.UnauthenticatedException):
        unsigned.stop_instance(instanceName="web-dev")
    alice = server.principal("alice")
    wrong = boto3.client(
        "lightsail",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=alice.access_key_id,
        aws_secret_access_key="not-the-right-secret-at-all",
    )
    with pytest.raises(wrong.exceptions.AccessDeniedException):
        wrong.stop_instance(instanceName="web-dev")
    # nothing changed
    assert (
        server.client("alice").get_instance_state(instanceName="web-dev")["state"]["name"]
        == "running"
    )


def test_invalid_name_reaches_the_server_and_gets_invalid_input(server: RunningServer) -> None:
    """botocore checks only that instanceName is a string; the server enforces the pattern."""
    alice = server.client("alice")
    with pytest.raises(alice.exceptions.InvalidInputException) as info:
        alice.stop_instance(instanceName="bad name!")
    assert "instanceName" in info.value.response["Error"]["Message"]


def test_stop_of_a_stopped_instance_fails_and_records_no_operation(server: RunningServer) -> None:
    alice = server.client("alice")
    alice.stop_instance(instanceName="web-dev")
    with pytest.raises(alice.exceptions.OperationFailureException):
        alice.stop_instance(instanceName="web-dev")
    assert [o.operation_type for o in server.store.operations()] == ["StopInstance"]


def test_get_instance_is_authorized_on_star_as_the_reference_says(tmp_path: Path) -> None:
    """The Service Authorization Reference gives lightsail:GetInstance no resource type
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html):
    only "Resource": "*" grants it; an instance-ARN pattern or a tag condition does not."""
    import json  # noqa: PLC0415

    def policy(resource: str) -> str:
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": {
                    "Effect": "Allow",
                    "Action": "lightsail:GetInstance",
                    "Resource": resource,
                },
            }
        )

    (tmp_path / "star.json").write_text(policy("*"))
    (tmp_path / "arn.json").write_text(policy("arn:aws:lightsail:*:111122223333:Instance/*"))
    (tmp_path / "world.yaml").write_text(
        "accounts: [{id: '111122223333'}]\n"
        "principals:\n"
        "  - {name: star, arn: 'arn:aws:iam::111122223333:user/star', access_key_id: AKIASTAR000000000001,"
        " secret_access_key: star-secret-0000000000, policies: [star.json]}\n"
        "  - {name: arn, arn: 'arn:aws:iam::111122223333:user/arn', access_key_id: AKIAARN0000000000001,"
        " secret_access_key: arn-secret-00000000000, policies: [arn.json]}\n"
        "instances: [{name: web-1, region: us-east-1, tags: {env: dev}}]\n"
    )
    with serve_world(tmp_path / "world.yaml") as running:
        assert (
            running.client("star").get_instance(instanceName="web-1")["instance"]["name"] == "web-1"
        )
        with pytest.raises(running.client("star").exceptions.NotFoundException):
            running.client("star").get_instance(instanceName="no-such")
        scoped = running.client("arn")
        for name in ("web-1", "no-such"):
            with pytest.raises(scoped.exceptions.AccessDeniedException):
                scoped.get_instance(instanceName=name)
