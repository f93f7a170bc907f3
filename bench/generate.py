"""Generation benchmark: intent -> exactly proven policy, on the standard workload's fleet as a world
and on a synthetic world ten times larger.

Usage (from the repository root)::

    python3 bench/generate.py               # full run
    python3 bench/generate.py --quick       # one repeat, smaller population sweep
    python3 bench/generate.py --json        # figures as JSON on stdout, the report on stderr
    python3 bench/generate.py --workload DIR
    python3 bench/generate.py --compare REF [--passes N]   # before/after: REF's tree vs this one

For each world (the standard one: the 2,000 instances and 20 principals of
``../shared/bench/workload.json``; the 10x one: 20,000 instances and 200 principals derived
from it), and for the bench intent plus every intent in ``policies/intents/``, it measures:

- **generate**: intent text -> checked intent -> policy documents (best of the repeats);
- **prove**: the full proof — the exact part (one request per class, `lspolicy.generate.classes`)
  and the sampled witness (boundary + every world instance + the default random population) —
  world already in memory (best of the repeats), with the number of classes, whether the
  enumeration is exact, the exact part's own time, and the requests and decisions;
- **end to end**: ``lspolicy generate INTENT --world WORLD`` as the command runs it, the world
  written as a world file (loading and validating the world file included), once.

Then the growth from the standard to the 10x world (time ratio, and the exponent
``log(ratio) / log(10)``: 1.0 is linear) and the proof's cost per request over a population
sweep. The targets from the issue: intent -> exactly proven policy in under 2 s on the standard
world, under 10 s on the 10x world.

``--compare REF`` measures the git revision REF (its tree exported with ``git archive``) and
this tree in the same run, alternating them pass by pass so both see the same machine load: in
a child process per pass and tree, CPU seconds (``time.process_time``) of intent -> proof in
memory (the bench intent, each tree's default witness) on both worlds and of ``lspolicy
generate --world`` end to end on both; the medians of the passes and their ratios.

Exit status: 0 when every proof holds exactly (PROVEN), 1 when any fails or is only sampled, 2 when the
workload cannot be read. Timing never decides the exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import math
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WORKLOAD = REPO_ROOT.parent / "shared" / "bench"
# --compare's child processes measure another tree's lspolicy: the tree named here
sys.path.insert(0, os.environ.get("LSPOLICY_BENCH_TREE") or str(REPO_ROOT))

from lspolicy.generate import cli as generate_cli  # noqa: E402
from lspolicy.generate import generate, parse_intent, prove  # noqa: E402
from lspolicy.lightsail.context import Identity, Instance  # noqa: E402

TARGET_SECONDS = 2.0
TARGET_10X_SECONDS = 10.0
SCALE = 10
_NAMESPACE = uuid.UUID("0f7d0c38-5b1e-4b7a-9b0e-6a1c2d3e4f50")

BENCH_INTENT = """\
# The bench intent: team operators and the SRE roles on the standard fleet.
name: fleet-operators
account: "111122223333"
grants:
  - sid: TeamOperatorsStopStartOwnTeam
    principals:
      tags: {cost-center: {prefix: CC-10}}
    actions: [lightsail:StopInstance, lightsail:StartInstance]
    regions: [us-east-1, us-west-2]
    instances:
      tags:
        team: {principal_tag: team}
        env: {one_of: [dev, staging]}
  - sid: SreRebootAndStop
    principals:
      arns:
        - arn:aws:iam::111122223333:role/sre-oncall
        - arn:aws:iam::111122223333:role/sre-primary
    actions: [lightsail:RebootInstance, lightsail:StopInstance]
    require: {mfa: true}
exclude:
  - sid: NeverProdWithoutMfa
    instances:
      tags: {env: prod}
    unless: {mfa: true}
  - sid: KeepersAreKept
    actions: [lightsail:StopInstance]
    instances:
      tags: {lifecycle: {prefix: "keep*"}}
