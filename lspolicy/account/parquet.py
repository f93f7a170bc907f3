"""The review's dataset: Parquet files that DuckDB and Spark read unchanged.

Written by pyarrow: the class cells (``cells.parquet``: one row per principal class x instance
class x action, with the answer) and membership (``principals.parquet``, ``instances.parquet``:
each member with its class id and join values) are the stored truth. The matrix is their join
(``cells ⋈ principals ⋈ instances``, `lspolicy.account.views.matrix_sql`, also written to
``DIR/matrix.sql``): a DuckDB view that expands on query, and written out as
``DIR/matrix/part-0.parquet`` by DuckDB only when ``materialize`` says so (`MATERIALIZE`; by
default below `AUTO_ROWS` rows: a whole organization's 4x10^9 cells are never written, only
queried). ``DIR/dataset.json`` records which. ``cells.parquet`` is clustered by instance
class; ``reaching.parquet`` holds its rows that reach (``allowed``, ``conditional``), same
columns, clustered by principal class (``what-can``'s copy, `lspolicy.account.views`). The tag
escalations are stored by class too (`lspolicy.account.escalation_store`: the search's
witnesses; ``escalations`` is a DuckDB view expanding them, `views.escalations_sql`). Plain
types only: strings, 32/64-bit integers, booleans, lists of strings (and, in the escalations'
tag sets, lists of ``(key, pair)`` structs).

The matrix (view or ``matrix/part-0.parquet``) — one row per (principal, instance, action), in no particular
order (``ORDER BY`` in the query that reads it):

=================  =============  ===============================================================
column             type           meaning
=================  =============  ===============================================================
principal_arn      string         the user or role
principal_kind     string         ``user`` or ``role``
principal_account  string         its account id
instance_arn       string         the Lightsail instance
instance_name      string         its name
instance_account   string         its account id
region             string         its region
production         bool           it carries a ``--production-tag``
tag_group          string         its heatmap group (``KEY=VALUE`` of the group tag)
action             string         e.g. ``lightsail:StopInstance``
decision           string         ``allowed``, ``conditional``, ``explicitDeny``, ``implicitDeny``
direct_decision    string         the principal's own decision, without assuming a role
via                list<string>   the roles assumed, in order (empty: directly)
via_length         int32          ``len(via)``
statements         list<string>   deciding statements (``POLICY/Sid``)
conditions         string         JSON list of the caller conditions the answer needs
incomplete         list<string>   policies of the principal or its chain not evaluated
used               bool           the trail shows the call (null when no trail was given)
principal_class    int32          the principal's class id
instance_class     int32          the instance's class id
=================  =============  ===============================================================
"""

from __future__ import annotations

import json
import shutil
from array import array
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lspolicy.account.class_lookup import OUTCOMES_FILE, PART_COLUMNS_FILE
from lspolicy.account.escalation_store import write_escalations
from lspolicy.account.views import (
    CLASS_MAPS_FILE,
    COLUMN_MAPS_FILE,
    COLUMNS_FILE,
    DATASET_FILE,
    ESCALATIONS_SQL_FILE,
    INSTANCE_COLUMNS_FILE,
    MAP_PARTS_FILE,
    MATRIX_SQL_FILE,
    MEMORY_LIMIT,
    PART_MAPS_FILE,
    SPILL_LIMIT,
    ClassCounts,
    Layout,
    attach,
    bounded_connection,
    escalations_sql,
    matrix_sql,
    sql_text,
)
from lspolicy.account.views import (
    TABLES as _FILES,
)

if TYPE_CHECKING:
    from lspolicy.account.model import Inventory
    from lspolicy.account.review import ClassCells, Matrix

__all__ = [
    "AUTO_ROWS",
    "MATERIALIZE",
    "MATRIX_COLUMNS",
    "MEMORY_LIMIT",
    "SPILL_LIMIT",
    "TABLES",
    "class_counts",
    "connect",
    "is_production",
    "matrix_rows",
    "run_query",
    "tag_group",
    "write_dataset",
]

