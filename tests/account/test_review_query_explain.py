"""``lspolicy explain --review DIR --principal ARN --instance NAME_OR_ARN --action A``: a cell of
the review decided again by the engine from the recorded exports, hop by hop, through the
command line, on the bundled sample (described in ``test_account_example.py``; the expected
answers are written by hand from its policies, as there).

Semantics per cell are cited on each test. What the command adds, where the docs are silent (a
convention of this project): the review records each export's SHA-256 and refuses (exit 2) to
explain from a changed file; a stored cell the engine does not reproduce exits 1 naming the
difference.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from test_review_query import (  # same folder (rootdir import)
    BOB,
    BREAKGLASS,
    CAROL,
    DAVE,
    DEPLOYER,
    ERIN,
    EXAMPLE,
    PRODOP,
    ROOT,
    STOP,
    B,
)
from test_review_query import example_inputs as inputs

from lspolicy.cli import main

SCP_DENY = (
    "arn:aws:organizations::999999999999:policy/o-exmpl12345/service_control_policy/"
    "p-denyprodstop/NoStoppingProd"
)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("explain-review") / "out"
    assert main(["review", *inputs(EXAMPLE), "--out", str(out)]) == 0
    return out


def explain(
    capsys: pytest.CaptureFixture[str], review: Path, principal: str, instance: str, *extra: str
) -> tuple[int, str, str]:
    code = main(
        ["explain", "--review", str(review), "--principal", principal, "--instance", instance,
         "--action", STOP, "--color", "never", *extra]
    )  # fmt: skip
    got = capsys.readouterr()
    return code, got.out, got.err


def test_inputs_record_every_export_with_its_sha256(sample: Path) -> None:
    record = json.loads((sample / "inputs.json").read_text())
    assert record["format"] == "lspolicy-review-inputs/1"
    assert record["max_chain"] == 5
    assert STOP in record["actions"]
    files = {Path(f["path"]).name: f for f in record["files"]}
    assert set(files) == {p.name for p in EXAMPLE.glob("*.json")}
    import hashlib  # noqa: PLC0415

    for name, f in files.items():
        assert f["sha256"] == hashlib.sha256((EXAMPLE / name).read_bytes()).hexdigest()
    assert files["organization.json"]["option"] == "--organization"


def test_two_hop_chain_each_hop_allowed(capsys: pytest.CaptureFixture[str], sample: Path) -> None:
    """carol -> Deployer (its trust policy names her; within one account that suffices:
    https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html) -> ProdOperator
    (across accounts, the trust policy and Deployer's own policy both allow:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html)
    -> StopInstance on staging-web (ProdOperator's OperateInstances policy). carol has no
    policy of her own: her own decision is an implicit deny."""
    code, out, err = explain(capsys, sample, CAROL, "staging-web")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1].endswith(f"allowed via {DEPLOYER} -> {PRODOP}")
    assert f"hop 1: {CAROL} calls sts:AssumeRole on {DEPLOYER}: allowed" in lines
    assert f"hop 2: {DEPLOYER} calls sts:AssumeRole on {PRODOP}: allowed" in lines
    assert any(
        line.startswith(f"action: {PRODOP} calls {STOP} on ") and line.endswith(": allowed")
        for line in lines
    )
    assert f"{PRODOP}#OperateInstances/StopStart" in out
    assert "own decision, without assuming a role: implicitDeny" in lines
    assert lines[-1] == f"engine: allowed via {DEPLOYER} -> {PRODOP} (the stored cell)"


def test_conditional_hop_shows_the_external_id(
    capsys: pytest.CaptureFixture[str], sample: Path
) -> None:
    """dave -> BreakGlass: its trust policy allows account 111 only with ``sts:ExternalId``
    equal to break-glass-7f3c; absent, AWS denies (the request lacks the key), so the hop holds
    only if the caller supplies it
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html)."""
    code, out, err = explain(capsys, sample, DAVE, "prod-web", "--format", "json")
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    assert result["matches"] is True
    assert result["stored"]["decision"] == "conditional"
    hop, action = result["steps"]
    assert (hop["step"], hop["caller"], hop["resource"], hop["decision"]) == (
        "hop 1", DAVE, BREAKGLASS, "conditional"
    )  # fmt: skip
    assert hop["engine"]["decision"] == "implicitDeny"  # as AWS decides without the key
    assert hop["engine_with_caller_keys"]["decision"] == "allowed"
    assert [(c["key"], c["values"]) for c in hop["conditions"]] == [
        ("sts:ExternalId", ["break-glass-7f3c"])
    ]
    assert (action["caller"], action["decision"]) == (BREAKGLASS, "allowed")
    assert result["engine"] == {
        "decision": "conditional",
        "via": [BREAKGLASS],
        "statements": [
            B + "role/BreakGlass#LightsailAll/LightsailAll",
            "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess/Statement[0]",
        ],
    }


def test_scp_explicit_deny_cell(capsys: pytest.CaptureFixture[str], sample: Path) -> None:
    """erin on prod-web (env=prod): the Prod OU's SCP denies StopInstance unless the principal
    is a BreakGlass role; an explicit deny in an SCP wins over her own Allow
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html)."""
    code, out, err = explain(capsys, sample, ERIN, "prod-web")
    assert code == 0, err
    assert "explicitDeny directly" in out.splitlines()[1]
    assert "DENY (explicit)" in out
    assert SCP_DENY in out
    assert out.splitlines()[-1] == "engine: explicitDeny (the stored cell)"


def test_boundary_implicit_deny_cell(capsys: pytest.CaptureFixture[str], sample: Path) -> None:
    """bob on db-1: his group grants StopInstance on his team's instances, but his permissions
    boundary allows only reads and sts:AssumeRole; the effective permissions are the
    intersection (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html)."""
    code, out, err = explain(capsys, sample, BOB, "db-1")
    assert code == 0, err
    assert "DENY (implicit)" in out
    assert "the permissions boundary does not allow it" in out
    assert out.splitlines()[-1] == "engine: implicitDeny (the stored cell)"


def test_changed_export_is_refused_with_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    exports = tmp_path / "exports"
    shutil.copytree(EXAMPLE, exports)
    out = tmp_path / "review"
    assert main(["review", *inputs(exports), "--out", str(out), "--actions", STOP]) == 0
    capsys.readouterr()
    changed = exports / "instances-222222222222.json"
    changed.write_text(changed.read_text().replace("staging", "stagin"))
    code, stdout, err = explain(capsys, out, CAROL, "staging-web")
    assert code == 2
    assert stdout == ""
    assert str(changed) in err
    assert "changed since the review" in err
    changed.unlink()
    code, _, err = explain(capsys, out, CAROL, "staging-web")
    assert code == 2
    assert "cannot be read" in err


def test_changed_trail_is_refused_with_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The ``--trail`` file marks which cells were used, so it is an input of the review like
    the exports: recorded last with its path and SHA-256, and a changed or removed trail is
    refused like a changed export. (CloudTrail's record format is the one `read_trail` cites;
    how a review records its inputs is this project's convention, the docs are silent.)"""
    import hashlib  # noqa: PLC0415

    trail = tmp_path / "trail.json"
    shutil.copyfile(Path(__file__).parent / "data" / "review-trail.json", trail)
    out = tmp_path / "review"
    argv = ["review", *inputs(EXAMPLE), "--trail", str(trail), "--out", str(out), "--actions", STOP]
    assert main(argv) == 0
    record = json.loads((out / "inputs.json").read_text())
    last = record["files"][-1]
    assert last == {
        "option": "--trail",
        "path": str(trail.resolve()),
        "given": str(trail),
        "sha256": hashlib.sha256(trail.read_bytes()).hexdigest(),
        "bytes": trail.stat().st_size,
    }
    assert [f["option"] for f in record["files"]].count("--trail") == 1
    capsys.readouterr()
    code, stdout, err = explain(capsys, out, CAROL, "staging-web")
    assert code == 0, err  # unchanged: explained
    assert stdout
    trail.write_text(trail.read_text().replace("web-a", "web-b"))
    code, stdout, err = explain(capsys, out, CAROL, "staging-web")
    assert code == 2
    assert stdout == ""
    assert f"{trail.resolve()} (--trail): changed since the review" in err
    assert "Traceback" not in err
    trail.unlink()
    code, _, err = explain(capsys, out, CAROL, "staging-web")
    assert code == 2
    assert f"{trail.resolve()} (--trail): cannot be read" in err


