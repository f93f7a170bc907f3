"""Properties of policy test files are decided exactly (by the semantic diff) for the principal
they name: its own tags and username are fixed, and "without MFA" means the key is absent or
false, the two ways AWS reports it
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-multifactorauthpresent)."""

from __future__ import annotations

from pathlib import Path

from lspolicy.cases import NeverSpec, PropertySpec, load_case_file, run_property

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "policies" / "stop-instance.lspolicy-test.yaml"


def check(principal: str, **never: object) -> tuple[str, str]:
    loaded = load_case_file(CASES)
    result = run_property(
        loaded, PropertySpec(name="p", principal=principal, never=NeverSpec(**never))
    )  # type: ignore[arg-type]
    return result.result, "\n".join(result.lines)


def test_with_mfa_alice_may_stop_her_teams_prod_instance() -> None:
    verdict, why = check("alice", tags={"env": "prod"})
    assert verdict == "FAIL"
    assert 'env="prod"' in why
    assert "team-operators.json/OperateOwnTeamInstances (line 4)" in why


def test_without_mfa_she_may_not() -> None:
    assert check("alice", tags={"env": "prod"}, without_mfa=True)[0] == "PASS"


def test_the_principal_is_pinned_to_its_own_tags() -> None:
    """alice's team is web: another team's instances stay out of reach for start/reboot, even
    though the policy (team == caller's team) would let a principal of that team in."""
    assert check("alice", actions=["lightsail:StartInstance"], tags={"team": "data"})[0] == "PASS"
    assert check("alice", actions=["lightsail:StartInstance"], tags={"team": "web"})[0] == "FAIL"


def test_the_boundary_takes_part() -> None:
    """bob's boundary allows only us-east-1: his team rights never reach us-west-2."""
    arns = ["arn:aws:lightsail:us-west-2:*"]
    assert check("bob", actions=["lightsail:StopInstance"], resources=arns)[0] == "PASS"
    assert (
        check(
            "bob", actions=["lightsail:StopInstance"], resources=["arn:aws:lightsail:us-east-1:*"]
        )[0]
        == "FAIL"
    )
