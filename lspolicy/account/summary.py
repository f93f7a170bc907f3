"""``report.json``: what a reviewer acts on, queried from the written dataset with DuckDB, so
every number in the report (and in ``report.html``, rendered from it) is the dataset's.

Sections: counts (principals, instances, classes, cells by action and decision); production
instances by how many principals can stop them; tag escalations; access that exists only
through role chains; grants never used (when a trail is given); the heatmap (principals x tag
groups: instances of the group the principal can act on); everything not evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lspolicy.account.parquet import class_counts, connect
from lspolicy.account.report_sql import (
    DENSE_PART_VIEWS,
    LOOKUP_CTES,
    class_counts_sql,
    join_subsets,
    key_names,
    lookup_sql,
)
from lspolicy.account.views import (
    DATASET_FILE,
    ClassCounts,
    DatasetError,
    Layout,
    bits_sql,
    escalations_sql,
    read_layout,
    sql_text,
)

if TYPE_CHECKING:
    from lspolicy.account.review import Matrix

__all__ = ["HEATMAP_ROWS", "LIST_ROWS", "counts_sql", "summarize"]

HEATMAP_ROWS = 200
"""Principals shown in the heatmap at most (the most access first); the dataset has them all."""
LIST_ROWS = 500
"""Rows of each list in the report at most; its total is given, and the dataset has them all."""
_REACH = "('allowed', 'conditional')"


def _rows(con: Any, sql: str, *params: object) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


_SIDES = {
    "principal": ("principals", "principal_arn", "principal_class", "join_value_",
                  "instances", "instance_class", "join_tag_"),
    "instance": ("instances", "instance_arn", "instance_class", "join_tag_",
                 "principals", "principal_class", "join_value_"),
}  # fmt: skip


def counts_sql(
    side: str,
    joins: int,
    *,
    cell_keys: Sequence[tuple[str, str]] = (),
    other_keys: Sequence[str] = (),
    where: str = "TRUE",
    members: str = "TRUE",
    columns: bool = False,
) -> str:
    """SQL giving, for each member of ``side`` (``principal`` or ``instance``, those matching
    ``members``), how many matrix rows it has whose class cell matches ``where`` (over ``c``),
    grouped by ``cell_keys`` (``(expression over c, alias)``) and the other side's columns
    ``other_keys``: ``(ARN, *aliases, *other_keys, n)``. Computed from class sizes, never by
    expanding the matrix.

    A cell with join bits ``b`` holds for the pairs whose bits are exactly ``b``. With ``N(S)``
    the number of the other side's class members that match the member on every join of
    ``S`` (an equality join: selective), Möbius inversion on the subsets gives the count of
    exactly ``b``: ``sum over S ⊇ b of (-1)^(|S|-|b|) N(S)``. ``N(∅)`` is the class size: the
    same for every member of a class, so that term is summed per class, then given to each
    member; the others are sparse (only matching values).

    With ``columns`` (the class cells stored by columns, `lspolicy.account.views`), counted
    at class level (`lspolicy.account.report_sql`): the class sizes per column of each map,
    the join terms through the class cells of the matching pairs' columns only, never the
    ``cells`` view (a whole organization's 10^9 class cells); the tables ``part_maps`` and
    ``map_parts`` are read (`report_sql.DENSE_PART_VIEWS` over dense maps)."""
    if columns:
        return class_counts_sql(
            side, joins, cell_keys=cell_keys, other_keys=other_keys, where=where, members=members
        )
    a, a_id, a_cls, a_join, b, b_cls, b_join = _SIDES[side]
    ck = [f"{expr} AS {alias}" for expr, alias in cell_keys]
    _, okeys, keys = key_names(cell_keys, other_keys)
    key_list = "".join(f", {k}" for k in keys)
    sel_g = "".join(f", g.{k}" for k in okeys)
    sel_c = "".join(f", {k}" for k in ck)
    zero = " AND c.bits = 0" if joins else ""
    base = f"""
      SELECT a.{a_id}{key_list}, k.n FROM (SELECT {a_id}, {a_cls} FROM {a} WHERE {members}) a
      JOIN (
        SELECT c.{a_cls}{sel_c}{sel_g}, sum(g.n) AS n
        FROM cells c
        JOIN (SELECT {b_cls}{"".join(f", {k}" for k in okeys)}, count(*) AS n FROM {b}
              GROUP BY ALL) g ON g.{b_cls} = c.{b_cls}
        WHERE ({where}){zero}
        GROUP BY ALL
      ) k ON k.{a_cls} = a.{a_cls}"""
    parts = [base]
    for mask in join_subsets(joins):
        js = [j for j in range(joins) if mask >> j & 1]
        a_cols = "".join(f", {a_join}{j}" for j in js)
        b_cols = "".join(f", {b_join}{j}" for j in js)
        on = " AND ".join(f"g.{b_join}{j} = a.{a_join}{j}" for j in js)
        notnull = " AND ".join(f"{b_join}{j} IS NOT NULL" for j in js)
        parts.append(f"""
      SELECT a.{a_id}{sel_c}{sel_g},
             sum(CASE WHEN ({len(js)} - bit_count(c.bits)) % 2 = 0 THEN g.n ELSE -g.n END) AS n
      FROM (SELECT {a_id}, {a_cls}{a_cols} FROM {a} WHERE {members}) a
      JOIN (SELECT {b_cls}{"".join(f", {k}" for k in okeys)}{b_cols}, count(*) AS n FROM {b}
            WHERE {notnull} GROUP BY ALL) g ON {on}
      JOIN cells c ON c.{a_cls} = a.{a_cls} AND c.{b_cls} = g.{b_cls} AND (c.bits & {mask}) = c.bits
      WHERE {where}
      GROUP BY ALL""")
    union = "\n      UNION ALL".join(parts)
    return f"SELECT {a_id}{key_list}, CAST(sum(n) AS BIGINT) AS n FROM ({union}\n) GROUP BY ALL"


def _columns(con: Any) -> bool:
    """Whether the dataset's class cells are stored by columns (``class_columns`` exists)."""
    got = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE view_name = 'class_columns'"
    ).fetchone()
    return bool(got and got[0])


