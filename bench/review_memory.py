"""Where a review's memory goes: the peak resident set of each stage of ``lspolicy review``.

Runs the review's stages in this process, as ``lspolicy review`` does (read the exports,
decide the class cells with the default engine, write the factorized dataset, compute
``report.json``, then expand ``matrix/`` as ``--materialize always`` would), and after each
prints the stage's CPU time, the resident set now and the stage's own peak (Linux: the peak is
reset between stages by writing ``5`` to ``/proc/self/clear_refs``), plus the largest peak of
any worker process (``RUSAGE_CHILDREN``), and the sizes of the class tables the writer gets.

Usage: ``python bench/review_memory.py EXPORTS_DIR OUT [--actions A ...]`` with ``EXPORTS_DIR``
written by ``bench/orggen.py`` (``auth-details-*.json``, ``instances-*.json``,
``organization.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import sys
import time
from pathlib import Path


def _status() -> tuple[float, float]:
    """(current, peak) resident set in MB (``/proc/self/status``)."""
    got = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            got[key] = int(value.split()[0]) / 1024
    return got["VmRSS"], got["VmHWM"]


def _reset_peak() -> None:
    with contextlib.suppress(OSError):  # not Linux, or not allowed: peaks are cumulative
        Path("/proc/self/clear_refs").write_text("5")


def main(argv: list[str] | None = None) -> int:
    """Run the stages and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("exports")
    parser.add_argument("out")
    parser.add_argument("--actions", nargs="+", default=["lightsail:StopInstance"])
    args = parser.parse_args(argv)
    exports = Path(args.exports)

    def stage(name: str, started: float) -> None:
        now, peak = _status()
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        cpu = time.process_time() - started
        print(
            f"{name:<28} cpu {cpu:7.1f} s   rss {now:7.0f} MB   stage peak {peak:7.0f} MB   "
            f"workers' peak {children:6.0f} MB",
            flush=True,
        )
        _reset_peak()

    _reset_peak()
    t = time.process_time()
    from lspolicy.account.authdetails import read_auth_details  # noqa: PLC0415
    from lspolicy.account.engines import make_engine  # noqa: PLC0415
    from lspolicy.account.instances import read_instances  # noqa: PLC0415
    from lspolicy.account.model import Inventory  # noqa: PLC0415
    from lspolicy.account.organization import read_organization  # noqa: PLC0415
    from lspolicy.account.parquet import _expand, write_dataset  # noqa: PLC0415
    from lspolicy.account.review import compute_matrix  # noqa: PLC0415
    from lspolicy.account.summary import summarize  # noqa: PLC0415

    stage("imports", t)
    t = time.process_time()
    inv = Inventory()
    read_organization(str(exports / "organization.json"), inv)
    read_auth_details(sorted(str(p) for p in exports.glob("auth-details-*.json")), inv)
    read_instances(sorted(str(p) for p in exports.glob("instances-*.json")), inv)
    stage(f"read exports ({len(inv.instances)} inst)", t)
    t = time.process_time()
    matrix = compute_matrix(inv, tuple(args.actions), engine=make_engine("auto"))
    stage("compute_matrix", t)
    cells = matrix.cells
    print(
        f"  class cells {len(cells)}, distinct answers {len(cells.outcomes)}, principal classes "
        f"{matrix.principal_classes}, instance classes {len(matrix.instances.members)}, "
        f"escalation witnesses {len(matrix.witnesses)}",
        flush=True,
    )
    out = Path(args.out)
    t = time.process_time()
    layout = write_dataset(
        out,
        inv,
        matrix,
        production=[("env", "prod"), ("env", "production")],
        group_tag="env",
        observed=None,
        materialize="never",
    )
    stage(f"write factorized ({layout.rows} rows)", t)
    t = time.process_time()
    summarize(
        out,
        matrix,
        focus=args.actions[0],
        production=[("env", "prod"), ("env", "production")],
        group_tag="env",
        notes=(),
        trail=None,
    )
    stage("summarize (report.json)", t)
    t = time.process_time()
    _expand(out, layout)
    stage("expand matrix/ (DuckDB)", t)
    sizes = {p.name: p.stat().st_size for p in out.rglob("*.parquet")}
    print("  files (MB): " + ", ".join(f"{k} {v / 1e6:.1f}" for k, v in sorted(sizes.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