"""

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """Instances and callers, as the proof takes them, and as a world file's data."""

    name: str
    account: str
    instances: list[Instance]
    identities: list[Identity]

    def file_data(self) -> dict[str, Any]:
        """The emulator world file (credentials are fake, as the world format requires)."""
        return {
            "accounts": [{"id": self.account}],
            "principals": [
                {
                    "arn": ident.arn,
                    "access_key_id": f"AKIABENCH{n:011d}",
                    "secret_access_key": f"bench-secret-key-{n:08d}",
                    "tags": dict(ident.tags),
                }
                for n, ident in enumerate(self.identities)
            ],
            "instances": [
                {
                    "name": f"instance-{n:05d}",
                    "id": inst.id,
                    "region": inst.region,
                    "tags": dict(inst.tags),
                }
                for n, inst in enumerate(self.instances)
            ],
        }


def standard_world(workload: dict[str, Any]) -> World:
    """The workload's fleet: every resource an instance (id and region from its ARN)."""
    instances = []
    for r in workload["resources"]:
        _, _, _, region, account, rest = r["arn"].split(":", 5)
        instances.append(
            Instance(id=rest.split("/", 1)[1], region=region, account=account, tags=r["tags"])
        )
    identities = [Identity(p["arn"], p["tags"]) for p in workload["principals"]]
    return World("standard", workload["account"], instances, identities)


def larger_world(base: World, factor: int) -> World:
    """``factor`` copies of the fleet with fresh ids, regions and teams rotated, and
    ``factor`` copies of each principal (renamed)."""
    regions = sorted({i.region for i in base.instances})
    instances = []
    for k in range(factor):
        for n, inst in enumerate(base.instances):
            tags = dict(inst.tags)
            if "team" in tags and k % 2:
                tags["team"] = f"{tags['team']}-{k}"
            instances.append(
                Instance(
                    id=str(uuid.uuid5(_NAMESPACE, f"{k}/{inst.id}")),
                    region=regions[(regions.index(inst.region) + k + n) % len(regions)],
                    account=inst.account,
                    tags=tags,
                )
            )
    identities = [
        Identity(f"{i.arn}-{k}" if k else i.arn, i.tags)
        for k in range(factor)
        for i in base.identities
    ]
    return World(f"{factor}x", base.account, instances, identities)


def best(repeats: int, fn: Callable[[], T]) -> tuple[float, float, T]:
    """The best wall time and the best CPU time of ``repeats`` calls, and the last result.

    CPU time (``time.process_time``) is printed next to wall time because a shared machine's
    wall clock also counts other processes' turns.
    """
    walls, cpus = [], []
    result: T
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), result


def measure(intent_text: str, label: str, world: World, repeats: int) -> dict[str, Any]:
    """Generation and proof time for one intent over one world."""
    gen_seconds, gen_cpu, generation = best(repeats, lambda: generate(parse_intent(intent_text)))
    prove_seconds, prove_cpu, report = best(
        repeats,
        lambda: prove(
            generation,
            instances=world.instances,
            identities=world.identities,
            world=world.name,
        ),
    )
    return {
        "intent": label,
        "world": world.name,
        "generate_seconds": gen_seconds,
        "prove_seconds": prove_seconds,
        "total_seconds": gen_seconds + prove_seconds,
        "generate_cpu_seconds": gen_cpu,
        "prove_cpu_seconds": prove_cpu,
        "total_cpu_seconds": gen_cpu + prove_cpu,
        "proven": report.proven,
        "exact": report.exact,
        "classes": report.classes,
        "class_groups": report.class_groups,
        "exact_seconds": report.class_seconds,
        "world_classes": report.world_classes,
        "witness_rule": report.witness_rule,
        "population": report.population,
        "decisions": report.decisions,
        "intent_allows": report.intent_allows,
        "policies": list(report.policies),
        "passed": report.passed,
        "report": report.render() if not report.proven else None,
    }


def end_to_end(intent_path: Path, world_path: Path, repeats: int) -> dict[str, Any]:
    """``lspolicy generate INTENT --world WORLD`` (output discarded): best wall and CPU
    seconds, and the exit status."""
    status = 0

    def run() -> int:
        with contextlib.redirect_stdout(io.StringIO()):
            return generate_cli.main([str(intent_path), "--world", str(world_path)])

    wall, cpu, status = best(repeats, run)
    return {"seconds": wall, "cpu_seconds": cpu, "exit_status": status}