def test_stored_cell_that_is_not_the_engines_exits_1(
    capsys: pytest.CaptureFixture[str], sample: Path, tmp_path: Path
) -> None:
    """A matrix edited after the review (bob allowed to stop db-1): the engine says implicit
    deny (his boundary), so the cell is reported as not the engine's, exit 1."""
    tampered = tmp_path / "tampered"
    shutil.copytree(sample, tampered)
    part = next((tampered / "matrix").glob("*.parquet"))
    copy = tmp_path / "part.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * REPLACE (CASE WHEN principal_arn = '{BOB}' AND instance_name = 'db-1' "
        f"AND action = '{STOP}' THEN 'allowed' ELSE decision END AS decision) "
        f"FROM read_parquet('{part}')) TO '{copy}' (FORMAT PARQUET)"
    )
    con.close()
    shutil.move(copy, part)
    code, _, err = explain(capsys, tampered, BOB, "db-1")
    assert code == 1
    assert "the stored cell is not the engine's answer" in err
    assert "decision: stored 'allowed', engine 'implicitDeny'" in err


def test_missing_options_and_unknown_cell_are_exit_2(
    capsys: pytest.CaptureFixture[str], sample: Path, tmp_path: Path
) -> None:
    code = main(["explain", "--review", str(sample), "--principal", CAROL, "--action", STOP])
    assert code == 2
    assert "explain --review needs --instance" in capsys.readouterr().err
    code, _, err = explain(capsys, sample, CAROL, "stagingweb")
    assert code == 2
    assert "did you mean 'staging-web'?" in err
    code = main(["explain", "--principal", CAROL, "--instance", "web-1", "--action", STOP])
    assert code == 2
    assert "give --review DIR" in capsys.readouterr().err
    no_record = tmp_path / "old"
    shutil.copytree(sample, no_record)
    (no_record / "inputs.json").unlink()
    code, _, err = explain(capsys, no_record, CAROL, "staging-web")
    assert code == 2
    assert "no record of the review's inputs" in err


