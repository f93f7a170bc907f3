"""Wall time of ``lspolicy who-can --review`` and ``what-can --review`` end to end (a new
process each time: interpreter start, imports, DuckDB reading the Parquet dataset, output),
with the floors measured in the same run: ``python -c pass`` and ``python -c "import duckdb"``.

    python bench/review_one_account.py OUT 5000
    lspolicy review --auth-details OUT/auth.json --instances OUT/instances.json \\
        --out OUT/review --actions lightsail:StopInstance
    python bench/who_can_review.py OUT/review [--runs 7]

Prints, per command, the median, min and max wall seconds and the median CPU seconds (user +
system of the child). On a loaded machine wall time exceeds CPU time; CPU time is what the
command itself costs. ``what-can`` is timed for the first principal by ARN and for the one
that reaches the most (instance, action) pairs (the longest answer).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _timed(argv: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _row(label: str, argv: list[str], runs: int) -> None:
    _timed(argv)  # warm the page cache
    got = [_timed(argv) for _ in range(runs)]
    walls = [w for w, _ in got]
    cpus = [c for _, c in got]
    print(
        f"{label:<44} wall median {statistics.median(walls):.3f} s "
        f"(min {min(walls):.3f}, max {max(walls):.3f}); cpu median {statistics.median(cpus):.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("review", help="the review's --out directory")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--source",
        metavar="DIR",
        help="run the lspolicy package found in DIR (e.g. `git archive REV lspolicy | tar -x "
        "-C DIR`: an earlier revision) instead of the installed command",
    )
    args = parser.parse_args()
    import duckdb  # noqa: PLC0415

    review = Path(args.review)
    con = duckdb.connect()
    inst = str(review / "instances.parquet")
    names = [r[0] for r in con.execute(f"SELECT instance_name FROM '{inst}' ORDER BY 1").fetchall()]
    arns = [r[0] for r in con.execute(f"SELECT instance_arn FROM '{inst}' ORDER BY 1").fetchall()]
    principal = con.execute(
        f"SELECT principal_arn FROM '{review / 'principals.parquet'}' ORDER BY 1 LIMIT 1"
    ).fetchone()[0]
    con.close()
    from lspolicy.account.parquet import connect  # noqa: PLC0415

    con = connect(review)  # matrix/ or, for a factorized review, the view
    cells = con.execute("SELECT count(*) FROM matrix").fetchone()[0]
    busiest, reached = con.execute(
        "SELECT principal_arn, count(*) FROM matrix WHERE decision IN ('allowed', 'conditional')"
        " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    ).fetchone() or (principal, 0)
    con.close()
    exe = shutil.which("lspolicy", path=str(Path(sys.executable).parent)) or "lspolicy"
    command = [exe]
    if args.source:
        start = f"import sys; sys.path.insert(0, {args.source!r}); from lspolicy.cli import main"
        command = [sys.executable, "-c", f"{start}; sys.exit(main(sys.argv[1:]))"]
    print(f"{review}: {cells:,} cells, {len(names):,} instances; {args.runs} runs each")
    py = sys.executable
    _row("floor: python -c pass", [py, "-c", "pass"], args.runs)
    _row("floor: python -c 'import duckdb'", [py, "-c", "import duckdb"], args.runs)
    stop = "lightsail:StopInstance"
    _row(
        f"who-can --instance {names[len(names) // 2]} (by name)",
        [*command, "who-can", stop, "--instance", names[len(names) // 2], "--review", str(review)],
        args.runs,
    )
    _row(
        "who-can --instance ARN --format json",
        [
            *command,
            "who-can",
            stop,
            "--instance",
            arns[-1],
            "--review",
            str(review),
            "--format",
            "json",
        ],
        args.runs,
    )
    _row(
        "what-can PRINCIPAL (every instance)",
        [*command, "what-can", principal, "--review", str(review)],
        args.runs,
    )
    _row(
        f"what-can PRINCIPAL ({reached:,} reached, the most)",
        [*command, "what-can", busiest, "--review", str(review)],
        args.runs,
    )


if __name__ == "__main__":
    main()