def _joins(con: Any) -> int:
    """How many join features the dataset's cells carry (``join_tag_J`` columns)."""
    cols = [str(r[0]) for r in con.execute("DESCRIBE instances").fetchall()]
    return sum(1 for c in cols if c.startswith("join_tag_"))


def _class_counts(out: Path, layout: Layout | None, matrix: Matrix | None) -> ClassCounts:
    """The actions and class counts: as ``dataset.json`` records them, else (a dataset written
    before it did) the matrix's."""
    if layout is not None and layout.classes is not None:
        return layout.classes
    if matrix is None:
        raise DatasetError(
            f"{out / DATASET_FILE}: no class counts recorded (run `lspolicy review` again)"
        )
    return class_counts(matrix)


def summarize(
    out: Path,
    matrix: Matrix | None,
    *,
    focus: str,
    production: Sequence[tuple[str, str]],
    group_tag: str,
    notes: Sequence[str],
    escalation_notes: Sequence[str] = (),
    trail: dict[str, Any] | None,
) -> dict[str, Any]:
    """The summary of the dataset in ``out`` (``focus``: the action of the production list and
    the heatmap, StopInstance by default). Every number is the dataset's: the class counts
    too, from ``dataset.json`` (``matrix``, when given, only for a dataset that lacks them)."""
    layout = read_layout(out)
    classes = _class_counts(out, layout, matrix)
    con = connect(out)
    try:
        one = con.execute
        joins = _joins(con)
        cols = _columns(con)
        if cols and not (layout is not None and layout.parts):
            for view in DENSE_PART_VIEWS:  # maps stored dense (written before the parts)
                con.execute(view)
        reach = f"c.decision IN {_REACH}"
        by_decision = _rows(
            con,
            "SELECT action, decision, sum(n) AS n FROM ("
            + counts_sql(
                "principal",
                joins,
                cell_keys=[("c.action", "action"), ("c.decision", "decision")],
                columns=cols,
            )
            + ") GROUP BY 1, 2 ORDER BY 1, 2",
        )
        counts = {
            "principals": one("SELECT count(*) FROM principals").fetchone()[0],
            "instances": one("SELECT count(*) FROM instances").fetchone()[0],
            "actions": list(classes.actions),
            "cells": sum(int(r["n"]) for r in by_decision),
            "principal_classes": classes.principal_classes,
            "identity_classes": classes.identity_classes,
            "instance_classes": classes.instance_classes,
            "class_cells": classes.class_cells,
            "instance_singletons": classes.instance_singletons,
        }
        decisions: dict[str, dict[str, int]] = {}
        for r in by_decision:
            if r["n"]:
                decisions.setdefault(r["action"], {})[r["decision"]] = int(r["n"])
        prod, prod_total = _production(con, joins, focus, cols)
        # only the rows the report shows are fetched (one account's 300,000 escalations as
        # Python dicts were 700 MB); the totals are counted by DuckDB
        escalations_total = one("SELECT count(*) FROM escalations").fetchone()[0]
        escalations = _rows(
            con,
            "SELECT e.*, i.instance_name, l.instance_name AS like_instance_name "
            f"FROM {_first_escalations(con, out)} e JOIN instances i USING (instance_arn) "
            "JOIN instances l ON l.instance_arn = e.like_instance_arn "
            f"ORDER BY e.principal_arn, e.instance_arn LIMIT {LIST_ROWS}",
        )
        for e in escalations:
            e["set_tags"] = json.loads(e["set_tags"])
        chains = counts_sql(
            "principal",
            joins,
            cell_keys=[("c.action", "action"), ("array_to_string(c.via, ' -> ')", "chain")],
            where=f"{reach} AND c.direct_decision NOT IN {_REACH}",
            columns=cols,
        )
        con.execute(f"CREATE TEMP TABLE chain_only AS {chains}")
        chain_only_total = int(
            one("SELECT coalesce(sum(n), 0) FROM chain_only WHERE n > 0").fetchone()[0]
        )
        chain_only = _rows(
            con,
            f"""
            SELECT principal_arn, action, CAST(sum(n) AS BIGINT) AS instances,
                   list(chain ORDER BY chain) AS chains
            FROM chain_only WHERE n > 0 GROUP BY 1, 2 ORDER BY 1, 2 LIMIT {LIST_ROWS}
            """,
        )
        unused: list[dict[str, Any]] | None = None
        unused_total: int | None = None
        if trail is not None:
            unused, unused_total = _unused(con, joins, cols)
        groups = _rows(
            con, "SELECT tag_group, count(*) AS instances FROM instances GROUP BY 1 ORDER BY 1"
        )
        heat = _rows(
            con,
            counts_sql(
                "principal",
                joins,
                other_keys=["tag_group"],
                where=f"{reach} AND c.action = {sql_text(focus)}",
                columns=cols,
            ),
        )
        principals = [r[0] for r in one("SELECT principal_arn FROM principals").fetchall()]
        problems = _rows(con, "SELECT * FROM problems")
    finally:
        con.close()
    # the matrix is full (a row per principal, instance and action): every principal has a
    # count for every group, 0 where it reaches none of it
    totals: dict[str, int] = dict.fromkeys(principals, 0)
    cells: dict[str, dict[str, int]] = {
        p: {str(g["tag_group"]): 0 for g in groups} for p in principals
    }
    for h in heat:
        cells[h["principal_arn"]][h["tag_group"]] = int(h["n"])
        totals[h["principal_arn"]] += int(h["n"])
    ranked = sorted(totals, key=lambda p: (-totals[p], p))
    return {
        "format": "lspolicy-review/1",
        "focus_action": focus,
        "production_tags": [f"{k}={v}" for k, v in production],
        "group_tag": group_tag,
        "counts": counts,
        "decisions": decisions,
        "production": prod,
        "production_total": prod_total,
        "escalations": escalations,
        "escalations_total": escalations_total,
        "chain_only": chain_only,
        "chain_only_total": chain_only_total,
        "unused": unused,
        "unused_total": unused_total,
        "trail": trail,
        "heatmap": {
            "groups": groups,
            "rows": [
                {"principal_arn": p, "total": totals[p], "counts": cells[p]}
                for p in ranked[:HEATMAP_ROWS]
            ],
            "rows_total": len(ranked),
        },
        "not_evaluated": problems,
        "notes": list(notes),
        "escalation_notes": list(escalation_notes),
    }


