"""``lspolicy review`` and ``lspolicy query``: argument parsing and output only; the work is in
`lspolicy.account.review` (decisions), `lspolicy.account.parquet` (the dataset),
`lspolicy.account.summary` (report.json) and `lspolicy.account.report_html` (report.html).

Exit status: 0 the review is written (also when some inputs could not be evaluated: they are
listed in the report); 2 usage error, an unreadable or foreign input file, a bad query, an
engine that failed (`lspolicy.account.engines.EngineError`: a worker's error, Ray missing or
unreachable).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from lspolicy.account.cli import AccountUsageError, _action, add_inputs
from lspolicy.account.model import AccountInputError, Inventory
from lspolicy.errors import LspolicyError

__all__ = [
    "QUERY_HELP",
    "REVIEW_HELP",
    "register",
    "register_query",
    "run_query_command",
    "run_review",
]

EXIT_OK, EXIT_ERROR = 0, 2
REVIEW_HELP = (
    "the whole access matrix (principal x instance x action) as a Parquet dataset, "
    "with an HTML report"
)
QUERY_HELP = "run SQL over a review's Parquet dataset with DuckDB"
DEFAULT_PRODUCTION = ("env=prod", "env=production")


def register(subparsers: Any) -> None:
    """Add ``review`` to an ``add_subparsers()`` object; it sets ``run``."""
    from lspolicy.account.review import DEFAULT_ACTIONS  # noqa: PLC0415

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "review",
        help=REVIEW_HELP,
        description="Decide every (principal, instance, action) of AWS's own exports, directly "
        "and through role chains, and write the class cells by columns: "
        "DIR/class_columns.parquet (one answer per principal class, column and action), "
        "DIR/class_maps.parquet, DIR/part_maps.parquet and DIR/map_parts.parquet "
        "(each instance class's column per map, stored per account: the views column_maps "
        "and instance_columns; the views cells and reaching join them), "
        "DIR/principals.parquet, DIR/instances.parquet (the classes' members; the matrix is "
        "their join, the view DIR/matrix.sql, also written as DIR/matrix/*.parquet, one row "
        "per cell, when small: --materialize), DIR/report.json, DIR/report.html and "
        "DIR/inputs.json (each input file's sha256, the --trail file's too, for `lspolicy "
        "explain --review`). "
        "Each class pair is decided once, in this process, on a process pool, or on Ray "
        "(--engine); every engine writes the same rows. "
        "Exit 0 written, 2 bad input or an engine that failed.",
    )
    add_inputs(parser)
    parser.add_argument(
        "--actions", nargs="+", metavar="ACTION",
        help=f"actions to decide (default: {' '.join(DEFAULT_ACTIONS)})",
    )  # fmt: skip
    parser.add_argument(
        "--production-tag", nargs="+", metavar="KEY=VALUE", default=None,
        help=f"tags that mark production instances (default: {' '.join(DEFAULT_PRODUCTION)})",
    )  # fmt: skip
    parser.add_argument(
        "--group-tag", metavar="KEY",
        help="tag key grouping instances in the heatmap (default: the first production tag's key)",
    )  # fmt: skip
    parser.add_argument(
        "--trail", metavar="FILE",
        help="CloudTrail records (JSON lines, or {\"Records\": [...]}, .json.gz): marks used grants",
    )  # fmt: skip
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument(
        "--engine", choices=("auto", "serial", "pool", "ray"), default="auto",
        help="where the class pairs are decided: serial (this process), pool (a process per "
        "CPU of this machine), ray (a Ray cluster: --address, or a local one; needs "
        "lspolicy[ray]); auto (default): serial for small work, else pool",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, metavar="N",
        help="processes (pool) or CPUs (local Ray) to use (default: every CPU)",
    )  # fmt: skip
    parser.add_argument(
        "--address", metavar="ADDR",
        help="an existing Ray cluster, with --engine ray: HOST:6379 from a node of the cluster, "
        "or ray://HOST:10001 (Ray Client: pip install 'ray[client]')",
    )  # fmt: skip
    parser.add_argument(
        "--materialize", choices=("auto", "always", "never"), default="auto",
        help="write the expanded matrix as DIR/matrix/*.parquet: always, never (matrix is then "
        "a view over the class cells and membership, DIR/matrix.sql), or auto (default): when "
        "it has fewer than 10,000,000 rows",
    )  # fmt: skip
    parser.add_argument(
        "--query", metavar="SQL", help="after writing, run SQL over the dataset and print it"
    )
    parser.set_defaults(run=run_review)


def register_query(subparsers: Any) -> None:
    """Add ``query`` to an ``add_subparsers()`` object; it sets ``run``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "query",
        help=QUERY_HELP,
        description="Run SQL over the dataset `lspolicy review` wrote in DIR, with DuckDB. "
        "Views: matrix, principals, instances, cells, reaching, escalations, problems, observed; "
        "one member's matrix rows, fast on a whole organization: instance_matrix('ARN'), "
        "principal_matrix('ARN'). "
        "Exit 0 answered, 2 bad query or directory.",
    )
    parser.add_argument("dir", metavar="DIR", help="the review's --out directory")
    parser.add_argument("sql", metavar="SQL", help='e.g. "SELECT count(*) FROM matrix"')
    parser.add_argument(
        "--format", choices=("text", "json", "csv"), default="text", help="output (default: text)"
    )
    parser.set_defaults(run=run_query_command)


