"""``who-can --review DIR`` and ``what-can --review DIR``: the answers stored by ``lspolicy
review`` read back with DuckDB, through the command line.

On the bundled sample (described in ``test_account_example.py``) the expected answers are
written by hand from the policies, as there, and must come out of the dataset unchanged; every
answer must also equal, line for line, the answer computed from the exports. The semantics of
each answer are the IAM docs' (cited in ``test_account_example.py`` and in
`lspolicy.account.decide` / `lspolicy.account.reach`); what these tests add is that the stored
dataset answers exactly as the exports do, and that a directory that is not a review, a
foreign or corrupt Parquet file, an action the review did not decide or an unknown instance
is a clear error with exit 2 (the docs are silent on a CLI's errors: a convention of this
project).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lspolicy.account.cli import DEFAULT_MAX_CHAIN
from lspolicy.account.reach import DEFAULT_MAX_CHAIN as REACH_DEFAULT_MAX_CHAIN
from lspolicy.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "account"
A, B = "arn:aws:iam::111111111111:", "arn:aws:iam::222222222222:"
ALICE, BOB, CAROL, DAVE, ERIN = (
    A + "user/ops/alice", A + "user/bob", A + "user/carol", A + "user/dave", B + "user/erin"
)  # fmt: skip
AUDITOR, DEPLOYER, EC2APP = A + "role/Auditor", A + "role/Deployer", A + "role/Ec2App"
PRODOP, BREAKGLASS = B + "role/ProdOperator", B + "role/BreakGlass"
STOP, START = "lightsail:StopInstance", "lightsail:StartInstance"
INSTANCES = ("web-1", "web-2", "db-1", "staging-web", "prod-web", "prod-db")


def example_inputs(folder: Path = EXAMPLE) -> list[str]:
    """The review's arguments for the sample export (or a copy of it in ``folder``)."""
    return [
        "--auth-details",
        *sorted(str(p) for p in folder.glob("auth-details-*.json")),
        "--instances",
        *sorted(str(p) for p in folder.glob("instances-*.json")),
        "--organization",
        str(folder / "organization.json"),
    ]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("review-query") / "out"
    assert main(["review", *example_inputs(), "--out", str(out)]) == 0
    return out


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    got = capsys.readouterr()
    return code, got.out, got.err


def who_can_json(
    capsys: pytest.CaptureFixture[str], review: Path, instance: str, action: str = STOP
) -> dict[str, Any]:
    code, out, err = run(
        capsys,
        "who-can",
        action,
        "--instance",
        instance,
        "--review",
        str(review),
        "--format",
        "json",
    )
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def answers(result: dict[str, Any]) -> dict[str, tuple[tuple[str, ...], str]]:
    return {p["arn"]: (tuple(p["via"]), p["decision"]) for p in result["principals"]}


# -- hand-written answers, from the dataset --------------------------------------------------


def test_prod_web_from_the_review_is_break_glass_and_dave(
    capsys: pytest.CaptureFixture[str], sample: Path
) -> None:
    """prod-web (222, env=prod): the Prod OU's SCP denies StopInstance on env=prod to all but
    BreakGlass roles ("an explicit deny in any SCP" denies,
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html);
    dave reaches BreakGlass only with its external id, a key a review cannot know, so his
    answer is conditional on ``sts:ExternalId``
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html)."""
    result = who_can_json(capsys, sample, "prod-web")
    assert result["instance"].endswith(
        ":222222222222:Instance/7c3d1e2f-2222-4b6c-8d9e-000000000004"
    )
    assert result["instance_name"] == "prod-web"
    assert answers(result) == {BREAKGLASS: ((), "allowed"), DAVE: ((BREAKGLASS,), "conditional")}
    dave = next(p for p in result["principals"] if p["arn"] == DAVE)
    assert [(c["step"], c["key"], c["values"], c["needs"]) for c in dave["conditions"]] == [
        (BREAKGLASS, "sts:ExternalId", ["break-glass-7f3c"], "holds")
    ]
    glass = next(p for p in result["principals"] if p["arn"] == BREAKGLASS)
    first = glass["statements"][0]
    assert (first["policy"], first["sid"]) == (B + "role/BreakGlass#LightsailAll", "LightsailAll")


