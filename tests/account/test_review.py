"""``lspolicy review`` on the bundled sample export and on a small tag-escalation fixture:
expected cells written by hand from the policies (the sample is described in
``test_account_example.py``), read back from the Parquet dataset with DuckDB.

Semantics: the IAM policy evaluation logic
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit deny in any policy (an SCP too) wins, otherwise an allow is needed in the identity
policies, within the boundary and every SCP level; role trust policies must name the caller
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_update-role-trust-policy.html).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from lspolicy.account.parquet import MATRIX_COLUMNS, run_query
from lspolicy.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "account"
DATA = Path(__file__).resolve().parent / "data"
A, B = "arn:aws:iam::111111111111:", "arn:aws:iam::222222222222:"
C = "arn:aws:iam::333333333333:"
ALICE, BOB, CAROL, DAVE, ERIN = (
    A + "user/ops/alice", A + "user/bob", A + "user/carol", A + "user/dave", B + "user/erin"
)  # fmt: skip
AUDITOR, DEPLOYER, EC2APP = A + "role/Auditor", A + "role/Deployer", A + "role/Ec2App"
PRODOP, BREAKGLASS = B + "role/ProdOperator", B + "role/BreakGlass"
SCRIPT_ROLE = C + "role/<script>document.body.setAttribute('data-pwned','1')</script>"
STOP = "lightsail:StopInstance"


def example_inputs() -> list[str]:
    return [
        "--auth-details",
        *sorted(str(p) for p in EXAMPLE.glob("auth-details-*.json")),
        "--instances",
        *sorted(str(p) for p in EXAMPLE.glob("instances-*.json")),
        "--organization",
        str(EXAMPLE / "organization.json"),
    ]


def fixture_inputs() -> list[str]:
    return [
        "--auth-details",
        str(DATA / "review-auth-details-333333333333.json"),
        "--instances",
        str(DATA / "review-instances-333333333333.json"),
        "--trail",
        str(DATA / "review-trail.json"),
    ]


def review(out: Path, inputs: list[str], *extra: str) -> Path:
    assert main(["review", *inputs, "--out", str(out), *extra]) == 0
    return out


def rows(out: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect()
    con.execute(f"CREATE VIEW matrix AS SELECT * FROM read_parquet('{out}/matrix/*.parquet')")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return review(tmp_path_factory.mktemp("review") / "out", example_inputs())


def test_columns_are_the_documented_plain_types(sample: Path) -> None:
    """The matrix has exactly the README's columns, in order, with plain Parquet types (no
    dictionary-only, unsigned or nested struct types) so Spark reads it as DuckDB does."""
    schema = pq.read_schema(next((sample / "matrix").glob("*.parquet")))
    assert tuple(schema.names) == MATRIX_COLUMNS
    types = {f.name: str(f.type) for f in schema}
    assert types["decision"] == "string"
    assert types["via"] == "list<element: string>"
    assert types["via_length"] == "int32"
    assert types["production"] == "bool"
    assert types["used"] == "bool"


def test_every_cell_once(sample: Path) -> None:
    """10 principals (5 users, 5 roles) x 6 instances x 6 default actions, each cell once."""
    assert rows(
        sample, "SELECT count(*), count(DISTINCT (principal_arn, instance_arn, action)) FROM matrix"
    ) == [(360, 360)]


def test_prod_web_stop_by_hand(sample: Path) -> None:
    """prod-web (222, env=prod). The Prod OU's SCP denies StopInstance on env=prod unless the
    principal is a BreakGlass role: "an explicit deny in any SCP" denies
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html),
    so ProdOperator and erin get explicitDeny with the SCP statement as the reason; BreakGlass is
    allowed directly; dave through BreakGlass only with the external id (conditional); carol's
    chain ends at ProdOperator, which is denied; everyone else implicitDeny."""
    got = {
        r[0]: r[1:]
        for r in rows(
            sample,
            "SELECT principal_arn, decision, direct_decision, via, statements FROM matrix "
            "WHERE instance_name = 'prod-web' AND action = 'lightsail:StopInstance'",
        )
    }
    scp = "arn:aws:organizations::999999999999:policy/o-exmpl12345/service_control_policy/p-denyprodstop/NoStoppingProd"
    assert got[BREAKGLASS][:3] == ("allowed", "allowed", [])
    assert got[DAVE][:3] == ("conditional", "implicitDeny", [BREAKGLASS])
    assert got[PRODOP] == ("explicitDeny", "explicitDeny", [], [scp])
    assert got[ERIN] == ("explicitDeny", "explicitDeny", [], [scp])
    for p in (ALICE, BOB, CAROL, AUDITOR, DEPLOYER, EC2APP):
        assert got[p][0] == "implicitDeny", p


def test_staging_web_chain_only_access(sample: Path) -> None:
    """staging-web: carol reaches it only through Deployer then ProdOperator (her own decision
    is implicitDeny: she has no policy), Deployer through ProdOperator; role chaining:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles.html#iam-term-role-chaining."""
    got = rows(
        sample,
        "SELECT principal_arn, via FROM matrix WHERE instance_name = 'staging-web' "
        "AND action = 'lightsail:StopInstance' AND decision IN ('allowed', 'conditional') "
        "AND direct_decision NOT IN ('allowed', 'conditional') ORDER BY 1",
    )
    assert got == [
        (DEPLOYER, [PRODOP]),
        (CAROL, [DEPLOYER, PRODOP]),
        (DAVE, [BREAKGLASS]),
    ]


