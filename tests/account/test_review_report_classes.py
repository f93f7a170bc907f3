"""Property: ``report.json`` computed at class level (`lspolicy.account.report_sql`: counts per
principal class and map column, weighted by the columns' sizes, the join-feature terms through
the matching pairs' columns only) has every number that brute-force SQL counts over the
materialized matrix (``matrix/*.parquet``, one row per principal, instance and action).

The organizations are random, over three accounts (several runs of instance classes, so the
column of an instance class is found through the part map of its own run) with join features:
``aws:ResourceTag/owner`` compared with ``${aws:username}`` and, in some, ``aws:ResourceTag/team``
with ``${aws:PrincipalTag/team}``. Policy variables are replaced by the request's values before
the comparison (IAM User Guide, "IAM policy elements: Variables and tags",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html), so a cell
depends on a member's value only through that equality: the join bits the counts invert. The
cells themselves are checked against the engine elsewhere (`test_review_cross_account.py`);
here the report must be the matrix's, and it is built from the dataset alone (``summarize``
without the in-memory matrix: the class counts come from ``dataset.json``).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_account_properties import MAX_CHAIN  # same folder (rootdir import)
from test_review_cross_account import _policy, crossed
from test_review_part_maps import _to_dense_files
from test_review_properties import ACTIONS

from lspolicy.account.model import Instance, Inventory, ManagedPolicy, Role, User
from lspolicy.account.parquet import class_counts, connect, write_dataset
from lspolicy.account.report_sql import LOOKUP_CTES, lookup_sql
from lspolicy.account.review import compute_matrix
from lspolicy.account.summary import HEATMAP_ROWS, LIST_ROWS, summarize
from lspolicy.account.views import DatasetError, read_layout

_REACH = "('allowed', 'conditional')"
TEAM = "arn:aws:iam::111111111111:policy/Team"


@st.composite
def organizations(draw: st.DrawFn) -> Inventory:
    """`crossed` (three accounts, owner = ``${aws:username}`` in some statements), and in some
    a managed policy comparing ``team`` with ``${aws:PrincipalTag/team}``: two join features."""
    inv = draw(crossed())
    if draw(st.sampled_from([True, True, False])):
        effect = draw(st.sampled_from(["Allow", "Deny"]))
        operator = draw(st.sampled_from(["StringEquals", "StringNotEquals"]))
        statement = {
            "Effect": effect,
            "Action": list(ACTIONS),
            "Resource": "*",
            "Condition": {operator: {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
        }
        inv.policies[TEAM] = ManagedPolicy(TEAM, "Team", _policy([statement], TEAM))
        for arn in sorted(inv.users):
            if draw(st.booleans()):
                u = inv.users[arn]
                inv.users[arn] = User(
                    u.arn, u.name, inline=u.inline, managed=(*u.managed, TEAM), tags=u.tags
                )
        for arn in sorted(inv.roles):
            if draw(st.booleans()):
                r = inv.roles[arn]
                inv.roles[arn] = Role(
                    r.arn, r.name, trust=r.trust, inline=r.inline, managed=(*r.managed, TEAM)
                )
    return inv


def brute_force(out: Path, focus: str, *, trail: bool) -> dict[str, Any]:
    """The report's numbers counted over the expanded rows of ``matrix/*.parquet``, in the
    report's shapes (lists cut at `LIST_ROWS`, heatmap rows at `HEATMAP_ROWS`)."""
    con = duckdb.connect()
    for name in ("principals", "instances"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{out}/{name}.parquet')")
    con.execute(f"CREATE VIEW matrix AS SELECT * FROM read_parquet('{out}/matrix/*.parquet')")

    def rows(sql: str, *params: object) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in con.execute(sql, list(params)).fetchall()]

    decisions: dict[str, dict[str, int]] = {}
    for action, decision, n in rows("SELECT action, decision, count(*) FROM matrix GROUP BY 1, 2"):
        decisions.setdefault(action, {})[decision] = n
    production = rows(
        f"""
        SELECT i.instance_arn,
               count(m.decision) FILTER (WHERE m.decision = 'allowed') AS allowed,
               count(m.decision) FILTER (WHERE m.decision = 'conditional') AS conditional,
               count(m.decision) FILTER (WHERE m.decision IN {_REACH} AND m.via_length > 0),
               coalesce(list(m.principal_arn ORDER BY m.principal_arn)
                 FILTER (WHERE m.decision IN {_REACH}), [])
        FROM instances i LEFT JOIN matrix m ON m.instance_arn = i.instance_arn AND m.action = ?
        WHERE i.production GROUP BY ALL
        ORDER BY allowed + conditional DESC, 1 LIMIT {LIST_ROWS}
        """,
        focus,
    )
    chains = rows(
        f"""
        SELECT principal_arn, action, count(*),
               list(DISTINCT array_to_string(via, ' -> ')
                    ORDER BY array_to_string(via, ' -> '))
        FROM matrix WHERE decision IN {_REACH} AND direct_decision NOT IN {_REACH}
        GROUP BY 1, 2 ORDER BY 1, 2
        """
    )
    heat = rows(
        f"""
        SELECT p.principal_arn, g.tag_group,
               count(m.decision) FILTER (WHERE m.decision IN {_REACH})
        FROM principals p CROSS JOIN (SELECT DISTINCT tag_group FROM instances) g
        LEFT JOIN matrix m ON m.principal_arn = p.principal_arn AND m.tag_group = g.tag_group
          AND m.action = ?
        GROUP BY 1, 2
        """,
        focus,
    )
    totals: dict[str, int] = {}
    counts: dict[str, dict[str, int]] = {}
    for p, g, n in heat:
        totals[p] = totals.get(p, 0) + n
        counts.setdefault(p, {})[g] = n
    ranked = sorted(totals, key=lambda p: (-totals[p], p))
    got: dict[str, Any] = {
        "cells": rows("SELECT count(*) FROM matrix")[0][0],
        "decisions": decisions,
        "production": [(arn, a, c, v, list(ps)[:LIST_ROWS]) for arn, a, c, v, ps in production],
        "production_total": rows("SELECT count(*) FROM instances WHERE production")[0][0],
        "chain_only": chains[:LIST_ROWS],
        "chain_only_total": sum(r[2] for r in chains),
        "heatmap": [(p, totals[p], counts[p]) for p in ranked[:HEATMAP_ROWS]],
        "heatmap_total": len(ranked),
        "unused": None,
        "unused_total": None,
    }
    if trail:
        unused = rows(
            f"""
            SELECT principal_arn, action,
                   count(*) FILTER (WHERE decision IN {_REACH}),
                   count(*) FILTER (WHERE decision IN {_REACH} AND used),
                   count(*) FILTER (WHERE decision IN {_REACH} AND NOT used)
            FROM matrix GROUP BY 1, 2
            HAVING count(*) FILTER (WHERE decision IN {_REACH} AND NOT used) > 0
            ORDER BY 1, 2
            """
        )
        got["unused"], got["unused_total"] = unused[:LIST_ROWS], len(unused)
    con.close()
    return got


