"""bench/orggen.py, the synthetic organization of issue 11's review benchmark: deterministic per
seed, read without problems by lspolicy's account readers, and ``who-can`` on it equals brute
force over every principal and every chain of roles.

Export shapes: ``GetAccountAuthorizationDetails`` response
(https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html),
Lightsail ``GetInstances`` / ``Instance``
(https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_Instance.html). Role
chaining, each hop an ``sts:AssumeRole`` decided with the trust policy: IAM User Guide, "Roles
terms and concepts" (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles.html#iam-term-role-chaining).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

from lspolicy.account.authdetails import read_auth_details
from lspolicy.account.decide import Verdict
from lspolicy.account.instances import read_instances
from lspolicy.account.model import Instance, Inventory
from lspolicy.account.organization import read_organization
from lspolicy.account.query import Review, instance_context
from lspolicy.account.reach import assume

ROOT = Path(__file__).resolve().parents[2]
STOP = "lightsail:StopInstance"
MAX_CHAIN = 4  # the generator's trust chains go 4 roles deep (issue 11 §3)


@cache
def orggen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("orggen", ROOT / "bench" / "orggen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["orggen"] = module
    spec.loader.exec_module(module)
    return module


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def _inventory(out: Path) -> tuple[Inventory, object]:
    manifest = orggen().load_manifest(out)
    assert manifest is not None
    inv = Inventory()
    read_organization(out / manifest.organization, inv)
    read_auth_details([out / f for f in manifest.auth_details], inv)
    read_instances([out / f for f in manifest.instance_files], inv)
    return inv, manifest


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small")
    orggen().generate(out, seed=1, scale="small")
    return out


def test_same_seed_same_bytes_other_seed_other_bytes(small: Path, tmp_path: Path) -> None:
    """The generator is a pure function of (seed, scale): a benchmark run is reproducible."""
    again = tmp_path / "again"
    other = tmp_path / "other"
    orggen().generate(again, seed=1, scale="small")
    orggen().generate(other, seed=2, scale="small")
    assert _files(again) == _files(small)
    assert _files(other).keys() == _files(small).keys()
    assert _files(other) != _files(small)


def test_files_have_the_cli_export_shapes(small: Path) -> None:
    """Top-level keys as the AWS CLI writes them (API references in the module docstring)."""
    manifest = orggen().load_manifest(small)
    for name in manifest.auth_details:
        doc = json.loads((small / name).read_text())
        assert set(doc) == {
            "UserDetailList",
            "GroupDetailList",
            "RoleDetailList",
            "Policies",
            "IsTruncated",
        }
        for p in doc["Policies"]:
            assert sum(v["IsDefaultVersion"] for v in p["PolicyVersionList"]) == 1
    for name in manifest.instance_files:
        doc = json.loads((small / name).read_text())
        assert set(doc) == {"instances"}
        for i in doc["instances"]:
            assert i["arn"].startswith("arn:aws:lightsail:" + i["location"]["regionName"] + ":")
            assert all(set(t) == {"key", "value"} for t in i["tags"])


def test_readers_take_it_without_problems(small: Path) -> None:
    """Every user, role, policy, SCP and instance is read; nothing is reported as not
    evaluated (the generator writes only well-formed exports)."""
    inv, manifest = _inventory(small)
    assert inv.not_evaluated == []
    assert len(inv.users) == manifest.users
    assert len(inv.roles) == manifest.roles
    assert len(inv.instances) == manifest.instances
    assert all(p.policy is not None for p in inv.policies.values())
    assert all(r.trust is not None for r in inv.roles.values())
    # 3 SCP levels for every member account: root, OU, account
    assert {len(inv.scp_levels[a] or ()) for a in manifest.accounts} == {3}
    assert inv.scp_levels[manifest.management_account] is None
    bounded = [p for p in [*inv.users.values(), *inv.roles.values()] if p.boundary]
    assert len(bounded) == manifest.boundaries > 0


def brute_force(review: Review, instance: Instance) -> dict[str, tuple[tuple[str, ...], str]]:
    """Every principal, every chain of distinct roles up to MAX_CHAIN (depth first, each hop
    the engine's ``sts:AssumeRole`` decision), the last identity's own decision: the best chain
    by (conditional, length, role ARNs), as tests/account/test_account_properties.py defines it.
    A chain whose prefix cannot be assumed is not extended (it cannot be completed)."""
    auth = review.authority
    roles = sorted(review.inventory.roles)
    hops: dict[tuple[str, str], Verdict] = {}

    def hop(caller: str, role: str) -> Verdict:
        key = (caller, role)
        if key not in hops:
            hops[key] = assume(auth, auth.actor(caller), review.inventory.roles[role])
        return hops[key]

    def walk(
        start: str, caller: str, chain: tuple[str, ...], conditional: bool
    ) -> list[tuple[bool, int, tuple[str, ...]]]:
        found = []
        final = auth.decide(auth.actor(caller), STOP, instance.arn, instance_context(instance))
        if final.reaches:
            found.append((conditional or final.answer != "allowed", len(chain), chain))
        if len(chain) < MAX_CHAIN:
            for role in roles:
                if role == start or role in chain:
                    continue
                verdict = hop(caller, role)
                if verdict.reaches:
                    found += walk(
                        start, role, (*chain, role), conditional or verdict.answer != "allowed"
                    )
        return found

    out: dict[str, tuple[tuple[str, ...], str]] = {}
    for principal in auth.principals():
        chains = walk(principal, principal, (), False)
        if chains:
            best = min(chains)
            out[principal] = (best[2], "conditional" if best[0] else "allowed")
    return out


def test_who_can_equals_brute_force(small: Path) -> None:
    """On the small organization (3 accounts, trust chains 4 deep, boundaries, 3 SCP levels,
    cross-account roles), who-can names exactly the principals brute force finds, with the same
    chain and decision, for every instance; and the data is not trivial: some instance is
    reachable, some only through a chain, some by nobody."""
    inv, _ = _inventory(small)
    review = Review(inv, max_chain=MAX_CHAIN)
    answers = []
    for instance in sorted(inv.instances.values(), key=lambda i: i.arn):
        got = {
            a.principal: (
                tuple(h.role for h in a.via),
                "conditional" if a.conditional else "allowed",
            )
            for a in review.who_can(STOP, instance)
        }
        assert got == brute_force(review, instance), instance.arn
        answers.append(got)
    assert any(answers)
    assert any(not a for a in answers)
    assert any(chain for a in answers for chain, _ in a.values())
