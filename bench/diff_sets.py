"""Diff of whole policy sets: seconds per old/new pair of N policies a side, decided or not.

Usage (from the repository root)::

    python3 bench/diff_sets.py                       # N = 5, 10, 20, 40; 3 passes
    python3 bench/diff_sets.py --sizes 5 10 --passes 1 --timeout 60 --json
    python3 bench/diff_sets.py --seeds 1 2 3 --passes 1 --timeout 600   # several seeds

Pairs come from a seeded generator over the two workloads: a principal of the harder workload
(`bench/harder.py`: 10-50 identity policies, every condition family, policy variables, 40% with
a permissions boundary) gives its first N policies, some of them swapped for policies of the
standard workload (``../shared/bench/workload.json``); ``new`` is ``old`` with one realistic
change (`CHANGES`): one statement widened (a Resource region opened to ``*``, or a
``StringEquals`` turned into a ``StringLike`` prefix), a condition key dropped, a whole policy
removed, or no change at all. Both sides keep the principal's boundary.

Each pair is diffed (`lspolicy.diff.diff_policies`, in process) ``--passes`` times; the median
CPU time is reported. Every answer is then checked independently:

- each witness must be allowed by one side and denied by the other (`PolicySet.evaluate`,
  fresh engines);
- each direction the diff calls free of differences is sampled (``--samples`` requests
  built like the harder workload's: its principals' and instances' context, request keys,
  the actions the policies name): a sample can only find a difference, so none may be found.

Exit status 0 when every pair was decided, under the 5 s target, and checked; 1 otherwise.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WORKLOAD = REPO_ROOT.parent / "shared" / "bench"
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))

import harder  # noqa: E402

import lspolicy  # noqa: E402
from lspolicy.diff import DiffResult, diff_policies  # noqa: E402

TARGET_SECONDS = 5.0
SEED = 20261203
Doc = dict[str, Any]


# -- changes ------------------------------------------------------------------------------------


def _statements(doc: Doc) -> list[Doc]:
    raw = doc["Statement"]
    return raw if isinstance(raw, list) else [raw]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def widen(docs: list[Doc], rng: random.Random) -> list[Doc] | None:
    """One Allow statement widened: a Resource region opened to ``*``, or a ``StringEquals``
    turned into a ``StringLike`` on the value's first letters."""
    spots: list[tuple[int, int, str]] = []
    for p, doc in enumerate(docs):
        for s, st in enumerate(_statements(doc)):
            if st["Effect"] != "Allow":
                continue
            if any(
                len(a.split(":")) > 4 and a.split(":")[3] not in ("", "*")
                for a in _as_list(st.get("Resource", []))
            ):
                spots.append((p, s, "region"))
            if "StringEquals" in (st.get("Condition") or {}):
                spots.append((p, s, "like"))
    if not spots:
        return None
    p, s, how = rng.choice(spots)
    out = copy.deepcopy(docs)
    st = _statements(out[p])[s]
    if how == "region":
        values = _as_list(st["Resource"])
        for i, arn in enumerate(values):
            parts = arn.split(":")
            if len(parts) > 4 and parts[3] not in ("", "*"):
                parts[3] = "*"
                values[i] = ":".join(parts)
                break
        st["Resource"] = values
    else:
        block = st["Condition"].pop("StringEquals")
        like = st["Condition"].setdefault("StringLike", {})
        for key, values in block.items():
            like[key] = [v[:2] + "*" if "${" not in v else v for v in _as_list(values)]
    return out


def drop_condition(docs: list[Doc], rng: random.Random) -> list[Doc] | None:
    """One condition key of one statement goes."""
    spots = [
        (p, s, op, key)
        for p, doc in enumerate(docs)
        for s, st in enumerate(_statements(doc))
        for op, block in (st.get("Condition") or {}).items()
        for key in block
    ]
    if not spots:
        return None
    p, s, op, key = rng.choice(spots)
    out = copy.deepcopy(docs)
    st = _statements(out[p])[s]
    del st["Condition"][op][key]
    if not st["Condition"][op]:
        del st["Condition"][op]
    if not st["Condition"]:
        del st["Condition"]
    return out


def remove_policy(docs: list[Doc], rng: random.Random) -> list[Doc] | None:
    """One whole policy is detached."""
    out = copy.deepcopy(docs)
    del out[rng.randrange(len(out))]
    return out


def no_change(docs: list[Doc], _rng: random.Random) -> list[Doc] | None:
    """The same documents (a re-ordered copy: the diff must prove there is nothing)."""
    return list(reversed(copy.deepcopy(docs)))


