"""``lspolicy collect`` through real parts, never AWS: IAM, STS and Organizations served by moto
in server mode, Lightsail by the emulator (a real HTTP server), the CLI run as a subprocess.

Shapes: ``aws iam get-account-authorization-details``
(https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html),
``aws lightsail get-instances``
(https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstances.html), the AWS
CLI's merged pages (https://docs.aws.amazon.com/cli/latest/userguide/cli-usage-pagination.html)
and ISO 8601 timestamps; the organization file in lspolicy's own format (``lspolicy-organization/1``,
from ListRoots, ListOrganizationalUnitsForParent, ListAccountsForParent, ListPoliciesForTarget and
DescribePolicy: https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListPoliciesForTarget.html).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from collectparts import (  # type: ignore[import-not-found]
    ACCOUNT,
    COLLECT_POLICY,
    REPO,
    Moto,
    collector_client,
    load,
    lspolicy_serve,
    moto,
    moto_url,
    run_collect,
    write_world,
)

from lspolicy.collect.cliformat import cli_json
from lspolicy.collect.iam import FILTER

__all__ = ["moto", "moto_url"]  # the fixtures, used by name

INSTANCES = {
    "us-east-1": [f"web-{i:02d}" for i in range(30)],  # two pages of the emulator's 25
    "eu-west-1": ["eu-1"],
}
REGIONS = "us-east-1,eu-west-1"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


OPS = doc({"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*"})
BOUNDARY = doc({"Effect": "Allow", "Action": "lightsail:*", "Resource": "*"})
OWN = doc(
    {
        "Sid": "OwnInstances",
        "Effect": "Allow",
        "Action": "lightsail:StartInstance",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:ResourceTag/owner": "${aws:username}"}},
    }
)
READ = doc({"Effect": "Allow", "Action": "lightsail:GetInstance", "Resource": "*"})
TRUST = doc(
    {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/people/alice"},
        "Action": "sts:AssumeRole",
    }
)
SCP = doc({"Effect": "Deny", "Action": "lightsail:StopInstance", "Resource": "*"})


def build_account(moto: Moto) -> dict[str, str]:
    """Users, a group, a role, managed and inline policies and a boundary, in moto's IAM."""
    iam = moto.client("iam")
    boundary = iam.create_policy(
        PolicyName="lightsail-boundary", Path="/boundaries/", PolicyDocument=json.dumps(BOUNDARY)
    )["Policy"]["Arn"]
    ops = iam.create_policy(PolicyName="lightsail-ops", PolicyDocument=json.dumps(OPS))["Policy"][
        "Arn"
    ]
    iam.create_group(GroupName="operators", Path="/teams/")
    iam.attach_group_policy(GroupName="operators", PolicyArn=ops)
    iam.put_group_policy(GroupName="operators", PolicyName="read", PolicyDocument=json.dumps(READ))
    # a user's boundary is not set: moto (5.x) stores boundaries of roles only (its
    # get_account_authorization_details has a ToDo for put_user_permissions_boundary)
    iam.create_user(UserName="alice", Path="/people/", Tags=[{"Key": "team", "Value": "web"}])
    iam.add_user_to_group(GroupName="operators", UserName="alice")
    iam.put_user_policy(UserName="alice", PolicyName="own", PolicyDocument=json.dumps(OWN))
    iam.create_user(UserName="bob")
    iam.create_role(
        RoleName="stopper",
        Path="/ops/",
        AssumeRolePolicyDocument=json.dumps(TRUST),
        PermissionsBoundary=boundary,
        Tags=[{"Key": "env", "Value": "prod"}],
    )
    iam.attach_role_policy(RoleName="stopper", PolicyArn=ops)
    return {"boundary": boundary, "ops": ops}


