"""The review's report (``report.json`` and ``report.html``) rebuilt from an existing dataset,
with each of its DuckDB queries timed.

Reads the dataset in ``OUT`` (what ``lspolicy review --out OUT`` wrote) and runs
`lspolicy.account.summary.summarize` on it, then `report_html.render`; writes ``report.json``
and ``report.html`` into ``--into`` (default: a new ``/tmp/review-report-*`` directory), never
into ``OUT``: the dataset's files are only read (DuckDB's spill goes to its own temporary
directory). Every query the report runs on its connection is timed: wall time, the peak
resident set of this process during it (``VmHWM``, reset before each query through
``/proc/self/clear_refs``), DuckDB's peak memory (``duckdb_memory()`` sampled every 0.2 s from
a second cursor) and what it spilled (``duckdb_temporary_files()``, same sampling).

``--source DIR`` imports lspolicy from another tree (a checkout of ``main``: its queries,
"before"); a dataset whose ``dataset.json`` records no class counts (written before it did)
gets a stand-in matrix with zero counts (the timings are what is measured). ``--timeout S``
interrupts any query past S seconds (``connection.interrupt()``): it is reported as
interrupted and the report is not written.

``--each`` runs only the report's four counting queries (cells by decision, chain-only access,
the heatmap, production instances), each alone on its own connection: the per-query "before"
of a tree whose report stops at the first.

    python bench/review_report.py OUT [--into DIR] [--source DIR] [--timeout 600] [--each]
        [--focus lightsail:StopInstance] [--production-tag env=prod] [--group-tag env]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any


def _status(field: str) -> int:
    """A ``/proc/self/status`` field in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    return 0


def _reset_peak() -> None:
    # without the reset VmHWM is the peak since the start
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


class _Sampler(threading.Thread):
    """DuckDB's memory and spill, from a second cursor of the same database, every 0.2 s."""

    def __init__(self, con: Any) -> None:
        super().__init__(daemon=True)
        self.cursor = con.cursor()
        self.stop = threading.Event()
        self.memory = 0
        self.spill = 0

    def run(self) -> None:
        while not self.stop.wait(0.2):
            try:
                mem = self.cursor.execute(
                    "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()"
                ).fetchone()
                tmp = self.cursor.execute(
                    "SELECT coalesce(sum(size), 0) FROM duckdb_temporary_files()"
                ).fetchone()
            except Exception:
                continue
            self.memory = max(self.memory, int(mem[0]) if mem else 0)
            self.spill = max(self.spill, int(tmp[0]) if tmp else 0)

    def take(self) -> tuple[int, int]:
        got = self.memory, self.spill
        self.memory = self.spill = 0
        return got


class _Timed:
    """A DuckDB connection whose ``execute`` (and the fetches of its result) are timed per
    query, labelled by the calling function and line of ``summary.py``."""

    def __init__(self, con: Any, timeout: float | None, rows: list[dict[str, Any]]) -> None:
        self._con = con
        self._timeout = timeout
        self._rows = rows
        self._sampler = _Sampler(con)
        self._sampler.start()

    def _label(self) -> str:
        frame = sys._getframe(2)
        while frame.f_back is not None and frame.f_code.co_name == "_rows":
            frame = frame.f_back  # the helper that runs a query and makes dicts: its caller
        return f"{frame.f_code.co_name}:{frame.f_lineno}"

    def execute(self, sql: str, params: Any = None) -> Any:
        label = self._label()
        _reset_peak()
        self._sampler.take()
        timer = None
        if self._timeout is not None:
            timer = threading.Timer(self._timeout, self._con.interrupt)
            timer.start()
        t0 = time.perf_counter()
        status = "ok"
        try:
            cur = self._con.execute(sql, params) if params is not None else self._con.execute(sql)
            result = _Result(cur)
        except Exception as exc:
            status = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
            raise
        finally:
            if timer is not None:
                timer.cancel()
            wall = time.perf_counter() - t0
            memory, spill = self._sampler.take()
            self._rows.append(
                {
                    "query": label,
                    "sql": " ".join(sql.split())[:90],
                    "wall_s": round(wall, 3),
                    "peak_rss_mb": _status("VmHWM"),
                    "duckdb_peak_mb": memory >> 20,
                    "spill_mb": spill >> 20,
                    "status": status,
                }
            )
        return result

    def close(self) -> None:
        self._sampler.stop.set()
        self._sampler.join()
        self._con.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


class _Result:
    """The executed query's result, fetched eagerly (the fetch is part of the query's time)."""

    def __init__(self, cur: Any) -> None:
        self.description = cur.description
        self._rows = cur.fetchall() if cur.description else []

    def fetchall(self) -> list[Any]:
        return self._rows

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None


def _stand_in(out: Path) -> Any:
    """A matrix with the review's actions and zero class counts (for `summarize` of a tree
    whose report takes them from the matrix, or a dataset that does not record them)."""
    import duckdb  # noqa: PLC0415

    con = duckdb.connect()
    path = out / "class_columns.parquet"
    actions = tuple(
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT action FROM read_parquet('{path}') ORDER BY 1"
        ).fetchall()
    )
    con.close()
    return SimpleNamespace(
        actions=actions,
        principal_classes=0,
        identity_class={},
        instances=SimpleNamespace(members=[], singletons=0),
        cells=(),
    )