MATRIX_COLUMNS = (
    "principal_arn",
    "principal_kind",
    "principal_account",
    "instance_arn",
    "instance_name",
    "instance_account",
    "region",
    "production",
    "tag_group",
    "action",
    "decision",
    "direct_decision",
    "via",
    "via_length",
    "statements",
    "conditions",
    "incomplete",
    "used",
    "principal_class",
    "instance_class",
)
TABLES = ("matrix", *_FILES)
CELL_ROWS = 1 << 16
"""Class cells per row group of ``cells.parquet`` (and per batch converted from `ClassCells`):
the unit DuckDB skips when a question's instance class is outside a group's range."""
MATERIALIZE = ("auto", "always", "never")
"""``--materialize``: write ``matrix/*.parquet`` always, never (``matrix`` is a view), or when
the matrix has fewer than `AUTO_ROWS` rows (auto, the default)."""
AUTO_ROWS = 10_000_000
"""Below this many rows ``--materialize auto`` writes ``matrix/`` (about 15 MB of Parquet and
some seconds of DuckDB at 10^7); above it, the matrix is only a view."""


def _write(path: Path, columns: Mapping[str, Sequence[Any]], schema: Any) -> None:
    import pyarrow as pa  # noqa: PLC0415 - the dataset writer only
    import pyarrow.parquet as pq  # noqa: PLC0415

    table = pa.Table.from_pydict(dict(columns), schema=schema)
    pq.write_table(table, path)


