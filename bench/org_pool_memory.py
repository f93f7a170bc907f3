"""Memory of the whole-organization review's pool, on a sample of its principal classes.

    python bench/org_pool_memory.py DIR [--reps N | --every K] [--workers 2] [--trace]
        [--write OUT]
    # DIR from orggen.py --scale full (e.g. /work/org/full)

Runs `compute_matrix` as ``lspolicy review`` does (read the exports, instance and principal
classes, then the pool of forked workers), but hands the pool only the first ``--reps``
principal classes (or every ``--every``-th): the driver's state at the fork is the full
review's, each worker's own state is a sample's. A thread samples ``/proc/PID/smaps_rollup``
of this process and its children every 0.5 s and prints, per process, the peak proportional
set (PSS), the peak private pages (what a forked worker copied or allocated), and the peak
of the PSS summed over all of them (the figure the full run is judged by). ``--trace``: the
driver's largest allocation sites by line just before the fork (`tracemalloc`, stopped before
forking). ``--write OUT``: also write the dataset (`write_dataset`, ``--materialize never``)
and print the driver's peak while writing.
"""

from __future__ import annotations

import argparse
import os
import resource
import threading
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FIELDS = ("Rss", "Pss", "Private_Clean", "Private_Dirty", "Shared_Clean", "Shared_Dirty")


