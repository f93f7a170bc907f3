"""The readers of AWS's exports: shapes exactly as the CLI writes them, pages, bad input.

- GetAccountAuthorizationDetails response fields and the note that "policies returned by this
  operation are URL-encoded compliant with RFC 3986":
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
- GetInstances (``instances``, ``nextPageToken``) and Instance (``name``, ``arn``,
  ``location.regionName``, ``tags`` of ``{key, value}``, ``state.name``, ``resourceType``):
  https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstances.html
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest

from lspolicy.account.authdetails import read_auth_details
from lspolicy.account.instances import read_instances
from lspolicy.account.model import AccountInputError, Inventory
from lspolicy.account.organization import read_organization
from lspolicy.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "account"
DOC = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "S", "Effect": "Allow", "Action": "lightsail:GetInstance", "Resource": "*"}
    ],
}


def _user(policy_document: object, **extra: object) -> dict[str, object]:
    return {
        "Path": "/", "UserName": "u", "UserId": "AIDAEXAMPLE", "Arn": "arn:aws:iam::123456789012:user/u",
        "CreateDate": "2026-01-01T00:00:00+00:00", "GroupList": [], "AttachedManagedPolicies": [],
        "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": policy_document}], **extra,
    }  # fmt: skip


def test_pages_in_one_file_are_merged(tmp_path: Path) -> None:
    """The example's 111111111111 file holds two pages (the first ``IsTruncated: true`` with a
    ``Marker``): users and groups come from the first, roles and policies from the second."""
    inv = read_auth_details([EXAMPLE / "auth-details-111111111111.json"])
    assert sorted(u.rsplit("/", 1)[-1] for u in inv.users) == ["alice", "bob", "carol", "dave"]
    assert sorted(r.rsplit("/", 1)[-1] for r in inv.roles) == ["Auditor", "Deployer", "Ec2App"]
    assert inv.users["arn:aws:iam::111111111111:user/ops/alice"].groups == ("operators",)
    assert (
        inv.users["arn:aws:iam::111111111111:user/bob"].boundary
        == "arn:aws:iam::111111111111:policy/DevBoundary"
    )
    assert not [n for n in inv.not_evaluated if n.what == "page"]


def test_url_encoded_and_object_documents_read_the_same(tmp_path: Path) -> None:
    """The raw API returns URL-encoded documents, the CLI decoded objects: both are read."""
    path = tmp_path / "a.json"
    encoded = urllib.parse.quote(json.dumps(DOC), safe="")
    path.write_text(json.dumps({"UserDetailList": [_user(encoded)], "IsTruncated": False}))
    (tmp_path / "b.json").write_text(
        json.dumps({"UserDetailList": [_user(DOC)], "IsTruncated": False})
    )
    one = read_auth_details([path]).users["arn:aws:iam::123456789012:user/u"]
    two = read_auth_details([tmp_path / "b.json"]).users["arn:aws:iam::123456789012:user/u"]
    assert one.inline[0].policy is not None and two.inline[0].policy is not None
    assert one.inline[0].policy.to_json() == two.inline[0].policy.to_json()
    assert one.inline[0].policy.statements[0].actions == ("lightsail:GetInstance",)


def test_unknown_fields_are_tolerated(tmp_path: Path) -> None:
    """AWS adds fields; an unknown one is ignored, not an error."""
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"UserDetailList": [_user(DOC, NewField={"x": 1})], "Future": 1}))
    inv = read_auth_details([path])
    assert list(inv.users) == ["arn:aws:iam::123456789012:user/u"]
    assert inv.not_evaluated == []


def test_a_policy_that_does_not_parse_is_reported_and_the_rest_read(tmp_path: Path) -> None:
    """A bad policy is named with its file and JSON path; the entity is still read."""
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"UserDetailList": [_user({"Statement": [{"Effect": "Maybe"}]})]}))
    inv = read_auth_details([path])
    (note,) = inv.not_evaluated
    assert note.name == "arn:aws:iam::123456789012:user/u#p"
    assert note.path == "UserDetailList[0].UserPolicyList[0].PolicyDocument"
    assert note.source == str(path)
    assert inv.users["arn:aws:iam::123456789012:user/u"].inline[0].policy is None


def test_truncated_file_names_file_and_line(tmp_path: Path) -> None:
    """A file cut short is an input error with its file, line and column."""
    path = tmp_path / "cut.json"
    path.write_text('{"UserDetailList": [\n  {"Arn": "arn:aws:iam::1')
    with pytest.raises(AccountInputError) as err:
        read_auth_details([path])
    (problem,) = err.value.problems
    assert problem.location.source == str(path)
    assert problem.location.line == 2
    assert "invalid JSON" in problem.message


def test_foreign_file_is_refused(tmp_path: Path) -> None:
    """A get-instances file given as authorization details is not silently read as empty."""
    with pytest.raises(AccountInputError, match="not get-account-authorization-details output"):
        read_auth_details([EXAMPLE / "instances-222222222222.json"])
    with pytest.raises(AccountInputError, match="not get-instances output"):
        read_instances([EXAMPLE / "auth-details-222222222222.json"])


def test_last_page_truncated_is_reported(tmp_path: Path) -> None:
    """``IsTruncated: true`` on the last page read means pages are missing: said, not hidden."""
    path = tmp_path / "a.json"
    path.write_text(
        json.dumps({"UserDetailList": [_user(DOC)], "IsTruncated": True, "Marker": "m"})
    )
    inv = read_auth_details([path])
    assert [n.what for n in inv.not_evaluated] == ["page"]


def test_instances_pages_and_regions() -> None:
    """Two pages in one file (first with ``nextPageToken``) and one file per region."""
    inv = read_instances(sorted(EXAMPLE.glob("instances-*.json")))
    by_name = {i.name: i for i in inv.instances.values()}
    assert sorted(by_name) == ["db-1", "prod-db", "prod-web", "staging-web", "web-1", "web-2"]
    assert by_name["prod-db"].region == "eu-west-1"
    assert by_name["prod-db"].account == "222222222222"
    assert dict(by_name["web-1"].tags) == {"team": "web", "env": "dev"}
    assert by_name["web-1"].state == "running"


def test_organization_levels_and_management_account() -> None:
    """Levels root → OU → account; the management account is not affected by SCPs
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html)."""
    inv = read_organization(EXAMPLE / "organization.json", Inventory())
    levels = inv.scp_levels["222222222222"]
    assert levels is not None
    assert [[p.source.rsplit("/", 1)[-1] for p in lvl] for lvl in levels] == [
        ["p-FullAWSAccess"],
        ["p-FullAWSAccess", "p-denyprodstop"],
        ["p-FullAWSAccess"],
    ]
    assert inv.scp_levels["999999999999"] is None
    assert inv.organization_id == "o-exmpl12345"


def test_cli_unreadable_input_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An input that cannot be read: exit 2, the file named, no traceback."""
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    code = main(["who-can", "lightsail:StopInstance", "--instance", "web-1", "--auth-details", str(bad),
                 "--instances", str(EXAMPLE / "instances-222222222222.json")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert str(bad) in err and "Traceback" not in err