def population_sweep(intent_text: str, sizes: list[int], repeats: int) -> list[dict[str, Any]]:
    """Proof time against the random population size, without a world."""
    generation = generate(parse_intent(intent_text))
    out = []
    for n in sizes:
        seconds, cpu, report = best(repeats, functools.partial(prove, generation, population=n))
        total = report.population["total"]
        out.append(
            {
                "population": n,
                "requests": total,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "microseconds_per_request": cpu / total * 1e6,
            }
        )
    return out


def child(workload_dir: Path) -> dict[str, Any]:
    """One pass of ``--compare`` in this process (lspolicy from ``LSPOLICY_BENCH_TREE``): CPU
    seconds of the bench intent -> proof in memory and end to end, on both worlds."""
    import lspolicy  # noqa: PLC0415

    workload = json.loads((workload_dir / "workload.json").read_text("utf-8"))
    standard = standard_world(workload)
    worlds = (standard, larger_world(standard, SCALE))
    out: dict[str, Any] = {"lspolicy": str(Path(lspolicy.__file__).parent.parent)}
    for world in worlds:

        def in_memory(world: World = world) -> bool:
            report = prove(
                generate(parse_intent(BENCH_INTENT)),
                instances=world.instances,
                identities=world.identities,
                world=world.name,
            )
            return bool(report.proven)

        cpu = time.process_time()
        proven = in_memory()
        out[f"prove {world.name}"] = time.process_time() - cpu
        out[f"proven {world.name}"] = proven
    # the same proof with the witness at 10,000 random requests (before: its default), to
    # separate the faster proof from the smaller witness
    cpu = time.process_time()
    prove(
        generate(parse_intent(BENCH_INTENT)),
        instances=standard.instances,
        identities=standard.identities,
        world=standard.name,
        population=10_000,
    )
    out["prove standard, witness 10,000"] = time.process_time() - cpu
    with tempfile.TemporaryDirectory() as tmp:
        intent_file = Path(tmp) / "fleet-operators.yaml"
        intent_file.write_text(BENCH_INTENT, "utf-8")
        for world in worlds:
            world_file = Path(tmp) / f"{world.name}-world.json"
            world_file.write_text(json.dumps(world.file_data()), "utf-8")
            _, cpu, status = best(1, lambda f=world_file: _run_cli(intent_file, f))
            out[f"end to end {world.name}"] = cpu
            out[f"exit {world.name}"] = status
    return out


def _run_cli(intent_file: Path, world_file: Path) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return generate_cli.main([str(intent_file), "--world", str(world_file)])


