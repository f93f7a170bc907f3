"""GetInstances on the emulated endpoint: the real server on a free port, real boto3 clients.

Contract: https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstances.html
(request ``pageToken``, optional; answer ``instances`` and ``nextPageToken``, which "is not
returned if there are no more results"). Authorization: the Service Authorization Reference gives
``lightsail:GetInstances`` no resource type, so only ``"Resource": "*"`` grants it
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html).
The page size and the token's format are not documented; ours are in `lspolicy.server.app` and
`lspolicy.server.pages`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lspolicy.server.app import GET_INSTANCES_PAGE_SIZE
from lspolicy.testing import RunningServer, serve_world

A, B = "111122223333", "444455556666"
EAST_COUNT = 2 * GET_INSTANCES_PAGE_SIZE + 10  # three pages


def _policy(resource: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": [
                        "lightsail:GetInstances",
                        "lightsail:GetInstance",
                        "lightsail:StopInstance",
                    ],
                    "Resource": resource,
                }
            ],
        }
    )


def write_world(where: Path) -> Path:
    """Account A: EAST_COUNT instances in us-east-1, 3 in eu-west-1; account B: 2 in us-east-1."""
    (where / "star.json").write_text(_policy("*"))
    (where / "arn.json").write_text(_policy(f"arn:aws:lightsail:*:{A}:Instance/*"))
    lines = [
        f"accounts: [{{id: '{A}'}}, {{id: '{B}'}}]",
        "principals:",
        f"  - {{name: reader, arn: 'arn:aws:iam::{A}:user/reader', access_key_id: AKIAREADER0000000001,"
        " secret_access_key: reader-secret-000000000, policies: [star.json]}",
        f"  - {{name: scoped, arn: 'arn:aws:iam::{A}:user/scoped', access_key_id: AKIASCOPED0000000001,"
        " secret_access_key: scoped-secret-000000000, policies: [arn.json]}",
        f"  - {{name: other, arn: 'arn:aws:iam::{B}:user/other', access_key_id: AKIAOTHER00000000001,"
        " secret_access_key: other-secret-0000000000, policies: [star.json]}",
        "instances:",
    ]
    for i in range(EAST_COUNT):
        lines.append(
            f"  - {{name: web-{i:03d}, account: '{A}', region: us-east-1, tags: {{n: '{i}'}}}}"
        )
    for i in range(3):
        lines.append(
            f"  - {{name: eu-{i}, account: '{A}', region: eu-west-1, availability_zone: eu-west-1b}}"
        )
    lines.append(f"  - {{name: b-1, account: '{B}', region: us-east-1, state: stopped}}")
    lines.append(f"  - {{name: b-2, account: '{B}', region: us-east-1}}")
    (where / "world.yaml").write_text("\n".join(lines) + "\n")
    return where / "world.yaml"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with serve_world(write_world(tmp_path)) as running:
        yield running


def test_boto3_paginator_walks_every_page_of_the_callers_account_and_region(
    server: RunningServer,
) -> None:
    """boto3's own paginator (botocore's paginators-1.json: input token ``pageToken``, output
    token ``nextPageToken``, result key ``instances``) sees every instance of the caller's
    account in the signed region once, in pages of GET_INSTANCES_PAGE_SIZE, and no other
    account's or region's."""
    reader = server.client("reader", region="us-east-1")
    pages = list(reader.get_paginator("get_instances").paginate())
    assert [len(p["instances"]) for p in pages] == [25, 25, 10]
    assert "nextPageToken" not in pages[-1]
    names = [i["name"] for p in pages for i in p["instances"]]
    assert names == [f"web-{i:03d}" for i in range(EAST_COUNT)]
    eu = server.client("reader", region="eu-west-1").get_instances()
    assert [i["name"] for i in eu["instances"]] == ["eu-0", "eu-1", "eu-2"]
    assert "nextPageToken" not in eu
    other = server.client("other", region="us-east-1").get_instances()["instances"]
    assert [(i["name"], i["state"]["name"]) for i in other] == [
        ("b-1", "stopped"),
        ("b-2", "running"),
    ]


def test_an_instance_has_the_members_the_world_can_fill(server: RunningServer) -> None:
    """Each instance carries name, ARN (by id), supportCode, createdAt, location, resourceType,
    tags and state, like GetInstance; blueprintId and bundleId are omitted (the world holds
    none; every member of Lightsail's Instance shape is optional in botocore's model)."""
    first = server.client("reader", region="eu-west-1").get_instances()["instances"][0]
    single = server.client("reader", region="eu-west-1").get_instance(instanceName="eu-0")
    assert set(first) == {
        "name",
        "arn",
        "supportCode",
        "createdAt",
        "location",
        "resourceType",
        "tags",
        "state",
    }
    assert first == single["instance"]
    assert first["location"] == {"availabilityZone": "eu-west-1b", "regionName": "eu-west-1"}
    assert first["arn"].startswith(f"arn:aws:lightsail:eu-west-1:{A}:Instance/")
    assert first["state"] == {"code": 16, "name": "running"}
    east = server.client("reader", region="us-east-1").get_instances()["instances"]
    assert east[7]["tags"] == [{"key": "n", "value": "7"}]


def test_a_listing_shows_the_state_a_stop_left(server: RunningServer) -> None:
    """The listing reads the same state store as StopInstance writes."""
    reader = server.client("reader", region="eu-west-1")
    reader.stop_instance(instanceName="eu-1")
    states = {i["name"]: i["state"]["name"] for i in reader.get_instances()["instances"]}
    assert states == {"eu-0": "running", "eu-1": "stopped", "eu-2": "running"}


def test_bad_and_foreign_page_tokens_are_invalid_input(server: RunningServer) -> None:
    """A token not issued by this endpoint for the caller's account and region is refused with
    InvalidInputException (the reference documents the error for invalid input; it is silent on
    what a foreign token gets, so this is our choice, stated in lspolicy.server.pages)."""
    reader = server.client("reader", region="us-east-1")
    token = reader.get_instances()["nextPageToken"]
    assert [i["name"] for i in reader.get_instances(pageToken=token)["instances"]][:1] == [
        "web-025"
    ]
    head, _, tail = token.partition(".")
    tampered = head[:-1] + ("A" if head[-1] != "A" else "B") + "." + tail
    callers = [
        (server.client("reader", region="us-east-1"), "not-a-token"),
        (server.client("reader", region="us-east-1"), ""),
        (server.client("reader", region="us-east-1"), tampered),
        (server.client("reader", region="eu-west-1"), token),  # another region
        (server.client("other", region="us-east-1"), token),  # another account
    ]
    for client, bad in callers:
        with pytest.raises(client.exceptions.InvalidInputException) as info:
            client.get_instances(pageToken=bad)
        assert "pageToken" in info.value.response["Error"]["Message"]


def test_a_policy_scoped_to_instance_arns_does_not_grant_get_instances(
    server: RunningServer,
) -> None:
    """GetInstances has no resource type, so an Allow on ``...:Instance/*`` does not grant it:
    AccessDeniedException, and the request log records the denial."""
    scoped = server.client("scoped", region="us-east-1")
    with pytest.raises(scoped.exceptions.AccessDeniedException) as info:
        scoped.get_instances()
    assert "lightsail:GetInstances" in info.value.response["Error"]["Message"]
    rows = [r for r in server.store.request_log() if r["operation"] == "GetInstances"]
    assert [(r["decision"], r["error_code"], r["principal_arn"]) for r in rows] == [
        ("denied", "AccessDeniedException", f"arn:aws:iam::{A}:user/scoped")
    ]
    server.client("reader", region="us-east-1").get_instances()
    last = server.store.request_log()[-1]
    assert (last["operation"], last["decision"], last["account"], last["region"]) == (
        "GetInstances",
        "allowed",
        A,
        "us-east-1",
    )


def test_a_token_from_another_server_process_is_foreign(tmp_path: Path) -> None:
    """Tokens are signed with a key drawn per server process: the same world served twice
    does not accept the other's token (an emulator restart invalidates tokens)."""
    world = write_world(tmp_path)
    with serve_world(world) as first, serve_world(world) as second:
        token = first.client("reader", region="us-east-1").get_instances()["nextPageToken"]
        other = second.client("reader", region="us-east-1")
        with pytest.raises(other.exceptions.InvalidInputException):
            other.get_instances(pageToken=token)
        assert first.client("reader", region="us-east-1").get_instances(pageToken=token)[
            "instances"
        ]


def test_a_token_with_stray_characters_is_not_the_token(server: RunningServer) -> None:
    """base64 decoders skip characters outside the alphabet; the token must be sent exactly as
    issued, so a padded or decorated copy is refused, not silently read as the original."""
    reader = server.client("reader", region="us-east-1")
    token = reader.get_instances()["nextPageToken"]
    head, _, tail = token.partition(".")
    for bad in (f"{head}!.{tail}", f"{head}.{tail}==", f" {token}"):
        with pytest.raises(reader.exceptions.InvalidInputException):
            reader.get_instances(pageToken=bad)