CHANGES = {
    "widen": widen,
    "drop-condition": drop_condition,
    "remove-policy": remove_policy,
    "no-change": no_change,
}


# -- pairs --------------------------------------------------------------------------------------


@dataclass
class Pair:
    size: int
    change: str
    principal: harder.Principal
    old: list[Doc]
    new: list[Doc]
    boundary: Doc | None


def build_pairs(
    sizes: list[int], per_size: int, workload_dir: Path, seed: int
) -> tuple[list[Pair], harder.HardWorkload]:
    work = harder.generate(seed, principals=60, instances=60, requests=0)
    try:
        standard = json.loads((workload_dir / "workload.json").read_text(encoding="utf-8"))
        std_docs = [
            d
            for d in standard["policies"].values()
            if not any("Principal" in s or "NotPrincipal" in s for s in _statements(d))
        ]
    except (OSError, ValueError, KeyError):
        std_docs = []
    rng = random.Random(seed)
    pairs: list[Pair] = []
    for size in sizes:
        eligible = [p for p in work.principals if len(p.policies) >= size]
        for i in range(per_size):
            principal = eligible[rng.randrange(len(eligible))]
            docs = [copy.deepcopy(work.policies[n]) for n in principal.policies[:size]]
            for j in range(len(docs)):
                if std_docs and rng.random() < 0.2:
                    docs[j] = copy.deepcopy(rng.choice(std_docs))
            boundary = work.policies[principal.boundary] if principal.boundary else None
            change = list(CHANGES)[i % len(CHANGES)]
            new = CHANGES[change](docs, rng)
            if new is None:
                change, new = "no-change", no_change(docs, rng)
            pairs.append(Pair(size, change, principal, docs, new, boundary))
    return pairs, work


def parse(docs: list[Doc], prefix: str, kind: str = "identity") -> list[lspolicy.Policy]:
    return [
        lspolicy.parse_policy(d, source=f"{prefix}-{i:02d}.json", kind=kind)  # type: ignore[arg-type]
        for i, d in enumerate(docs)
    ]


# -- checking -----------------------------------------------------------------------------------


def _actions(pair: Pair) -> list[str]:
    named = {
        a
        for doc in (*pair.old, *pair.new)
        for st in _statements(doc)
        for a in _as_list(st.get("Action", []))
        if "*" not in a and "?" not in a
    }
    return sorted(named | set(harder.ACTIONS))


def sample_check(
    pair: Pair,
    work: harder.HardWorkload,
    old: lspolicy.PolicySet,
    new: lspolicy.PolicySet,
    *,
    samples: int,
    seed: int,
) -> dict[str, int]:
    """How many sampled requests show each direction's difference."""
    rng = random.Random(seed)
    actions = _actions(pair)
    found = {"new-access": 0, "removed-access": 0}
    people = [pair.principal, *rng.sample(work.principals, 3)]
    for t in range(samples):
        who = people[0] if rng.random() < 0.7 else rng.choice(people)
        inst = rng.choice(work.instances)
        action = rng.choice(actions)
        context = {**who.context(), **inst.context(), **harder._extra(rng, action, 1_700_000 + t)}
        if rng.random() < 0.2:  # a key absent now and then: conditions on missing keys
            context.pop(rng.choice(sorted(context)))
        resource = inst.arn if rng.random() < 0.9 else "*"
        request = lspolicy.Request(action, resource, context)
        a, b = old.is_allowed(request), new.is_allowed(request)
        if b and not a:
            found["new-access"] += 1
        if a and not b:
            found["removed-access"] += 1
    return found


def check(
    pair: Pair,
    result: DiffResult,
    work: harder.HardWorkload,
    samples: int,
    seed: int,
) -> tuple[bool, str]:
    boundary = parse([pair.boundary], "boundary", "boundary") if pair.boundary else None
    old = lspolicy.PolicySet(parse(pair.old, "p"), boundary=boundary)
    new = lspolicy.PolicySet(parse(pair.new, "p"), boundary=boundary)
    for d in result.differences:
        request = d.witness.request
        want_new = d.direction == "new-access"
        if new.evaluate(request).allowed is not want_new:
            return False, f"witness not confirmed by NEW: {d.witness.to_dict()}"
        if old.evaluate(request).allowed is want_new:
            return False, f"witness not confirmed by OLD: {d.witness.to_dict()}"
    found = sample_check(pair, work, old, new, samples=samples, seed=seed)
    undecided = {u.direction for u in result.undecided}
    for direction, hits in found.items():
        claimed = any(d.direction == direction for d in result.differences)
        if hits and not claimed and direction not in undecided:
            return False, f"sampling found {hits} {direction} requests the diff missed"
    return True, f"sampled {samples}: +{found['new-access']} -{found['removed-access']}"


