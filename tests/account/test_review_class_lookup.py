"""Property: ``who-can``, ``what-can`` and one cell looked up class by class
(`lspolicy.account.class_lookup`, through `lspolicy.account.from_review.ReviewData`) equal the
brute-force answer, the dataset's ``matrix`` view filtered to the instance, the principal or
the cell: the same principals (instances), chains, decisions, deciding statements, caller
conditions and incomplete policies, in the same order.

The organizations are random: three accounts with chains across them (several runs of instance
classes, so several part maps per map: `test_review_cross_account.crossed`), the generator of
``test_review_properties.py``, and the same with a join feature (a tag compared with
``${aws:username}``: the answer depends on the join bits, `test_review_joins.joined`). Each
dataset is asked three ways: as written (with the lookup files: ``part_columns.parquet``,
who-can's copy of the maps ordered by part map, and ``outcomes.parquet``, each distinct answer
once), without them (a dataset written before them: ``map_parts`` and the answers in
``class_columns`` are read), and through the views (`ReviewData`'s older path). The semantics of the answers are
checked against the engine elsewhere (``test_review_query_properties.py``,
``test_account_properties.py``, citing the IAM docs); how the dataset stores them is this
project's own format, on which AWS documentation is silent: the property is equality with the
matrix view.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_account_properties import MAX_CHAIN  # same folder (rootdir import)
from test_review_cross_account import crossed
from test_review_joins import joined
from test_review_properties import ACTIONS, reviewed

from lspolicy.account.class_lookup import OUTCOMES_FILE, PART_COLUMNS_FILE
from lspolicy.account.from_review import CLOSE_SHORTLIST, Answer, ReviewData
from lspolicy.account.model import Inventory
from lspolicy.account.parquet import connect, write_dataset
from lspolicy.account.review import compute_matrix
from lspolicy.account.views import DATASET_FILE, maps_sql

REACH = "decision IN ('allowed', 'conditional')"
ROW = "principal_arn, via, decision, statements, conditions, incomplete"


def _norm(row: tuple[Any, ...]) -> tuple[object, ...]:
    """A matrix row's answer as `Answer` holds it (statements deduplicated, JSON parsed)."""
    principal, via, decision, statements, conditions, incomplete = row
    return (
        principal,
        tuple(via or ()),
        decision,
        tuple(dict.fromkeys(statements or ())),
        json.dumps(json.loads(conditions) if conditions else [], sort_keys=True),
        tuple(incomplete or ()),
    )


def _answer(a: Answer) -> tuple[object, ...]:
    return (
        a.principal,
        a.via,
        a.decision,
        a.statements,
        json.dumps(list(a.conditions), sort_keys=True),
        a.incomplete,
    )


def _without_lookup_files(out: Path) -> None:
    """The dataset as written before the lookup files existed."""
    (out / PART_COLUMNS_FILE).unlink()
    (out / OUTCOMES_FILE).unlink()
    record = json.loads((out / DATASET_FILE).read_text())
    del record["lookup"]
    (out / DATASET_FILE).write_text(json.dumps(record))


def _check(out: Path, brute: Any, *, views: bool = False) -> None:
    with ReviewData(out) as data:
        if views:
            data._layout = None  # the older path: the same questions through the views
        instances = [r[0] for r in brute.execute("SELECT instance_arn FROM instances").fetchall()]
        principals = [
            r[0] for r in brute.execute("SELECT principal_arn FROM principals").fetchall()
        ]
        for arn in instances:
            for action in ACTIONS:
                want = brute.execute(
                    f"SELECT {ROW} FROM matrix WHERE instance_arn = ? AND action = ? AND {REACH}"
                    " ORDER BY principal_arn",
                    [arn, action],
                ).fetchall()
                got = data.who_can(action, arn)
                assert [_answer(a) for a in got] == [_norm(tuple(r)) for r in want], (arn, action)
        order = list(ACTIONS)
        for principal in principals:
            want_what = brute.execute(
                f"SELECT instance_arn, instance_name, action, {ROW} FROM matrix "
                f"WHERE principal_arn = ? AND {REACH} "
                "ORDER BY instance_arn, list_position(?, action)",
                [principal, order],
            ).fetchall()
            got_what = data.what_can(principal, ACTIONS)
            assert [(i, n, act, _answer(a)) for i, n, act, a in got_what] == [
                (r[0], r[1], r[2], _norm(tuple(r[3:]))) for r in want_what
            ], principal
        for principal in principals[:3]:
            for arn in instances[:4]:
                for action in ACTIONS:
                    want_cell = brute.execute(
                        "SELECT principal_arn, instance_arn, instance_name, action, decision,"
                        " direct_decision, via, statements, conditions, incomplete FROM matrix"
                        " WHERE principal_arn = ? AND instance_arn = ? AND action = ?",
                        [principal, arn, action],
                    ).fetchall()
                    got_cell = data.cell(principal, arn, action)
                    assert len(want_cell) == 1
                    assert got_cell is not None
                    row = want_cell[0]
                    assert got_cell == {
                        "principal_arn": row[0],
                        "instance_arn": row[1],
                        "instance_name": row[2],
                        "action": row[3],
                        "decision": row[4],
                        "direct_decision": row[5],
                        "via": list(row[6] or ()),
                        "statements": list(row[7] or ()),
                        "conditions": json.loads(row[8]) if row[8] else [],
                        "incomplete": list(row[9] or ()),
                    }
        assert data.who_can(ACTIONS[0], "arn:aws:lightsail:us-east-1:1:Instance/none") == []
    # the table macros of `lspolicy query` (`class_lookup.member_macros_sql`): the matrix's
    # rows of one member, exactly (as multisets, every column)
    con = connect(out)
    try:
        for macro, key, members in (
            ("instance_matrix", "instance_arn", instances),
            ("principal_matrix", "principal_arn", principals),
        ):
            for arn in members:
                lit = "'" + arn.replace("'", "''") + "'"
                got_rows = sorted(
                    map(repr, con.execute(f"SELECT * FROM {macro}({lit})").fetchall())
                )
                want_rows = sorted(
                    map(
                        repr,
                        brute.execute(f"SELECT * FROM matrix WHERE {key} = ?", [arn]).fetchall(),
                    )
                )
                assert got_rows == want_rows, (macro, arn)
    finally:
        con.close()


