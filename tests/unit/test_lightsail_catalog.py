"""Tests for the Lightsail service catalog, its data file and the script that refreshes it.

The facts under test come from AWS's Service Authorization Reference for Lightsail:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import sys
import time
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lspolicy.lightsail import (
    Catalog,
    CatalogDataError,
    UnknownActionError,
    UnknownResourceTypeError,
    catalog_from_dict,
    catalog_from_json,
    compile_action_pattern,
    load_catalog,
    suggest_action,
)

ROOT = Path(__file__).resolve().parents[2]
DATA_FILE = ROOT / "lspolicy" / "lightsail" / "data" / "service.json"
FIXTURE = Path(__file__).parent / "fixtures" / "lightsail_sar_sample.html"
SAR_URL = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html"
)
SAR_PAGE_TITLE = "Actions, resources, and condition keys for Amazon Lightsail"
EXAMPLE_ARN = (
    "arn:aws:lightsail:us-east-1:111122223333:Instance/244ad76f-8aad-4741-809f-12345EXAMPLE"
)


@cache
def refresh_script() -> ModuleType:
    """Import scripts/refresh_lightsail_data.py (scripts/ is not a package)."""
    path = ROOT / "scripts" / "refresh_lightsail_data.py"
    spec = importlib.util.spec_from_file_location("refresh_lightsail_data", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


# --------------------------------------------------------------------------- the data file


def test_data_file_loads_with_its_source(catalog: Catalog) -> None:
    """The data names the page it came from and when.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    assert catalog.source.url == SAR_URL
    assert catalog.source.title == "Actions, resources, and condition keys for Amazon Lightsail"
    assert isinstance(catalog.source.retrieved, datetime.date)
    assert len(catalog.actions) == 161
    assert len(catalog.resource_types) == 19
    assert set(catalog.condition_keys) == {
        "aws:RequestTag/${TagKey}",
        "aws:ResourceTag/${TagKey}",
        "aws:TagKeys",
    }
    assert catalog.condition_keys["aws:TagKeys"].type == "ArrayOfString"
    assert catalog.notes
    assert load_catalog() is catalog  # cached


def test_stop_instance_is_scoped_to_instance_and_supports_resource_tags(
    catalog: Catalog,
) -> None:
    """StopInstance: Write, Instance* required, and the Instance resource type carries
    aws:ResourceTag/${TagKey}, so ``aws:ResourceTag/env`` is supported.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    stop = catalog.action("StopInstance")
    assert stop.iam_name == "lightsail:StopInstance"
    assert stop.access_level == "Write"
    assert stop.required_resource_types == ("Instance",)
    assert stop.provenance == "service-authorization-reference"
    assert stop.description == "Grants permission to stop an instance that is in a running state"
    keys = [key.name for key in catalog.condition_keys_for("lightsail:StopInstance")]
    assert keys == ["aws:ResourceTag/${TagKey}"]
    assert catalog.supports_condition_key(stop, "aws:ResourceTag/${TagKey}")
    assert catalog.supports_condition_key(stop, "aws:ResourceTag/env")
    assert catalog.supports_condition_key(stop, "AWS:resourcetag/Team/Sub")
    assert not catalog.supports_condition_key(stop, "aws:ResourceTag/")
    assert not catalog.supports_condition_key(stop, "aws:RequestTag/env")
    assert not catalog.supports_condition_key(stop, "aws:TagKeys")


def test_condition_keys_for_create_tag_and_read_actions(catalog: Catalog) -> None:
    """Create actions take request tags; TagResource takes request and resource tags; plain
    reads with no resource type take none.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    create = {key.name for key in catalog.condition_keys_for("CreateInstances")}
    assert create == {"aws:RequestTag/${TagKey}", "aws:TagKeys"}
    tag = {key.name for key in catalog.condition_keys_for("TagResource")}
    assert tag == {"aws:RequestTag/${TagKey}", "aws:TagKeys", "aws:ResourceTag/${TagKey}"}
    untag = {key.name for key in catalog.condition_keys_for("UntagResource")}
    assert untag == {"aws:TagKeys", "aws:ResourceTag/${TagKey}"}
    assert catalog.condition_keys_for("GetInstance") == ()
    assert catalog.action("TagResource").access_level == "Tagging"
    assert not catalog.action("GetInstance").supports_resource_level_permissions
    assert catalog.condition_key("aws:RequestTag/owner") is not None
    assert catalog.condition_key("aws:SourceIp") is None