def test_readme_explain_example_prints_what_the_readme_shows(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's ``explain --review`` command, run after its ``review`` command in a copy of
    the repository's examples, prints the output the README shows (docs that run)."""
    import glob  # noqa: PLC0415
    import shlex  # noqa: PLC0415

    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Asking the review") :]
    blocks = section.split("```")
    command = blocks[3].removeprefix("sh\n")
    shown = blocks[5].lstrip("\n")
    shutil.copytree(EXAMPLE, tmp_path / "examples" / "account")
    monkeypatch.chdir(tmp_path)
    review_words = shlex.split(
        "lspolicy review --out review/ --auth-details examples/account/auth-details-*.json "
        "--instances examples/account/instances-*.json "
        "--organization examples/account/organization.json"
    )
    argv = [m for w in review_words[1:] for m in (sorted(glob.glob(w)) if "*" in w else [w])]
    assert main(argv) == 0
    capsys.readouterr()
    words = shlex.split(command.replace("\\\n", " "))
    assert words[:2] == ["lspolicy", "explain"]
    assert main(words[1:]) == 0
    assert capsys.readouterr().out == shown


def test_orggen_sampled_cells_are_the_engines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A synthetic 3-account organization (``bench/orggen.py --scale small``: boundaries, SCP
    levels, role chains, caller keys): sampled cells of every kind (allowed directly, through
    a chain, conditional, denied) re-decided by the engine from the recorded exports equal
    the stored cells (exit 0 for each)."""
    import importlib.util  # noqa: PLC0415
    import sys  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location("orggen_x", ROOT / "bench" / "orggen.py")
    assert spec is not None and spec.loader is not None
    orggen = importlib.util.module_from_spec(spec)
    sys.modules["orggen_x"] = orggen
    spec.loader.exec_module(orggen)
    org = tmp_path / "org"
    manifest = orggen.generate(org, seed=3, scale="small")
    argv = [
        "--auth-details", *(str(org / f) for f in manifest.auth_details),
        "--instances", *(str(org / f) for f in manifest.instance_files),
        "--organization", str(org / manifest.organization),
    ]  # fmt: skip
    out = tmp_path / "review"
    assert main(["review", *argv, "--out", str(out), "--actions", STOP]) == 0
    capsys.readouterr()
    con = duckdb.connect()
    picked = con.execute(
        f"""
        SELECT principal_arn, instance_arn, decision, via_length FROM (
          SELECT *, row_number() OVER (
            PARTITION BY decision, via_length > 0 ORDER BY hash(principal_arn || instance_arn)
          ) AS n
          FROM read_parquet('{out}/matrix/*.parquet')
        ) WHERE n <= 3 ORDER BY ALL
        """
    ).fetchall()
    con.close()
    kinds = {(d, v > 0) for _, _, d, v in picked}
    assert ("allowed", False) in kinds and ("implicitDeny", False) in kinds
    assert any(chained for _, chained in kinds)  # some access through a role chain
    for principal, instance, decision, _ in picked:
        code, _, err = explain(capsys, out, principal, instance)
        assert code == 0, (principal, instance, decision, err)