def _first_escalations(con: Any, out: Path) -> str:
    """Where the report's first `LIST_ROWS` escalations (by principal, instance) are: stored by
    class (`lspolicy.account.escalation_store`), the view expanded for the principals up to
    the last of them only (found from the view's cheap columns), since the whole view's tags
    to set cost a list per row; else the ``escalations`` table."""
    layout = read_layout(out)
    if layout is None or not layout.escalations:
        return "escalations"
    last = con.execute(
        "SELECT max(principal_arn) FROM (SELECT principal_arn FROM escalations "
        f"ORDER BY principal_arn, instance_arn LIMIT {LIST_ROWS})"
    ).fetchone()[0]
    if last is None:
        return "escalations"
    where = f"p.principal_arn <= {sql_text(last)}"
    return f"({escalations_sql(joins=layout.joins, principals=where)})"


def _production(
    con: Any, joins: int, focus: str, columns: bool = False
) -> tuple[list[dict[str, Any]], int]:
    """Production instances by how many principals reach ``focus`` on them (counted from the
    classes); the principals themselves are listed for the first `LIST_ROWS` instances only,
    each by a join of that instance's class cells with the members (selective)."""
    counts = counts_sql(
        "instance",
        joins,
        cell_keys=[("c.decision", "decision"), ("c.via_length > 0", "chained")],
        where=f"c.decision IN {_REACH} AND c.action = {sql_text(focus)}",
        members="production",
        columns=columns,
    )
    total = con.execute("SELECT count(*) FROM instances WHERE production").fetchone()[0]
    prod = _rows(
        con,
        f"""
        SELECT i.instance_arn, i.instance_name, i.instance_account, i.region, i.tags,
               CAST(coalesce(sum(k.n) FILTER (WHERE k.decision = 'allowed'), 0) AS BIGINT)
                 AS allowed,
               CAST(coalesce(sum(k.n) FILTER (WHERE k.decision = 'conditional'), 0) AS BIGINT)
                 AS conditional,
               CAST(coalesce(sum(k.n) FILTER (WHERE k.chained), 0) AS BIGINT) AS via_chain
        FROM instances i LEFT JOIN ({counts}) k USING (instance_arn)
        WHERE i.production
        GROUP BY ALL
        ORDER BY allowed + conditional DESC, i.instance_arn
        LIMIT {LIST_ROWS}
        """,
    )
    shown = [r["instance_arn"] for r in prod]
    bits = f" AND r.bits = {bits_sql(joins)}" if joins else ""
    cbits = ", c.bits" if joins else ""
    # the cells of the shown instances' classes that reach: through their columns (the
    # `instance_columns` rows of those classes only) with the stored cells; else the file
    reach = (
        f"""
        SELECT pm.instance_class, c.principal_class{cbits}
        FROM part_maps pm
        JOIN map_parts mp ON mp.part_map = pm.part_map AND mp.local_id = pm.local_id
        JOIN class_maps cm ON cm.map = mp.map
        JOIN class_columns c ON c.principal_class = cm.principal_class
          AND c.column_id = mp.column_id
        WHERE pm.instance_class IN (SELECT instance_class FROM i)
          AND c.action = $focus AND c.decision IN {_REACH}"""
        if columns
        else f"""
        SELECT c.instance_class, c.principal_class{cbits} FROM cells c
        WHERE c.instance_class IN (SELECT instance_class FROM i)
          AND c.action = $focus AND c.decision IN {_REACH}"""
    )
    listed = {
        str(r[0]): list(r[1] or ())
        for r in con.execute(
            f"""
            WITH i AS (SELECT * FROM instances WHERE list_contains($shown, instance_arn)),
            r AS ({reach})
            SELECT instance_arn, list(principal_arn ORDER BY principal_arn) FROM (
              SELECT i.instance_arn, p.principal_arn FROM i
              JOIN r ON r.instance_class = i.instance_class
              JOIN principals p ON p.principal_class = r.principal_class{bits}
              QUALIFY row_number() OVER (PARTITION BY i.instance_arn
                                         ORDER BY p.principal_arn) <= {LIST_ROWS}
            )
            GROUP BY 1
            """,
            {"shown": shown, "focus": focus},
        ).fetchall()
    }
    for r in prod:
        r["tags"] = json.loads(r["tags"])
        r["principals"] = listed.get(r["instance_arn"], [])
    return prod, int(total)


