"""Wall time, CPU time and peak memory of ``lspolicy who-can --review``, ``what-can --review``,
``explain --review`` and ``lspolicy query`` end to end (a new process each time: interpreter
start, imports, DuckDB reading the Parquet dataset, output), with the floors measured in the
same run: ``python -c pass`` and ``python -c "import duckdb"``.

    python bench/review_one_account.py OUT 5000
    lspolicy review --auth-details OUT/auth.json --instances OUT/instances.json \\
        --out OUT/review --actions lightsail:StopInstance
    python bench/who_can_review.py OUT/review [--runs 7] [--explain]

Prints, per command, the median, min and max wall seconds, the median CPU seconds (user +
system of the child) and the child's peak resident set (GNU time's ``%M``). On a
loaded machine wall time exceeds CPU time; CPU time is what the command itself costs.

The cases are picked without expanding the matrix (a whole organization's is ~4 x 10^9 rows):
``--sample N`` instances spread over the ARN order (and the first production one) are asked
once in process; timed are the one with the most principals and the one with the fewest (by
name, by ARN as JSON), a production one, one reached from another account, ``what-can`` of a
user and of a role that reach through a chain, ``explain --review`` of a chained cell (with
``--explain``: it re-reads the exports) and ``lspolicy query DIR "SELECT count(*) FROM matrix
WHERE instance_arn = ..."``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STOP = "lightsail:StopInstance"


TIMEOUT: list[float] = [0.0]
"""``--timeout``: seconds after which a command is stopped (0: never)."""


def _timed(argv: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one run of ``argv``: through
    ``/usr/bin/time`` (a child forked from this process would count this process's pages in
    its ``ru_maxrss``)."""
    with tempfile.NamedTemporaryFile(mode="r") as usage, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        limit = ["timeout", "-s", "KILL", str(TIMEOUT[0])] if TIMEOUT[0] else []
        done = subprocess.run(
            [*limit, "/usr/bin/time", "-f", "%U %S %M", "-o", usage.name, *argv],
            stdout=subprocess.DEVNULL,
            stderr=err,
            check=False,
        )
        wall = time.perf_counter() - start
        if TIMEOUT[0] and done.returncode in (124, 137, -9):
            return wall, float("nan"), float("nan")  # stopped: /usr/bin/time wrote nothing
        if done.returncode not in (0, 1):  # explain: 1 = the stored cell differs (reported)
            err.seek(0)
            text = err.read().decode(errors="replace").strip()
            raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}: {text}")
        user, system, rss = usage.read().split()[-3:]
    return wall, float(user) + float(system), int(rss) / 1024


def _row(label: str, argv: list[str], runs: int) -> None:
    first = _timed(argv)  # warm the page cache
    if first[1] != first[1]:  # NaN: stopped at --timeout
        print(f"{label:<58} stopped after {first[0]:.0f} s wall (--timeout)", flush=True)
        return
    got = [_timed(argv) for _ in range(runs)]
    walls = [w for w, _, _ in got]
    cpus = [c for _, c, _ in got]
    rss = max(r for _, _, r in got)
    print(
        f"{label:<58} wall median {statistics.median(walls):.3f} s "
        f"(min {min(walls):.3f}, max {max(walls):.3f}); cpu median {statistics.median(cpus):.3f} s;"
        f" peak RSS {rss:.0f} MB",
        flush=True,
    )