def write_dataset(
    out: Path,
    inventory: Inventory,
    matrix: Matrix,
    *,
    production: Sequence[tuple[str, str]],
    group_tag: str,
    observed: Iterable[tuple[str, str, str, int]] | None,
    materialize: Literal["auto", "always", "never"] = "auto",
) -> Layout:
    """Write principals, instances, class cells, escalations, problems (and observed calls),
    ``dataset.json`` and ``matrix.sql``, then the expanded matrix when ``materialize`` says so
    (`MATERIALIZE`). Returns what was written."""
    import pyarrow as pa  # noqa: PLC0415

    out.mkdir(parents=True, exist_ok=True)
    # a matrix of an earlier review here would be read instead of this one's view
    for old in (out / "matrix").glob("*.parquet"):
        old.unlink()
    (out / DATASET_FILE).unlink(missing_ok=True)
    # an earlier layout's class cells and dense column maps
    for old_name in (
        "cells.parquet",
        "reaching.parquet",
        COLUMN_MAPS_FILE,
        INSTANCE_COLUMNS_FILE,
        PART_COLUMNS_FILE,
        OUTCOMES_FILE,
    ):
        (out / old_name).unlink(missing_ok=True)
    text, i32, flag = pa.string(), pa.int32(), pa.bool_()
    users, roles = inventory.users, inventory.roles
    rows: dict[str, list[Any]] = {
        k: []
        for k in (
            "principal_arn",
            "principal_kind",
            "principal_name",
            "principal_account",
            "principal_tags",
            "principal_class",
            "identity_class",
        )
    }
    joins = matrix.instances.joins
    for j in range(len(joins)):
        rows[f"join_value_{j}"] = []
    for arn in matrix.principals:
        entity = users.get(arn) or roles[arn]
        for j, v in enumerate(matrix.join_values.get(arn, ())):
            rows[f"join_value_{j}"].append(v)
        rows["principal_arn"].append(arn)
        rows["principal_kind"].append("user" if arn in users else "role")
        rows["principal_name"].append(entity.name)
        rows["principal_account"].append(entity.account or "")
        rows["principal_tags"].append(json.dumps(dict(entity.tags), sort_keys=True))
        rows["principal_class"].append(matrix.principal_class[arn])
        rows["identity_class"].append(matrix.identity_class.get(arn, -1))
    _write(
        out / "principals.parquet",
        rows,
        pa.schema(
            [
                ("principal_arn", text),
                ("principal_kind", text),
                ("principal_name", text),
                ("principal_account", text),
                ("principal_tags", text),
                ("principal_class", i32),
                ("identity_class", i32),
                *((f"join_value_{j}", text) for j in range(len(joins))),
            ]
        ),
    )
    inst_rows: dict[str, list[Any]] = {
        k: []
        for k in (
            "instance_arn",
            "instance_name",
            "instance_account",
            "region",
            "state",
            "tags",
            "production",
            "tag_group",
            "instance_class",
        )
    }
    for arn in sorted(inventory.instances):
        inst = inventory.instances[arn]
        inst_rows["instance_arn"].append(arn)
        inst_rows["instance_name"].append(inst.name)
        inst_rows["instance_account"].append(inst.account or "")
        inst_rows["region"].append(inst.region)
        inst_rows["state"].append(inst.state)
        inst_rows["tags"].append(json.dumps(dict(inst.tags), sort_keys=True))
        inst_rows["production"].append(is_production(inst.tags, production))
        inst_rows["tag_group"].append(tag_group(inst.tags, group_tag))
        inst_rows["instance_class"].append(matrix.instances.of[arn])
        for j, v in enumerate(matrix.instances.join_values.get(arn, ())):
            inst_rows.setdefault(f"join_tag_{j}", []).append(v)
    _write(
        out / "instances.parquet",
        inst_rows,
        pa.schema(
            [
                ("instance_arn", text),
                ("instance_name", text),
                ("instance_account", text),
                ("region", text),
                ("state", text),
                ("tags", text),
                ("production", flag),
                ("tag_group", text),
                ("instance_class", i32),
                *((f"join_tag_{j}", text) for j in range(len(joins))),
            ]
        ),
    )
    _write_cells(out, matrix)
    # the escalations by class (the view `escalations` expands them); an earlier layout's file
    # would be read instead
    (out / "escalations.parquet").unlink(missing_ok=True)
    write_escalations(out, matrix)
    problems = matrix.not_evaluated
    _write(
        out / "problems.parquet",
        {
            k: [str(p.get(k, "")) for p in problems]
            for k in ("what", "name", "message", "source", "path")
        },
        pa.schema([(k, text) for k in ("what", "name", "message", "source", "path")]),
    )
    seen = list(observed) if observed is not None else None
    _write(
        out / "observed.parquet",
        {
            "principal_arn": [o[0] for o in seen or ()],
            "action": [o[1] for o in seen or ()],
            "instance_arn": [o[2] for o in seen or ()],
            "calls": [o[3] for o in seen or ()],
        },
        pa.schema(
            [
                ("principal_arn", text),
                ("action", text),
                ("instance_arn", text),
                ("calls", pa.int64()),
            ]
        ),
    )
    # Arrow's allocator (mimalloc) keeps freed pages: hand them back before DuckDB's turn
    pa.default_memory_pool().release_unused()
    size = matrix_rows(matrix)
    layout = Layout(
        materialized=materialize == "always" or (materialize == "auto" and size < AUTO_ROWS),
        joins=len(joins),
        trail=seen is not None,
        rows=size,
        reaching=True,
        columns=True,
        escalations=True,
        parts=True,
        lookup=True,
        classes=class_counts(matrix),
    )
    sql = matrix_sql(joins=layout.joins, trail=layout.trail, columns=True, parts=True)
    (out / MATRIX_SQL_FILE).write_text(
        "-- the review's matrix: run over views named after DIR/*.parquet "
        "(cells, principals, instances, observed)\n" + sql + "\n",
        encoding="utf-8",
    )
    (out / ESCALATIONS_SQL_FILE).write_text(
        "-- the review's tag escalations (DuckDB >= 1.3): run over views named after "
        "DIR/*.parquet (escalation_*, principals, instances)\n"
        + escalations_sql(joins=layout.joins)
        + "\n",
        encoding="utf-8",
    )
    if layout.materialized:
        _expand(out, layout)
    elif (out / "matrix").is_dir():
        shutil.rmtree(out / "matrix")
    (out / DATASET_FILE).write_text(json.dumps(layout.to_dict(), indent=2) + "\n")
    return layout