def _unused(con: Any, joins: int, columns: bool = False) -> tuple[list[dict[str, Any]], int]:
    """Per principal and action: the instances it reaches (from the classes), how many of
    those the trail shows it calling (the observed calls joined to their cells), the rest."""
    granted = counts_sql(
        "principal",
        joins,
        cell_keys=[("c.action", "action")],
        where=f"c.decision IN {_REACH}",
        columns=columns,
    )
    bits = f" AND c.bits = {bits_sql(joins)}" if joins else ""
    # the observed calls' cells: through each call's column (`report_sql.lookup_sql`), never
    # the `cells` view (joined whole before the calls were)
    used = (
        f"""
          WITH {LOOKUP_CTES}
          SELECT q.principal_arn, q.action, count(*) AS n
          FROM (
            SELECT o.principal_arn, o.action, p.principal_class, cm.map, i.instance_class,
                   {bits_sql(joins) if joins else "0"} AS bits
            FROM observed o
            JOIN principals p ON p.principal_arn = o.principal_arn
            JOIN instances i ON i.instance_arn = o.instance_arn
            JOIN class_maps cm ON cm.principal_class = p.principal_class
          ) q
          {lookup_sql("q")}
          JOIN class_columns c ON c.principal_class = q.principal_class
            AND c.column_id = mp.column_id AND c.action = q.action{
            " AND c.bits = q.bits" if joins else ""
        }
          WHERE c.decision IN {_REACH}
          GROUP BY 1, 2"""
        if columns
        else f"""
          SELECT o.principal_arn, o.action, count(*) AS n
          FROM observed o
          JOIN principals p ON p.principal_arn = o.principal_arn
          JOIN instances i ON i.instance_arn = o.instance_arn
          JOIN cells c ON c.principal_class = p.principal_class
            AND c.instance_class = i.instance_class AND c.action = o.action{bits}
          WHERE c.decision IN {_REACH}
          GROUP BY 1, 2"""
    )
    con.execute(
        f"""
        CREATE TEMP TABLE unused AS
        WITH granted AS ({granted}),
        used AS ({used})
        SELECT g.principal_arn, g.action, g.n AS granted,
               CAST(coalesce(u.n, 0) AS BIGINT) AS used,
               CAST(g.n - coalesce(u.n, 0) AS BIGINT) AS unused
        FROM granted g LEFT JOIN used u USING (principal_arn, action)
        WHERE g.n - coalesce(u.n, 0) > 0
        """
    )
    total = con.execute("SELECT count(*) FROM unused").fetchone()[0]
    return _rows(con, f"SELECT * FROM unused ORDER BY 1, 2 LIMIT {LIST_ROWS}"), int(total)
