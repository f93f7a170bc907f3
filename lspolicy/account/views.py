"""How a review's dataset is opened: one DuckDB view per table, and ``matrix`` either over the
files of ``DIR/matrix/`` (materialized) or as a view that expands the class cells on query.

The stored truth is factorized: ``cells.parquet`` (one row per principal class x instance
class x action, with the answer and, with join features, the join bits it holds for),
``principals.parquet`` and ``instances.parquet`` (each member with its class id and join
values). ``matrix`` is their join (`matrix_sql`); ``DIR/matrix.sql`` holds the same SELECT over
the table names, so another engine (Spark) registers the Parquet files as views and runs it.
``DIR/dataset.json`` says which form was written (``lspolicy-review-dataset/1``)::

    {"format": "lspolicy-review-dataset/1", "matrix": "view" | "materialized",
     "rows": 2500000, "joins": 2, "trail": false, "reaching": true}

A dataset written before this file existed has ``matrix/*.parquet`` and no ``dataset.json``.
Since the report is computed from the dataset alone, ``dataset.json`` also records the review's
actions and class counts (`ClassCounts`, ``"classes"``; absent in datasets written before).

The class cells themselves are factorized (``"cells": "columns"`` in ``dataset.json``): a
principal class's targets tell apart only the instance classes their own readers do, so its
instance classes fall in a few *columns* with one answer each. Stored: `COLUMNS_FILE` (one row
per principal class, column, join bits and action, with the answer; ordered by principal
class), `CLASS_MAPS_FILE` (each principal class's column map id: many share one) and the maps
(each instance class's column, per map) twice, `COLUMN_MAPS_FILE` ordered by map and
`INSTANCE_COLUMNS_FILE` ordered by instance class. ``cells`` (the old ``cells.parquet``'s
columns) and ``reaching`` are views joining them (`cells_sql`); datasets written before have
``cells.parquet`` and ``reaching.parquet`` files.

``cells.parquet`` is clustered by instance class (``who-can`` reads one instance class's row
groups). ``reaching.parquet`` (`REACHING_FILE`, when ``"reaching"`` is true; datasets written
before it have none and ``what-can`` scans ``cells``) holds the class cells whose decision
reaches (``allowed``, ``conditional``), same columns, clustered by principal class: ``what-can``
reads one principal class's row groups.

With ``"lookup": true`` (`lspolicy.account.class_lookup`): ``part_columns.parquet`` (the rows
of ``map_parts`` ordered by part map; ``instance_columns`` is read from it), ``outcomes.parquet``
and ``class_columns.outcome``; and on any dataset by columns, the table macros
``instance_matrix(arn)`` and ``principal_matrix(arn)`` (one member's ``matrix`` rows, looked up
class by class). Datasets written before have no lookup files and answer the same.

Every DuckDB connection on a dataset is made by `bounded_connection` (memory, spill).

Only ``duckdb`` and the standard library are imported: ``who-can --review`` starts here.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lspolicy.errors import LspolicyError
from lspolicy.textfile import read_text

__all__ = [
    "CLASS_MAPS_FILE",
    "COLUMNS_FILE",
    "COLUMN_MAPS_FILE",
    "COLUMN_TABLES",
    "DATASET_FILE",
    "DATASET_FORMAT",
    "ESCALATIONS_SQL_FILE",
    "ESCALATION_FILES",
    "INSTANCE_COLUMNS_FILE",
    "MAP_PARTS_FILE",
    "MATRIX_SQL_FILE",
    "MEMORY_LIMIT",
    "PART_MAPS_FILE",
    "PART_TABLES",
    "REACHING_FILE",
    "SPILL_LIMIT",
    "TABLES",
    "ClassCounts",
    "DatasetError",
    "Layout",
    "attach",
    "bits_sql",
    "bounded_connection",
    "cells_sql",
    "escalations_sql",
    "maps_sql",
    "matrix_sql",
    "read_layout",
    "sql_text",
]

DATASET_FILE = "dataset.json"
DATASET_FORMAT = "lspolicy-review-dataset/1"
MAX_DATASET_RECORD_BYTES = 1 << 20
"""``dataset.json`` is a few hundred bytes; a larger one is refused while it is read."""
MATRIX_SQL_FILE = "matrix.sql"
ESCALATIONS_SQL_FILE = "escalations.sql"
"""`escalations_sql` as written with the dataset, for DuckDB outside lspolicy."""
REACHING_FILE = "reaching.parquet"
"""The class cells that reach, clustered by principal class (``what-can``'s copy; a view over
the columns in datasets with ``"cells": "columns"``)."""
COLUMNS_FILE = "class_columns.parquet"
"""One row per principal class, column, join bits and action: the answer."""
CLASS_MAPS_FILE = "class_maps.parquet"
"""Each principal class's column map id."""
COLUMN_MAPS_FILE = "column_maps.parquet"
"""Per map, each instance class's column, ordered by map (what-can's)."""
INSTANCE_COLUMNS_FILE = "instance_columns.parquet"
"""The same rows ordered by instance class (who-can's)."""
PART_MAPS_FILE = "part_maps.parquet"
"""Each part map (a column map's restriction to one account's run of instance classes,
renumbered by first occurrence): per instance class of its run, its local id."""
MAP_PARTS_FILE = "map_parts.parquet"
"""Per column map, its part map on each run and the translation local id -> column id."""
COLUMN_TABLES = ("class_columns", "class_maps", "column_maps", "instance_columns")
PART_TABLES = ("part_maps", "map_parts")
"""With ``"maps": "parts"`` in ``dataset.json``: the files ``column_maps`` and
``instance_columns`` are views over (`maps_sql`)."""
ESCALATION_FILES = (
    "escalation_classes",
    "escalation_tag_sets",
    "escalation_member_sets",
    "escalation_likes",
    "escalation_join_tags",
)
"""The tag escalations by class (`lspolicy.account.escalation_store`; ``"escalations":
"classes"`` in ``dataset.json``): ``escalations`` is a view over them (`escalations_sql`)."""
TABLES = (
    "principals",
    "instances",
    "cells",
    "reaching",
    *COLUMN_TABLES,
    *PART_TABLES,
    "escalations",
    *ESCALATION_FILES,
    "problems",
    "observed",
)
"""The files ``DIR/NAME.parquet`` (``cells`` and ``reaching`` are views over the
`COLUMN_TABLES` when the dataset says so); ``matrix`` comes after them."""
_ANSWER = (
    "action",
    "decision",
    "direct_decision",
    "via",
    "via_length",
    "statements",
    "conditions",
    "incomplete",
)
"""A cell's answer columns, the same in ``cells`` and in ``class_columns``."""
_NEEDED: Mapping[str, tuple[str, ...]] = {
    "cells": ("principal_class", "instance_class", *_ANSWER),
    "class_columns": ("principal_class", "column_id", *_ANSWER),
    "class_maps": ("principal_class", "map"),
    "column_maps": ("map", "instance_class", "column_id"),
    "instance_columns": ("map", "instance_class", "column_id"),
    "part_maps": ("part_map", "instance_class", "local_id"),
    "map_parts": ("map", "part_map", "local_id", "column_id"),
    "principals": ("principal_arn", "principal_kind", "principal_account", "principal_class"),
    "escalation_classes": (
        "principal_class",
        "instance_class",
        "bits",
        "like_bits",
        "like_class",
        "like_instance_arn",
        "set_id",
        "remove_tags",
        "set_mask",
        "remove_mask",
        "tag_via",
        "stop_via",
        "conditional",
    ),
    "escalation_tag_sets": ("set_id", "set_json", "set_tags"),
    "escalation_member_sets": ("set_id", "instance_arn", "set_json", "set_tags"),
    "escalation_likes": ("principal_arn", "like_class", "like_bits", "like_instance_arn"),
    "escalation_join_tags": ("instance_arn",),
    "instances": (
        "instance_arn",
        "instance_name",
        "instance_account",
        "region",
        "production",
        "tag_group",
        "instance_class",
    ),
}
"""What the view reads of each class file (the join columns are added by ``joins``)."""