@settings(max_examples=12, deadline=None)
@given(
    st.one_of(
        crossed(),
        reviewed(),
        joined().map(lambda pair: pair[0]),
    )
)
def test_class_lookups_equal_the_matrix_view(inv: Inventory) -> None:
    matrix = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN, escalations=False)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        write_dataset(
            out,
            inv,
            matrix,
            production=[("env", "prod")],
            group_tag="env",
            observed=None,
            materialize="never",
        )
        assert (out / PART_COLUMNS_FILE).is_file()
        brute = connect(out)
        # the reference: the matrix view over ``map_parts`` (with the lookup files,
        # ``instance_columns`` is read from who-can's copy)
        brute.execute(f"CREATE OR REPLACE VIEW instance_columns AS {maps_sql()}")
        try:
            _check(out, brute)
            _check(out, brute, views=True)
            _without_lookup_files(out)
            _check(out, brute)
        finally:
            brute.close()


def test_part_columns_lists_map_parts_by_part_map() -> None:
    """Who-can's copy holds exactly ``map_parts``'s rows, ordered by part map, and the part
    maps are numbered in ``part_maps.parquet``'s order (by run): one run's part maps are one
    range of ids."""
    from test_review_query import example_inputs  # noqa: PLC0415

    from lspolicy.cli import main  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        assert main(["review", *example_inputs(), "--out", str(out), "--materialize", "never"]) == 0
        con = connect(out)
        try:
            copy = str(out / PART_COLUMNS_FILE)
            rows = con.execute(f"SELECT part_map FROM read_parquet('{copy}')").fetchall()
            assert [r[0] for r in rows] == sorted(r[0] for r in rows)
            diff = con.execute(
                f"SELECT count(*) FROM (SELECT * FROM read_parquet('{copy}') "
                "EXCEPT ALL SELECT map, part_map, local_id, column_id FROM map_parts)"
            ).fetchone()
            assert diff == (0,)
            sizes = con.execute(
                f"SELECT (SELECT count(*) FROM read_parquet('{copy}')), "
                "(SELECT count(*) FROM map_parts)"
            ).fetchone()
            assert sizes is not None and sizes[0] == sizes[1] > 0
            firsts = [
                r[0]
                for r in con.execute(
                    "SELECT part_map FROM part_maps GROUP BY part_map ORDER BY min(instance_class),"
                    " part_map"
                ).fetchall()
            ]
            assert firsts == sorted(firsts)
        finally:
            con.close()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet="abdeiw-12_/:", min_size=1, max_size=14))
def test_did_you_mean_is_difflibs_over_every_name(sample_review: Path, wanted: str) -> None:
    """Below `CLOSE_SHORTLIST` names the hint is difflib's over every name (the shortlist by
    DuckDB's similarity only bounds the work on a whole organization)."""
    import difflib  # noqa: PLC0415

    with ReviewData(sample_review) as data:
        for table, column in (("instances", "instance_name"), ("principals", "principal_arn")):
            names = [r[0] for r in data._con.execute(f"SELECT {column} FROM {table}").fetchall()]
            assert len(names) < CLOSE_SHORTLIST
            want = difflib.get_close_matches(wanted, names, n=1)
            assert data._close(wanted, table, column) == (want[0] if want else None)


@pytest.fixture(scope="module")
def sample_review(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from test_review_query import example_inputs  # noqa: PLC0415

    from lspolicy.cli import main  # noqa: PLC0415

    out = tmp_path_factory.mktemp("did-you-mean") / "out"
    assert main(["review", *example_inputs(), "--out", str(out), "--materialize", "never"]) == 0
    return out