def test_tag_on_create_actions_also_authorize_tag_resource(catalog: Catalog) -> None:
    """Creating with tags also authorizes lightsail:TagResource; exactly the actions that take
    aws:RequestTag (TagResource aside) list it, including CreateContactMethod and PutAlarm.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    request_tagged = {
        a.name
        for a in catalog.actions.values()
        if "aws:RequestTag/${TagKey}" in a.condition_keys and a.name != "TagResource"
    }
    assert {"CreateContactMethod", "PutAlarm", "CreateInstances"} <= request_tagged
    assert set(catalog.operation_extra_actions) == request_tagged
    assert all(extra == ("TagResource",) for extra in catalog.operation_extra_actions.values())
    names = [a.name for a in catalog.actions_for_operation("CreateInstances")]
    assert names == ["CreateInstances", "TagResource"]
    assert [a.name for a in catalog.actions_for_operation("StopInstance")] == ["StopInstance"]
    assert catalog.actions_for_operation("NoSuchOperation") == ()
    put_alarm = {key.name for key in catalog.condition_keys_for("PutAlarm")}
    assert put_alarm == {"aws:RequestTag/${TagKey}", "aws:TagKeys"}


def test_dependent_actions_and_optional_resource_types(catalog: Catalog) -> None:
    """ExportSnapshot takes either snapshot type (neither required) and needs IAM actions too.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    export = catalog.action("ExportSnapshot")
    assert [(r.name, r.required) for r in export.resource_types] == [
        ("DiskSnapshot", False),
        ("InstanceSnapshot", False),
    ]
    assert export.dependent_actions == ("iam:CreateServiceLinkedRole", "iam:PutRolePolicy")
    instance_actions = {a.name for a in catalog.actions_for_resource_type("Instance")}
    assert {"StopInstance", "StartInstance", "RebootInstance", "TagResource"} <= instance_actions
    assert "GetInstance" not in instance_actions


# --------------------------------------------------------------------------- ARNs


def test_arn_format_matches_the_lightsail_docs(catalog: Catalog) -> None:
    """Instance ARNs are ``arn:${Partition}:lightsail:${Region}:${Account}:Instance/${Id}`` and
    carry the resource id, e.g. the docs' example instance ARN.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    instance = catalog.resource_type("Instance")
    assert instance.arn == "arn:${Partition}:lightsail:${Region}:${Account}:Instance/${Id}"
    assert instance.condition_keys == ("aws:ResourceTag/${TagKey}",)
    built = catalog.arn_for(
        "Instance",
        region="us-east-1",
        account="111122223333",
        id="244ad76f-8aad-4741-809f-12345EXAMPLE",
    )
    assert built == EXAMPLE_ARN
    china = catalog.arn_for(
        "StaticIp", region="cn-north-1", account="1", id="x", partition="aws-cn"
    )
    assert china == "arn:aws-cn:lightsail:cn-north-1:1:StaticIp/x"
    for name, resource_type in catalog.resource_types.items():
        assert resource_type.arn.endswith(f":{name}/${{Id}}")
    with pytest.raises(UnknownResourceTypeError):
        catalog.arn_for("Bucketz", region="us-east-1", account="1", id="x")
    with pytest.raises(ValueError, match="region"):
        catalog.arn_for("Instance", region="", account="1", id="x")


def test_resource_type_of_parses_arns(catalog: Catalog) -> None:
    """ARN parsing picks the type by its exact, case-sensitive segment.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    found = catalog.resource_type_of(EXAMPLE_ARN)
    assert found is not None and found.name == "Instance"
    parsed = catalog.parse_arn(EXAMPLE_ARN)
    assert parsed is not None
    assert (parsed.partition, parsed.region, parsed.account) == ("aws", "us-east-1", "111122223333")
    assert parsed.id == "244ad76f-8aad-4741-809f-12345EXAMPLE"
    assert str(parsed) == EXAMPLE_ARN
    snapshot = catalog.resource_type_of("arn:aws:lightsail:us-east-1:1:InstanceSnapshot/abc")
    assert snapshot is not None and snapshot.name == "InstanceSnapshot"
    wildcard = catalog.resource_type_of("arn:aws:lightsail:*:*:Instance/*")
    assert wildcard is not None and wildcard.name == "Instance"
    for not_lightsail in (
        "arn:aws:lightsail:us-east-1:1:instance/abc",
        "arn:aws:ec2:us-east-1:1:instance/i-123",
        "arn:aws:lightsail:us-east-1:1:Instance",
        "arn:aws:lightsail:us-east-1:1:Instance/",
        "not an arn",
        "*",
    ):
        assert catalog.resource_type_of(not_lightsail) is None, not_lightsail


