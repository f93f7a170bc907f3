"""One instance's, one principal's or one cell's stored answers, looked up class by class in a
dataset whose class cells are stored by columns (``"cells": "columns"`` in ``dataset.json``,
`lspolicy.account.views`), without the views that expand them.

The views ``cells`` and ``reaching`` join every principal class's column map with every
instance class (`views.cells_sql`, `views.maps_sql`): asked for one instance through them,
DuckDB builds hash tables over whole files (a full organization's ``map_parts`` is 20 M rows)
before the instance's class narrows anything. Here the member's own row is read first (its
class and join values), then only what that class needs, with the ids written into the SQL as
numbers so that DuckDB skips the row groups whose statistics exclude them:

- ``who-can`` (one instance class ``c``): each map's column for ``c`` (the part maps holding
  ``c``, then each map's translation of its local id: `PART_COLUMNS_FILE`, ``map_parts``
  ordered by part map, when written; else ``map_parts`` or the dense ``instance_columns``),
  the principal classes of those maps, their stored rows for those columns
  (``class_columns``: with `OUTCOMES_FILE`, only its small columns, then each kept row's
  answer by its ``outcome`` id), and the members of those classes whose join bits with the
  instance match.
- ``what-can`` (one principal class ``k`` of map ``m``): ``k``'s reaching answers, the
  instance classes of ``m``'s columns, and their members with matching join bits.
- one cell: both at once.

On the full organization (20,000 principals x 200,000 instances) the views took ~2.7-3.7 s
of CPU and ~0.9 GB for one instance, this ~0.2 s and ~140 MB (``bench/README.md``). The
answers are those of the views (``tests/account/test_review_class_lookup.py`` compares them
on random organizations). Only ``duckdb`` and the standard library are imported.
"""

from __future__ import annotations

from collections.abc import Sequence

from lspolicy.account.views import Layout, sql_text

__all__ = [
    "OUTCOMES_FILE",
    "PART_COLUMNS_FILE",
    "bits_for_instance",
    "bits_for_principal",
    "instance_columns_sql",
    "map_columns_sql",
    "member_macros_sql",
]

PART_COLUMNS_FILE = "part_columns.parquet"
"""``map_parts``'s rows ordered by part map and local id (who-can's copy: the part maps of one
run are contiguous, so one instance class's translations are a few row groups)."""


OUTCOMES_FILE = "outcomes.parquet"
"""Each distinct answer of ``class_columns`` once, by its ``outcome`` id (the column
``class_columns.outcome``): a question reads the class cells' small columns only, then the
answers of the rows it keeps."""


def _literal(value: object) -> str:
    return "NULL" if value is None else sql_text(str(value))


def bits_for_instance(tags: Sequence[object], p: str = "p") -> str:
    """The join bits of each principal ``p`` with an instance whose join tags are ``tags``
    (`views.bits_sql` with the instance's side as literals; a missing tag matches nothing)."""
    if not tags:
        return "0"
    return " + ".join(
        f"(CASE WHEN {p}.join_value_{j} = {_literal(t)} THEN {1 << j} ELSE 0 END)"
        for j, t in enumerate(tags)
    )


def bits_for_principal(values: Sequence[object], i: str = "i") -> str:
    """The join bits of each instance ``i`` with a principal whose join values are
    ``values``."""
    if not values:
        return "0"
    return " + ".join(
        f"(CASE WHEN {_literal(v)} = {i}.join_tag_{j} THEN {1 << j} ELSE 0 END)"
        for j, v in enumerate(values)
    )


def instance_columns_sql(layout: Layout, instance_class: int) -> str:
    """``(map, column_id)`` of every map for one instance class: the rows of the view
    ``instance_columns`` with that class, read selectively."""
    c = int(instance_class)
    if not layout.parts:
        return f"SELECT map, column_id FROM instance_columns WHERE instance_class = {c}"
    source = "part_columns" if layout.lookup else "map_parts"
    return (
        f"SELECT x.map, x.column_id FROM {source} x\n"
        f"JOIN (SELECT part_map, local_id FROM part_maps WHERE instance_class = {c}) pm\n"
        "  ON x.part_map = pm.part_map AND x.local_id = pm.local_id"
    )


def map_columns_sql(layout: Layout, map_id: int, instance_class: int | None = None) -> str:
    """``(instance_class, column_id)`` of one map (of one instance class of it, when given):
    the rows of the view ``column_maps`` with that map, read selectively."""
    m = int(map_id)
    only = "" if instance_class is None else f" AND instance_class = {int(instance_class)}"
    if not layout.parts:
        return f"SELECT instance_class, column_id FROM column_maps WHERE map = {m}{only}"
    only = "" if instance_class is None else f" AND pm.instance_class = {int(instance_class)}"
    return (
        "SELECT pm.instance_class, mp.column_id FROM map_parts mp\n"
        "JOIN part_maps pm ON pm.part_map = mp.part_map AND pm.local_id = mp.local_id\n"
        f"WHERE mp.map = {m}{only}"
    )


