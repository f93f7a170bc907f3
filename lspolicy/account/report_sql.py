"""The report's counts at class level over the class cells stored by columns
(`lspolicy.account.views`: ``class_columns``, ``class_maps``, ``part_maps``, ``map_parts``),
never through the ``cells`` view (a whole organization's 10^9 class pairs) nor by joining
members before aggregating.

A class cell ``(principal class, column, action, bits)`` stands for every instance class of
its column on the principal class's map, for the pairs whose join bits are exactly ``bits``.
The matrix is full (one row per principal, instance and action): every pair of a principal
class's member and an instance of one of its columns has its bits among the rows of that
(principal class, column, action). So:

- a *uniform* (principal class, column, action), whose rows all give the query the same
  answer (the same match of ``where`` and the same cell keys, whatever the bits), counts the
  column's size for each member: the instances of each column of each map, counted per part
  map and local id then summed through the maps' translations (`class_counts_sql`'s
  ``lspolicy_w``), only for the columns the query needs;
- a *split* one (its rows differ for the query: join features decide there; a whole
  organization has ~1% of them) is counted by Möbius inversion: with ``N(S)`` the number of
  the other side's members of the column that match the member on every join of ``S``, the
  count of exactly ``b`` is ``sum over S ⊇ b of (-1)^(|S|-|b|) N(S)``; ``N(∅)``, the
  column's size, goes to the row with no bits; the other terms expand only the split
  columns to their instance classes and group both sides by class and join values.

Members then take their class's (and values') rows. `lookup_sql` finds the column of a given
(map, instance class) pair (the trail's observed calls). DuckDB SQL (``ASOF JOIN``,
``SEMI JOIN``, ``AS MATERIALIZED``).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["DENSE_PART_VIEWS", "LOOKUP_CTES", "class_counts_sql", "lookup_sql"]

DENSE_PART_VIEWS = (
    "CREATE OR REPLACE TEMP VIEW part_maps AS\n"
    "SELECT map AS part_map, instance_class, column_id AS local_id FROM column_maps",
    "CREATE OR REPLACE TEMP VIEW map_parts AS\n"
    "SELECT DISTINCT map, map AS part_map, column_id AS local_id, column_id FROM column_maps",
)
"""A dataset whose maps are stored dense (``column_maps.parquet``, before ``"maps":
"parts"``) seen as part maps: each map one part on one run, its local ids its columns."""

LOOKUP_CTES = (
    "lspolicy_part_start AS (\n"
    "  SELECT part_map, min(instance_class) AS start FROM part_maps GROUP BY ALL),\n"
    "lspolicy_class_run AS (\n"
    "  SELECT i.instance_class, s.start\n"
    "  FROM (SELECT DISTINCT instance_class FROM instances) i\n"
    "  ASOF JOIN (SELECT DISTINCT start FROM lspolicy_part_start) s"
    " ON i.instance_class >= s.start),\n"
    "lspolicy_runs AS (\n"
    "  SELECT DISTINCT mp.map, mp.part_map, ps.start FROM map_parts mp\n"
    "  JOIN lspolicy_part_start ps ON ps.part_map = mp.part_map)"
)
"""What `lookup_sql` reads: each part map's run (a part map covers its run: the run starts at
its least instance class), each instance class's run (the last start at or before it), and
each map's part map on each run."""


def lookup_sql(q: str) -> str:
    """Joins giving ``mp.column_id``, the column of the instance class ``{q}.instance_class``
    on the map ``{q}.map`` (over `LOOKUP_CTES`): one row per row of ``q``."""
    return (
        f"JOIN lspolicy_class_run u ON u.instance_class = {q}.instance_class\n"
        f"JOIN lspolicy_runs r ON r.map = {q}.map AND r.start = u.start\n"
        f"JOIN part_maps pm ON pm.part_map = r.part_map"
        f" AND pm.instance_class = {q}.instance_class\n"
        f"JOIN map_parts mp ON mp.map = {q}.map AND mp.part_map = r.part_map"
        f" AND mp.local_id = pm.local_id"
    )


