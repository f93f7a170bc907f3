"""The bundled sample export (``examples/account/``): who can stop which instance, written by
hand from the policies, not computed.

The sample: account 111111111111 (OU Dev) and 222222222222 (OU Prod, whose SCP denies
``lightsail:StopInstance`` on ``env=prod`` instances to every principal but roles named
BreakGlass). Users alice (group operators: stop/start own team's instances by tag), bob (same
group, but a boundary allowing only reads and sts:AssumeRole), carol (trusted by name by role
Deployer), dave (may call sts:AssumeRole on anything), erin in 222 (stop staging; a managed
policy that does not parse). Roles Auditor (trusts account 111 with MFA; stops env=dev),
Deployer (may assume ProdOperator in 222), Ec2App (trusted by the EC2 service; lightsail:*),
ProdOperator (trusts role Deployer; stops 222's instances), BreakGlass (trusts account 111 with
an external id; lightsail:*).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lspolicy.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "account"
A, B = "arn:aws:iam::111111111111:", "arn:aws:iam::222222222222:"
ALICE, BOB, CAROL, DAVE, ERIN = (
    A + "user/ops/alice", A + "user/bob", A + "user/carol", A + "user/dave", B + "user/erin"
)  # fmt: skip
AUDITOR, DEPLOYER, EC2APP = A + "role/Auditor", A + "role/Deployer", A + "role/Ec2App"
PRODOP, BREAKGLASS = B + "role/ProdOperator", B + "role/BreakGlass"


def _inputs() -> list[str]:
    return [
        "--auth-details",
        *sorted(str(p) for p in EXAMPLE.glob("auth-details-*.json")),
        "--instances",
        *sorted(str(p) for p in EXAMPLE.glob("instances-*.json")),
        "--organization",
        str(EXAMPLE / "organization.json"),
    ]


def who_can(
    capsys: pytest.CaptureFixture[str], instance: str, action: str = "lightsail:StopInstance"
) -> dict[str, object]:
    code = main(["who-can", action, "--instance", instance, *_inputs(), "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)  # type: ignore[no-any-return]


def answers(result: dict[str, object]) -> dict[str, tuple[tuple[str, ...], str]]:
    principals = result["principals"]
    assert isinstance(principals, list)
    return {p["arn"]: (tuple(p["via"]), p["decision"]) for p in principals}


def test_web_1_own_team_tag_mfa_role_and_a_service_role(capsys: pytest.CaptureFixture[str]) -> None:
    """web-1 (111, team=web, env=dev).

    - alice: her group's grant compares ``aws:ResourceTag/team`` with ``${aws:PrincipalTag/team}``
      (web = web); group policies apply to members
      (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_groups.html,
      https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html).
    - bob: team=db, and his boundary allows no StopInstance
      (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html).
    - dave: reaches Auditor only with MFA (its trust policy's Bool condition); the key is
      unknown to a review, so the answer is conditional (rule in lspolicy.account.callerkeys;
      https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-multifactorauthpresent).
    - carol: Deployer has no Lightsail grant; ProdOperator is in 222 and Lightsail has no
      resource-based policies, so no principal of 222 acts on 111's instances
      (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
    - Auditor (env=dev) and Ec2App (lightsail:*) act directly; Ec2App is trusted only by a
      service principal, which is noted and not traversed.
    """
    result = who_can(capsys, "web-1")
    assert answers(result) == {
        AUDITOR: ((), "allowed"),
        EC2APP: ((), "allowed"),
        DAVE: ((AUDITOR,), "conditional"),
        ALICE: ((), "allowed"),
    }
    dave = next(p for p in result["principals"] if p["arn"] == DAVE)  # type: ignore[attr-defined]
    assert [(c["step"], c["key"], c["values"]) for c in dave["conditions"]] == [
        (AUDITOR, "aws:MultiFactorAuthPresent", ["true"])
    ]
    alice = next(p for p in result["principals"] if p["arn"] == ALICE)  # type: ignore[attr-defined]
    assert alice["statements"][0]["policy"] == A + "group/operators#StopStartOwnTeam"
    assert alice["statements"][0]["sid"] == "StopStartOwnTeam"
    assert any("ec2.amazonaws.com" in n for n in result["notes"])  # type: ignore[attr-defined]


def test_db_1_boundary_stops_bob(capsys: pytest.CaptureFixture[str]) -> None:
    """db-1 (111, team=db, env=dev): bob's group grant matches his team tag, but "the
    effective permissions are the intersection" of identity policy and boundary, and his
    boundary allows only reads and sts:AssumeRole
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html). bob may
    call sts:AssumeRole on Deployer, but its trust policy names carol only: a trust policy must
    allow the principal explicitly
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html)."""
    assert answers(who_can(capsys, "db-1")) == {
        AUDITOR: ((), "allowed"),
        EC2APP: ((), "allowed"),
        DAVE: ((AUDITOR,), "conditional"),
    }


def test_staging_web_two_hop_cross_account_chain(capsys: pytest.CaptureFixture[str]) -> None:
    """staging-web (222, env=staging).

    - carol → Deployer: the trust policy names carol's ARN, and within one account that alone
      suffices ("add the user as a principal directly in the role's trust policy",
      https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html); she has no
      policy of her own.
    - Deployer → ProdOperator: across accounts both the trust policy (names role Deployer) and
      Deployer's identity policy (allows sts:AssumeRole on it) must allow
      (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html);
      role chaining (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles.html#iam-term-role-chaining).
    - ProdOperator stops 222's instances; the Prod OU's SCP denies only env=prod.
    - erin stops env=staging directly; her unparseable managed policy is reported.
    - dave reaches BreakGlass only with the external id (conditional).
    """
    result = who_can(capsys, "staging-web")
    assert answers(result) == {
        DEPLOYER: ((PRODOP,), "allowed"),
        CAROL: ((DEPLOYER, PRODOP), "allowed"),
        DAVE: ((BREAKGLASS,), "conditional"),
        BREAKGLASS: ((), "allowed"),
        PRODOP: ((), "allowed"),
        ERIN: ((), "allowed"),
    }
    erin = next(p for p in result["principals"] if p["arn"] == ERIN)  # type: ignore[attr-defined]
    assert erin["incomplete"] == [B + "policy/LegacyOps"]
    missing = result["not_evaluated"]
    assert isinstance(missing, list)
    assert [m["name"] for m in missing if m["what"] == "policy"] == [B + "policy/LegacyOps"]


def test_prod_web_scp_denies_all_but_break_glass(capsys: pytest.CaptureFixture[str]) -> None:
    """prod-web (222, env=prod): the Prod OU's SCP denies StopInstance on env=prod unless
    ``aws:PrincipalArn`` is a BreakGlass role; "an explicit deny in any SCP" denies
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html),
    and a role session's ``aws:PrincipalArn`` is the role's ARN
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
    ProdOperator, carol and erin are out; BreakGlass is in, and dave through it with the
    external id."""
    result = who_can(capsys, "prod-web")
    assert answers(result) == {BREAKGLASS: ((), "allowed"), DAVE: ((BREAKGLASS,), "conditional")}
    dave = next(p for p in result["principals"] if p["arn"] == DAVE)  # type: ignore[attr-defined]
    assert [(c["key"], c["values"], c["needs"]) for c in dave["conditions"]] == [
        ("sts:ExternalId", ["break-glass-7f3c"], "holds")
    ]


def test_what_can_carol(capsys: pytest.CaptureFixture[str]) -> None:
    """carol reaches, through Deployer then ProdOperator, StopInstance and StartInstance on
    222's instances except StopInstance on env=prod ones (the SCP); nothing in 111."""
    code = main(
        [
            "what-can",
            CAROL,
            *_inputs(),
            "--actions",
            "lightsail:StopInstance,lightsail:StartInstance",
            "--format",
            "json",
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    got = {(r["instance_name"], r["action"]) for r in result["reaches"]}
    assert got == {
        ("staging-web", "lightsail:StopInstance"),
        ("staging-web", "lightsail:StartInstance"),
        ("prod-web", "lightsail:StartInstance"),
        ("prod-db", "lightsail:StartInstance"),
    }
    assert {tuple(r["via"]) for r in result["reaches"]} == {(DEPLOYER, PRODOP)}


def test_unknown_instance_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An instance name that matches nothing is a usage error, said plainly (docs silent: a
    CLI convention of this project)."""
    code = main(["who-can", "lightsail:StopInstance", "--instance", "nope", *_inputs()])
    err = capsys.readouterr().err
    assert code == 2
    assert "no instance named 'nope'" in err
    assert "Traceback" not in err


def test_readme_example_prints_what_the_readme_shows(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's who-can command, run as written from the repository root, prints the
    output the README shows (docs that run)."""
    import glob  # noqa: PLC0415
    import os  # noqa: PLC0415
    import shlex  # noqa: PLC0415

    root = EXAMPLE.parents[1]
    text = (root / "README.md").read_text()
    section = text[text.index("## Who can stop which instance") :]
    command = section[
        section.index("```sh\n") + 6 : section.index("```", section.index("```sh\n") + 6)
    ]
    shown = section.split("```")[3].lstrip("\n")
    words = shlex.split(command.replace("\\\n", " "))
    assert words[0] == "lspolicy"
    cwd = os.getcwd()
    os.chdir(root)
    try:
        argv = [m for w in words[1:] for m in (sorted(glob.glob(w)) if "*" in w else [w])]
        code = main(argv)
    finally:
        os.chdir(cwd)
    assert code == 0
    assert capsys.readouterr().out == shown
