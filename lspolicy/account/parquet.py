"""The review's dataset: Parquet files that DuckDB and Spark read unchanged.

Written by pyarrow (class tables and membership) and expanded to cells by DuckDB, the embedded
default query engine, with a join (``cells ⋈ principals ⋈ instances``), never held whole in
memory. Plain types only: strings, 32/64-bit integers, booleans, and lists of strings.

``DIR/matrix/part-0.parquet`` — one row per (principal, instance, action), in no particular
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
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lspolicy.account.model import Inventory
from lspolicy.account.review import Matrix

__all__ = [
    "MATRIX_COLUMNS",
    "MEMORY_LIMIT",
    "TABLES",
    "connect",
    "is_production",
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
MEMORY_LIMIT = "2GB"
"""DuckDB's memory for the expansion; past it, it spills to ``DIR/.duckdb-tmp`` (removed after)."""
TABLES = ("matrix", "principals", "instances", "cells", "escalations", "problems", "observed")


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
) -> None:
    """Write principals, instances, class cells, escalations, problems (and observed calls),
    then the expanded matrix."""
    import pyarrow as pa  # noqa: PLC0415

    out.mkdir(parents=True, exist_ok=True)
    text, i32, flag = pa.string(), pa.int32(), pa.bool_()
    texts = pa.list_(pa.string())
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
    _write_cells(out / "cells.parquet", matrix)
    esc = matrix.escalations
    _write(
        out / "escalations.parquet",
        {
            "principal_arn": [e.principal for e in esc],
            "instance_arn": [e.instance for e in esc],
            "like_instance_arn": [e.like for e in esc],
            "set_tags": [json.dumps(dict(e.set_tags), sort_keys=True) for e in esc],
            "remove_tags": [list(e.remove_tags) for e in esc],
            "tag_via": [list(e.tag_via) for e in esc],
            "stop_via": [list(e.stop_via) for e in esc],
            "conditional": [e.conditional for e in esc],
        },
        pa.schema(
            [
                ("principal_arn", text),
                ("instance_arn", text),
                ("like_instance_arn", text),
                ("set_tags", text),
                ("remove_tags", texts),
                ("tag_via", texts),
                ("stop_via", texts),
                ("conditional", flag),
            ]
        ),
    )
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
    _expand(out, trail=seen is not None, joins=len(joins))


def _write_cells(path: Path, matrix: Matrix) -> None:
    """``cells.parquet``: each distinct answer is converted once, and the rows take theirs by
    index (`ClassCells` holds them columnar)."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    cells = matrix.cells
    text, i32, texts = pa.string(), pa.int32(), pa.list_(pa.string())
    schema = pa.schema(
        [
            ("principal_class", i32),
            ("instance_class", i32),
            ("action", text),
            ("decision", text),
            ("direct_decision", text),
            ("via", texts),
            ("via_length", i32),
            ("statements", texts),
            ("conditions", text),
            ("incomplete", texts),
            *((("bits", i32),) if matrix.instances.joins else ()),
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
    rows = table.take(pa.array(cells.outcome, pa.int32())) if len(cells) else table.slice(0, 0)
    actions = pa.array(list(cells.actions), text)
    columns = {
        "principal_class": pa.array(cells.pclass, i32),
        "instance_class": pa.array(cells.iclass, i32),
        "action": actions.take(pa.array(cells.action, pa.int32())),
        "bits": pa.array(cells.bits, i32),
        **{name: rows.column(name).combine_chunks() for name in rows.column_names},
    }
    pq.write_table(pa.table([columns[f.name] for f in schema], schema=schema), path)


def is_production(tags: Mapping[str, str], production: Sequence[tuple[str, str]]) -> bool:
    """Whether the tags carry one of the production ``(key, value)`` pairs (exact match)."""
    return any(tags.get(k) == v for k, v in production)


def tag_group(tags: Mapping[str, str], key: str) -> str:
    """The heatmap group of an instance: ``KEY=VALUE``, or ``KEY=(none)`` when untagged."""
    value = tags.get(key)
    return f"{key}={value}" if value is not None else f"{key}=(none)"


def connect(out: Path) -> Any:
    """A DuckDB connection with a view per table of the dataset (``matrix``, ``principals``...)."""
    import duckdb  # noqa: PLC0415 - the query engine, loaded only for the dataset

    con = duckdb.connect()
    for name in TABLES:
        path = out / "matrix" / "*.parquet" if name == "matrix" else out / f"{name}.parquet"
        if name == "matrix" and not any((out / "matrix").glob("*.parquet")):
            continue
        if name != "matrix" and not path.is_file():
            continue
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_sql_text(str(path))})")
    return con


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _expand(out: Path, *, trail: bool, joins: int = 0) -> None:
    """Cells by class pair joined with membership: every (principal, instance, action) row.
    With join features, a cell holds for the members whose join bits are its ``bits``: bit
    ``j`` when the principal's ``join_value_j`` equals the instance's ``join_tag_j`` (both
    normalised in Python by the operator's own rule, so SQL compares strings only)."""
    matrix_dir = out / "matrix"
    matrix_dir.mkdir(exist_ok=True)
    for old in matrix_dir.glob("*.parquet"):
        old.unlink()
    con = connect(out)
    # bounded memory: DuckDB spills past the limit; rows are written as the join yields them
    # (no global sort: 10^7 wide rows sorted in memory took gigabytes)
    spill = out / ".duckdb-tmp"
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET temp_directory = {_sql_text(str(spill))}")
    con.execute("SET preserve_insertion_order = false")
    used = "(o.calls IS NOT NULL) AS used" if trail else "CAST(NULL AS BOOLEAN) AS used"
    join = (
        "LEFT JOIN observed o ON o.principal_arn = p.principal_arn "
        "AND o.instance_arn = i.instance_arn AND o.action = c.action"
        if trail
        else ""
    )
    target = _sql_text(str(matrix_dir / "part-0.parquet"))
    bits = ""
    if joins:
        terms = " + ".join(
            f"(CASE WHEN p.join_value_{j} = i.join_tag_{j} THEN {1 << j} ELSE 0 END)"
            for j in range(joins)
        )
        bits = f" AND c.bits = {terms}"
    con.execute(
        f"""
        COPY (
          SELECT p.principal_arn, p.principal_kind, p.principal_account,
                 i.instance_arn, i.instance_name, i.instance_account, i.region,
                 i.production, i.tag_group, c.action, c.decision, c.direct_decision,
                 c.via, c.via_length, c.statements, c.conditions, c.incomplete, {used},
                 p.principal_class, i.instance_class
          FROM cells c
          JOIN principals p ON p.principal_class = c.principal_class
          JOIN instances i ON i.instance_class = c.instance_class{bits}
          {join}
        ) TO {target} (FORMAT PARQUET)
        """
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
