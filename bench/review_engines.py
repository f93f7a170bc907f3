"""``lspolicy review`` with each engine in the same run: serial, pool, ray.

    python bench/review_engines.py [--data DIR] [--instances N] [--workers N] [--timeout S]
        [--engines serial pool ray]
    python bench/review_engines.py --org DIR [--engines pool ray] [--out-root OUT]
        [--compare DIR] [--every 2]      # an orggen.py export, e.g. the whole organization

Without ``--org``: writes the seeded one-account export of ``bench/review_one_account.py`` (500
principals, N instances, default 5,000) unless ``DIR`` has it. With ``--org DIR``: the exports
of ``bench/orggen.py`` in ``DIR`` (``auth-details-*.json``, ``instances-*.json``,
``organization.json``; ``/work/org/acct`` is one account, ``/work/org/full`` the 50-account
organization), reviewed with ``--materialize never``.

Runs ``lspolicy review --engine E`` for each engine as a child process (its own session) and
prints wall time, class counts and pairs (cells) per wall second, and, sampled every
``--every`` seconds from ``/proc`` over the child and all its descendants (the pool's workers;
Ray's raylet, GCS, workers and agents, started by the driver for a local cluster): CPU of the
driver and of the others (user + system, the last sample of each process: up to ``--every`` s
of each process's end may be missed), and the peak of the proportional set size (PSS) summed
over all of them. Ray's object store lives in ``/dev/shm``: its pages count in the PSS of the
processes that map them, and ``/dev/shm`` usage above the run's start is printed beside it
(``shm``); ``anon+file+shm`` is the sum without counting the mapped shared pages twice: every
process's PSS without its shared-memory part, plus ``/dev/shm`` used. A timeline of every
sample goes to ``OUT/ENGINE.mon.log``. Then every engine's Parquet files and ``report.json``
(its paths replaced) are compared with the first engine's, and with ``--compare DIR``'s (an
earlier run of the same export): ``same`` lists the files compared, a difference names the
file. A run past ``--timeout`` is killed by its process group.

``--phase`` (one account only) adds a second table: in one child process per engine, only the
class-pair decisions (`Engine.run` inside `compute_matrix`), wall and CPU of the process and
its reaped children (the pool's workers; Ray's are not counted), so the engine's share is seen
apart from reading, forming the classes and DuckDB's expansion.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
TICK = os.sysconf("SC_CLK_TCK")
SUMMARY = re.compile(
    r"review: (\d+) principals x (\d+) instances x (\d+) actions = (\d+) cells "
    r"\((\d+) principal classes x (\d+) instance classes\)"
)


def _descendants(root: int) -> list[int]:
    """``root`` and every process below it (by parent pid, read from ``/proc``)."""
    parent: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        parent.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += parent.get(pid, [])
    return out


def _pss(pid: int) -> tuple[int, int] | None:
    """PSS and its shared-memory part (``Pss_Shmem``), kB; None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    got = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("Pss", "Pss_Shmem"):
            got[key] = int(value.split()[0])
    return got.get("Pss", 0), got.get("Pss_Shmem", 0)


def _cpu(pid: int) -> tuple[str, float] | None:
    """The process's name and its user + system CPU seconds."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()
    return name, (int(fields[11]) + int(fields[12])) / TICK


def _shm_kb() -> int:
    st = os.statvfs("/dev/shm")
    return (st.f_blocks - st.f_bfree) * st.f_frsize // 1024


@dataclass(eq=False)
class Sampler(threading.Thread):
    """Every ``every`` s: PSS of ``root`` and its descendants, their CPU, ``/dev/shm`` used."""

    root: int
    every: float
    log: Path
    guard_kb: int = 12 * 2**20
    """Summed PSS above which the run is stopped (``guarded``): other people share the host."""
    guarded: bool = False
    shm0: int = field(default_factory=_shm_kb)
    peak: int = 0
    peak_parts: str = ""
    peak_shm_at: int = 0
    peak_unshared: int = 0
    peak_shm: int = 0
    cpu: dict[int, tuple[str, float]] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)
    done: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.perf_counter)

    def __post_init__(self) -> None:
        threading.Thread.__init__(self, daemon=True)

    def sample(self) -> None:
        total = unshared = 0
        parts = []
        for pid in _descendants(self.root):
            got, use = _pss(pid), _cpu(pid)
            if got is None or use is None:
                continue
            self.seen.add(pid)
            self.cpu[pid] = use
            total += got[0]
            unshared += got[0] - got[1]
            who = "driver" if pid == self.root else use[0]
            parts.append(f"{who}:{pid}:{got[0] // 1024}M")
        shm = max(0, _shm_kb() - self.shm0)
        self.peak_shm = max(self.peak_shm, shm)
        self.peak_unshared = max(self.peak_unshared, unshared + shm)
        if total > self.peak:
            self.peak, self.peak_parts, self.peak_shm_at = total, " ".join(parts), shm
        if total + shm > self.guard_kb:
            self.guarded = True
        with self.log.open("a") as f:
            f.write(
                f"{time.perf_counter() - self.started:7.1f}s pss={total // 1024}M "
                f"shm={shm // 1024}M load={os.getloadavg()[0]:.1f} {' '.join(parts)}\n"
            )

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            self.done.wait(self.every)

    def split_cpu(self) -> tuple[float, float]:
        """CPU seconds of the driver, and of every other process seen."""
        driver = self.cpu.get(self.root, ("", 0.0))[1]
        return driver, sum(c for p, (_, c) in self.cpu.items() if p != self.root)


@dataclass
class Run:
    """One engine's run: exit code (-9 on timeout), wall, CPU from ``os.wait4`` (the child
    and what it reaped), the sampler, the child's output."""

    code: int
    wall: float
    waited_cpu: float
    sampler: Sampler
    stdout: str