def build_organization(moto: Moto) -> dict[str, str]:
    """Root > Prod > Web > prod-web, and an SCP attached to Prod, in moto's Organizations."""
    org = moto.client("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    prod = org.create_organizational_unit(ParentId=root, Name="Prod")["OrganizationalUnit"]["Id"]
    web = org.create_organizational_unit(ParentId=prod, Name="Web")["OrganizationalUnit"]["Id"]
    account = org.create_account(Email="prod-web@example.com", AccountName="prod-web")[
        "CreateAccountStatus"
    ]["AccountId"]
    org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=web)
    scp = org.create_policy(
        Content=json.dumps(SCP),
        Description="no stopping in prod",
        Name="deny-stop-prod",
        Type="SERVICE_CONTROL_POLICY",
    )["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=scp, TargetId=prod)
    return {"root": root, "prod": prod, "web": web, "account": account, "scp": scp}


def by_name(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


def test_collect_writes_exactly_what_the_account_holds(moto: Moto, tmp_path: Path) -> None:
    """IAM, Lightsail (two regions of the emulator, the collector holding the shipped
    least-privilege policy) and the organization: every file written, in the CLI's shapes,
    holding what was created and nothing else; exit 0 and an empty failure list."""
    arns = build_account(moto)
    tree = build_organization(moto)
    world = write_world(tmp_path, policy=COLLECT_POLICY, instances=INSTANCES)
    out = tmp_path / "out"
    with lspolicy_serve(world) as lightsail:
        done = run_collect(out, "--regions", REGIONS, moto_url=moto.url, lightsail_url=lightsail)
        pages = collector_client(lightsail, "us-east-1").get_paginator("get_instances").paginate()
        expected_east = [i for page in pages for i in page["instances"]]
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr

    report = load(out / "collect-report.json")
    assert report["failures"] == [] and report["fatal"] is None and report["exit_code"] == 0
    assert report["account"] == ACCOUNT
    assert sorted(report["written"]) == sorted(
        [
            f"{ACCOUNT}/iam-authorization-details.json",
            f"{ACCOUNT}/lightsail-instances-us-east-1.json",
            f"{ACCOUNT}/lightsail-instances-eu-west-1.json",
            "organization.json",
            "collect-report.json",
        ]
    )

    # -- IAM, as the CLI writes it: the four merged lists --
    details = load(out / ACCOUNT / "iam-authorization-details.json")
    assert list(details) == ["UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"]
    users = by_name(details["UserDetailList"], "UserName")
    assert set(users) == {"alice", "bob"}
    alice = users["alice"]
    assert alice["Path"] == "/people/"
    assert alice["GroupList"] == ["operators"]
    assert alice["UserPolicyList"] == [{"PolicyName": "own", "PolicyDocument": OWN}]
    assert alice["Tags"] == [{"Key": "team", "Value": "web"}]
    assert datetime.fromisoformat(alice["CreateDate"]).tzinfo is not None
    assert users["bob"]["GroupList"] == [] and users["bob"]["UserPolicyList"] == []
    [group] = details["GroupDetailList"]
    assert (group["GroupName"], group["Path"]) == ("operators", "/teams/")
    assert group["GroupPolicyList"] == [{"PolicyName": "read", "PolicyDocument": READ}]
    assert [p["PolicyArn"] for p in group["AttachedManagedPolicies"]] == [arns["ops"]]
    [role] = details["RoleDetailList"]
    assert (role["RoleName"], role["Path"]) == ("stopper", "/ops/")
    assert role["AssumeRolePolicyDocument"] == TRUST
    assert role["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
        "PermissionsBoundaryArn": arns["boundary"],
    }
    assert [p["PolicyArn"] for p in role["AttachedManagedPolicies"]] == [arns["ops"]]
    assert role["Tags"] == [{"Key": "env", "Value": "prod"}]
    local = {p["Arn"]: p for p in details["Policies"] if f":{ACCOUNT}:" in p["Arn"]}
    assert set(local) == {arns["boundary"], arns["ops"]}
    for arn, document in ((arns["boundary"], BOUNDARY), (arns["ops"], OPS)):
        [default] = [v for v in local[arn]["PolicyVersionList"] if v["IsDefaultVersion"]]
        assert default["Document"] == document
    # and nothing else: the file is the service's whole answer (asked the same way), in the
    # CLI's JSON
    assert details == cli_json(
        moto.client("iam")
        .get_paginator("get_account_authorization_details")
        .paginate(Filter=list(FILTER))
        .build_full_result()
    )

    # -- Lightsail, per region, as the CLI writes it --
    east = load(out / ACCOUNT / "lightsail-instances-us-east-1.json")
    assert list(east) == ["instances"]
    assert [i["name"] for i in east["instances"]] == INSTANCES["us-east-1"]
    assert east["instances"][0]["tags"] == [{"key": "app", "value": "web-00"}]
    assert east["instances"] == cli_json(expected_east)  # every page, merged
    assert datetime.fromisoformat(east["instances"][0]["createdAt"]).tzinfo is not None
    eu = load(out / ACCOUNT / "lightsail-instances-eu-west-1.json")
    assert [(i["name"], i["location"]["regionName"]) for i in eu["instances"]] == [
        ("eu-1", "eu-west-1")
    ]

    # -- the organization, in lspolicy-organization/1 (/work/org-format.md) --
    org = load(out / "organization.json")
    assert org["format"] == "lspolicy-organization/1"
    assert org["organization"]["management_account_id"] == ACCOUNT
    assert org["organization"]["id"].startswith("o-")
    targets = {t["id"]: t for t in org["targets"]}
    shape = {(t["id"], t["type"], t["name"], t["parent"]) for t in org["targets"]}
    assert shape == {
        (tree["root"], "ROOT", "Root", None),
        (tree["prod"], "ORGANIZATIONAL_UNIT", "Prod", tree["root"]),
        (tree["web"], "ORGANIZATIONAL_UNIT", "Web", tree["prod"]),
        (tree["account"], "ACCOUNT", "prod-web", tree["web"]),
        (ACCOUNT, "ACCOUNT", targets[ACCOUNT]["name"], tree["root"]),
    }
    # the SCP is attached to Prod only: on prod-web's path, not on the account itself
    path, at = [], tree["account"]
    while at is not None:
        path.append(at)
        at = targets[at]["parent"]
    assert path == [tree["account"], tree["web"], tree["prod"], tree["root"]]
    assert [t for t in path if tree["scp"] in targets[t]["policies"]] == [tree["prod"]]
    policies = {p["id"]: p for p in org["policies"]}
    assert set(policies) == {p for t in org["targets"] for p in t["policies"]}
    scp = policies[tree["scp"]]
    assert (scp["name"], scp["aws_managed"]) == ("deny-stop-prod", False)
    assert json.loads(scp["content"]) == SCP


def test_a_denied_get_instances_is_reported_and_the_rest_is_still_written(
    moto: Moto, tmp_path: Path
) -> None:
    """A caller whose policy lacks lightsail:GetInstances (it has GetInstance only, which does
    not imply it): each region's AccessDeniedException is listed in collect-report.json and on
    stderr, no instance file is written, the IAM file is, and the exit code is 1 (partial).
    moto's account belongs to no organization here: AWSOrganizationsNotInUseException is
    listed too, and alone it would not make the collection partial."""
    build_account(moto)
    world = write_world(tmp_path, policy=_write(tmp_path / "read.json", READ), instances=INSTANCES)
    out = tmp_path / "out"
    with lspolicy_serve(world) as lightsail:
        done = run_collect(out, "--regions", REGIONS, moto_url=moto.url, lightsail_url=lightsail)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    report = load(out / "collect-report.json")
    assert report["exit_code"] == 1
    failed = [
        (f["service"], f["operation"], f["region"], f["error_code"]) for f in report["failures"]
    ]
    assert failed == [
        ("lightsail", "GetInstances", "us-east-1", "AccessDeniedException"),
        ("lightsail", "GetInstances", "eu-west-1", "AccessDeniedException"),
        ("organizations", "DescribeOrganization", None, "AWSOrganizationsNotInUseException"),
    ]
    assert "lightsail:GetInstances" in report["failures"][0]["message"]
    assert sorted(os.listdir(out / ACCOUNT)) == ["iam-authorization-details.json"]
    assert not (out / "organization.json").exists()
    assert done.stderr.count("AccessDeniedException") == 2
    assert "AWSOrganizationsNotInUseException" in done.stderr


def test_an_account_in_no_organization_is_a_complete_collection(moto: Moto, tmp_path: Path) -> None:
    """Not being in an organization is a fact about the account, not a failed collection:
    exit 0, no organization.json, and the report still says why there is none."""
    world = write_world(tmp_path, policy=COLLECT_POLICY, instances={"us-east-1": ["web-1"]})
    out = tmp_path / "out"
    with lspolicy_serve(world) as lightsail:
        done = run_collect(
            out, "--regions", "us-east-1", moto_url=moto.url, lightsail_url=lightsail
        )
    assert done.returncode == 0, done.stderr
    report = load(out / "collect-report.json")
    assert [f["error_code"] for f in report["failures"]] == ["AWSOrganizationsNotInUseException"]
    assert not (out / "organization.json").exists()


def test_an_unreachable_endpoint_is_exit_2_without_a_traceback(tmp_path: Path) -> None:
    """Endpoint problems stop the collection with a message and exit 2 (no traceback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"  # nobody listens once closed
    out = tmp_path / "out"
    done = run_collect(out, "--regions", "us-east-1", moto_url=closed, lightsail_url=closed)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "cannot be reached" in done.stderr
    report = load(out / "collect-report.json")
    assert report["exit_code"] == 2 and "cannot be reached" in report["fatal"]
    assert report["written"] == ["collect-report.json"]


def test_no_credentials_is_exit_2_with_a_hint(tmp_path: Path) -> None:
    """Without credentials (none in the environment, no config files, no instance metadata)
    nothing is called: exit 2, a hint, no traceback, and the report says so."""
    out = tmp_path / "out"
    done = run_collect(
        out, moto_url="http://127.0.0.1:9", lightsail_url="http://127.0.0.1:9", credentials=False
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "no AWS credentials" in done.stderr and "hint:" in done.stderr
    assert load(out / "collect-report.json")["account"] is None


def test_a_symbolic_link_in_the_output_directory_is_never_followed(
    moto: Moto, tmp_path: Path
) -> None:
    """A link planted where the account's directory goes (or as --out itself) must not
    redirect a write: exit 2, and the link's target stays empty."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / ACCOUNT).symlink_to(elsewhere)
    world = write_world(tmp_path, policy=COLLECT_POLICY, instances={"us-east-1": ["web-1"]})
    with lspolicy_serve(world) as lightsail:
        done = run_collect(
            out, "--regions", "us-east-1", moto_url=moto.url, lightsail_url=lightsail
        )
        linked = tmp_path / "linked-out"
        linked.symlink_to(elsewhere)
        refused = run_collect(
            linked, "--regions", "us-east-1", moto_url=moto.url, lightsail_url=lightsail
        )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "symbolic link" in refused.stderr and refused.returncode == 2
    assert os.listdir(elsewhere) == []
    assert (out / ACCOUNT).is_symlink()
    assert load(out / "collect-report.json")["exit_code"] == 2


EXPECTED_ACTIONS = {
    "iam:GetAccountAuthorizationDetails",
    "lightsail:GetInstances",
    "organizations:DescribeOrganization",
    "organizations:ListRoots",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListAccountsForParent",
    "organizations:ListPoliciesForTarget",
    "organizations:DescribePolicy",
}


def test_the_shipped_policy_grants_exactly_the_calls_collect_makes_and_is_lint_clean() -> None:
    """policies/collect-readonly.policy.json names exactly the actions of the calls above
    (STS GetCallerIdentity needs no permission:
    https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html), the
    README lists each, and ``lspolicy check`` passes it."""
    policy = load(COLLECT_POLICY)
    actions: set[str] = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        named = statement["Action"]
        actions |= {named} if isinstance(named, str) else set(named)
    assert actions == EXPECTED_ACTIONS
    readme = (REPO / "README.md").read_text()
    assert all(f"`{a}`" in readme for a in EXPECTED_ACTIONS)
    done = subprocess.run(
        [sys.executable, "-m", "lspolicy.cli", "check", str(COLLECT_POLICY)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no findings" in done.stdout


WRITES = (
    "lightsail:Stop*", "lightsail:Start*", "lightsail:Create*", "lightsail:Delete*",
    "lightsail:Update*", "lightsail:Put*", "lightsail:Tag*", "lightsail:Untag*",
    "iam:Create*", "iam:Put*", "iam:Attach*", "iam:Detach*", "iam:Delete*", "iam:Update*",
    "iam:PassRole", "iam:Tag*", "organizations:Create*", "organizations:Attach*",
    "organizations:Detach*", "organizations:Delete*", "organizations:Update*",
    "organizations:Move*", "organizations:Enable*", "organizations:Disable*", "sts:AssumeRole",
)  # fmt: skip


def test_the_shipped_policy_is_proven_to_grant_no_write() -> None:
    """``lspolicy check access-not-granted`` decides exactly, over every resource and context,
    that the collector's policy allows none of these writes (PASS is exit 0)."""
    flags = [arg for action in WRITES for arg in ("--action", action)]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lspolicy.cli",
            "check",
            "access-not-granted",
            str(COLLECT_POLICY),
            *flags,
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("PASS")


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document))
    return path