def _rollup(pid: int) -> dict[str, int] | None:
    """``smaps_rollup`` of ``pid`` in kB (None when it is gone)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    got: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in FIELDS:
            got[key] = int(value.split()[0])
    return got


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


class Sampler(threading.Thread):
    """Peaks of PSS and private pages per process, and of the summed PSS."""

    def __init__(self, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.every = every
        self.stop = threading.Event()
        self.peak: dict[int, dict[str, int]] = {}
        self.peak_sum = 0
        self.peak_at: dict[int, int] = {}
        self.lock = threading.Lock()

    def sample(self) -> None:
        me = os.getpid()
        pids = [me, *_children(me)]
        total = 0
        now: dict[int, int] = {}
        for pid in pids:
            got = _rollup(pid)
            if got is None:
                continue
            total += got["Pss"]
            now[pid] = got["Pss"]
            peak = self.peak.setdefault(pid, dict.fromkeys(FIELDS, 0))
            for k in FIELDS:
                peak[k] = max(peak[k], got[k])
            peak["Private"] = max(
                peak.get("Private", 0), got["Private_Clean"] + got["Private_Dirty"]
            )
        with self.lock:
            if total > self.peak_sum:
                self.peak_sum, self.peak_at = total, now

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            time.sleep(self.every)

    def reset(self) -> None:
        with self.lock:
            self.peak.clear()
            self.peak_sum, self.peak_at = 0, {}

    def report(self, title: str) -> None:
        me = os.getpid()
        parts = ", ".join(
            f"{'driver' if p == me else p}:{v / 1024:.0f}" for p, v in self.peak_at.items()
        )
        print(f"{title}: summed PSS peak {self.peak_sum / 1024:.0f} MB ({parts})")
        for pid, peak in self.peak.items():
            who = "driver" if pid == me else f"worker {pid}"
            print(
                f"  {who:<14} peak PSS {peak['Pss'] / 1024:6.0f} MB  RSS {peak['Rss'] / 1024:6.0f} MB"
                f"  private {peak['Private'] / 1024:6.0f} MB  shared {(peak['Shared_Clean'] + peak['Shared_Dirty']) / 1024:6.0f} MB",
                flush=True,
            )  # fmt: skip


def _gc_stats(where: Path) -> None:
    """Record each process's time in the collector, by generation, to ``where/gc-PID``
    (rewritten after every full collection and every 200th: a forked worker never exits
    through ``atexit``)."""
    import gc  # noqa: PLC0415

    where.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {"t": 0.0, "pid": 0}

    def callback(phase: str, info: dict[str, int]) -> None:
        if state["pid"] != os.getpid():
            state.update(pid=os.getpid(), n=[0, 0, 0], s=[0.0, 0.0, 0.0])
        if phase == "start":
            state["t"] = time.process_time()
            return
        g = info["generation"]
        state["n"][g] += 1
        state["s"][g] += time.process_time() - state["t"]
        if g == 2 or sum(state["n"]) % 200 == 0:
            (where / f"gc-{os.getpid()}").write_text(
                " ".join(
                    f"gen{i} {n} x {s:.2f} s"
                    for i, (n, s) in enumerate(zip(state["n"], state["s"], strict=True))
                )
                + "\n"
            )

    gc.callbacks.append(callback)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--reps", type=int, default=400, help="the first N principal classes")
    parser.add_argument("--every", type=int, default=0, help="every K-th principal class instead")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--write", type=Path, default=None)
    parser.add_argument("--no-escalations", action="store_true")
    parser.add_argument(
        "--gc-stats", type=Path, default=None, help="each process's collections: DIR/gc-PID"
    )
    args = parser.parse_args(argv)

    from lspolicy.account.authdetails import read_auth_details  # noqa: PLC0415
    from lspolicy.account.engines import Engine  # noqa: PLC0415
    from lspolicy.account.instances import read_instances  # noqa: PLC0415
    from lspolicy.account.model import Inventory  # noqa: PLC0415
    from lspolicy.account.organization import read_organization  # noqa: PLC0415
    from lspolicy.account.review import STOP, compute_matrix  # noqa: PLC0415

    if args.gc_stats is not None:
        _gc_stats(args.gc_stats)
    sampler = Sampler()
    sampler.start()
    if args.trace:
        tracemalloc.start(1)
    t0 = time.process_time()
    d = args.dir
    inv = Inventory()
    read_organization(str(d / "organization.json"), inv)
    read_auth_details(sorted(str(p) for p in d.glob("auth-details-*.json")), inv)
    read_instances(sorted(str(p) for p in d.glob("instances-*.json")), inv)
    marks: dict[str, float] = {"read": time.process_time() - t0}

    class Sample(Engine):
        def run(self, job: Any, reps: Any, *, review: Any = None) -> Any:
            marks["classes"] = time.process_time() - t0
            marks["principal_classes"] = len(reps)
            sampler.sample()
            sampler.report(f"before the fork ({len(reps)} principal classes)")
            if args.trace:
                snap = tracemalloc.take_snapshot()
                tracemalloc.stop()
                stats = snap.statistics("lineno")
                total = sum(s.size for s in stats)
                print(f"traced {total / 2**20:.0f} MB; largest sites:")
                for s in stats[:25]:
                    print(f"  {s.size / 2**20:7.1f} MB {s.count:>9,} {s.traceback}")
                del snap, stats
            sampler.reset()
            chosen = list(reps)[:: args.every] if args.every else list(reps)[: args.reps]
            started = time.perf_counter()
            got = super().run(job, chosen, review=review)
            marks["pool_wall"] = time.perf_counter() - started
            return got

    t = time.process_time()
    matrix = compute_matrix(
        inv,
        (STOP,),
        escalations=not args.no_escalations,
        engine=Sample("pool", workers=args.workers),
    )
    sampler.sample()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    sampler.report("pool (fork to merged)")
    print(
        f"driver CPU: read {marks['read']:.1f} s, to the fork {marks['classes']:.1f} s, "
        f"compute_matrix {time.process_time() - t:.1f} s; workers CPU "
        f"{children.ru_utime + children.ru_stime:.1f} s, pool wall {marks['pool_wall']:.1f} s; "
        f"cells stored {matrix.cells.stored:,}, maps {len(matrix.cells.maps):,}, "
        f"witnesses {len(matrix.witnesses):,}",
        flush=True,
    )
    if args.write is not None:
        from lspolicy.account.parquet import write_dataset  # noqa: PLC0415

        sampler.reset()
        t = time.process_time()
        write_dataset(
            args.write,
            inv,
            matrix,
            production=[("env", "prod"), ("env", "production")],
            group_tag="env",
            observed=None,
            materialize="never",
        )
        sampler.sample()
        sampler.report(f"write_dataset ({time.process_time() - t:.1f} s CPU)")
    sampler.stop.set()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