def _run(cmd: list[str], timeout: float, every: float, log: Path, guard_gb: float) -> Run:
    """Run ``cmd`` in its own session, sampled; killed with what it started on timeout or
    past ``guard_gb`` of summed PSS and ``/dev/shm`` (exit code -9 then)."""
    log.unlink(missing_ok=True)
    out = log.with_suffix(".out")
    start = time.perf_counter()
    with out.open("w") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.PIPE, start_new_session=True)
    sampler = Sampler(proc.pid, every, log, int(guard_gb * 2**20))
    sampler.start()
    deadline = start + timeout
    code = -9
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            code = os.waitstatus_to_exitcode(status)
            break
        if time.perf_counter() > deadline or sampler.guarded:
            for q in reversed(_descendants(proc.pid)):  # what this run started, by pid
                with contextlib.suppress(ProcessLookupError):
                    os.kill(q, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    wall = time.perf_counter() - start
    sampler.done.set()
    sampler.join()
    if code != 0 and proc.stderr is not None:
        sys.stderr.write(proc.stderr.read().decode(errors="replace")[-4000:])
    return Run(code, wall, usage.ru_utime + usage.ru_stime, sampler, out.read_text())


def _files(out: Path) -> dict[str, bytes]:
    """The dataset's Parquet files by name, and ``report.json`` with its paths replaced."""
    got = {p.name: p.read_bytes() for p in sorted(out.glob("*.parquet"))}
    report = out / "report.json"
    if report.is_file():
        got["report.json"] = json.dumps(
            json.loads(report.read_text().replace(str(out), "OUT")), sort_keys=True
        ).encode()
    return got


def _same(a: dict[str, bytes], b: dict[str, bytes]) -> str:
    """``same (N files)``, or the files that differ or are missing."""
    if a.keys() != b.keys():
        return f"NO: files {sorted(a.keys() ^ b.keys())}"
    differ = [name for name in a if a[name] != b[name]]
    return f"NO: {', '.join(differ)}" if differ else f"same ({len(a)} files)"


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

    engines.Engine.run = timed  # type: ignore[method-assign, assignment]
    c, w = cpu(), time.perf_counter()
    m = compute_matrix(inv, tuple(actions), engine=engines.make_engine(engine, workers=workers))
    total_w, total_c = time.perf_counter() - w, cpu() - c
    pairs = int(seen["reps"]) * len(m.instances.reps) * len(actions)
    print(
        f"| {engine} | {seen['wall']:.1f} s | {seen['cpu']:.1f} s | {pairs:,} "
        f"({int(seen['reps'])} x {len(m.instances.reps)} x {len(actions)}) | "
        f"{pairs / seen['wall']:,.0f} | {total_w:.1f} s / {total_c:.1f} s |"
    )


def _inputs(args: argparse.Namespace) -> tuple[list[str], str]:
    """The review's input arguments, and a line saying what they are."""
    if args.org:
        org = Path(args.org)
        auth = sorted(str(p) for p in org.glob("auth-details-*.json"))
        inst = sorted(str(p) for p in org.glob("instances-*.json"))
        files = ["--auth-details", *auth, "--instances", *inst]
        if (org / "organization.json").is_file():
            files += ["--organization", str(org / "organization.json")]
        return [*files, "--materialize", "never"], f"{org} ({len(auth)} auth-details files)"
    data = Path(args.data)
    if not (data / "instances.json").is_file():
        subprocess.run(
            [sys.executable, str(HERE / "review_one_account.py"), str(data), str(args.instances)],
            check=True,
        )
    files = ["--auth-details", str(data / "auth.json"), "--instances", str(data / "instances.json")]
    return files, f"one account, {args.instances} instances"


def main(argv: list[str] | None = None) -> int:
    """Run each engine and print one table row per engine."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--data", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "lspolicy-engines")
    )
    parser.add_argument("--org", help="an orggen.py export directory instead of --data")
    parser.add_argument("--out-root", help="where each engine's dataset goes (default: --data)")
    parser.add_argument("--compare", help="an earlier review of the same export to compare with")
    parser.add_argument("--instances", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument("--every", type=float, default=2.0, help="seconds between samples")
    parser.add_argument("--guard-gb", type=float, default=12.0, help="stop a run using more")
    parser.add_argument("--engines", nargs="+", default=["serial", "pool", "ray"])
    parser.add_argument("--actions", nargs="+", default=["lightsail:StopInstance"])
    parser.add_argument("--phase", action="store_true", help="also time the decisions alone")
    parser.add_argument("--phase-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase_child:
        _phase(Path(args.data), args.phase_child, args.workers, args.actions)
        return 0
    inputs, what = _inputs(args)
    root = Path(args.out_root or args.data)
    root.mkdir(parents=True, exist_ok=True)
    lspolicy = [sys.executable, "-m", "lspolicy.cli"]
    first: dict[str, bytes] | None = None
    earlier = _files(Path(args.compare)) if args.compare else None
    print(f"{what}, actions {' '.join(args.actions)}, {args.workers} workers, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, samples every {args.every} s")  # fmt: skip
    print("| engine | wall | CPU driver / others (waited-for) | peak summed PSS | "
          "shm at that peak / peak | anon+file+shm peak | classes | pairs per wall s | "
          "vs first | vs --compare |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    sys.stdout.flush()
    for engine in args.engines:
        out = root / f"review-{engine}"
        cmd = [
            *lspolicy, "review", *inputs, "--actions", *args.actions,
            "--out", str(out), "--engine", engine, "--workers", str(args.workers),
        ]  # fmt: skip
        run = _run(cmd, args.timeout, args.every, root / f"{engine}.mon.log", args.guard_gb)
        smp = run.sampler
        driver, others = smp.split_cpu()
        mem = (
            f"{smp.peak // 1024:,} MB | {smp.peak_shm_at // 1024} / {smp.peak_shm // 1024} MB"
            f" | {smp.peak_unshared // 1024:,} MB"
        )
        head = (
            f"| {engine} | {run.wall:.1f} s | {driver:.1f} s / {others:.1f} s "
            f"({run.waited_cpu:.1f} s) | {mem} |"
        )
        if run.code != 0:
            what = f"exit {run.code}"
            if run.code == -9:
                what = f"STOPPED past {args.guard_gb} GB" if smp.guarded else "TIMEOUT"
            print(f"{head} — | — | {what} | |")
        else:
            m = SUMMARY.search(run.stdout)
            classes = f"{m[5]} x {m[6]}" if m else "?"
            rate = f"{int(m[4]) / run.wall:,.0f}" if m else "?"
            got = _files(out)
            first = got if first is None else first
            vs = _same(got, earlier) if earlier is not None else ""
            print(f"{head} {classes} | {rate} | {_same(got, first)} | {vs} |")
            del got
        print(f"  {engine}: at the peak: {smp.peak_parts}")
        busy = sorted(smp.cpu.items(), key=lambda kv: -kv[1][1])
        print(f"  {engine}: CPU s by process: " + " ".join(
            f"{'driver' if p == smp.root else n}:{p}:{c:.1f}" for p, (n, c) in busy if c >= 0.5
        ))  # fmt: skip
        sys.stdout.flush()
    if args.phase:
        print("\nclass-pair decisions only (Engine.run), one child process per engine:")
        print("| engine | wall | CPU (self + reaped children) | class cells | cells per wall s "
              "| compute_matrix wall / CPU |")  # fmt: skip
        print("| --- | --- | --- | --- | --- | --- |")
        sys.stdout.flush()
        for engine in args.engines:
            subprocess.run(
                [sys.executable, __file__, "--data", str(args.data), "--phase-child", engine,
                 "--workers", str(args.workers), "--actions", *args.actions],
                check=False, timeout=args.timeout,
            )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