def reported(report: dict[str, Any]) -> dict[str, Any]:
    """The same numbers read from ``report.json``'s content."""
    heat = report["heatmap"]
    return {
        "cells": report["counts"]["cells"],
        "decisions": report["decisions"],
        "production": [
            (r["instance_arn"], r["allowed"], r["conditional"], r["via_chain"], r["principals"])
            for r in report["production"]
        ],
        "production_total": report["production_total"],
        "chain_only": [
            (r["principal_arn"], r["action"], r["instances"], r["chains"])
            for r in report["chain_only"]
        ],
        "chain_only_total": report["chain_only_total"],
        "heatmap": [(r["principal_arn"], r["total"], r["counts"]) for r in heat["rows"]],
        "heatmap_total": heat["rows_total"],
        "unused": None
        if report["unused"] is None
        else [
            (r["principal_arn"], r["action"], r["granted"], r["used"], r["unused"])
            for r in report["unused"]
        ],
        "unused_total": report["unused_total"],
    }


def _without_zero_decisions(numbers: dict[str, Any]) -> dict[str, Any]:
    # the report lists a decision only where it has cells (the matrix has no zero groups)
    return {
        **numbers,
        "decisions": {
            a: {d: n for d, n in by.items() if n} for a, by in numbers["decisions"].items()
        },
    }