MEMORY_LIMIT = "2GB"
"""DuckDB's memory for every connection on a dataset (`bounded_connection`: the report's
queries, who-can, what-can, explain, ``lspolicy query``, the expansion); past it, DuckDB spills
to a temporary directory it removes when the connection closes. Without it the report's queries
over a full organization's views took 9-15 GB (DuckDB's default is 80% of the machine's
memory)."""
SPILL_LIMIT = "16GB"
"""What a connection may spill to disk: past it the query fails with DuckDB's error (exit 2)
instead of filling the disk (the report's first query over a full organization's views spilled
~70 GB under `MEMORY_LIMIT`)."""
_SPILLS = itertools.count()


def bounded_connection(*, spill: Path | None = None) -> Any:
    """A new in-memory DuckDB connection bounded in memory (`MEMORY_LIMIT`) and in what it may
    spill (`SPILL_LIMIT`), spilling to its own directory (``spill``, or a fresh one under the
    system's temporary directory). Every connection lspolicy opens on a dataset is made here
    (`tests/account/test_dataset_memory.py` checks the sources)."""
    import duckdb  # noqa: PLC0415 - the caller has it loaded already

    if spill is None:
        spill = Path(tempfile.gettempdir()) / f"lspolicy-duckdb-{os.getpid()}-{next(_SPILLS)}"
    return duckdb.connect(
        config={
            "memory_limit": MEMORY_LIMIT,
            "temp_directory": str(spill),
            "max_temp_directory_size": SPILL_LIMIT,
        }
    )