def _pairs(values: list[str], option: str) -> list[tuple[str, str]]:
    out = []
    for v in values:
        key, eq, value = v.partition("=")
        if not eq or not key:
            raise AccountUsageError(f"{option} {v!r} must be KEY=VALUE, e.g. env=prod")
        out.append((key, value))
    return out


def _trail(
    path: str, inventory: Inventory, problems: list[dict[str, object]]
) -> tuple[list[tuple[str, str, str, int]], dict[str, Any]]:
    """Observed calls keyed by instance ARN; calls on instances not reviewed become problems."""
    from lspolicy.generate.trail import TrailError, read_trail  # noqa: PLC0415

    try:
        trail = read_trail(path)
    except TrailError as exc:
        raise AccountInputError(tuple(exc.problems)) from None
    by_name: dict[tuple[str, str, str], list[str]] = {}
    for arn, inst in inventory.instances.items():
        by_name.setdefault((inst.account or "", inst.region, inst.name), []).append(arn)
    calls: Counter[tuple[str, str, str]] = Counter()
    unmatched = 0
    for o in trail.observations:
        arns = by_name.get((o.account, o.region, o.instance_name), [])
        if o.instance_id:
            arns = [a for a in arns if a.endswith("/" + o.instance_id)]
        if len(arns) != 1:
            unmatched += 1
            problems.append(
                {
                    "what": "trail",
                    "name": o.instance_name,
                    "message": f"{o.action} by {o.principal} on an instance not in the "
                    f"--instances files ({o.account} {o.region}): not matched to a cell",
                    "source": o.where,
                    "path": "",
                }
            )
            continue
        calls[(o.principal, o.action, arns[0])] += 1
    observed = [(p, a, i, n) for (p, a, i), n in sorted(calls.items())]
    info = {
        "source": path,
        "events": trail.events,
        "observations": len(trail.observations) - unmatched,
        "unmatched": unmatched,
        "skipped": trail.skipped_by_reason(),
    }
    return observed, info