# --------------------------------------------------------------------------- botocore


def test_every_botocore_operation_is_an_action_or_listed(catalog: Catalog) -> None:
    """Every Lightsail API operation in botocore's model has an IAM action of the same name or is
    listed in ``operations_without_action``; every action that is no operation is listed too.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    loaders = pytest.importorskip("botocore.loaders")
    model = loaders.Loader().load_service_model("lightsail", "service-2")
    operations = set(model["operations"])
    uncovered = operations - set(catalog.actions) - set(catalog.operations_without_action)
    assert not uncovered, f"refresh the data file; no action for {sorted(uncovered)}"
    iam_only = set(catalog.actions) - operations
    assert iam_only == set(catalog.actions_without_operation)
    assert refresh_script().botocore_gaps(json.loads(DATA_FILE.read_text("utf-8"))) == []


# --------------------------------------------------------------------------- lookups


def test_action_lookup_is_case_insensitive(catalog: Catalog) -> None:
    """IAM matches action names case-insensitively, with or without the ``lightsail:`` prefix.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    for spelling in (
        "StopInstance",
        "stopinstance",
        "lightsail:STOPINSTANCE",
        "LightSail:StopInstance",
    ):
        found = catalog.find_action(spelling)
        assert found is not None and found.name == "StopInstance", spelling
    assert catalog.find_action("ec2:StopInstance") is None
    assert catalog.find_action("StopInstances") is None


def test_unknown_action_suggests_close_names(catalog: Catalog) -> None:
    """``StopInstances`` is not an action; the hint names ``StopInstance`` first.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    assert suggest_action("StopInstances")[0] == "StopInstance"
    assert catalog.suggest_action("lightsail:rebootinstanse")[0] == "RebootInstance"
    assert catalog.suggest_action("zzzz") == ()
    with pytest.raises(UnknownActionError) as raised:
        catalog.action("lightsail:StopInstances")
    assert str(raised.value) == "unknown lightsail action `lightsail:StopInstances`"
    assert raised.value.hint is not None
    assert raised.value.hint.startswith("did you mean `lightsail:StopInstance`")


# --------------------------------------------------------------------------- wildcards


def names(catalog: Catalog, pattern: str) -> set[str]:
    return {action.name for action in catalog.actions_matching(pattern)}


def test_action_wildcards(catalog: Catalog) -> None:
    """``*`` and ``?`` wildcards over the whole ``lightsail:Action`` name, case-insensitively.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    assert names(catalog, "lightsail:Stop*") == {
        "StopGUISession",
        "StopInstance",
        "StopRelationalDatabase",
    }
    assert names(catalog, "LIGHTSAIL:stop*") == names(catalog, "lightsail:Stop*")
    get_instance = names(catalog, "lightsail:Get*Instance*")
    assert {
        "GetInstance",
        "GetInstances",
        "GetInstanceState",
        "GetInstanceSnapshot",
    } <= get_instance
    assert all(n.startswith("Get") and "Instance" in n for n in get_instance)
    assert names(catalog, "lightsail:?topInstance") == {"StopInstance"}
    assert names(catalog, "lightsail:St??tInstance") == {"StartInstance"}
    assert names(catalog, "lightsail:StopInstance") == {"StopInstance"}
    assert names(catalog, "lightsail:StopInstance?") == set()
    assert len(names(catalog, "*")) == len(catalog.actions)
    assert len(names(catalog, "lightsail:*")) == len(catalog.actions)
    assert names(catalog, "light*:*Tag*") == {"TagResource", "UntagResource"}
    assert names(catalog, "ec2:*") == set()
    assert names(catalog, "StopInstance") == set()  # no service prefix: IAM matches nothing