class DatasetError(LspolicyError):
    """A review directory whose class files are missing, corrupt or foreign (exit 2)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClassCounts:
    """The review's actions and how many classes it formed (``report.json``'s counts that the
    Parquet tables do not give): recorded in ``dataset.json`` as ``"classes"``."""

    actions: tuple[str, ...]
    principal_classes: int
    identity_classes: int
    instance_classes: int
    class_cells: int
    """Class cells expanded: (principal class, instance class, bits, action)."""
    instance_singletons: int

    def to_dict(self) -> dict[str, object]:
        """``dataset.json``'s ``"classes"``."""
        return {
            "actions": list(self.actions),
            **{k: getattr(self, k) for k in _CLASS_COUNTS},
        }

    @classmethod
    def from_dict(cls, got: object) -> ClassCounts | None:
        """The record read back (``None``: not a well-formed one)."""
        if not isinstance(got, dict):
            return None
        actions = got.get("actions")
        if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
            return None
        counts = {k: got.get(k) for k in _CLASS_COUNTS}
        if not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts.values()
        ):
            return None
        return cls(actions=tuple(actions), **counts)  # type: ignore[arg-type]


_CLASS_COUNTS = (
    "principal_classes",
    "identity_classes",
    "instance_classes",
    "class_cells",
    "instance_singletons",
)


@dataclass(slots=True, kw_only=True)
class Layout:
    """What ``dataset.json`` says (or, without it, what the directory holds)."""

    materialized: bool
    joins: int
    trail: bool
    rows: int | None
    reaching: bool = False
    """``REACHING_FILE`` was written with the cells (else it is absent, or stale)."""
    columns: bool = False
    """The class cells are stored by columns (`COLUMN_TABLES`; ``cells`` is a view)."""
    escalations: bool = False
    """The escalations are stored by class (`ESCALATION_FILES`; ``escalations`` is a view),
    else in ``escalations.parquet``."""
    parts: bool = False
    """The column maps are stored by account (`PART_TABLES`; ``column_maps`` and
    ``instance_columns`` are views), else in their own files."""
    lookup: bool = False
    """The files for looking up one member's answers were written
    (`lspolicy.account.class_lookup`): ``part_columns.parquet`` (``map_parts``'s rows ordered
    by part map, the part maps numbered by run), ``outcomes.parquet`` (each distinct answer
    once) and ``class_columns``'s ``outcome`` column."""
    classes: ClassCounts | None = None
    """The review's actions and class counts (``None``: written before they were)."""

    def to_dict(self) -> dict[str, object]:
        """``dataset.json``'s content."""
        classes = {} if self.classes is None else {"classes": self.classes.to_dict()}
        return {
            "format": DATASET_FORMAT,
            "matrix": "materialized" if self.materialized else "view",
            "rows": self.rows,
            "joins": self.joins,
            "trail": self.trail,
            "reaching": self.reaching,
            "cells": "columns" if self.columns else "file",
            "escalations": "classes" if self.escalations else "file",
            "maps": "parts" if self.parts else "dense",
            "lookup": self.lookup,
            **classes,
        }


