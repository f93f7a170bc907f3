"""``lspolicy review`` on one account with each engine in the same run: serial, pool, ray.

    python bench/review_engines.py [--data DIR] [--instances N] [--workers N] [--timeout S]
        [--engines serial pool ray]

Writes the seeded one-account export of ``bench/review_one_account.py`` (500 principals, N
instances, default 5,000) unless ``DIR`` has it, then runs ``lspolicy review --engine E`` for
each engine as a child process and prints wall time, CPU (user + system of the child and the
processes it waited for, from ``os.wait4``: the pool's workers are counted; Ray's raylet and
workers are not children the CLI waits for, so Ray's CPU is the driver's only, a lower bound),
peak RSS of the driver, and whether the dataset equals the first engine's (``cells.parquet``
byte for byte, the matrix's row count). A run past ``--timeout`` is killed by its pid.

``--phase`` adds a second table: in one child process per engine, only the class-pair
decisions (`Engine.run` inside `compute_matrix`), wall and CPU of the process and its reaped
children (the pool's workers; Ray's are not counted), so the engine's share is seen apart from
reading, forming the classes and DuckDB's expansion.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _run(cmd: list[str], timeout: float) -> tuple[int, float, float, int]:
    """Exit code (or -9 on timeout), wall s, CPU s, peak RSS MB of the child."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            return -9, time.perf_counter() - start, usage.ru_utime + usage.ru_stime, 0
        time.sleep(0.05)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0 and proc.stderr is not None:
        sys.stderr.write(proc.stderr.read().decode(errors="replace"))
    return code, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def _rows(out: Path) -> int:
    import duckdb  # noqa: PLC0415

    con = duckdb.connect()
    got = con.execute(f"SELECT count(*) FROM read_parquet('{out}/matrix/*.parquet')").fetchone()
    con.close()
    return int(got[0]) if got else -1


def _phase(data: Path, engine: str, workers: int, actions: list[str]) -> None:
    """In this (child) process: time `Engine.run` of one review and print one table row."""
    import resource  # noqa: PLC0415

    from lspolicy.account import engines  # noqa: PLC0415
    from lspolicy.account.authdetails import read_auth_details  # noqa: PLC0415
    from lspolicy.account.instances import read_instances  # noqa: PLC0415
    from lspolicy.account.model import Inventory  # noqa: PLC0415
    from lspolicy.account.review import compute_matrix  # noqa: PLC0415

    def cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    inv = Inventory()
    read_auth_details([data / "auth.json"], inv)
    read_instances([data / "instances.json"], inv)
    run = engines.Engine.run
    seen: dict[str, float] = {}

    def timed(self: engines.Engine, *a: object, **k: object) -> object:
        c, w = cpu(), time.perf_counter()
        got = run(self, *a, **k)  # type: ignore[arg-type]
        seen.update(wall=time.perf_counter() - w, cpu=cpu() - c, reps=len(a[1]))  # type: ignore[arg-type]
        return got

    engines.Engine.run = timed  # type: ignore[method-assign]
    c, w = cpu(), time.perf_counter()
    m = compute_matrix(inv, tuple(actions), engine=engines.make_engine(engine, workers=workers))
    total_w, total_c = time.perf_counter() - w, cpu() - c
    pairs = int(seen["reps"]) * len(m.instances.reps) * len(actions)
    print(
        f"| {engine} | {seen['wall']:.1f} s | {seen['cpu']:.1f} s | {pairs:,} "
        f"({int(seen['reps'])} x {len(m.instances.reps)} x {len(actions)}) | "
        f"{pairs / seen['wall']:,.0f} | {total_w:.1f} s / {total_c:.1f} s |"
    )


def main(argv: list[str] | None = None) -> int:
    """Run each engine and print one table row per engine."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--data", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "lspolicy-engines")
    )
    parser.add_argument("--instances", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument("--engines", nargs="+", default=["serial", "pool", "ray"])
    parser.add_argument("--actions", nargs="+", default=["lightsail:StopInstance"])
    parser.add_argument("--phase", action="store_true", help="also time the decisions alone")
    parser.add_argument("--phase-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase_child:
        _phase(Path(args.data), args.phase_child, args.workers, args.actions)
        return 0
    data = Path(args.data)
    if not (data / "instances.json").is_file():
        subprocess.run(
            [sys.executable, str(HERE / "review_one_account.py"), str(data), str(args.instances)],
            check=True,
        )
    lspolicy = [sys.executable, "-m", "lspolicy.cli"]
    first: bytes | None = None
    print(f"one account, {args.instances} instances, actions {' '.join(args.actions)}, "
          f"{args.workers} workers, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    print("| engine | wall | CPU (waited-for) | driver peak RSS | rows | same as first |")
    print("| --- | --- | --- | --- | --- | --- |")
    for engine in args.engines:
        out = data / f"review-{engine}"
        cmd = [
            *lspolicy, "review", "--auth-details", str(data / "auth.json"),
            "--instances", str(data / "instances.json"), "--actions", *args.actions,
            "--out", str(out), "--engine", engine, "--workers", str(args.workers),
        ]  # fmt: skip
        code, wall, cpu, rss = _run(cmd, args.timeout)
        if code != 0:
            what = "TIMEOUT" if code == -9 else f"exit {code}"
            print(f"| {engine} | {wall:.1f} s | {cpu:.1f} s | — | — | {what} |")
            continue
        cells = (out / "cells.parquet").read_bytes()
        first = cells if first is None else first
        same = "yes" if cells == first else "NO"
        print(f"| {engine} | {wall:.1f} s | {cpu:.1f} s | {rss} MB | {_rows(out):,} | {same} |")
        sys.stdout.flush()
    if args.phase:
        print("\nclass-pair decisions only (Engine.run), one child process per engine:")
        print("| engine | wall | CPU (self + reaped children) | class cells | cells per wall s "
              "| compute_matrix wall / CPU |")  # fmt: skip
        print("| --- | --- | --- | --- | --- | --- |")
        sys.stdout.flush()
        for engine in args.engines:
            subprocess.run(
                [sys.executable, __file__, "--data", str(data), "--phase-child", engine,
                 "--workers", str(args.workers), "--actions", *args.actions],
                check=False, timeout=args.timeout,
            )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