def _reference_match(pattern: str, text: str) -> bool:
    """Textbook dynamic-programming wildcard match, to check the linear matcher against."""
    pattern, text = pattern.casefold(), text.casefold()
    row = [True] + [False] * len(text)
    for p in pattern:
        if p == "*":
            for j in range(1, len(text) + 1):
                row[j] = row[j] or row[j - 1]
        else:
            row = [False] + [row[j] and p in ("?", text[j]) for j in range(len(text))]
    return row[-1]


@given(
    pattern=st.text(alphabet="ab*?", max_size=10),
    text=st.text(alphabet="abAB", max_size=12),
)
def test_wildcard_matcher_agrees_with_reference(pattern: str, text: str) -> None:
    """The segment matcher gives the same answers as the dynamic-programming definition.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    assert compile_action_pattern(pattern).matches(text) == _reference_match(pattern, text)


def test_pathological_pattern_is_fast(catalog: Catalog) -> None:
    """Patterns that make backtracking matchers explode take linear-ish time here.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    evil = "lightsail:" + "*a" * 60 + "*b"
    start = time.perf_counter()
    assert catalog.actions_matching(evil) == ()
    assert not compile_action_pattern("*a" * 200 + "*b").matches("a" * 20_000)
    assert compile_action_pattern("*a" * 200 + "*b").matches("a" * 20_000 + "b")
    assert not compile_action_pattern("a?" * 300 + "*c").matches("ab" * 5_000)
    assert time.perf_counter() - start < 2.0


# --------------------------------------------------------------------------- checking the data


def _minimal() -> dict[str, Any]:
    return {
        "service": "lightsail",
        "source": {"title": "t", "url": SAR_URL, "retrieved": "2026-01-01"},
        "actions": {
            "StopInstance": {
                "access_level": "Write",
                "condition_keys": [],
                "dependent_actions": [],
                "description": "d",
                "provenance": "service-authorization-reference",
                "resource_types": [{"condition_keys": [], "name": "Instance", "required": True}],
            }
        },
        "resource_types": {
            "Instance": {
                "arn": "arn:${Partition}:lightsail:${Region}:${Account}:Instance/${Id}",
                "condition_keys": ["aws:ResourceTag/${TagKey}"],
            }
        },
        "condition_keys": {"aws:ResourceTag/${TagKey}": {"type": "String", "description": "d"}},
    }


def test_bad_data_reports_every_problem() -> None:
    """A broken data file fails with every problem listed, each with its JSON path.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    assert len(catalog_from_dict(_minimal()).actions) == 1
    data = _minimal()
    data["actions"]["stopinstance"] = dict(
        _minimal()["actions"]["StopInstance"], access_level="Wrte"
    )
    data["actions"]["StopInstance"]["resource_types"][0]["name"] = "Instanse"
    data["actions"]["StopInstance"]["condition_keys"] = ["aws:RequestTag/${TagKey}"]
    data["actions"]["StopInstance"]["provenance"] = "guess"
    data["resource_types"]["Instance"]["arn"] = "arn:aws:lightsail:::Instance"
    data["operation_extra_actions"] = {"StopInstance": ["StopInstance", "TagResource"]}
    with pytest.raises(CatalogDataError) as raised:
        catalog_from_dict(data)
    paths = {problem.path for problem in raised.value.problems}
    assert paths == {
        "actions.stopinstance",
        "actions.stopinstance.access_level",
        "actions.StopInstance.resource_types[0]",
        "actions.StopInstance.condition_keys",
        "actions.StopInstance.provenance",
        "resource_types.Instance.arn",
        "operation_extra_actions.StopInstance",
    }
    assert len(raised.value.problems) == 8


def test_duplicate_json_keys_are_an_error() -> None:
    """A key written twice in one JSON object is an error, not a silent overwrite.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    text = json.dumps(_minimal(), indent=1)
    doubled = text.replace('"service": "lightsail",', '"service": "lightsail", "service": "x",')
    assert doubled != text
    with pytest.raises(CatalogDataError, match="duplicate key `service`"):
        catalog_from_json(doubled)