def join_subsets(joins: int) -> list[int]:
    """Every non-empty set of join features, as a bit mask."""
    return list(range(1, 1 << joins))


def key_names(
    cell_keys: Sequence[tuple[str, str]], other_keys: Sequence[str]
) -> tuple[list[str], list[str], list[str]]:
    """A count query's grouping columns: the cell keys' aliases, the other side's columns, and
    both in output order (``counts_sql``'s ``(ARN, *aliases, *other_keys, n)``)."""
    aliases = [alias for _, alias in cell_keys]
    okeys = list(other_keys)
    return aliases, okeys, [*aliases, *okeys]


def _sign(size: int) -> str:
    return f"CASE WHEN ({size} - bit_count(c.lspolicy_bits)) % 2 = 0 THEN x.n ELSE -x.n END"


def _cols(prefix: str, names: Sequence[str]) -> str:
    return "".join(f", {prefix}{n}" for n in names)


def class_counts_sql(
    side: str,
    joins: int,
    *,
    cell_keys: Sequence[tuple[str, str]] = (),
    other_keys: Sequence[str] = (),
    where: str = "TRUE",
    members: str = "TRUE",
) -> str:
    """`lspolicy.account.summary.counts_sql` over the class cells stored by columns, at class
    level: ``(ARN, *aliases, *other_keys, n)`` per member of ``side`` matching ``members``
    (``where`` and the cell keys' expressions over ``c``, a row of ``class_columns``)."""
    principal = side == "principal"
    ck = "".join(f", {expr} AS {alias}" for expr, alias in cell_keys)
    aliases, okeys, keys = key_names(cell_keys, other_keys)
    if principal:
        a, a_id, a_cls, a_join = "principals", "principal_arn", "principal_class", "join_value_"
        b_join = "join_tag_"
    else:
        a, a_id, a_cls, a_join = "instances", "instance_arn", "instance_class", "join_tag_"
        b_join = "join_value_"
    bits = "c.bits" if joins else "0"
    answer = f"row(lspolicy_m{_cols('', aliases)})"
    ctes = [
        f"lspolicy_a AS (SELECT * FROM {a} WHERE {members})",
        # each stored row, with what the query reads of it
        f"""lspolicy_cc AS MATERIALIZED (
  SELECT c.principal_class, cm.map, c.column_id, c.action AS lspolicy_action,
         {bits} AS lspolicy_bits, ({where}) AS lspolicy_m{ck}
  FROM class_columns c JOIN class_maps cm ON cm.principal_class = c.principal_class)""",
    ]
    if joins:
        ctes.append(
            f"""lspolicy_split AS MATERIALIZED (
  SELECT principal_class, column_id, lspolicy_action FROM lspolicy_cc
  GROUP BY ALL HAVING count(DISTINCT {answer}) > 1)"""
        )
        uniform = f"""
  SELECT DISTINCT principal_class, map, column_id, lspolicy_action{_cols("", aliases)}
  FROM lspolicy_cc c
  ANTI JOIN lspolicy_split s ON s.principal_class = c.principal_class
    AND s.column_id = c.column_id AND s.lspolicy_action = c.lspolicy_action
  WHERE lspolicy_m
  UNION ALL
  SELECT principal_class, map, column_id, lspolicy_action{_cols("", aliases)}
  FROM lspolicy_cc c
  SEMI JOIN lspolicy_split s ON s.principal_class = c.principal_class
    AND s.column_id = c.column_id AND s.lspolicy_action = c.lspolicy_action
  WHERE lspolicy_m AND lspolicy_bits = 0"""
    else:
        uniform = f"""
  SELECT principal_class, map, column_id, lspolicy_action{_cols("", aliases)}
  FROM lspolicy_cc WHERE lspolicy_m"""
    # the rows counted by the column's size: a uniform group's answer once, a split group's
    # row without bits (N(∅))
    ctes.append(f"lspolicy_bc AS MATERIALIZED ({uniform})")
    if principal:
        ctes.append(
            f"lspolicy_g AS (SELECT instance_class{_cols('', okeys)}, count(*) AS n "
            "FROM instances GROUP BY ALL)"
        )
        ctes.append(
            """lspolicy_mp AS MATERIALIZED (
  SELECT mp.* FROM map_parts mp
  SEMI JOIN (SELECT DISTINCT map, column_id FROM lspolicy_bc) x
    ON x.map = mp.map AND x.column_id = mp.column_id)"""
        )
        ctes.append(
            f"""lspolicy_w AS (
  SELECT mp.map, mp.column_id{_cols("w.", okeys)}, sum(w.n) AS n FROM lspolicy_mp mp
  JOIN (SELECT pm.part_map, pm.local_id{_cols("g.", okeys)}, sum(g.n) AS n FROM part_maps pm
        SEMI JOIN (SELECT DISTINCT part_map, local_id FROM lspolicy_mp) x
          ON x.part_map = pm.part_map AND x.local_id = pm.local_id
        JOIN lspolicy_g g ON g.instance_class = pm.instance_class GROUP BY ALL) w
    ON w.part_map = mp.part_map AND w.local_id = mp.local_id
  GROUP BY ALL)"""
        )
        ctes.append(
            f"""lspolicy_base AS (
  SELECT k.principal_class{_cols("k.", aliases)}{_cols("w.", okeys)}, sum(w.n) AS n
  FROM lspolicy_bc k JOIN lspolicy_w w ON w.map = k.map AND w.column_id = k.column_id
  GROUP BY ALL)"""
        )
    else:
        ctes.append(
            f"lspolicy_g AS (SELECT principal_class{_cols('', okeys)}, count(*) AS n "
            "FROM principals GROUP BY ALL)"
        )
        ctes.append(
            f"""lspolicy_t AS (
  SELECT k.map, k.column_id{_cols("k.", aliases)}{_cols("g.", okeys)}, sum(g.n) AS n
  FROM lspolicy_bc k JOIN lspolicy_g g ON g.principal_class = k.principal_class
  GROUP BY ALL)"""
        )
        ctes.append(
            f"""lspolicy_tp AS (
  SELECT mp.part_map, mp.local_id{_cols("t.", keys)}, sum(t.n) AS n FROM map_parts mp
  JOIN lspolicy_t t ON t.map = mp.map AND t.column_id = mp.column_id
  GROUP BY ALL)"""
        )
        ctes.append(
            f"""lspolicy_base AS (
  SELECT pm.instance_class{_cols("tp.", keys)}, sum(tp.n) AS n FROM part_maps pm
  JOIN lspolicy_tp tp ON tp.part_map = pm.part_map AND tp.local_id = pm.local_id
  WHERE pm.instance_class IN (SELECT instance_class FROM lspolicy_a)
  GROUP BY ALL)"""
        )
    parts = [
        f"SELECT a.{a_id}{_cols('k.', keys)}, k.n FROM lspolicy_a a\n"
        f"JOIN lspolicy_base k ON k.{a_cls} = a.{a_cls}"
    ]
    if joins:
        # the split groups' rows, their (principal class, column)s and those columns'
        # instance classes (of the members' classes, on the instance side)
        members_only = (
            ""
            if principal
            else "\n  WHERE pm.instance_class IN (SELECT instance_class FROM lspolicy_a)"
        )
        ctes.append(
            """lspolicy_scc AS MATERIALIZED (
  SELECT c.* FROM lspolicy_cc c
  SEMI JOIN lspolicy_split s ON s.principal_class = c.principal_class
    AND s.column_id = c.column_id AND s.lspolicy_action = c.lspolicy_action
  WHERE lspolicy_m)"""
        )
        ctes.append(
            """lspolicy_sc AS MATERIALIZED (
  SELECT DISTINCT principal_class, map, column_id FROM lspolicy_scc)"""
        )
        ctes.append(
            f"""lspolicy_sic AS MATERIALIZED (
  SELECT mp.map, mp.column_id, pm.instance_class FROM map_parts mp
  SEMI JOIN (SELECT DISTINCT map, column_id FROM lspolicy_sc) x
    ON x.map = mp.map AND x.column_id = mp.column_id
  JOIN part_maps pm ON pm.part_map = mp.part_map AND pm.local_id = mp.local_id{members_only})"""
        )
    for mask in join_subsets(joins):
        js = [j for j in range(joins) if mask >> j & 1]
        vals = [f"v{j}" for j in js]
        a_vals = "".join(f", {a_join}{j} AS v{j}" for j in js)
        a_notnull = " AND ".join(f"{a_join}{j} IS NOT NULL" for j in js)
        b_vals = "".join(f", {b_join}{j} AS v{j}" for j in js)
        b_notnull = " AND ".join(f"{b_join}{j} IS NOT NULL" for j in js)

        def on(x: str, y: str, js: list[int] = js) -> str:
            return " AND ".join(f"{x}.v{j} = {y}.v{j}" for j in js)

        back = " AND ".join(f"s.v{j} = a.{a_join}{j}" for j in js)
        if principal:
            # N(S) per split column and values, given to the classes split on that column
            pairs = f"""
    WITH og AS (
      SELECT x.map, x.column_id{_cols("i.", vals)}{_cols("i.", okeys)}, sum(i.n) AS n
      FROM lspolicy_sic x
      JOIN (SELECT instance_class{b_vals}{_cols("", okeys)}, count(*) AS n FROM instances
            WHERE {b_notnull} GROUP BY ALL) i ON i.instance_class = x.instance_class
      GROUP BY ALL)
    SELECT ag.principal_class{_cols("ag.", vals)}, sc.column_id{_cols("og.", okeys)}, og.n
    FROM (SELECT DISTINCT principal_class{a_vals} FROM lspolicy_a WHERE {a_notnull}) ag
    JOIN lspolicy_sc sc ON sc.principal_class = ag.principal_class
    JOIN og ON og.map = sc.map AND og.column_id = sc.column_id AND {on("og", "ag")}"""
        else:
            # per member class and values, the split columns it is in (fixed first: joined
            # with the principals by value first, DuckDB made 10^7 rows of a whole
            # organization), then the principals of the classes split there that match it
            pairs = f"""
    WITH ic AS MATERIALIZED (
      SELECT ag.instance_class{_cols("ag.", vals)}, sc.principal_class, sc.column_id
      FROM (SELECT DISTINCT instance_class{a_vals} FROM lspolicy_a WHERE {a_notnull}) ag
      JOIN lspolicy_sic x ON x.instance_class = ag.instance_class
      JOIN lspolicy_sc sc ON sc.map = x.map AND sc.column_id = x.column_id)
    SELECT ic.instance_class{_cols("ic.", vals)}, ic.principal_class, ic.column_id{
                _cols("og.", okeys)
            }, og.n
    FROM ic
    JOIN (SELECT principal_class{b_vals}{_cols("", okeys)}, count(*) AS n FROM principals
          WHERE {b_notnull} GROUP BY ALL) og
      ON og.principal_class = ic.principal_class AND {on("og", "ic")}"""
        parts.append(
            f"""SELECT a.{a_id}{_cols("s.", keys)}, s.n FROM lspolicy_a a
JOIN (
  SELECT x.{a_cls}{_cols("x.", vals)}{_cols("c.", aliases)}{_cols("x.", okeys)},
         sum({_sign(len(js))}) AS n
  FROM ({pairs}
  ) x
  JOIN lspolicy_scc c ON c.principal_class = x.principal_class
    AND c.column_id = x.column_id AND (c.lspolicy_bits & {mask}) = c.lspolicy_bits
  GROUP BY ALL
) s ON s.{a_cls} = a.{a_cls} AND {back}"""
        )
    union = "\nUNION ALL\n".join(parts)
    key_list = "".join(f", {k}" for k in keys)
    return (
        "WITH " + ",\n".join(ctes) + f"\nSELECT {a_id}{key_list}, CAST(sum(n) AS BIGINT) AS n "
        f"FROM (\n{union}\n) GROUP BY ALL"
    )