def test_bob_boundary_denies_everything_but_reads(sample: Path) -> None:
    """bob's boundary allows only reads and sts:AssumeRole: "the effective permissions are the
    intersection" (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html),
    and the only role he may call AssumeRole on (Deployer) trusts carol alone."""
    assert rows(sample, f"SELECT DISTINCT decision FROM matrix WHERE principal_arn = '{BOB}'") == [
        ("implicitDeny",)
    ]


def test_report_json_production_and_problems(sample: Path) -> None:
    """Production (env=prod by default): prod-web and prod-db, each stoppable by BreakGlass and,
    conditionally, dave. erin's managed policy that does not parse is listed, not dropped."""
    report = json.loads((sample / "report.json").read_text())
    prod = {
        p["instance_name"]: (p["allowed"], p["conditional"], p["principals"])
        for p in report["production"]
    }
    assert prod == {
        "prod-web": (1, 1, [DAVE, BREAKGLASS]),
        "prod-db": (1, 1, [DAVE, BREAKGLASS]),
    }
    assert [p["name"] for p in report["not_evaluated"] if p["what"] == "policy"] == [
        B + "policy/LegacyOps"
    ]
    assert report["escalations"] == []
    assert report["unused"] is None
    erin = rows(sample, f"SELECT DISTINCT incomplete FROM matrix WHERE principal_arn = '{ERIN}'")
    assert erin == [([B + "policy/LegacyOps"],)]


@pytest.fixture(scope="module")
def fixture_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return review(tmp_path_factory.mktemp("review") / "out", fixture_inputs())


def test_tag_escalation_found_and_careful_tagger_not(fixture_out: Path) -> None:
    """tagger may stop instances whose ``team`` tag equals his own (web) and may
    ``lightsail:TagResource`` anything: he can tag db-a ``team=web`` and stop it (the lint's
    LSP111 at account scale). careful has the same stop grant but may not write the ``team``
    key (``ForAllValues:StringNotEquals`` on ``aws:TagKeys``, as the IAM guide advises:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html#access_tags_control-tag-keys),
    so no escalation. The role that may do anything already stops db-a."""
    # `escalations` is a view over the class-level files (lspolicy.account.escalation_store)
    _, got = run_query(
        fixture_out, "SELECT principal_arn, set_tags, remove_tags, conditional FROM escalations"
    )
    assert got == [(C + "user/tagger", '{"team": "web"}', [], False)]


def test_instance_classes_share_decisions(fixture_out: Path) -> None:
    """web-a and web-b differ only in their ids: no policy names an ARN, so they form one class
    (the ``env`` tag is read by no policy here, so db-a differs only by ``team``)."""
    got = dict(rows(fixture_out, "SELECT DISTINCT instance_name, instance_class FROM matrix"))
    # team is compared only with ${aws:PrincipalTag/team}: a join tag, so db-a shares the class
    # and differs by the join bit (lspolicy.account.classes.JoinFeature)
    assert got["web-a"] == got["web-b"] == got["db-a"]


def test_trail_marks_used_cells_and_unmatched_calls(fixture_out: Path) -> None:
    """The trail has tagger stopping web-a twice and an instance that is not in the inputs: the
    first marks one cell used; the second is listed in problems, not dropped."""
    used = rows(fixture_out, "SELECT principal_arn, instance_name, action FROM matrix WHERE used")
    assert used == [(C + "user/tagger", "web-a", STOP)]
    report = json.loads((fixture_out / "report.json").read_text())
    assert [p["name"] for p in report["not_evaluated"] if p["what"] == "trail"] == ["gone-1"]
    tagger = [
        u
        for u in report["unused"]
        if u["principal_arn"] == C + "user/tagger" and u["action"] == STOP
    ]
    assert tagger == [
        {"principal_arn": C + "user/tagger", "action": STOP, "granted": 2, "used": 1, "unused": 1}
    ]


def test_html_escapes_untrusted_names(fixture_out: Path) -> None:
    """A role name from the export is text, never markup; the page has no script of its own."""
    page = (fixture_out / "report.html").read_text()
    assert "<script" not in page
    assert "&lt;script&gt;document.body.setAttribute(&#x27;data-pwned&#x27;" in page
    assert 'src="http' not in page and 'href="http' not in page  # self-contained