# --------------------------------------------------------------------------- the refresh script


FIXTURE_ACTIONS: dict[str, tuple[str, list[tuple[str, bool]], list[str], list[str]]] = {
    # name: (access level, [(resource type, required)], action condition keys, dependent actions)
    "AttachStaticIp": ("Write", [("Instance", True), ("StaticIp", True)], [], []),
    "CreateGUISessionAccessDetails": ("Write", [("Instance", True)], [], []),
    "CreateInstanceSnapshot": (
        "Write",
        [("Instance", True)],
        ["aws:RequestTag/${TagKey}", "aws:TagKeys"],
        [],
    ),
    "CreateInstances": ("Write", [], ["aws:RequestTag/${TagKey}", "aws:TagKeys"], []),
    "ExportSnapshot": (
        "Write",
        [("DiskSnapshot", False), ("InstanceSnapshot", False)],
        [],
        ["iam:CreateServiceLinkedRole", "iam:PutRolePolicy"],
    ),
    "GetInstance": ("Read", [], [], []),
    "StopInstance": ("Write", [("Instance", True)], [], []),
    "TagResource": (
        "Tagging",
        [("Instance", False), ("StaticIp", False)],
        ["aws:RequestTag/${TagKey}", "aws:TagKeys"],
        [],
    ),
}


def test_refresh_parser_reproduces_the_fixture() -> None:
    """The page parser reads the three tables of a page laid out like the real one (rowspans,
    ``<p>`` items, ARNs split over spans, an extra operations table to ignore).

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    page = refresh_script().parse_page(FIXTURE.read_text("utf-8"))
    assert set(page) == {"actions", "resource_types", "condition_keys"}
    assert list(page["actions"]) == list(FIXTURE_ACTIONS)
    for name, (level, resource_types, keys, dependents) in FIXTURE_ACTIONS.items():
        action = page["actions"][name]
        assert action["access_level"] == level, name
        assert [(r["name"], r["required"]) for r in action["resource_types"]] == resource_types
        assert all(r["condition_keys"] == [] for r in action["resource_types"])
        assert action["condition_keys"] == keys, name
        assert action["dependent_actions"] == dependents, name
        assert action["provenance"] == "service-authorization-reference"
    assert page["actions"]["CreateGUISessionAccessDetails"]["description"] == (
        "Grants permission to create URLs that are used to access an instance's graphical user "
        "interface (GUI) session"
    )
    arn = "arn:${{Partition}}:lightsail:${{Region}}:${{Account}}:{}/${{Id}}"
    tagged = ["aws:ResourceTag/${TagKey}"]
    assert page["resource_types"] == {
        "Instance": {"arn": arn.format("Instance"), "condition_keys": tagged},
        "StaticIp": {"arn": arn.format("StaticIp"), "condition_keys": tagged},
        "InstanceSnapshot": {"arn": arn.format("InstanceSnapshot"), "condition_keys": tagged},
        "DiskSnapshot": {"arn": arn.format("DiskSnapshot"), "condition_keys": tagged},
        "Alarm": {"arn": arn.format("Alarm"), "condition_keys": []},
    }
    assert page["condition_keys"] == {
        "aws:RequestTag/${TagKey}": {
            "description": (
                "Filters access by a tag key and value pair that is allowed in the request"
            ),
            "type": "String",
        },
        "aws:ResourceTag/${TagKey}": {
            "description": "Filters access by a tag key and value pair of a resource",
            "type": "String",
        },
        "aws:TagKeys": {
            "description": "Filters access by a list of tag keys that are allowed in the request",
            "type": "ArrayOfString",
        },
    }


def test_refreshed_fixture_agrees_with_the_shipped_data(catalog: Catalog) -> None:
    """The fixture's rows are copies of real rows, so they must match the data file.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    script = refresh_script()
    page = script.parse_page(FIXTURE.read_text("utf-8"))
    shipped = json.loads(DATA_FILE.read_text("utf-8"))
    for name, action in page["actions"].items():
        expected = dict(shipped["actions"][name])
        if name == "TagResource":  # the fixture keeps two of its fourteen resource types
            expected["resource_types"] = [
                r for r in expected["resource_types"] if r["name"] in ("Instance", "StaticIp")
            ]
        assert action == expected, name
    for name, resource_type in page["resource_types"].items():
        assert resource_type == shipped["resource_types"][name], name
    assert page["condition_keys"] == shipped["condition_keys"]
    # A document built from the fixture loads as a catalog.
    doc = script.build_document(page, retrieved="2026-01-02")
    assert len(catalog_from_dict(doc).actions) == len(FIXTURE_ACTIONS)