def compare(ref: str, passes: int, workload_dir: Path, out: TextIO) -> dict[str, Any]:
    """Before (``ref``) and after (this tree), alternating pass by pass; medians and ratios."""
    import statistics  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "archive", ref, "lspolicy"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        commit = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", ref],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        for n in range(passes):
            for label, tree in (("before", base), ("after", REPO_ROOT)):
                env = {**os.environ, "LSPOLICY_BENCH_TREE": str(tree)}
                done = subprocess.run(
                    [sys.executable, __file__, "--child", "--workload", str(workload_dir)],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                runs[label].append(json.loads(done.stdout))
                out.write(f"  pass {n + 1}/{passes} {label}: done\n")
    keys = [k for k in runs["after"][0] if k.startswith(("prove ", "end to end"))]
    rows = {}
    for k in keys:
        before = statistics.median(r[k] for r in runs["before"])
        after = statistics.median(r[k] for r in runs["after"])
        rows[k] = {"before": before, "after": after, "ratio": before / after}
    return {
        "baseline": ref,
        "baseline_commit": commit,
        "passes": passes,
        "rows": rows,
        "proven": all(r[k] for r in runs["after"] for k in r if k.startswith("proven")),
        "exit_status": sorted(
            {r[k] for rs in runs.values() for r in rs for k in r if k.startswith("exit")}
        ),
        "runs": runs,
    }


def _verdict(r: dict[str, Any]) -> str:
    """PROVEN only for an exact enumeration; SAMPLED for a sample that held; FAILED."""
    if not r["passed"]:
        return "FAILED"
    return "PROVEN" if r["exact"] else "SAMPLED"


def _print(out: TextIO, text: str = "") -> None:
    out.write(text + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", type=Path, default=DEFAULT_WORKLOAD)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--compare", metavar="REF", help="before/after against git revision REF")
    parser.add_argument("--passes", type=int, default=3, help="--compare's passes (default 3)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        json.dump(child(args.workload), sys.stdout)
        return 0
    if args.compare:
        result = compare(args.compare, args.passes, args.workload, sys.stderr)
        out = sys.stderr if args.json else sys.stdout
        _print(out, f"before: {args.compare} ({result['baseline_commit']}); after: this tree; "
               f"median of {result['passes']} passes, CPU seconds")  # fmt: skip
        _print(out, f"{'':34} {'before':>8} {'after':>8} {'ratio':>7}")
        for k, row in result["rows"].items():
            _print(out, f"{k:34} {row['before']:8.3f} {row['after']:8.3f} {row['ratio']:6.2f}x")
        _print(out, f"after: every proof PROVEN: {result['proven']}; exit statuses "
               f"{result['exit_status']}")  # fmt: skip
        if args.json:
            json.dump({k: v for k, v in result.items() if k != "runs"}, sys.stdout, indent=2)
            sys.stdout.write("\n")
        return 0 if result["proven"] else 1
    repeats = args.repeats or (1 if args.quick else 3)
    report_to = sys.stderr if args.json else sys.stdout
    try:
        workload = json.loads((args.workload / "workload.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"cannot read the workload in {args.workload}: {exc}\n")
        return 2

    standard = standard_world(workload)
    big = larger_world(standard, SCALE)
    intents: list[tuple[str, str]] = [("fleet-operators (bench)", BENCH_INTENT)]
    for path in sorted((REPO_ROOT / "policies" / "intents").glob("*.yaml")):
        intents.append((path.stem, path.read_text("utf-8")))

    results: list[dict[str, Any]] = []
    for world in (standard, big):
        for label, text in intents:
            results.append(measure(text, label, world, repeats))

    with tempfile.TemporaryDirectory() as tmp:
        intent_file = Path(tmp) / "fleet-operators.yaml"
        intent_file.write_text(BENCH_INTENT, "utf-8")
        e2e: dict[str, dict[str, Any]] = {}
        for world in (standard, big):
            world_file = Path(tmp) / f"{world.name}-world.json"
            world_file.write_text(json.dumps(world.file_data()), "utf-8")
            e2e[world.name] = end_to_end(intent_file, world_file, repeats)

    sweep = population_sweep(
        BENCH_INTENT, [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000], repeats
    )

    def pick(intent: str, world: str) -> dict[str, Any]:
        return next(r for r in results if r["intent"] == intent and r["world"] == world)

    growth = {}
    for label, _ in intents:
        a, b = pick(label, "standard"), pick(label, big.name)
        ratio = b["prove_cpu_seconds"] / a["prove_cpu_seconds"]
        growth[label] = {
            "prove_ratio": ratio,
            "requests_ratio": b["population"]["total"] / a["population"]["total"],
            "exponent": math.log(ratio) / math.log(SCALE),
        }
    bench = pick("fleet-operators (bench)", "standard")
    big_bench = pick("fleet-operators (bench)", big.name)
    ok = all(r["proven"] for r in results) and all(v["exit_status"] == 0 for v in e2e.values())
    figures = {
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "repeats": repeats,
        "worlds": {
            w.name: {"instances": len(w.instances), "principals": len(w.identities)}
            for w in (standard, big)
        },
        "results": [{k: v for k, v in r.items() if k != "report"} for r in results],
        "end_to_end": e2e,
        "growth": growth,
        "population_sweep": sweep,
        "target_seconds": TARGET_SECONDS,
        "target_met": bench["total_seconds"] < TARGET_SECONDS
        and e2e["standard"]["seconds"] < TARGET_SECONDS,
        "target_met_cpu": bench["total_cpu_seconds"] < TARGET_SECONDS
        and e2e["standard"]["cpu_seconds"] < TARGET_SECONDS,
        "target_10x_seconds": TARGET_10X_SECONDS,
        "target_10x_met": big_bench["total_seconds"] < TARGET_10X_SECONDS
        and e2e[big.name]["seconds"] < TARGET_10X_SECONDS,
        "ok": ok,
    }

    out = report_to
    _print(out, f"generation benchmark (best of {repeats}; Python {platform.python_version()})")
    for w in (standard, big):
        _print(
            out, f"  world {w.name}: {len(w.instances):,} instances, {len(w.identities)} principals"
        )
    _print(out)
    _print(
        out,
        f"{'intent':34} {'world':>8} {'generate':>9} {'prove wall':>10} {'prove cpu':>9} "
        f"{'classes':>7} {'exact ms':>8} {'requests':>8} {'decisions':>9} {'proof':>7}",
    )
    for r in results:
        _print(
            out,
            f"{r['intent']:34} {r['world']:>8} {r['generate_seconds'] * 1000:7.1f}ms "
            f"{r['prove_seconds']:9.3f}s {r['prove_cpu_seconds']:8.3f}s "
            f"{r['classes']:7,} {r['exact_seconds'] * 1000:8.1f} "
            f"{r['population']['total']:8,} {r['decisions']:9,} {_verdict(r):>7}",
        )
    _print(out)
    _print(out, "growth from the standard world to the 10x world (prove CPU time):")
    for label, g in growth.items():
        _print(
            out,
            f"  {label:36} x{g['prove_ratio']:.2f} for x{g['requests_ratio']:.2f} requests "
            f"(exponent {g['exponent']:.2f}; 1.0 is linear in the world's size)",
        )
    _print(out)
    _print(
        out,
        "end to end, `lspolicy generate fleet-operators.yaml --world WORLD` (world file loaded):",
    )
    for name, v in e2e.items():
        _print(
            out,
            f"  {name:8} {v['seconds']:.3f}s wall, {v['cpu_seconds']:.3f}s CPU, "
            f"exit status {v['exit_status']}",
        )
    _print(out)
    _print(out, "proof cost against the random population (bench intent, no world):")
    for s in sweep:
        _print(
            out,
            f"  population {s['population']:>7,}: {s['requests']:>7,} requests in "
            f"{s['seconds']:.3f}s wall, {s['cpu_seconds']:.3f}s CPU "
            f"({s['microseconds_per_request']:.1f} us CPU/request)",
        )
    _print(out)
    _print(
        out,
        f"target: intent -> proven policy under {TARGET_SECONDS:.0f}s on the standard world: "
        f"in memory {bench['total_seconds']:.3f}s wall / {bench['total_cpu_seconds']:.3f}s CPU, "
        f"end to end {e2e['standard']['seconds']:.3f}s wall / "
        f"{e2e['standard']['cpu_seconds']:.3f}s CPU -> "
        f"{'met' if figures['target_met'] else 'NOT met'} on the wall clock, "
        f"{'met' if figures['target_met_cpu'] else 'NOT met'} in CPU time",
    )
    _print(
        out,
        f"target: under {TARGET_10X_SECONDS:.0f}s on the 10x world: in memory "
        f"{big_bench['total_seconds']:.3f}s wall, end to end {e2e[big.name]['seconds']:.3f}s "
        f"wall -> {'met' if figures['target_10x_met'] else 'NOT met'}",
    )
    _print(
        out,
        "classes (bench intent): "
        + ", ".join(f"{n:,} {g}" for g, n in bench["class_groups"].items())
        + f" = {bench['classes']:,}; exact: {'yes' if bench['exact'] else 'NO'}",
    )
    for r in results:
        if r["report"]:
            label = "NOT PROVEN (sampled)" if r["passed"] else "FAILED PROOF"
            _print(out, f"\n{label}: {r['intent']} over {r['world']}\n{r['report']}")
    if args.json:
        json.dump(figures, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