def run_review(args: argparse.Namespace) -> int:
    """``lspolicy review ... --out DIR``."""
    import duckdb  # noqa: PLC0415 - the dataset's writer and the report load it anyway

    from lspolicy.account.cli import _load  # noqa: PLC0415
    from lspolicy.account.engines import EngineError, make_engine  # noqa: PLC0415
    from lspolicy.account.parquet import write_dataset  # noqa: PLC0415
    from lspolicy.account.report_html import render  # noqa: PLC0415
    from lspolicy.account.review import DEFAULT_ACTIONS, STOP, compute_matrix  # noqa: PLC0415
    from lspolicy.account.review_inputs import record_inputs, write_inputs  # noqa: PLC0415
    from lspolicy.account.summary import summarize  # noqa: PLC0415

    try:
        actions = (
            tuple(
                dict.fromkeys(
                    _action(a) for group in args.actions or [] for a in group.split(",") if a
                )
            )
            or DEFAULT_ACTIONS
        )
        production = _pairs(
            list(args.production_tag)
            if args.production_tag is not None
            else list(DEFAULT_PRODUCTION),
            "--production-tag",
        )
        group_tag = args.group_tag or (production[0][0] if production else "env")
        engine = make_engine(args.engine, workers=args.workers, address=args.address)
        # hashed before they are read: `lspolicy explain --review` re-reads these exact bytes
        inputs = record_inputs(
            organization=args.organization,
            auth_details=args.auth_details,
            instances=args.instances,
            actions=actions,
            max_chain=args.max_chain,
            trail=args.trail,
        )
        review = _load(args)
        inventory = review.inventory
        if not (inventory.users or inventory.roles) or not inventory.instances:
            # no vacuous review: a matrix of zero cells would read as "nobody can do anything"
            raise AccountUsageError(
                f"nothing to review: {len(inventory.users) + len(inventory.roles)} principals "
                f"and {len(inventory.instances)} instances read from the --auth-details and "
                "--instances files"
            )
        matrix = compute_matrix(inventory, actions, max_chain=args.max_chain, engine=engine)
        observed = trail_info = None
        if args.trail:
            observed, trail_info = _trail(args.trail, inventory, matrix.not_evaluated)
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise AccountUsageError(f"--out {args.out!r} exists and is not a directory")
        layout = write_dataset(
            out,
            inventory,
            matrix,
            production=production,
            group_tag=group_tag,
            observed=observed,
            materialize=getattr(args, "materialize", "auto"),
        )
        # with the dataset, before the report: `explain --review`, who-can and what-can read
        # the dataset alone, and stay usable if the report cannot be built
        write_inputs(out, inputs)
        for stale in ("report.json", "report.html"):  # an earlier review's, if any
            (out / stale).unlink(missing_ok=True)
        focus = STOP if STOP in actions else actions[0]
        try:
            summary = summarize(
                out,
                matrix,
                focus=focus,
                production=production,
                group_tag=group_tag,
                notes=matrix.notes,
                escalation_notes=matrix.escalation_notes,
                trail=trail_info,
            )
        except duckdb.Error as exc:  # a bound of `views.bounded_connection`, the disk, ...
            raise AccountUsageError(
                f"the dataset in {out} is written (query, who-can, what-can and explain "
                "--review read it), but its report could not be built: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            ) from None
        (out / "report.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
        (out / "report.html").write_text(render(summary), encoding="utf-8")
    except (AccountInputError, AccountUsageError, EngineError) as exc:
        sys.stderr.write("".join(f"lspolicy: {line}\n" for line in str(exc).splitlines()))
        return EXIT_ERROR
    c = summary["counts"]
    where = (
        f"{out / 'matrix'}/" if layout.materialized else f"{out / 'matrix.sql'} (matrix: a view)"
    )
    if args.format == "json":  # the counts and where things are, for scripts
        payload = {
            "counts": c,
            "not_evaluated": len(summary["not_evaluated"]),
            "out": str(out),
            "matrix": str(out / "matrix") if layout.materialized else None,
            "matrix_sql": str(out / "matrix.sql"),
            "report_json": str(out / "report.json"),
            "report_html": str(out / "report.html"),
            "inputs_json": str(out / "inputs.json"),
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return _print_query(out, args.query, "json") if args.query else EXIT_OK
    sys.stdout.write(
        f"review: {c['principals']} principals x {c['instances']} instances x "
        f"{len(actions)} actions = {c['cells']} cells ({c['principal_classes']} principal "
        f"classes x {c['instance_classes']} instance classes); "
        f"{len(summary['not_evaluated'])} not evaluated\n"
        f"wrote {where}, class_columns.parquet, class_maps.parquet, part_maps.parquet, "
        "part_columns.parquet, outcomes.parquet, "
        "map_parts.parquet, escalation_*.parquet, principals.parquet, "
        "instances.parquet, report.json, "
        "report.html, inputs.json\n"
    )
    if args.query:
        return _print_query(out, args.query, "text")
    return EXIT_OK


QUERY_BATCH = 10_000
"""Rows fetched from DuckDB at a time by ``lspolicy query`` (printed as they come: a query over
a whole organization's matrix may yield billions of rows; the text format's column widths are
those of the first batch)."""


def _print_query(out: Path, sql: str, fmt: str) -> int:
    import duckdb  # noqa: PLC0415

    from lspolicy.account.parquet import connect  # noqa: PLC0415
    from lspolicy.account.views import DatasetError  # noqa: PLC0415

    try:
        con = connect(out)
    except DatasetError as exc:
        sys.stderr.write(f"lspolicy: {exc}\n")
        return EXIT_ERROR
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description or ()]
        _write_rows(names, iter(lambda: cur.fetchmany(QUERY_BATCH), []), fmt)
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"lspolicy: query failed: {first}\n")
        return EXIT_ERROR
    finally:
        con.close()
    return EXIT_OK


def _write_rows(names: list[str], batches: Iterator[list[Any]], fmt: str) -> None:
    """The rows of ``batches`` in ``fmt``, batch by batch (the same text as printing them all
    at once, but the text format's widths come from the first batch)."""
    out = sys.stdout
    if fmt == "json":
        n = 0
        for batch in batches:
            for r in batch:
                item = json.dumps(dict(zip(names, r, strict=True)), indent=2, default=str)
                out.write(
                    ("[\n" if n == 0 else ",\n") + "\n".join("  " + x for x in item.splitlines())
                )
                n += 1
        out.write("\n]\n" if n else "[]\n")
    elif fmt == "csv":
        import csv  # noqa: PLC0415

        w = csv.writer(out)
        w.writerow(names)
        for batch in batches:
            w.writerows(batch)
    else:
        first = next(batches, [])
        shown = [[str(v) for v in r] for r in first]
        widths = [max([len(n)] + [len(r[i]) for r in shown]) for i, n in enumerate(names)]

        def line(values: Sequence[str]) -> str:
            return (
                "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip() + "\n"
            )

        out.write(line(names))
        for r in shown:
            out.write(line(r))
        for batch in batches:
            for r in batch:
                out.write(line([str(v) for v in r]))


def run_query_command(args: argparse.Namespace) -> int:
    """``lspolicy query DIR SQL``."""
    from lspolicy.account.views import DATASET_FILE  # noqa: PLC0415

    out = Path(args.dir)
    if not (out / "matrix").is_dir() and not (out / DATASET_FILE).is_file():
        raise _NoDataset(
            f"{args.dir!r} holds no review dataset (no matrix/ nor dataset.json): run `lspolicy review --out {args.dir}` first"
        )
    return _print_query(out, args.sql, args.format)


class _NoDataset(LspolicyError):
    """The query's directory is not a review's output (exit 2)."""