def _write_cells(out: Path, matrix: Matrix) -> None:
    """The class cells, factorized (`lspolicy.account.views`): ``columns.parquet`` (one row per
    principal class, column, bits and action, with the answer: each distinct answer converted
    once, the rows take theirs by index; ordered by principal class), ``class_maps.parquet``
    (each principal class's column map) and the maps factorized by account (`_write_maps`:
    ``column_maps`` and ``instance_columns`` are views), with each row's ``outcome`` and the
    distinct answers by it in `OUTCOMES_FILE`."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    cells = matrix.cells
    text, i32, texts = pa.string(), pa.int32(), pa.list_(pa.string())
    joins = bool(matrix.instances.joins)
    schema = pa.schema(
        [
            ("principal_class", i32),
            ("column_id", i32),
            ("action", text),
            ("decision", text),
            ("direct_decision", text),
            ("via", texts),
            ("via_length", i32),
            ("statements", texts),
            ("conditions", text),
            ("incomplete", texts),
            *((("bits", i32),) if joins else ()),
            ("outcome", i32),
        ]
    )
    answers = cells.outcomes
    table = pa.table(
        {
            "decision": pa.array([o[0] for o in answers], text),
            "direct_decision": pa.array([o[1] for o in answers], text),
            "via": pa.array([list(o[2]) for o in answers], texts),
            "via_length": pa.array([len(o[2]) for o in answers], i32),
            "statements": pa.array([list(o[3]) for o in answers], texts),
            "conditions": pa.array([o[4] for o in answers], text),
            "incomplete": pa.array([list(o[5]) for o in answers], texts),
        }
    )
    actions = pa.array(list(cells.actions), text)
    with pq.ParquetWriter(out / COLUMNS_FILE, schema) as writer:
        total = len(cells.outcome)
        for lo in range(0, max(total, 1), CELL_ROWS):
            hi = min(total, lo + CELL_ROWS)
            rows = table.take(_int32s(cells.outcome[lo:hi]))
            columns = {
                "principal_class": _int32s(cells.pclass[lo:hi]),
                "column_id": _int32s(cells.column[lo:hi]),
                "action": actions.take(_int32s(cells.action[lo:hi])),
                **{name: rows.column(name).combine_chunks() for name in rows.column_names},
                "bits": _int32s(cells.bits[lo:hi]),
                "outcome": _int32s(cells.outcome[lo:hi]),
            }
            writer.write_table(pa.table([columns[f.name] for f in schema], schema=schema))
    # each distinct answer once, by the rows' ``outcome`` (`lspolicy.account.class_lookup`)
    pq.write_table(
        table.add_column(0, "outcome", pa.array(range(len(answers)), i32)),
        out / OUTCOMES_FILE,
        row_group_size=CELL_ROWS,
    )
    del table
    _write(
        out / CLASS_MAPS_FILE,
        {"principal_class": list(cells.map_of), "map": list(cells.map_of.values())},
        pa.schema([("principal_class", i32), ("map", i32)]),
    )
    _write_maps(out, cells)


def _int32s(values: array[int]) -> Any:
    """An Arrow int32 array over ``values``' own buffer (which it keeps alive): no conversion
    element by element (~1 s per 20 million for `pyarrow.array`)."""
    import pyarrow as pa  # noqa: PLC0415

    if values.itemsize != 4:
        return pa.array(values, pa.int32())
    return pa.Array.from_buffers(pa.int32(), len(values), [None, pa.py_buffer(values)])


def _write_maps(out: Path, cells: ClassCells) -> None:
    """The column maps, factorized by account (`ClassCells`): `PART_MAPS_FILE` (each used part
    map's instance classes with their local ids, by run then part) and `MAP_PARTS_FILE` (each
    used map's translation, local id -> column id, per part), and who-can's copy of the latter
    ordered by part map, `PART_COLUMNS_FILE`. The used part maps are numbered in the order
    ``part_maps.parquet`` lists them (by run), so one run's part maps are a range of ids and a
    few row groups of the copy (`lspolicy.account.class_lookup`). ``column_maps`` and
    ``instance_columns`` are views joining them (`views.maps_sql`)."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    i32 = pa.int32()
    used = sorted(set(cells.map_of.values()))
    width = cells.part_width
    ordered = sorted(
        {p for m in used for p in cells.maps[m][0]}, key=lambda p: (cells.part_run[p], p)
    )
    number = {p: n for n, p in enumerate(ordered)}
    schema = pa.schema([("map", i32), ("part_map", i32), ("local_id", i32), ("column_id", i32)])
    cols: tuple[array[int], ...] = (array("i"), array("i"), array("i"), array("i"))

    def flush(writer: Any) -> None:
        writer.write_table(
            pa.table([_int32s(c) for c in cols], schema=schema), row_group_size=CELL_ROWS
        )
        for c in cols:
            del c[:]

    # per map, per part: the translation's slice; by map (what-can's) ...
    users: dict[int, list[tuple[int, int]]] = {}
    with pq.ParquetWriter(out / MAP_PARTS_FILE, schema) as writer:
        for m in used:
            ids, trans = cells.maps[m]
            at = 0
            for p in ids:
                w = width[p]
                users.setdefault(p, []).append((m, at))
                cols[0].extend(array("i", [m]) * w)
                cols[1].extend(array("i", [number[p]]) * w)
                cols[2].extend(range(w))
                at += w
            cols[3].extend(trans)
            if len(cols[0]) >= CELL_ROWS:
                flush(writer)
        if cols[0] or not used:
            flush(writer)
    # ... and by part map (who-can's), each part's maps in map order
    with pq.ParquetWriter(out / PART_COLUMNS_FILE, schema) as writer:
        for p in ordered:
            w = width[p]
            for m, at in users[p]:
                cols[0].extend(array("i", [m]) * w)
                cols[1].extend(array("i", [number[p]]) * w)
                cols[2].extend(range(w))
                cols[3].extend(cells.maps[m][1][at : at + w])
            if len(cols[0]) >= CELL_ROWS:
                flush(writer)
        if cols[0] or not ordered:
            flush(writer)
    del users
    part_schema = pa.schema([("part_map", i32), ("instance_class", i32), ("local_id", i32)])
    pcols: tuple[array[int], array[int], array[int]] = (array("i"), array("i"), array("i"))

    def flush_parts(writer: Any) -> None:
        writer.write_table(
            pa.table([_int32s(c) for c in pcols], schema=part_schema),
            row_group_size=CELL_ROWS,
        )
        for c in pcols:
            del c[:]

    with pq.ParquetWriter(out / PART_MAPS_FILE, part_schema) as writer:
        for n, p in enumerate(ordered):
            local = cells.parts[p]
            lo = cells.starts[cells.part_run[p]]
            pcols[0].extend(array("i", [n]) * len(local))
            pcols[1].extend(range(lo, lo + len(local)))
            pcols[2].extend(local)
            if len(pcols[0]) >= CELL_ROWS:
                flush_parts(writer)
        if pcols[0] or not ordered:
            flush_parts(writer)


def is_production(tags: Mapping[str, str], production: Sequence[tuple[str, str]]) -> bool:
    """Whether the tags carry one of the production ``(key, value)`` pairs (exact match)."""
    return any(tags.get(k) == v for k, v in production)


def tag_group(tags: Mapping[str, str], key: str) -> str:
    """The heatmap group of an instance: ``KEY=VALUE``, or ``KEY=(none)`` when untagged."""
    value = tags.get(key)
    return f"{key}={value}" if value is not None else f"{key}=(none)"


def connect(out: Path) -> Any:
    """A DuckDB connection with a view per table of the dataset (``matrix``, ``principals``...):
    ``matrix`` over ``matrix/*.parquet`` when materialized, else the view expanding the class
    cells (`lspolicy.account.views`). A factorized dataset with a missing or corrupt class file
    raises `DatasetError`."""
    con = bounded_connection()  # the bounds: `views.MEMORY_LIMIT`, `views.SPILL_LIMIT`
    try:
        attach(con, out)
    except BaseException:
        con.close()
        raise
    return con


def class_counts(matrix: Matrix) -> ClassCounts:
    """The review's actions and class counts, as ``report.json`` gives them (recorded in
    ``dataset.json``: the report is rebuilt from a dataset alone)."""
    return ClassCounts(
        actions=tuple(matrix.actions),
        principal_classes=matrix.principal_classes,
        identity_classes=len(set(matrix.identity_class.values())),
        instance_classes=len(matrix.instances.members),
        class_cells=len(matrix.cells),
        instance_singletons=matrix.instances.singletons,
    )


def matrix_rows(matrix: Matrix) -> int:
    """How many rows the expanded matrix has: the matrix is full (one row per principal,
    instance and action), so each (principal class, column, action) of the cells counts its
    principal class's size times the instances of its column's classes once, whatever join
    bits its cells carry."""
    sizes: dict[int, int] = {}
    for c in matrix.principal_class.values():
        sizes[c] = sizes.get(c, 0) + 1
    members = matrix.instances.members
    cells = matrix.cells
    weights: dict[int, list[int]] = {}

    def part_members(p: int) -> list[int]:
        # per local id of a part map: the instances of its classes
        got = weights.get(p)
        if got is None:
            got = [0] * cells.part_width[p]
            lo = cells.starts[cells.part_run[p]]
            for ic, local in enumerate(cells.parts[p], lo):
                got[local] += len(members[ic])
            weights[p] = got
        return got

    per_map = {m: cells.column_weights(m, part_members) for m in set(cells.map_of.values())}
    # rows are in class order (principal class, column): the actions of a column are adjacent
    total, last = 0, (-1, -1)
    actions: set[int] = set()

    def flush() -> int:
        pc, col = last
        return sizes.get(pc, 0) * per_map[cells.map_of[pc]][col] * len(actions)

    for p, c, a in zip(cells.pclass, cells.column, cells.action, strict=True):
        if (p, c) != last:
            if actions:
                total += flush()
            actions, last = set(), (p, c)
        actions.add(a)
    if actions:
        total += flush()
    return total


def _expand(out: Path, layout: Layout) -> None:
    """Cells by class pair joined with membership: every (principal, instance, action) row,
    written to ``matrix/part-0.parquet`` by the view's own SELECT (`matrix_sql`)."""
    matrix_dir = out / "matrix"
    matrix_dir.mkdir(exist_ok=True)
    spill = out / ".duckdb-tmp"
    con = bounded_connection(spill=spill)
    attach(
        con,
        out,
        layout=Layout(
            materialized=False,
            joins=layout.joins,
            trail=layout.trail,
            rows=None,
            columns=layout.columns,
            parts=layout.parts,
        ),
    )
    # bounded memory: DuckDB spills past the limit; rows are written as the join yields them
    # (no global sort: 10^7 wide rows sorted in memory took gigabytes)
    con.execute("SET preserve_insertion_order = false")
    target = sql_text(str(matrix_dir / "part-0.parquet"))
    con.execute(
        f"COPY ({matrix_sql(joins=layout.joins, trail=layout.trail)}) TO {target} (FORMAT PARQUET)"
    )
    con.close()
    if spill.is_dir():
        shutil.rmtree(spill, ignore_errors=True)


def run_query(out: Path, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run ``sql`` over the dataset in ``out`` with DuckDB: column names and rows."""
    con = connect(out)
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description or ()]
        return names, [tuple(r) for r in cur.fetchall()]
    finally:
        con.close()