def _account(arn: str) -> str:
    return arn.split(":")[4]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("review", help="the review's --out directory")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sample", type=int, default=200, help="instances asked to pick cases")
    parser.add_argument("--explain", action="store_true", help="also time explain --review")
    parser.add_argument(
        "--timeout", type=float, default=0.0, help="stop a command after this many seconds"
    )
    parser.add_argument(
        "--source",
        metavar="DIR",
        help="run the lspolicy package found in DIR (e.g. `git archive REV lspolicy | tar -x "
        "-C DIR`: an earlier revision) instead of the installed command",
    )
    args = parser.parse_args()
    TIMEOUT[0] = args.timeout
    from lspolicy.account.from_review import ReviewData  # noqa: PLC0415

    review = Path(args.review)
    with ReviewData(review) as data:
        con = data._con
        n = con.execute("SELECT count(*) FROM instances").fetchone()[0]
        step = max(1, n // args.sample)
        picked = con.execute(
            "SELECT instance_arn, instance_name, production FROM ("
            "SELECT *, row_number() OVER (ORDER BY instance_arn) AS n FROM instances) "
            f"WHERE n % {step} = 1 ORDER BY instance_arn"
        ).fetchall()
        asked = []
        for arn, name, production in picked:
            found = data.who_can(STOP, arn)
            crossed = sum(1 for a in found if _account(a.principal) != _account(arn))
            chained = [a for a in found if a.via]
            asked.append((arn, name, production, len(found), crossed, chained))
        principal = con.execute(
            "SELECT principal_arn FROM principals WHERE principal_kind = 'user' ORDER BY 1 LIMIT 1"
        ).fetchone()[0]
    many = max(asked, key=lambda a: (a[3], a[0]))
    few = min(asked, key=lambda a: (a[3], a[0]))
    prod = max((a for a in asked if a[2]), key=lambda a: (a[3], a[0]), default=many)
    cross = max(asked, key=lambda a: (a[4], a[0]))
    chained = [(a, c) for a in asked for c in a[5]]
    role_chain = next((c for _, c in chained if ":role/" in c.principal), None)
    user_chain = next((c for _, c in chained if ":user/" in c.principal), None)
    exe = shutil.which("lspolicy", path=str(Path(sys.executable).parent)) or "lspolicy"
    command = [exe]
    if args.source:
        start = f"import sys; sys.path.insert(0, {args.source!r}); from lspolicy.cli import main"
        command = [sys.executable, "-c", f"{start}; sys.exit(main(sys.argv[1:]))"]
    print(
        f"{review}: {n:,} instances; {len(asked)} asked to pick the cases; {args.runs} runs each;"
        f" load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )
    py = sys.executable
    d = str(review)
    _row("floor: python -c pass", [py, "-c", "pass"], args.runs)
    _row("floor: python -c 'import duckdb'", [py, "-c", "import duckdb"], args.runs)
    for label, case in (("most", many), ("fewest", few)):
        _row(
            f"who-can {case[1]} by name ({case[3]:,} principals, the {label})",
            [*command, "who-can", STOP, "--instance", case[1], "--review", d],
            args.runs,
        )
        _row(
            f"who-can ARN --format json ({case[3]:,} principals)",
            [*command, "who-can", STOP, "--instance", case[0], "--review", d, "--format", "json"],
            args.runs,
        )
    _row(
        f"who-can production {prod[1]} ({prod[3]:,} principals)",
        [*command, "who-can", STOP, "--instance", prod[0], "--review", d],
        args.runs,
    )
    _row(
        f"who-can {cross[1]} ({cross[4]:,} of {cross[3]:,} from other accounts)",
        [*command, "who-can", STOP, "--instance", cross[0], "--review", d],
        args.runs,
    )
    _row(
        "what-can first user by ARN",
        [*command, "what-can", principal, "--review", d],
        args.runs,
    )
    for label, answer in (("user", user_chain), ("role", role_chain)):
        if answer is None:
            print(f"(no {label} reaching through a chain among the instances asked)")
            continue
        _row(
            f"what-can a {label} via {len(answer.via)} role(s)",
            [*command, "what-can", answer.principal, "--review", d],
            args.runs,
        )
    for label, query, runs in (
        (
            "query count(*) FROM instance_matrix(ARN)",
            f"FROM instance_matrix('{many[0]}')",
            args.runs,
        ),
        (
            "query count(*) FROM matrix WHERE instance_arn = ARN",
            f"FROM matrix WHERE instance_arn = '{many[0]}'",
            1,
        ),
    ):
        if "instance_matrix" in query and args.source:
            continue  # the macro is this revision's
        _row(label, [*command, "query", d, f"SELECT count(*) {query}"], runs)
    if args.explain and chained:
        case, answer = chained[0]
        _row(
            f"explain --review a cell via {len(answer.via)} role(s)",
            [
                *command,
                "explain",
                "--review",
                d,
                "--principal",
                answer.principal,
                "--instance",
                case[0],
                "--action",
                STOP,
            ],
            1,
        )


if __name__ == "__main__":
    main()