def sql_text(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def bits_sql(joins: int, p: str = "p", i: str = "i") -> str:
    """The join bits of a (principal, instance) pair: bit ``j`` when the principal's
    ``join_value_j`` equals the instance's ``join_tag_j`` (both normalised when written, so
    SQL compares strings; a missing value or tag matches nothing)."""
    return " + ".join(
        f"(CASE WHEN {p}.join_value_{j} = {i}.join_tag_{j} THEN {1 << j} ELSE 0 END)"
        for j in range(joins)
    )


def cells_sql(*, joins: int, maps: str = "instance_columns", where: str = "") -> str:
    """The class cells (the columns of ``cells.parquet``) as a SELECT over the tables
    `COLUMN_TABLES`: each stored answer for every instance class of its column, through the
    principal class's map (``maps``: ``instance_columns`` or ``column_maps``, the same rows in
    another order)."""
    bits = ", k.bits" if joins else ""
    return (
        "SELECT k.principal_class, m.instance_class, k.action, k.decision, k.direct_decision,\n"
        f"       k.via, k.via_length, k.statements, k.conditions, k.incomplete{bits}\n"
        "FROM class_columns k\n"
        "JOIN class_maps cm ON cm.principal_class = k.principal_class\n"
        f"JOIN {maps} m ON m.map = cm.map AND m.column_id = k.column_id{where}"
    )


def maps_sql() -> str:
    """The column maps' rows ``(map, instance_class, column_id)`` (``column_maps`` and
    ``instance_columns``) as a SELECT over `PART_TABLES`: each map's part map on each run, each
    instance class's local id translated to the map's column."""
    return (
        "SELECT mp.map, pm.instance_class, mp.column_id\n"
        "FROM map_parts mp\n"
        "JOIN part_maps pm ON pm.part_map = mp.part_map AND pm.local_id = mp.local_id"
    )


def matrix_sql(*, joins: int, trail: bool, columns: bool = False, parts: bool = False) -> str:
    """The matrix as a SELECT over the tables ``cells``, ``principals``, ``instances`` (and
    ``observed`` with a trail): standard SQL that DuckDB and Spark SQL both run. With
    ``columns``, ``cells`` is defined in a ``WITH`` over `COLUMN_TABLES` (`cells_sql`); with
    ``parts`` too, ``instance_columns`` over `PART_TABLES` before it (`maps_sql`)."""
    used = "(o.calls IS NOT NULL) AS used" if trail else "CAST(NULL AS BOOLEAN) AS used"
    bits = f"\n  AND c.bits = {bits_sql(joins)}" if joins else ""
    observed = (
        "\nLEFT JOIN observed o ON o.principal_arn = p.principal_arn"
        " AND o.instance_arn = i.instance_arn AND o.action = c.action"
        if trail
        else ""
    )
    with_maps = f"instance_columns AS (\n{maps_sql()}\n),\n" if columns and parts else ""
    with_cells = f"WITH {with_maps}cells AS (\n{cells_sql(joins=joins)}\n)\n" if columns else ""
    return with_cells + (
        "SELECT p.principal_arn, p.principal_kind, p.principal_account,\n"
        "       i.instance_arn, i.instance_name, i.instance_account, i.region,\n"
        "       i.production, i.tag_group, c.action, c.decision, c.direct_decision,\n"
        "       c.via, c.via_length, c.statements, c.conditions, c.incomplete,\n"
        f"       {used},\n"
        "       p.principal_class, i.instance_class\n"
        "FROM cells c\n"
        "JOIN principals p ON p.principal_class = c.principal_class\n"
        f"JOIN instances i ON i.instance_class = c.instance_class{bits}{observed}"
    )


def escalations_sql(*, joins: int, principals: str = "") -> str:
    """The tag escalations (the columns of ``escalations.parquet``: principal, instance, like
    instance, tags to set as JSON, tags to remove, roles, conditional) as a SELECT over
    `ESCALATION_FILES`, ``principals`` and ``instances``: each class witness for every member
    of its principal class and of its instance class with its join bits, as
    `lspolicy.account.review.expand_escalations` lists them. A member that already carries
    some tags to set has its own set (``escalation_member_sets``); with join features the
    like instance is the principal's (``escalation_likes``: the first of the like class with
    the like bits), the like's join tags are set where the member's differ and the member's
    join tags removed (``set_mask``, ``remove_mask``), then the tags are sorted by key.
    DuckDB 1.3's lambdas. ``principals``: a condition on ``p`` (``principals``) applied before
    the expansion (DuckDB pushes no filter on the result's principal below the lists built)."""
    only = f"\nWHERE {principals}" if principals else ""
    source = (
        "FROM escalation_classes w\n"
        "JOIN escalation_tag_sets t ON t.set_id = w.set_id\n"
        "JOIN principals p ON p.principal_class = w.principal_class\n"
        "JOIN instances i ON i.instance_class = w.instance_class"
    )
    members = (
        "LEFT JOIN escalation_member_sets s ON s.set_id = w.set_id"
        " AND s.instance_arn = i.instance_arn"
    )
    if not joins:
        return (
            "SELECT principal_arn, instance_arn, like_instance_arn, set_json AS set_tags,\n"
            "       remove_tags, tag_via, stop_via, conditional\n"
            "FROM (\n"
            "SELECT p.principal_arn, i.instance_arn, w.like_instance_arn, w.remove_tags,\n"
            "       w.tag_via, w.stop_via, w.conditional,\n"
            "       coalesce(s.set_json, t.set_json) AS set_json\n"
            f"{source}\n{members}{only}\n"
            ")\nWHERE set_json <> '{}' OR len(remove_tags) > 0"
        )
    # per join tag, whether the like's is set (``more_j``: the member's differs) and whether
    # the member's is removed (``gone_j``); lists are built only on the rows that have one
    flags = ",\n".join(
        f"       (w.set_mask & {1 << j} <> 0 AND l.join_key_{j} IS NOT NULL"
        f" AND (ji.join_key_{j} IS DISTINCT FROM l.join_key_{j}"
        f" OR ji.join_raw_{j} IS DISTINCT FROM l.join_raw_{j})) AS more_{j},"
        f" l.join_key_{j} AS like_key_{j}, l.join_pair_{j} AS like_pair_{j},\n"
        f"       (w.remove_mask & {1 << j} <> 0 AND ji.join_key_{j} IS NOT NULL) AS gone_{j},"
        f" ji.join_key_{j} AS key_{j}"
        for j in range(joins)
    )
    more = (
        "list_distinct(flatten(["
        + ", ".join(
            f"CASE WHEN more_{j} THEN [{{'key': like_key_{j}, 'pair': like_pair_{j}}}] ELSE [] END"
            for j in range(joins)
        )
        + "]))"
    )
    gone = (
        "flatten(["
        + ", ".join(f"CASE WHEN gone_{j} THEN [key_{j}] ELSE [] END" for j in range(joins))
        + "])"
    )
    any_more = " OR ".join(f"more_{j}" for j in range(joins))
    any_gone = " OR ".join(f"gone_{j}" for j in range(joins))
    merged = (
        "list_sort(list_concat(list_filter(sets, lambda x: NOT list_contains("
        f"list_transform({more}, lambda m: m.key), x.key)), {more}))"
    )
    return (
        "SELECT principal_arn, instance_arn, like_instance_arn,\n"
        f"       CASE WHEN NOT ({any_more}) THEN set_json ELSE '{{' || array_to_string("
        f"list_transform({merged}, lambda x: x.pair), ', ') || '}}' END AS set_tags,\n"
        f"       CASE WHEN NOT ({any_gone}) THEN remove0\n"
        f"            ELSE list_sort(list_distinct(list_concat(remove0, {gone}))) END"
        " AS remove_tags,\n"
        "       tag_via, stop_via, conditional\n"
        "FROM (\n"
        "SELECT p.principal_arn, i.instance_arn, k.like_instance_arn,\n"
        "       w.remove_tags AS remove0, w.tag_via, w.stop_via, w.conditional,\n"
        "       coalesce(s.set_json, t.set_json) AS set_json,"
        " coalesce(s.set_tags, t.set_tags) AS sets,\n"
        f"{flags}\n"
        f"{source} AND {bits_sql(joins)} = w.bits\n"
        "JOIN escalation_likes k ON k.principal_arn = p.principal_arn"
        " AND k.like_class = w.like_class AND k.like_bits = w.like_bits\n"
        f"{members}\n"
        "LEFT JOIN escalation_join_tags ji ON ji.instance_arn = i.instance_arn\n"
        "LEFT JOIN escalation_join_tags l ON l.instance_arn = k.like_instance_arn"
        f"{only}\n)\nWHERE {any_more} OR set_json <> '{{}}' OR len(remove0) > 0 OR {any_gone}"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_layout(out: Path) -> Layout | None:
    """The dataset's layout (``None``: no ``dataset.json`` and no ``matrix/*.parquet``)."""
    path = out / DATASET_FILE
    if not path.exists():
        if any((out / "matrix").glob("*.parquet")):
            return Layout(materialized=True, joins=0, trail=False, rows=None)
        return None
    text = read_text(path, limit=MAX_DATASET_RECORD_BYTES, error=DatasetError)
    try:
        got: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not readable JSON: {_first_line(exc)}") from None
    if not isinstance(got, dict) or got.get("format") != DATASET_FORMAT:
        raise DatasetError(f"{path}: not a review's dataset record (format {DATASET_FORMAT!r})")
    joins, trail, rows = got.get("joins"), got.get("trail"), got.get("rows")
    reaching = got.get("reaching", False)  # absent: written before reaching.parquet existed
    cells = got.get("cells", "file")  # absent: written before the columns
    escalations = got.get("escalations", "file")  # absent: escalations.parquet
    maps = got.get("maps", "dense")  # absent: column_maps.parquet, instance_columns.parquet
    lookup = got.get("lookup", False)  # absent: written before the lookup files
    classes = ClassCounts.from_dict(got["classes"]) if "classes" in got else None
    if (
        got.get("matrix") not in ("view", "materialized")
        or not isinstance(joins, int)
        or isinstance(joins, bool)
        or not 0 <= joins < 31
        or not isinstance(trail, bool)
        or not (rows is None or (isinstance(rows, int) and not isinstance(rows, bool)))
        or not isinstance(reaching, bool)
        or cells not in ("file", "columns")
        or escalations not in ("file", "classes")
        or maps not in ("dense", "parts")
        or not isinstance(lookup, bool)
        or ("classes" in got and classes is None)
    ):
        raise DatasetError(
            f"{path}: unexpected content (matrix, joins, trail, rows, reaching or classes)"
        )
    return Layout(
        materialized=got["matrix"] == "materialized",
        joins=joins,
        trail=trail,
        rows=rows,
        reaching=reaching,
        columns=cells == "columns",
        escalations=escalations == "classes",
        parts=maps == "parts",
        lookup=lookup and cells == "columns" and maps == "parts",
        classes=classes,
    )


def attach(con: Any, out: Path, *, layout: Layout | None = None) -> Layout | None:
    """Create a view per table file of ``out`` on the DuckDB connection ``con``, then
    ``matrix``: over ``matrix/*.parquet`` when materialized, else the expanding view. A
    factorized dataset whose class files are missing, corrupt or lack a column the view reads
    raises `DatasetError` (one line naming the file). ``None``: not a review's dataset."""
    import duckdb  # noqa: PLC0415 - the caller has it loaded already

    layout = layout or read_layout(out)
    factorized = layout is not None and not layout.materialized
    columns = layout is not None and layout.columns
    by_class = layout is not None and layout.escalations
    parts = columns and layout is not None and layout.parts
    for name in TABLES:
        path = out / f"{name}.parquet"
        if columns and name in ("cells", "reaching"):
            continue  # views over the columns, below
        if not columns and name in COLUMN_TABLES:
            continue
        if name in PART_TABLES and not parts:
            continue
        if parts and name in ("column_maps", "instance_columns"):
            continue  # views over `PART_TABLES`, below
        if name == "escalations" and by_class:
            continue  # a view over `ESCALATION_FILES`, below
        if name in ESCALATION_FILES and not by_class:
            continue
        if name == ESCALATION_FILES[4] and not (layout is not None and layout.joins):
            continue  # written with join features only
        if name == "reaching" and not (layout is not None and layout.reaching):
            con.execute(f"DROP VIEW IF EXISTS {name}")  # absent, or another review's
            continue
        needed = _needed(name, layout) if factorized or name in ESCALATION_FILES else None
        if not path.is_file():
            if needed is not None or (factorized and name == "observed" and layout.trail):  # type: ignore[union-attr]
                raise DatasetError(
                    f"{path}: missing; the review's "
                    f"{'escalations are' if name in ESCALATION_FILES else 'matrix is'} a view over it "
                    "(run `lspolicy review` again)"
                )
            continue
        try:
            con.execute(
                f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet({sql_text(str(path))})"
            )
            have = {str(r[0]) for r in con.execute(f"DESCRIBE {name}").fetchall()}
        except duckdb.Error as exc:
            if needed is None:
                con.execute(f"DROP VIEW IF EXISTS {name}")
                continue
            raise DatasetError(f"{path}: not readable Parquet: {_first_line(exc)}") from None
        lacking = [c for c in needed or () if c not in have]
        if lacking:
            raise DatasetError(
                f"{path}: not a review's {name} table (no column {', '.join(lacking)})"
            )
    if layout is None:
        return None
    if parts:
        for name in ("column_maps", "instance_columns"):
            con.execute(f"CREATE OR REPLACE VIEW {name} AS {maps_sql()}")
    if parts and layout.lookup:
        _attach_lookup(con, out)
    if columns:
        con.execute(f"CREATE OR REPLACE VIEW cells AS {cells_sql(joins=layout.joins)}")
        reaching = cells_sql(
            joins=layout.joins,
            maps="column_maps",
            where="\nWHERE k.decision IN ('allowed', 'conditional')",
        )
        con.execute(f"CREATE OR REPLACE VIEW reaching AS {reaching}")
    if by_class:
        sql = escalations_sql(joins=layout.joins)
        con.execute(f"CREATE OR REPLACE VIEW escalations AS {sql}")
    if columns and not layout.materialized:
        from lspolicy.account.class_lookup import member_macros_sql  # noqa: PLC0415

        for sql in member_macros_sql(layout):
            con.execute(sql)
    if layout.materialized:
        matrix = out / "matrix" / "*.parquet"
        if not any((out / "matrix").glob("*.parquet")):
            raise DatasetError(f"{out / 'matrix'}: no Parquet files, though {DATASET_FILE} says so")
        con.execute(
            f"CREATE OR REPLACE VIEW matrix AS SELECT * FROM read_parquet({sql_text(str(matrix))})"
        )
    else:
        con.execute(
            "CREATE OR REPLACE VIEW matrix AS " + matrix_sql(joins=layout.joins, trail=layout.trail)
        )
    return layout


def _attach_lookup(con: Any, out: Path) -> None:
    """Views over the lookup files (`lspolicy.account.class_lookup`), and ``instance_columns``
    over who-can's copy of the maps (the same rows, ordered by part map: a filter on one
    instance class reads a few row groups)."""
    import duckdb  # noqa: PLC0415 - the caller has it loaded already

    from lspolicy.account.class_lookup import OUTCOMES_FILE, PART_COLUMNS_FILE  # noqa: PLC0415

    for name, file, needed in (
        ("part_columns", PART_COLUMNS_FILE, _NEEDED["map_parts"]),
        ("outcomes", OUTCOMES_FILE, ("outcome", *_ANSWER[1:])),
    ):
        path = out / file
        if not path.is_file():
            raise DatasetError(f"{path}: missing, though {DATASET_FILE} says it was written")
        try:
            con.execute(
                f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet({sql_text(str(path))})"
            )
            have = {str(r[0]) for r in con.execute(f"DESCRIBE {name}").fetchall()}
        except duckdb.Error as exc:
            raise DatasetError(f"{path}: not readable Parquet: {_first_line(exc)}") from None
        lacking = [c for c in needed if c not in have]
        if lacking:
            raise DatasetError(f"{path}: not a review's {name} table (no column {lacking[0]})")
    con.execute(
        "CREATE OR REPLACE VIEW instance_columns AS "
        + maps_sql().replace("FROM map_parts mp", "FROM part_columns mp")
    )


def _needed(name: str, layout: Layout | None) -> tuple[str, ...] | None:
    base = _NEEDED.get("cells" if name == "reaching" else name)
    if base is None or layout is None:
        return None
    joins = range(layout.joins)
    if name in ("cells", "reaching", "class_columns"):
        return (*base, "bits") if layout.joins else base
    if name == "principals":
        return (*base, *(f"join_value_{j}" for j in joins))
    if name == ESCALATION_FILES[4]:
        return (
            *base,
            *(f"{c}_{j}" for j in joins for c in ("join_key", "join_raw", "join_pair")),
        )
    if name in COLUMN_TABLES or name in PART_TABLES or name in ESCALATION_FILES:
        return base
    return (*base, *(f"join_tag_{j}" for j in joins))