def test_staging_web_two_hop_chain_from_the_review(
    capsys: pytest.CaptureFixture[str], sample: Path
) -> None:
    """staging-web (222, env=staging): carol -> Deployer (its trust policy names her, which
    within one account suffices: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html)
    -> ProdOperator in 222 (across accounts both the trust policy and Deployer's own policy
    allow it: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html),
    which stops 222's instances. erin stops env=staging directly; her unparseable managed
    policy is reported as incomplete."""
    result = who_can_json(capsys, sample, "staging-web")
    assert answers(result) == {
        DEPLOYER: ((PRODOP,), "allowed"),
        CAROL: ((DEPLOYER, PRODOP), "allowed"),
        DAVE: ((BREAKGLASS,), "conditional"),
        BREAKGLASS: ((), "allowed"),
        PRODOP: ((), "allowed"),
        ERIN: ((), "allowed"),
    }
    erin = next(p for p in result["principals"] if p["arn"] == ERIN)
    assert erin["incomplete"] == [B + "policy/LegacyOps"]
    assert [m["name"] for m in result["not_evaluated"] if m["what"] == "policy"] == [
        B + "policy/LegacyOps"
    ]
    assert any("ec2.amazonaws.com" in n for n in result["notes"])


def test_web_1_by_arn_from_the_review(capsys: pytest.CaptureFixture[str], sample: Path) -> None:
    """web-1 (111, team=web, env=dev), asked by ARN: alice by her group's tag-matching grant
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html),
    Auditor and Ec2App directly, dave through Auditor with MFA (conditional:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-multifactorauthpresent);
    bob's boundary allows no StopInstance
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html)."""
    arn = who_can_json(capsys, sample, "web-1")["instance"]
    result = who_can_json(capsys, sample, arn)
    assert answers(result) == {
        AUDITOR: ((), "allowed"),
        EC2APP: ((), "allowed"),
        DAVE: ((AUDITOR,), "conditional"),
        ALICE: ((), "allowed"),
    }


def test_what_can_carol_from_the_review(capsys: pytest.CaptureFixture[str], sample: Path) -> None:
    """carol reaches, through Deployer then ProdOperator, Stop and Start on 222's instances
    except StopInstance on env=prod ones (the SCP); nothing in 111 (Lightsail has no
    resource-based policies, so access to an instance comes from its own account's roles)."""
    code, out, err = run(
        capsys, "what-can", CAROL, "--review", str(sample), "--actions", f"{STOP},{START}",
        "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert {(r["instance_name"], r["action"]) for r in result["reaches"]} == {
        ("staging-web", STOP),
        ("staging-web", START),
        ("prod-web", START),
        ("prod-db", START),
    }
    assert {tuple(r["via"]) for r in result["reaches"]} == {(DEPLOYER, PRODOP)}
    assert all("arn" not in r for r in result["reaches"])


# -- equal to the answers from the exports ---------------------------------------------------


@pytest.mark.parametrize("instance", INSTANCES)
@pytest.mark.parametrize(
    "action", [STOP, START, "lightsail:DeleteInstance", "lightsail:TagResource"]
)
def test_who_can_text_equals_the_exports_answer(
    capsys: pytest.CaptureFixture[str], sample: Path, instance: str, action: str
) -> None:
    """Line for line the same report as ``who-can`` on the exports (principals, chains,
    deciding statements, conditions, not evaluated, notes)."""
    code, from_exports, _ = run(
        capsys, "who-can", action, "--instance", instance, *example_inputs()
    )
    assert code == 0
    code, from_review, err = run(
        capsys, "who-can", action, "--instance", instance, "--review", str(sample)
    )
    assert code == 0, err
    assert from_review == from_exports


def normalized(entry: dict[str, Any]) -> tuple[object, ...]:
    """An answer's content, whichever way it was made: statements by ``POLICY/Sid`` label."""
    labels = []
    for s in entry["statements"]:
        tail = s["sid"] if s["sid"] is not None else f"Statement[{s['statement_index']}]"
        labels.append(f"{s['policy']}/{tail}")
    return (
        entry.get("arn"),
        entry.get("instance"),
        entry.get("action"),
        tuple(entry["via"]),
        entry["decision"],
        tuple(dict.fromkeys(labels)),
        json.dumps(entry["conditions"], sort_keys=True),
        tuple(entry.get("incomplete", ())),
    )


@pytest.mark.parametrize("principal", [ALICE, BOB, CAROL, DAVE, ERIN, DEPLOYER, BREAKGLASS])
def test_what_can_json_equals_the_exports_answer(
    capsys: pytest.CaptureFixture[str], sample: Path, principal: str
) -> None:
    """Every (instance, action) a principal reaches, with chain, decision, statements and
    conditions, is the exports' answer, for the actions the review decided."""
    actions = "lightsail:StopInstance,lightsail:StartInstance,lightsail:RebootInstance"
    common = ["--actions", actions, "--format", "json"]
    code, out, _ = run(capsys, "what-can", principal, *example_inputs(), *common)
    assert code == 0
    exports = json.loads(out)
    code, out, err = run(capsys, "what-can", principal, "--review", str(sample), *common)
    assert code == 0, err
    stored = json.loads(out)
    assert [normalized(r) for r in stored["reaches"]] == [normalized(r) for r in exports["reaches"]]
    assert stored["notes"] == exports["notes"]
    assert sorted(map(str, stored["not_evaluated"])) == sorted(map(str, exports["not_evaluated"]))