@settings(max_examples=30, deadline=None)
@given(organizations(), st.data())
def test_every_report_number_is_the_materialized_matrix_count(
    inv: Inventory, data: st.DataObject
) -> None:
    matrix = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN, escalations=False)
    principals = sorted([*inv.users, *inv.roles])
    instances = sorted(inv.instances)
    production = data.draw(st.sampled_from([[("env", "prod")], [("team", "a")], [("env", "dev")]]))
    group_tag = data.draw(st.sampled_from(["env", "team", "owner"]))
    observed = data.draw(
        st.none()
        | st.lists(
            st.tuples(
                st.sampled_from(principals),
                st.sampled_from(ACTIONS),
                st.sampled_from(instances),
                st.integers(1, 3),
            ),
            max_size=10,
            unique_by=lambda o: o[:3],
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        write_dataset(out, inv, matrix, production=production, group_tag=group_tag,
                      observed=observed, materialize="always")  # fmt: skip
        layout = read_layout(out)
        assert layout is not None and layout.parts and layout.columns
        # the class counts the report gives are recorded with the dataset
        assert layout.classes == class_counts(matrix)
        report = summarize(
            out,
            None,  # from the dataset alone
            focus=ACTIONS[0],
            production=production,
            group_tag=group_tag,
            notes=(),
            trail={"source": "test"} if observed is not None else None,
        )
        want = brute_force(out, ACTIONS[0], trail=observed is not None)
        assert reported(report) == _without_zero_decisions(want)
        assert report["counts"]["cells"] == len(principals) * len(instances) * len(ACTIONS)
        assert report["counts"]["principal_classes"] == matrix.principal_classes
        assert report["counts"]["class_cells"] == len(matrix.cells)
        # the maps stored dense (a dataset written before the part maps): the same report
        _to_dense_files(out)
        again = summarize(
            out,
            None,
            focus=ACTIONS[0],
            production=production,
            group_tag=group_tag,
            notes=(),
            trail={"source": "test"} if observed is not None else None,
        )
        assert again == report


@settings(max_examples=20, deadline=None)
@given(organizations())
def test_the_lookup_finds_each_instance_class_column_on_each_map(inv: Inventory) -> None:
    """`report_sql.lookup_sql` (the run's part map, then the local id's column) gives, for
    every map and instance class, the column the ``instance_columns`` view gives."""
    matrix = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN, escalations=False)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        write_dataset(out, inv, matrix, production=[], group_tag="env", observed=None,
                      materialize="never")  # fmt: skip
        con = connect(out)
        want = sorted(
            con.execute("SELECT map, instance_class, column_id FROM instance_columns").fetchall()
        )
        got = sorted(
            con.execute(
                f"""
                WITH {LOOKUP_CTES},
                q AS (SELECT m.map, i.instance_class
                      FROM (SELECT DISTINCT map FROM class_maps) m
                      CROSS JOIN (SELECT DISTINCT instance_class FROM instances) i)
                SELECT q.map, q.instance_class, mp.column_id FROM q
                {lookup_sql("q")}
                """
            ).fetchall()
        )
        con.close()
        assert got == want
        assert len(got) == len(set(matrix.cells.map_of.values())) * len(matrix.instances.reps)


def test_a_dataset_without_recorded_class_counts_takes_the_matrix(tmp_path: Path) -> None:
    """A dataset written before ``dataset.json`` recorded the class counts: the report takes
    them from the matrix when it is given, and says what is missing when it is not."""
    inv = Inventory(
        users={"arn:aws:iam::111111111111:user/u": User("arn:aws:iam::111111111111:user/u", "u")},
    )
    arn = "arn:aws:lightsail:us-east-1:111111111111:Instance/i"
    inv.instances[arn] = Instance("i", arn, "us-east-1", tags={"env": "prod"})
    matrix = compute_matrix(inv, ACTIONS, max_chain=MAX_CHAIN, escalations=False)
    write_dataset(tmp_path, inv, matrix, production=[("env", "prod")], group_tag="env",
                  observed=None)  # fmt: skip
    record = json.loads((tmp_path / "dataset.json").read_text())
    del record["classes"]
    (tmp_path / "dataset.json").write_text(json.dumps(record))
    kw: dict[str, Any] = {
        "focus": ACTIONS[0], "production": [("env", "prod")], "group_tag": "env", "notes": (),
        "trail": None,
    }  # fmt: skip
    report = summarize(tmp_path, matrix, **kw)
    assert report["counts"]["instance_classes"] == len(matrix.instances.members) == 1
    with pytest.raises(DatasetError, match="no class counts recorded"):
        summarize(tmp_path, None, **kw)
