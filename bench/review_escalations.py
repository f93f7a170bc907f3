"""The review's escalation stage alone: Python objects and ``escalations.parquet`` (before)
against the class files and the ``escalations`` view (after), on one set of exports.

Reads the exports in ``DIR`` (``orggen.py``'s layout), decides the class cells and the
escalation witnesses once (``compute_matrix``, serial), writes the dataset to ``OUT`` (without
the matrix), then times in this process, interleaved:

- before: ``Matrix.escalations`` (`expand_escalations`: one `Escalation` per row), written to
  ``escalations.parquet`` as the review wrote it, and report.json's two queries on it (the
  count, the first 500 rows with the instances' names);
- after: `write_escalations` (the class files) and the same two queries on the view (the
  first 500 through `summary._first_escalations`, as ``summarize`` does).

Both must give the same rows (DuckDB ``EXCEPT ALL`` both ways). CPU is ``time.process_time``
(DuckDB's threads included). With ``--only before|after`` one path runs once, after resetting
the peak resident set (``/proc/self/clear_refs``), and prints the stage's peak.

    python bench/review_escalations.py DIR OUT [--runs 2] [--only before|after]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

SUMMARY_FIRST = (
    "SELECT e.*, i.instance_name, l.instance_name AS like_instance_name FROM {source} e "
    "JOIN instances i USING (instance_arn) JOIN instances l ON l.instance_arn = "
    "e.like_instance_arn ORDER BY e.principal_arn, e.instance_arn LIMIT 500"
)


def _peak() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) // 1024
    return 0


def _old_write(out: Path, esc: list[Any]) -> None:
    """``escalations.parquet`` as `write_dataset` wrote it before the class files."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    text, texts = pa.string(), pa.list_(pa.string())
    schema = pa.schema(
        [
            ("principal_arn", text),
            ("instance_arn", text),
            ("like_instance_arn", text),
            ("set_tags", text),
            ("remove_tags", texts),
            ("tag_via", texts),
            ("stop_via", texts),
            ("conditional", pa.bool_()),
        ]
    )
    seen: dict[Any, str] = {}
    with pq.ParquetWriter(out / "escalations.parquet", schema) as writer:
        for lo in range(0, max(len(esc), 1), 1 << 16):
            part = esc[lo : lo + (1 << 16)]
            columns = {
                "principal_arn": [e.principal for e in part],
                "instance_arn": [e.instance for e in part],
                "like_instance_arn": [e.like for e in part],
                "set_tags": [
                    seen.setdefault(e.set_tags, json.dumps(dict(e.set_tags), sort_keys=True))
                    for e in part
                ],
                "remove_tags": [e.remove_tags for e in part],
                "tag_via": [e.tag_via for e in part],
                "stop_via": [e.stop_via for e in part],
                "conditional": [e.conditional for e in part],
            }
            writer.write_table(pa.Table.from_pydict(columns, schema=schema))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("exports", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--only", choices=("before", "after"))
    parser.add_argument("--actions", nargs="+", default=["lightsail:StopInstance"])
    args = parser.parse_args()

    from lspolicy.account.authdetails import read_auth_details  # noqa: PLC0415
    from lspolicy.account.escalation_store import write_escalations  # noqa: PLC0415
    from lspolicy.account.instances import read_instances  # noqa: PLC0415
    from lspolicy.account.model import Inventory  # noqa: PLC0415
    from lspolicy.account.organization import read_organization  # noqa: PLC0415
    from lspolicy.account.parquet import connect, write_dataset  # noqa: PLC0415
    from lspolicy.account.review import compute_matrix  # noqa: PLC0415
    from lspolicy.account.summary import _first_escalations  # noqa: PLC0415

    exports, out = args.exports, args.out
    inv = Inventory()
    read_organization(str(exports / "organization.json"), inv)
    read_auth_details(sorted(str(p) for p in exports.glob("auth-details-*.json")), inv)
    read_instances(sorted(str(p) for p in exports.glob("instances-*.json")), inv)
    t = time.process_time()
    matrix = compute_matrix(inv, tuple(args.actions))
    print(
        f"compute_matrix {time.process_time() - t:.1f} s CPU: {len(matrix.witnesses)} "
        f"escalation witnesses, {len(matrix.principal_class)} principals in "
        f"{matrix.principal_classes} classes, {len(matrix.instances.members)} instance classes",
        flush=True,
    )
    write_dataset(
        out, inv, matrix, production=[], group_tag="env", observed=None, materialize="never"
    )

    def before() -> int:
        esc = matrix.escalations
        _old_write(out, esc)
        n = len(esc)
        del esc
        con = connect(out)
        con.execute(
            "CREATE OR REPLACE VIEW old_escalations AS SELECT * FROM "
            f"read_parquet('{out}/escalations.parquet')"
        )
        con.execute("SELECT count(*) FROM old_escalations").fetchall()
        con.execute(SUMMARY_FIRST.format(source="old_escalations")).fetchall()
        con.close()
        return n

    def after() -> int:
        write_escalations(out, matrix)
        con = connect(out)
        n = int(con.execute("SELECT count(*) FROM escalations").fetchall()[0][0])
        con.execute(SUMMARY_FIRST.format(source=_first_escalations(con, out))).fetchall()
        con.close()
        return n

    stages = {"before": before, "after": after}
    if args.only:
        Path("/proc/self/clear_refs").write_text("5")
        start, t = _peak(), time.process_time()
        n = stages[args.only]()
        print(
            f"{args.only}: {n} rows, {time.process_time() - t:.2f} s CPU, peak RSS "
            f"{_peak()} MB (was {start} MB before the stage); load {os.getloadavg()[0]:.1f}"
        )
        return 0
    for _ in range(args.runs):
        for name, stage in stages.items():
            t = time.process_time()
            n = stage()
            print(
                f"{name}: {n} rows, {time.process_time() - t:.2f} s CPU "
                f"(load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    con = connect(out)
    old = f"read_parquet('{out}/escalations.parquet')"
    for a, b in (("escalations", old), (old, "escalations")):
        got = con.execute(f"SELECT count(*) FROM (FROM {a} EXCEPT ALL FROM {b})").fetchall()
        print(f"{a} EXCEPT ALL {b}: {got[0][0]}")
    con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