def test_what_can_defaults_to_the_reviews_actions(
    capsys: pytest.CaptureFixture[str], sample: Path
) -> None:
    """Without --actions, what-can --review asks every action the review decided (its six
    defaults), and no other."""
    code, out, _ = run(capsys, "what-can", BREAKGLASS, "--review", str(sample), "--format", "json")
    assert code == 0
    result = json.loads(out)
    assert result["actions"] == [
        STOP, START, "lightsail:RebootInstance", "lightsail:DeleteInstance",
        "lightsail:TagResource", "lightsail:UntagResource",
    ]  # fmt: skip
    assert {r["action"] for r in result["reaches"]} == set(result["actions"])


def test_orggen_small_answers_equal_the_exports(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A synthetic 3-account organization (``bench/orggen.py --scale small``: boundaries, SCP
    levels, trust chains): who-can from the review equals who-can from the exports for every
    instance (principals, chains, decisions, statements, conditions)."""
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location("orggen_q", ROOT / "bench" / "orggen.py")
    assert spec is not None and spec.loader is not None
    orggen = importlib.util.module_from_spec(spec)
    sys.modules["orggen_q"] = orggen
    spec.loader.exec_module(orggen)
    manifest = orggen.generate(tmp_path / "org", seed=2, scale="small")
    inputs = [
        "--auth-details", *(str(tmp_path / "org" / f) for f in manifest.auth_details),
        "--instances", *(str(tmp_path / "org" / f) for f in manifest.instance_files),
        "--organization", str(tmp_path / "org" / manifest.organization),
    ]  # fmt: skip
    out = tmp_path / "review"
    assert main(["review", *inputs, "--out", str(out), "--actions", STOP]) == 0
    capsys.readouterr()
    con = duckdb.connect()
    names = [
        r[0]
        for r in con.execute(
            f"SELECT instance_arn FROM read_parquet('{out}/instances.parquet') ORDER BY 1"
        ).fetchall()
    ]
    con.close()
    assert len(names) == 36
    reached = 0
    for arn in names:
        code, text, _ = run(capsys, "who-can", STOP, "--instance", arn, *inputs, "--format", "json")
        assert code == 0
        exports = json.loads(text)
        stored = who_can_json(capsys, out, arn)
        assert [normalized(p) for p in stored["principals"]] == [
            normalized(p) for p in exports["principals"]
        ]
        reached += len(stored["principals"])
    assert reached > 0  # the organization grants something: the comparison is not vacuous


# -- errors ----------------------------------------------------------------------------------


def test_not_a_review_directory_is_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "who-can", STOP, "--instance", "web-1", "--review", str(tmp_path))
    assert code == 2
    assert "is not a review's output (no matrix/*.parquet)" in err
    code, _, err = run(
        capsys, "who-can", STOP, "--instance", "web-1", "--review", str(tmp_path / "nope")
    )
    assert code == 2
    assert "no such directory" in err
    assert "Traceback" not in err


def test_action_not_in_the_review_is_exit_2_with_did_you_mean(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "stop-only"
    assert main(["review", *example_inputs(), "--out", str(out), "--actions", STOP]) == 0
    capsys.readouterr()
    code, _, err = run(capsys, "who-can", START, "--instance", "web-1", "--review", str(out))
    assert code == 2
    assert f"action {START!r} is not in the review" in err
    assert "it decided lightsail:StopInstance" in err
    code, _, err = run(
        capsys, "who-can", "lightsail:StopInstanse", "--instance", "web-1", "--review", str(out)
    )
    assert code == 2
    assert "did you mean 'lightsail:StopInstance'?" in err
    # action names are case-insensitive (IAM User Guide, "IAM JSON policy elements: Action")
    code, out_text, _ = run(
        capsys, "who-can", "LIGHTSAIL:stopinstance", "--instance", "web-1", "--review", str(out)
    )
    assert code == 0
    assert out_text.startswith("lightsail:StopInstance on web-1")


def test_unknown_instance_and_principal_are_exit_2_with_did_you_mean(
    capsys: pytest.CaptureFixture[str], sample: Path
) -> None:
    code, _, err = run(capsys, "who-can", STOP, "--instance", "prod-wbe", "--review", str(sample))
    assert code == 2
    assert "no instance named 'prod-wbe'" in err
    assert "did you mean 'prod-web'?" in err
    code, _, err = run(capsys, "what-can", A + "user/carl", "--review", str(sample))
    assert code == 2
    assert f"no user or role {A + 'user/carl'!r}" in err
    assert f"did you mean {CAROL!r}?" in err


def test_corrupt_parquet_is_exit_2(
    capsys: pytest.CaptureFixture[str], sample: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(sample, broken)
    part = next((broken / "matrix").glob("*.parquet"))
    part.write_bytes(b"PAR1 this is not parquet at all PAR1")
    code, _, err = run(capsys, "who-can", STOP, "--instance", "web-1", "--review", str(broken))
    assert code == 2
    assert "matrix/ is not readable Parquet" in err
    assert "Traceback" not in err


def test_foreign_parquet_is_exit_2(
    capsys: pytest.CaptureFixture[str], sample: Path, tmp_path: Path
) -> None:
    foreign = tmp_path / "foreign"
    shutil.copytree(sample, foreign)
    part = next((foreign / "matrix").glob("*.parquet"))
    con = duckdb.connect()
    con.execute(f"COPY (SELECT 1 AS id, 'x' AS principal_arn) TO '{part}' (FORMAT PARQUET)")
    con.close()
    code, _, err = run(capsys, "who-can", STOP, "--instance", "web-1", "--review", str(foreign))
    assert code == 2
    assert "is not a review's matrix" in err
    assert "instance_arn (missing, expected VARCHAR)" in err


def test_review_with_exports_is_exit_2(capsys: pytest.CaptureFixture[str], sample: Path) -> None:
    """--review answers from the dataset: giving the exports too would be ambiguous."""
    code, _, err = run(
        capsys, "who-can", STOP, "--instance", "web-1", "--review", str(sample), *example_inputs()
    )
    assert code == 2
    assert "--auth-details, --instances, --organization cannot be given with it" in err
    code, _, err = run(capsys, "who-can", STOP, "--instance", "web-1")
    assert code == 2
    assert "or a review's output (--review DIR)" in err


def test_max_chain_default_is_the_reach_default() -> None:
    """The CLI's copy of the chain limit (kept so parsing loads no engine) is the engine's."""
    assert DEFAULT_MAX_CHAIN == REACH_DEFAULT_MAX_CHAIN


def test_who_can_review_loads_no_engine_module(sample: Path) -> None:
    """``who-can --review`` answers from the dataset alone: the policy engine, the gate and the
    lint rules are not imported (what keeps it well under a second: bench/README.md)."""
    code = (
        "import sys\n"
        "from lspolicy.cli import main\n"
        f"rc = main(['who-can', 'lightsail:StopInstance', '--instance', 'web-1', '--review', {str(sample)!r}])\n"
        "heavy = sorted(m for m in ('lspolicy.evaluate.authorize', 'lspolicy.model.policy', "
        "'lspolicy.lint.registry', 'lspolicy.gate', 'lspolicy.account.query') if m in sys.modules)\n"
        "print(rc, heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.splitlines()[-1] == "0 []"


def test_readme_who_can_review_prints_the_readme_output(
    capsys: pytest.CaptureFixture[str],
    sample: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The README's ``who-can --review`` command prints the output the README shows for the
    same question asked of the exports (docs that run)."""
    import shlex  # noqa: PLC0415

    text = (ROOT / "README.md").read_text()
    exports_section = text[text.index("## Who can stop which instance") :]
    shown = exports_section.split("```")[3].lstrip("\n")
    section = text[text.index("### Asking the review") :]
    first = section.split("```")[1].removeprefix("sh\n").splitlines()[0]
    words = shlex.split(first)
    assert words[:2] == ["lspolicy", "who-can"] and words[-1] == "review/"
    shutil.copytree(sample, tmp_path / "review")
    monkeypatch.chdir(tmp_path)
    assert main(words[1:]) == 0
    got = capsys.readouterr().out
    # the sample's review was written from absolute paths; the README's from relative ones
    assert got.replace(str(EXAMPLE.parent) + "/", "examples/") == shown


def test_escalation_notes_are_the_reviews_own(
    capsys: pytest.CaptureFixture[str], sample: Path
) -> None:
    """The review says where its escalation search is incomplete (join features: ``team`` is
    compared with ``${aws:PrincipalTag/team}`` in the sample) in ``report.json`` and the HTML,
    under ``escalation_notes``; ``who-can --review`` keeps to ``who-can``'s own notes, since
    who-can runs no escalation search. The documentation is silent on reviews; this is our own
    report contract."""
    report = json.loads((sample / "report.json").read_text())
    assert any("(team)" in n for n in report["escalation_notes"])
    assert not any("tag escalation" in n for n in report["notes"])
    assert "escalations listed may be incomplete" in (sample / "report.html").read_text()
    code, out, _ = run(capsys, "who-can", STOP, "--instance", "web-1", "--review", str(sample))
    assert code == 0
    assert "tag escalation" not in out