def test_refresh_keeps_curated_fields() -> None:
    """Notes, the botocore cross-check lists and botocore-only actions survive a refresh.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    script = refresh_script()
    page = script.parse_page(FIXTURE.read_text("utf-8"))
    botocore_only = dict(page["actions"]["GetInstance"], provenance="botocore-model")
    previous = {
        "notes": ["kept"],
        "operations_without_action": {"SomeOperation": "why"},
        "actions_without_operation": {},
        "operation_extra_actions": {"CreateInstances": ["TagResource"]},
        "actions": {"NewThing": botocore_only, "GetInstance": botocore_only},
    }
    doc = script.build_document(page, retrieved="2026-01-02", previous=previous)
    assert doc["notes"] == ["kept"]
    assert doc["operations_without_action"] == {"SomeOperation": "why"}
    assert doc["operation_extra_actions"] == {"CreateInstances": ["TagResource"]}
    assert doc["actions"]["NewThing"]["provenance"] == "botocore-model"
    assert doc["actions"]["GetInstance"]["provenance"] == "service-authorization-reference"
    assert doc["source"] == {"retrieved": "2026-01-02", "title": SAR_PAGE_TITLE, "url": SAR_URL}


def test_refresh_check_mode_reports_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--check`` exits 1 with a diff when the file would change, 0 once it is current.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    script = refresh_script()
    target = tmp_path / "service.json"
    target.write_text("{}\n", encoding="utf-8")
    args = ["--from-file", str(FIXTURE), "--data", str(target)]
    assert script.main([*args, "--check", "--retrieved", "2026-01-02"]) == 1
    assert '+  "actions": {' in capsys.readouterr().out
    assert target.read_text(encoding="utf-8") == "{}\n"
    assert script.main([*args, "--retrieved", "2026-01-02"]) == 0
    written = target.read_bytes()
    assert script.main([*args, "--check"]) == 0
    assert target.read_bytes() == written
    assert catalog_from_json(written.decode("utf-8")).source.retrieved == datetime.date(2026, 1, 2)


def test_refresh_rejects_a_page_without_the_tables(tmp_path: Path) -> None:
    """A page without the three tables is an error (exit 2), and nothing is written.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    page = tmp_path / "page.html"
    page.write_text("<html><body><p>Service unavailable</p></body></html>", encoding="utf-8")
    target = tmp_path / "service.json"
    assert refresh_script().main(["--from-file", str(page), "--data", str(target)]) == 2
    assert not target.exists()


def test_data_file_bytes_are_stable() -> None:
    """Loading the data file and dumping it with the script's serializer changes no byte.

    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html
    """
    text = DATA_FILE.read_text(encoding="utf-8")
    assert refresh_script().dumps(json.loads(text)) == text