def test_query_command(fixture_out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``lspolicy query DIR SQL`` runs DuckDB over the dataset."""
    code = main(
        [
            "query",
            str(fixture_out),
            "SELECT count(*) AS n FROM matrix WHERE decision = 'allowed'",
            "--format",
            "json",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    expected = rows(fixture_out, "SELECT count(*) FROM matrix WHERE decision = 'allowed'")[0][0]
    assert json.loads(out) == [{"n": expected}]


def test_query_errors_exit_2(
    fixture_out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad query and a directory without a dataset: a message, exit 2, no traceback."""
    assert main(["query", str(fixture_out), "SELECT nope FROM matrix"]) == 2
    assert "query failed" in capsys.readouterr().err
    assert main(["query", str(tmp_path), "SELECT 1"]) == 2
    assert "no review dataset" in capsys.readouterr().err


def test_bad_input_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A truncated export names the file; a bad --production-tag is a usage error."""
    bad = tmp_path / "auth.json"
    bad.write_text('{"UserDetailList": [')
    code = main(
        [
            "review",
            "--auth-details",
            str(bad),
            "--instances",
            str(DATA / "review-instances-333333333333.json"),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and str(bad) in err and "Traceback" not in err
    code = main(
        ["review", *fixture_inputs(), "--production-tag", "prod", "--out", str(tmp_path / "o")]
    )
    assert code == 2 and "KEY=VALUE" in capsys.readouterr().err


def test_readme_review_example_runs_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's review and query commands, run from the repository root (``review/``
    replaced by a temporary directory), print the query's rows the README shows: the two
    principals that stop staging-web only through ProdOperator (docs that run)."""
    import glob  # noqa: PLC0415
    import os  # noqa: PLC0415
    import shlex  # noqa: PLC0415

    text = (ROOT / "README.md").read_text()
    section = text[text.index("### The whole matrix: `lspolicy review`") :]
    start = section.index("```sh\n") + 6
    commands = section[start : section.index("```", start)]
    shown = section.split("```")[3].lstrip("\n")
    words = shlex.split(commands.replace("\\\n", " "))
    split = words.index("lspolicy", 1)
    first, second = words[1:split], words[split + 1 :]
    out = str(tmp_path / "review")
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        argv = [m for w in first for m in (sorted(glob.glob(w)) if "*" in w else [w])]
        assert main([out if w == "review/" else w for w in argv]) == 0
        capsys.readouterr()
        assert main([out if w == "review/" else w for w in second]) == 0
    finally:
        os.chdir(cwd)
    assert capsys.readouterr().out == shown


def test_options_actions_production_tag_and_query(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--actions`` limits the matrix (3 principals x 3 instances x 1 action), a custom
    ``--production-tag`` marks only db-a, ``--group-tag`` groups the heatmap by team, and
    ``--query`` prints the SQL's rows after writing."""
    out = tmp_path / "out"
    code = main(
        [
            "review", *fixture_inputs(), "--out", str(out),
            "--actions", STOP, "--production-tag", "team=db", "--group-tag", "team",
            "--query", "SELECT count(*) AS cells FROM matrix",
        ]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert printed.splitlines()[-2:] == ["cells", "9"]
    report = json.loads((out / "report.json").read_text())
    assert [p["instance_name"] for p in report["production"]] == ["db-a"]
    assert [g["tag_group"] for g in report["heatmap"]["groups"]] == ["team=db", "team=web"]
    assert report["counts"]["actions"] == [STOP]


@pytest.mark.parametrize("empty", ["principals", "instances"])
def test_a_review_of_nothing_is_an_error_not_an_empty_matrix(
    tmp_path: Path, empty: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exports with no principal or no instance give exit 2 and write nothing: a matrix of zero
    cells would read as "nobody can stop anything". The empty shapes are those the AWS CLI
    prints for an account with nothing in it:
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstances.html"""
    auth = tmp_path / "auth.json"
    inst = tmp_path / "instances.json"
    auth.write_text(
        json.dumps({"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [],
                    "Policies": []})
    )  # fmt: skip
    inst.write_text(json.dumps({"instances": []}))
    sample = Path(__file__).resolve().parents[2] / "examples" / "account"
    if empty == "instances":
        auth = next(sample.glob("*auth*.json"))
    else:
        inst = next(sample.glob("*instances*.json"))
    out = tmp_path / "out"
    code = main(["review", "--auth-details", str(auth), "--instances", str(inst),
                 "--out", str(out)])  # fmt: skip
    assert code == 2
    assert "nothing to review" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("command", ["review", "who-can"])
def test_an_unknown_action_is_an_error_with_a_suggestion(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An action no AWS service defines would give an empty answer ("nobody can"): exit 2 with
    a did-you-mean instead. Lightsail's actions:
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html"""
    sample = Path(__file__).resolve().parents[2] / "examples" / "account"
    inputs = ["--auth-details", str(sample / "auth-details-111111111111.json"),
              "--instances", str(sample / "instances-111111111111-us-east-1.json")]  # fmt: skip
    if command == "review":
        args = ["review", *inputs, "--actions", "lightsail:StopInstanse", "--out",
                str(tmp_path / "out")]  # fmt: skip
    else:
        args = ["who-can", "lightsail:StopInstanse", "--instance", "any", *inputs]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "unknown action 'lightsail:StopInstanse'" in err
    assert "did you mean 'lightsail:StopInstance'" in err