def _each(summary: Any, out: Path, args: argparse.Namespace) -> int:
    """``--each``: the report's four counting queries (`summary.counts_sql` as ``summarize``
    calls it), each alone on a fresh connection with the timeout: what a tree whose report
    stops at its first query (``main``) costs per query."""
    focus = summary.sql_text(args.focus)
    reach = "c.decision IN ('allowed', 'conditional')"
    queries = {
        "by decision": {"cell_keys": [("c.action", "action"), ("c.decision", "decision")]},
        "chain only": {
            "cell_keys": [("c.action", "action"), ("array_to_string(c.via, ' -> ')", "chain")],
            "where": f"{reach} AND c.direct_decision NOT IN ('allowed', 'conditional')",
        },
        "heatmap": {"other_keys": ["tag_group"], "where": f"{reach} AND c.action = {focus}"},
        "production": {
            "cell_keys": [("c.decision", "decision"), ("c.via_length > 0", "chained")],
            "where": f"{reach} AND c.action = {focus}",
            "members": "production",
        },
    }
    rows: list[dict[str, Any]] = []
    for name, kw in queries.items():
        side = "instance" if name == "production" else "principal"
        con = summary.connect(out)
        joins, columns = summary._joins(con), summary._columns(con)
        sql = summary.counts_sql(side, joins, columns=columns, **kw)
        timed = _Timed(con, args.timeout, rows)
        got = None
        with contextlib.suppress(Exception):  # the status is in the row
            got = timed.execute(f"SELECT count(*), sum(n) FROM ({sql})").fetchone()
        rows[-1]["query"] = name
        if got is not None:  # what to compare between two trees: rows and their sum
            rows[-1]["sql"] = f"{got[0]} rows, n summed {got[1]}"
        timed.close()
    _print(rows, out, Path("(--each: no report)"))
    return 0


def _print(rows: list[dict[str, Any]], out: Path, into: Path) -> None:
    load = os.getloadavg()
    width = max((len(r["query"]) for r in rows), default=5)
    print(f"dataset {out} -> {into}  (load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")
    print(f"{'query':<{width}}  {'wall s':>8}  {'peak RSS MB':>11}  {'DuckDB MB':>9}  "
          f"{'spill MB':>8}  status / SQL")  # fmt: skip
    for r in rows:
        print(
            f"{r['query']:<{width}}  {r['wall_s']:>8.2f}  {r['peak_rss_mb']:>11}  "
            f"{r['duckdb_peak_mb']:>9}  {r['spill_mb']:>8}  "
            f"{r['status'] if r['status'] != 'ok' else r['sql']}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the review's dataset directory (read only)")
    parser.add_argument("--into", type=Path, help="where report.json and report.html go")
    parser.add_argument("--source", type=Path, help="import lspolicy from this tree")
    parser.add_argument("--timeout", type=float, help="interrupt a query past this many s")
    parser.add_argument("--focus", default="lightsail:StopInstance")
    parser.add_argument("--production-tag", action="append", default=None)
    parser.add_argument("--group-tag", default=None)
    parser.add_argument(
        "--each", action="store_true", help="the four counting queries, each alone (no report)"
    )
    args = parser.parse_args(argv)
    if args.source is not None:
        sys.path.insert(0, str(args.source.resolve()))
    from lspolicy.account import summary  # noqa: PLC0415
    from lspolicy.account.report_html import render  # noqa: PLC0415

    out: Path = args.out.resolve()
    print(f"lspolicy from {Path(summary.__file__).parent.parent.parent}")
    if args.each:
        return _each(summary, out, args)
    into: Path = (args.into or Path(tempfile.mkdtemp(prefix="review-report-"))).resolve()
    if into == out:
        parser.error("--into must not be the dataset's directory (its files are only read)")
    into.mkdir(parents=True, exist_ok=True)
    tags = args.production_tag or ["env=prod", "env=production"]  # the review's default
    production = [tuple(t.split("=", 1)) for t in tags]
    group_tag = args.group_tag or production[0][0]
    old = out / "report.json"
    notes: list[str] = []
    escalation_notes: list[str] = []
    if old.is_file():  # the review's own notes, as its report gave them
        prior = json.loads(old.read_text())
        notes, escalation_notes = prior.get("notes", []), prior.get("escalation_notes", [])
    record = json.loads((out / "dataset.json").read_text())
    params = summary.summarize.__code__.co_varnames
    matrix = None if "classes" in record else _stand_in(out)
    rows: list[dict[str, Any]] = []
    connect = summary.connect
    summary.connect = lambda path: _Timed(connect(path), args.timeout, rows)  # type: ignore[assignment]
    _reset_peak()
    t0, c0 = time.perf_counter(), time.process_time()
    status = "ok"
    report: dict[str, Any] | None = None
    try:
        kw: dict[str, Any] = {
            "focus": args.focus,
            "production": production,
            "group_tag": group_tag,
            "notes": notes,
            "trail": {"source": "bench"} if record.get("trail") else None,
        }
        if "escalation_notes" in params:
            kw["escalation_notes"] = escalation_notes
        report = summary.summarize(out, matrix, **kw)
    except Exception as exc:
        status = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    html_s = 0.0
    if report is not None:
        h0 = time.perf_counter()
        page = render(report)
        html_s = time.perf_counter() - h0
        (into / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
        (into / "report.html").write_text(page, encoding="utf-8")
    _print(rows, out, into)
    print(f"summarize: {wall:.2f} s wall, {cpu:.2f} s CPU (DuckDB's threads included); "
          f"report.html rendered in {html_s:.2f} s; {status}")  # fmt: skip
    if report is not None:
        heat = report["heatmap"]
        print(
            f"cells {report['counts']['cells']}; heatmap rows {len(heat['rows'])} of "
            f"{heat['rows_total']}, groups {len(heat['groups'])}; production "
            f"{len(report['production'])} of {report['production_total']}; chain-only "
            f"{report['chain_only_total']}; escalations {report['escalations_total']}"
        )
    return 0 if report is not None else 1


if __name__ == "__main__":
    sys.exit(main())