# -- main ---------------------------------------------------------------------------------------


def run_pair(pair: Pair, passes: int, timeout: float) -> tuple[DiffResult, list[float]]:
    boundary = parse([pair.boundary], "boundary", "boundary") if pair.boundary else None
    old, new = parse(pair.old, "p"), parse(pair.new, "p")
    times: list[float] = []
    result: DiffResult | None = None
    for _ in range(passes):
        start = time.process_time()
        result = diff_policies(
            old, new, boundary_old=boundary, boundary_new=boundary, timeout=timeout
        )
        times.append(time.process_time() - start)
    assert result is not None
    return result, times


def run_and_check(
    pair: Pair,
    work: harder.HardWorkload,
    args: argparse.Namespace,
    seed: int,
    check_seed: int,
) -> dict[str, Any]:
    """One pair: timed, checked, and printed as one row."""
    report = sys.stderr if args.json else sys.stdout
    result, times = run_pair(pair, args.passes, args.timeout)
    ok, note = check(pair, result, work, args.samples, check_seed)
    row = {
        "seed": seed,
        "size": pair.size,
        "change": pair.change,
        "seconds": statistics.median(times),
        "new_access": len(result.new_access),
        "removed_access": len(result.removed_access),
        "undecided": len(result.undecided),
        "undecided_reasons": sorted({r for u in result.undecided for r in u.reasons}),
        "checked": ok,
        "check": note,
    }
    print(
        f"{seed:>10}  {pair.size:4}  {pair.change:14} {row['seconds']:8.2f}  "
        f"{row['new_access']:4} {row['removed_access']:8}  {row['undecided']:9}  "
        f"{'ok' if ok else 'FAIL'} {note}",
        file=report,
        flush=True,
    )
    for r in row["undecided_reasons"]:
        print(f"          undecided: {r}", file=report)
    return row


def _load() -> str:
    """The 1, 5 and 15 minute load averages (CPU seconds inflate on a busy machine: a run's
    numbers only compare with runs at a similar load)."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 10, 20, 40])
    parser.add_argument("--pairs", type=int, default=4, help="pairs per size (one per change)")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60.0, help="diff budget per pair (s)")
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        help="several generator seeds, a set of pairs each (default: --seed alone)",
    )
    parser.add_argument("--workload", type=Path, default=DEFAULT_WORKLOAD)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = sys.stderr if args.json else sys.stdout
    seeds = args.seeds or [args.seed]
    rows: list[dict[str, Any]] = []
    load_before = _load()
    print(f"load average at start: {load_before}", file=report)
    print(
        "      seed     N  change          seconds  +new -removed  undecided  check",
        file=report,
    )
    for seed in seeds:
        pairs, work = build_pairs(args.sizes, args.pairs, args.workload, seed)
        for i, pair in enumerate(pairs):
            rows.append(run_and_check(pair, work, args, seed, seed + i))
    print("\nper N: median / max seconds, decided pairs, undecided questions, checks", file=report)
    summary: dict[str, Any] = {}
    for size in args.sizes:
        mine = [r for r in rows if r["size"] == size]
        secs = [r["seconds"] for r in mine]
        s = {
            "median_seconds": statistics.median(secs),
            "max_seconds": max(secs),
            "decided_pairs": sum(1 for r in mine if not r["undecided"]),
            "pairs": len(mine),
            "undecided_questions": sum(r["undecided"] for r in mine),
            "checked": sum(1 for r in mine if r["checked"]),
        }
        summary[str(size)] = s
        print(
            f"{size:4}: {s['median_seconds']:7.2f} / {s['max_seconds']:7.2f} s  "
            f"decided {s['decided_pairs']}/{s['pairs']}  undecided questions "
            f"{s['undecided_questions']}  checks ok {s['checked']}/{s['pairs']}",
            file=report,
        )
    load_after = _load()
    print(f"load average at end: {load_after}", file=report)
    if args.json:
        json.dump(
            {"summary": summary, "pairs": rows, "load": [load_before, load_after]},
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
    bad = [r for r in rows if r["undecided"] or not r["checked"] or r["seconds"] >= TARGET_SECONDS]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