def _matrix_select(joins: int, trail: bool, answer: str) -> str:
    """The matrix columns (`views.matrix_sql`'s) over ``k`` (class cells with
    ``instance_class``), ``p``, ``i`` and the answer's alias."""
    used = "(o.calls IS NOT NULL) AS used" if trail else "CAST(NULL AS BOOLEAN) AS used"
    a = answer
    return (
        "SELECT p.principal_arn, p.principal_kind, p.principal_account,\n"
        "       i.instance_arn, i.instance_name, i.instance_account, i.region,\n"
        f"       i.production, i.tag_group, k.action, {a}.decision, {a}.direct_decision,\n"
        f"       {a}.via, {a}.via_length, {a}.statements, {a}.conditions, {a}.incomplete,\n"
        f"       {used},\n"
        "       p.principal_class, i.instance_class\n"
    )


def member_macros_sql(layout: Layout) -> list[str]:
    """``CREATE MACRO`` statements for two table macros, ``instance_matrix(arn)`` and
    ``principal_matrix(arn)``: the rows of ``matrix`` of one instance (one principal), looked
    up class by class as `lspolicy.ReviewData` does. ``lspolicy query DIR "SELECT count(*)
    FROM instance_matrix('ARN')"`` answers at once where the same filter on ``matrix`` lets
    DuckDB expand the class cells first (its join order puts the instance last: ~20-50 s on a
    whole organization). Materialized CTEs fix the order: the member, its class's map
    columns, the class cells they select, then the other side's members."""
    from lspolicy.account.views import bits_sql  # noqa: PLC0415 - same package, no cycle

    joins, trail = layout.joins, layout.trail
    bits = f" AND k.bits = {bits_sql(joins)}" if joins else ""
    small = "k.principal_class, k.column_id, k.action, k.outcome" + (", k.bits" if joins else "")
    heavy = (
        "k.principal_class, k.column_id, k.action, k.decision, k.direct_decision, k.via,"
        " k.via_length, k.statements, k.conditions, k.incomplete" + (", k.bits" if joins else "")
    )
    cols, answer = (small, "o") if layout.lookup else (heavy, "k")
    outcomes = "\nJOIN outcomes o ON o.outcome = k.outcome" if layout.lookup else ""
    observed = (
        "\nLEFT JOIN observed o2 ON o2.principal_arn = p.principal_arn"
        " AND o2.instance_arn = i.instance_arn AND o2.action = k.action"
        if trail
        else ""
    )
    select = _matrix_select(joins, trail, answer).replace("o.calls", "o2.calls")
    instance = (
        "CREATE OR REPLACE MACRO instance_matrix(arn) AS TABLE\n"
        "WITH i AS MATERIALIZED (SELECT * FROM instances WHERE instance_arn = arn),\n"
        "mc AS MATERIALIZED (SELECT map, column_id, instance_class FROM instance_columns\n"
        "  WHERE instance_class IN (SELECT instance_class FROM i)),\n"
        f"k AS MATERIALIZED (SELECT {cols}, mc.instance_class FROM mc\n"
        "  JOIN class_maps cm ON cm.map = mc.map\n"
        "  JOIN class_columns k ON k.principal_class = cm.principal_class"
        " AND k.column_id = mc.column_id)\n"
        f"{select}FROM k JOIN principals p ON p.principal_class = k.principal_class\n"
        f"JOIN i ON i.instance_class = k.instance_class{bits}{outcomes}{observed}"
    )
    principal = (
        "CREATE OR REPLACE MACRO principal_matrix(arn) AS TABLE\n"
        "WITH p AS MATERIALIZED (SELECT * FROM principals WHERE principal_arn = arn),\n"
        "cm AS MATERIALIZED (SELECT principal_class, map FROM class_maps\n"
        "  WHERE principal_class IN (SELECT principal_class FROM p)),\n"
        "mc AS MATERIALIZED (SELECT map, column_id, instance_class FROM column_maps\n"
        "  WHERE map IN (SELECT map FROM cm)),\n"
        f"k AS MATERIALIZED (SELECT {cols}, mc.instance_class FROM cm\n"
        "  JOIN class_columns k ON k.principal_class = cm.principal_class\n"
        "  JOIN mc ON mc.map = cm.map AND mc.column_id = k.column_id)\n"
        f"{select}FROM k JOIN p ON p.principal_class = k.principal_class\n"
        f"JOIN instances i ON i.instance_class = k.instance_class{bits}{outcomes}{observed}"
    )
    return [instance, principal]
