"""Engine throughput on realistic input: requests built in the timed loop, every layer, both workloads.

Usage (from the repository root)::

    python3 bench/engine.py                    # both workloads, 3 passes each
    python3 bench/engine.py --quick            # 20,000 harder requests, 3 passes
    python3 bench/engine.py --workload standard --passes 5
    python3 bench/engine.py --quick --modes batch --compare /tmp/ref --rounds 4

What is timed (CPU time, ``time.process_time``, collector off, median of ``--passes`` passes,
after one untimed first pass per evaluator, as every peer gets one; the modes' first pass, which
builds their plans and generated functions, is printed apart: it runs before anything else
evaluates the requests, the oracle included, so the first mode's first pass is the one that meets
every request for the first time):
every request starts as plain dicts, as a user holds them — the principal's context (ARN, account,
type, username, tags), the instance's context (tags, region) and the request's own keys — and the
``Request`` is built inside the timed loop. The policy sets (identity, boundary, session policy,
the three SCP levels of the harder workload) are compiled before timing; the compilation is timed
apart. The modes, each measured in the same run:

``general``
    ``Request(action, arn, {**principal, **instance, **extra})`` and the general decision loop
    (``PolicySet._decide``: every statement object in turn) — the baseline for the ratios.
``merged``
    The same request, ``PolicySet.is_allowed`` (the compiled path where the set allows it).
``parts``
    Principal and instance parts normalised once (``RequestPart``, inside the timing, once per
    principal and per instance), ``Request.from_parts`` per request, then ``is_allowed``.
``batch``
    ``decide_requests`` over the requests as the bench holds them (principal index, action,
    instance index, own keys; parts as above); a library without it: as ``grouped``.
``grouped``
    ``PolicySet.is_allowed_many`` over each principal's requests (the bench groups them by
    principal, builds each group's items and puts the answers back in order): ``batch`` up
    to round 7.
``matrix``
    ``decide_matrix``: every principal x every instance for one action (cells/s), without the
    per-request keys (no source IP, no time); ``compact``: the same with
    ``decide_matrix_compact`` (answers per group of instances, no Python object per cell).

``--compare REF``: the same bench for the library in ``REF`` (another checkout of this
repository, e.g. ``git worktree add /tmp/ref <commit>``) and for this one, alternately in child
processes (``--rounds`` times each, REF first in odd rounds), with the median per mode of each
child's median and the ratio this / REF: before and after measured in the same run, under the
same load. ``--modes`` limits the modes (``matrix`` included; without ``general`` the ratio
column is left out).

Peers (unless ``--no-peers``): moto and principalmapper through ``bench/peers.py``'s adapters
(as ``bench/run.py`` times them), on the same requests in the same round-robin, with each mode's
ratio to each peer (the machine-independent form of the targets). The peers' requests are
prepared before the timing (their own request objects from the merged context), which favours
them. principalmapper evaluates every layer the harder workload has (identity, SCP levels,
session policy, boundary: ``local_check_authorization_full``'s order); moto has no SCP or
session-policy evaluation, so it evaluates identity policies and the boundary only, which
favours it on the harder workload.

Unseen requests (harder workload, ``--unseen K``, default 2): the generator draws K further
chunks of as many requests after the timed ones (each request has its own time, so none
repeats); after the timed passes each mode decides each chunk once. That figure is the steady
state of a long review on requests never met before: plans built, every cache holding only what
earlier requests left (the timed passes repeat their requests, so condition answers they
computed are remembered: the median is the best case of the two, the first pass the coldest).
Agreement on the chunks is checked against the oracle like the rest and printed.

Ratios to the peers: the ratio of the medians, and per round (a mode's pass k over the peer's
pass k, which ran beside it in the round-robin) the median and range of those ratios, in which
a drift of the machine's speed between rounds cancels.

Agreement: every mode's answers are compared with the explained path (``PolicySet.evaluate``,
the oracle), and on the standard workload with ``expected.json`` too. Exit 1 on any difference.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
LIBRARY = Path(os.environ.get("LSPOLICY_BENCH_LIB") or REPO_ROOT)
"""The checkout whose ``lspolicy`` is measured (``--compare`` sets it in its children)."""
sys.path.insert(0, str(LIBRARY))

import harder  # noqa: E402
import peers  # noqa: E402

import lspolicy  # noqa: E402
from lspolicy import PolicySet, Request  # noqa: E402

STANDARD = REPO_ROOT.parent / "shared" / "bench"
Context = dict[str, Any]


@dataclass
class Case:
    """One workload in the benchmark's own form: plain dicts and compiled policy sets."""

    name: str
    sets: list[PolicySet]
    callers: list[str]
    principal_ctx: list[Context]
    instance_ctx: list[Context]
    arns: list[str]
    requests: list[tuple[int, str, int, Context]]  # principal, action, instance, extra
    expected: list[bool] | None
    compile_seconds: float
    policy_texts: dict[str, str]
    """Every document's JSON text by name (what the peers compile)."""
    peer_principals: list[peers.Principal]
    """Each principal's documents by name, for the peers: identity policies, boundary, SCP
    levels and session policy (moto skips the last two: it has no such layer)."""
    unseen: list[list[tuple[int, str, int, Context]]] = field(default_factory=list)
    """Further chunks of requests as many as ``requests``, drawn after them from the same
    generator (new times, addresses, instances and principals in new combinations): each is
    decided once per mode after the timed passes, so that figure is a steady state on
    requests the engine has never met (plans built, caches holding what the earlier requests
    left). Empty for the standard workload, whose requests are fixed."""


def load_standard(directory: Path) -> Case:
    raw = json.loads((directory / "workload.json").read_text(encoding="utf-8"))
    exp = json.loads((directory / "expected.json").read_text(encoding="utf-8"))
    account = raw["account"]
    start = time.process_time()
    parsed = {n: lspolicy.parse_policy(json.dumps(d), source=n) for n, d in raw["policies"].items()}
    sets = [
        PolicySet(
            [parsed[n] for n in p["policies"]],
            boundary=[parsed[p["permissions_boundary"]]] if p.get("permissions_boundary") else None,
        )
        for p in raw["principals"]
    ]
    compile_seconds = time.process_time() - start
    pctx: list[Context] = []
    for p in raw["principals"]:
        c: Context = {
            "aws:PrincipalArn": p["arn"],
            "aws:PrincipalAccount": account,
            "aws:PrincipalType": "User" if p["type"] == "user" else "AssumedRole",
        }
        if p["type"] == "user":
            c["aws:username"] = p["name"]
        for k, v in (p.get("tags") or {}).items():
            c[f"aws:PrincipalTag/{k}"] = v
        pctx.append(c)
    ictx: list[Context] = []
    for r in raw["resources"]:
        c = {f"aws:ResourceTag/{k}": v for k, v in (r.get("tags") or {}).items()}
        c["aws:RequestedRegion"] = r["region"]
        ictx.append(c)
    by_p = {p["arn"]: i for i, p in enumerate(raw["principals"])}
    by_i = {r["arn"]: i for i, r in enumerate(raw["resources"])}
    reqs = [
        (by_p[r["principal"]], r["action"], by_i[r["resource"]], dict(r.get("context") or {}))
        for r in raw["requests"]
    ]
    return Case(
        name="standard",
        sets=sets,
        callers=[p["arn"] for p in raw["principals"]],
        principal_ctx=pctx,
        instance_ctx=ictx,
        arns=[r["arn"] for r in raw["resources"]],
        requests=reqs,
        expected=[d == "Allow" for d in exp["decisions"]],
        compile_seconds=compile_seconds,
        policy_texts={n: json.dumps(d) for n, d in raw["policies"].items()},
        peer_principals=peers.standard_principals(raw["principals"]),
    )


def load_harder(
    requests: int,
    unseen: int = 0,
    *,
    seed: int = harder.SEED,
    principals: int = 100,
    instances: int = 3000,
) -> Case:
    work = harder.generate(
        seed, principals=principals, instances=instances, requests=requests * (1 + unseen)
    )
    start = time.process_time()
    parsed = {n: lspolicy.parse_policy(json.dumps(d), source=n) for n, d in work.policies.items()}
    sets = [
        PolicySet(
            [parsed[n] for n in p.policies],
            boundary=[parsed[p.boundary]] if p.boundary else None,
            session=[parsed[p.session]] if p.session else None,
            scps=[[parsed[n] for n in level] for level in work.scps_of(p)],
        )
        for p in work.principals
    ]
    compile_seconds = time.process_time() - start
    return Case(
        name="harder",
        sets=sets,
        callers=[p.arn for p in work.principals],
        principal_ctx=[p.context() for p in work.principals],
        instance_ctx=[i.context() for i in work.instances],
        arns=[i.arn for i in work.instances],
        requests=[(r.principal, r.action, r.instance, r.extra) for r in work.requests[:requests]],
        expected=None,
        compile_seconds=compile_seconds,
        policy_texts={n: json.dumps(d) for n, d in work.policies.items()},
        peer_principals=[
            peers.Principal(
                arn=p.arn,
                kind="user" if p.kind == "user" else "role",
                name=p.name,
                tags=dict(p.tags),
                policies=p.policies,
                boundary=p.boundary,
                scps=tuple(tuple(level) for level in work.scps_of(p)),
                session=p.session,
            )
            for p in work.principals
        ],
        unseen=[
            [(r.principal, r.action, r.instance, r.extra) for r in work.requests[k : k + requests]]
            for k in range(requests, requests * (1 + unseen), requests)
        ],
    )


# --------------------------------------------------------------------------------------------
# the modes: each takes the case and returns the answers, building every request itself
# --------------------------------------------------------------------------------------------


def mode_general(case: Case) -> list[bool]:
    sets, callers, pc, ic, arns = (
        case.sets,
        case.callers,
        case.principal_ctx,
        case.instance_ctx,
        case.arns,
    )
    out = []
    for p, action, i, extra in case.requests:
        req = Request(action, arns[i], {**pc[p], **ic[i], **extra}, caller_arn=callers[p])
        ps = sets[p]
        out.append(ps._decide(req, ps._plan(req.action_key)) == "allowed")
    return out


def mode_merged(case: Case) -> list[bool]:
    sets, callers, pc, ic, arns = (
        case.sets,
        case.callers,
        case.principal_ctx,
        case.instance_ctx,
        case.arns,
    )
    return [
        sets[p].is_allowed(
            Request(action, arns[i], {**pc[p], **ic[i], **extra}, caller_arn=callers[p])
        )
        for p, action, i, extra in case.requests
    ]


def _parts(case: Case) -> tuple[list[Any], list[Any]]:
    part = lspolicy.RequestPart
    principals = [
        part(c, caller_arn=a) for c, a in zip(case.principal_ctx, case.callers, strict=True)
    ]
    instances = [part(c, resource=arn) for c, arn in zip(case.instance_ctx, case.arns, strict=True)]
    return principals, instances


def mode_parts(case: Case) -> list[bool]:
    principals, instances = _parts(case)
    sets = case.sets
    build = Request.from_parts
    return [
        sets[p].is_allowed(build(action, principals[p], instances[i], context=extra))
        for p, action, i, extra in case.requests
    ]


def mode_batch(case: Case) -> list[bool]:
    return batch_answers(case.requests, case.sets, *_parts(case))


def mode_grouped(case: Case) -> list[bool]:
    return grouped_answers(case.requests, case.sets, *_parts(case))


def batch_answers(
    reqs: Sequence[tuple[int, str, int, Any]],
    sets: Sequence[Any],
    principals: Sequence[Any],
    instances: Sequence[Any],
) -> list[bool]:
    """Each request's answer from the library's batch API: ``decide_requests`` over the
    requests as the bench holds them (principal index, action, instance index, own keys), or,
    for a library without it (or another tree's sets, `bench/engine_ab.py`), one
    ``is_allowed_many`` call per principal (`grouped_answers`)."""
    if sets and type(sets[0]) is PolicySet and hasattr(lspolicy, "decide_requests"):
        return lspolicy.decide_requests(reqs, sets, principals, instances)
    return grouped_answers(reqs, sets, principals, instances)


def grouped_answers(
    reqs: Sequence[tuple[int, str, int, Any]],
    sets: Sequence[Any],
    principals: Sequence[Any],
    instances: Sequence[Any],
) -> list[bool]:
    """Each request's answer, one `is_allowed_many` call per principal: the requests grouped
    by principal, each group's items built, the answers put back in order (the batch mode up
    to round 7)."""
    groups: dict[int, list[int]] = {}
    for n, (p, _, _, _) in enumerate(reqs):
        groups.setdefault(p, []).append(n)
    out: list[bool] = [False] * len(reqs)
    for p, indices in groups.items():
        answers = sets[p].is_allowed_many(
            [(reqs[n][1], instances[reqs[n][2]], reqs[n][3]) for n in indices],
            principal=principals[p],
        )
        for n, a in zip(indices, answers, strict=True):
            out[n] = a
    return out


MODES: dict[str, Callable[[Case], list[bool]]] = {
    "general": mode_general,
    "merged": mode_merged,
    "parts": mode_parts,
    "batch": mode_batch,
    "grouped": mode_grouped,
}


def available(mode: str) -> bool:
    if mode in ("parts", "batch", "grouped"):
        return hasattr(lspolicy, "RequestPart") and hasattr(PolicySet, "is_allowed_many")
    return True


def oracle(case: Case) -> list[bool]:
    sets, callers, pc, ic, arns = (
        case.sets,
        case.callers,
        case.principal_ctx,
        case.instance_ctx,
        case.arns,
    )
    return [
        sets[p]
        .evaluate(Request(action, arns[i], {**pc[p], **ic[i], **extra}, caller_arn=callers[p]))
        .allowed
        for p, action, i, extra in case.requests
    ]


def peer_runs(case: Case, names: Sequence[str], say: Callable[[str], None]) -> dict[str, Any]:
    """For each peer of ``bench/peers.py`` that imports: the timed loop over the case's requests
    (`peers.run_calls`, as ``bench/run.py`` times it) and its first answers.
    The peers' inputs are prepared before timing (``prepare``: their own request objects from the
    merged context), so their figures leave out what lspolicy's modes pay for building each
    request. principalmapper evaluates every layer of the workload; moto the identity policies
    and the boundary only (it has no SCP or session-policy evaluation)."""
    requests = [
        peers.Request(
            n,
            p,
            action,
            case.arns[i],
            {**case.principal_ctx[p], **case.instance_ctx[i], **extra},
        )
        for n, (p, action, i, extra) in enumerate(case.requests)
    ]
    out: dict[str, Any] = {}
    for name in names:
        try:
            adapter = peers.PEERS[name]()
            start = time.process_time()
            adapter.compile(case.policy_texts, case.peer_principals)
            compiled = time.process_time() - start
            calls = adapter.prepare(requests)
            first = [bool(fn(*args)) for fn, args in calls]  # warm-up, and the answers
        except Exception as exc:  # a peer that cannot run is reported, not fatal
            say(f"  {name}: not measured ({exc!r})"[:200])
            continue
        out[name] = {
            "run": lambda calls=calls: peers.run_calls(calls),
            "answers": first,
            "compile_seconds": compiled,
            "version": adapter.version,
        }
    return out


def unseen_passes(
    case: Case, modes: Sequence[str], say: Callable[[str], None]
) -> dict[str, dict[str, Any]]:
    """Each mode once over each of the case's unseen chunks (`Case.unseen`), after the timed
    passes: decisions/s over all of them (total requests / total CPU time), and agreement
    with the oracle on them. Empty when the case has no unseen chunks."""
    if not case.unseen:
        return {}
    chunks = [replace(case, requests=chunk, unseen=[]) for chunk in case.unseen]
    seconds, truths = timed(lambda: [oracle(chunk) for chunk in chunks])
    total = sum(len(chunk.requests) for chunk in chunks)
    say(f"  unseen: {len(chunks)} further chunks, {total:,} requests never decided before"
        f" (oracle {total / seconds:,.0f}/s)")  # fmt: skip
    out: dict[str, dict[str, Any]] = {}
    for m in modes:
        spent = 0.0
        same = 0
        for chunk, truth in zip(chunks, truths, strict=True):
            seconds, answers = timed(lambda: MODES[m](chunk))  # noqa: B023
            spent += seconds
            same += sum(a == b for a, b in zip(answers, truth, strict=True))
        out[m] = {"dps": total / spent, "agree": same, "requests": total}
    say("  unseen agreement with the oracle: "
        + ", ".join(f"{m} {u['agree']:,}/{total:,}" for m, u in out.items()))  # fmt: skip
    return out


def paired_ratios(mine: Sequence[float], theirs: Sequence[float]) -> list[float]:
    """Pass k of a mode against pass k of a peer (seconds each; the same requests): in the
    round-robin they ran next to each other, so a drift in the machine's speed between rounds
    cancels in each ratio, where the ratio of the two medians can pair a fast moment of one
    with a slow moment of the other."""
    return [t / m for m, t in zip(mine, theirs, strict=True)]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    gc.disable()
    try:
        start = time.process_time()
        result = fn()
        return time.process_time() - start, result
    finally:
        gc.enable()


def matrix(case: Case, action: str, passes: int) -> dict[str, Any] | None:
    """Median cells/s of ``decide_matrix`` (a list of bools per row) and, where the library
    has it, ``decide_matrix_compact`` (answers per group, no object per cell); and whether
    every sampled cell equals the single answer and the compact rows equal the grid."""
    decide_matrix = getattr(lspolicy, "decide_matrix", None)
    if decide_matrix is None:
        return None
    compact = getattr(lspolicy, "decide_matrix_compact", None)
    times: list[float] = []
    compact_times: list[float] = []
    grid: list[list[bool]] = []
    result: Any = None
    for _ in range(passes):
        # fresh parts each pass: their normalisation is part of the cost
        seconds, grid = timed(lambda: decide_matrix(action, case.sets, *_parts(case)))
        times.append(seconds)
        if compact is not None:
            seconds, result = timed(lambda: compact(action, case.sets, *_parts(case)))
            compact_times.append(seconds)
    cells = len(case.sets) * len(case.arns)
    ok = True
    for p, ps in enumerate(case.sets):
        for i in range(0, len(case.arns), 7):
            req = Request(
                action,
                case.arns[i],
                {**case.principal_ctx[p], **case.instance_ctx[i]},
                caller_arn=case.callers[p],
            )
            if ps.evaluate(req).allowed != grid[p][i]:
                ok = False
    out: dict[str, Any] = {"cells_per_s": cells / statistics.median(times), "ok": ok}
    if compact is not None:
        out["compact_cells_per_s"] = cells / statistics.median(compact_times)
        out["ok"] = ok and result.rows() == grid
    return out


def run_case(
    case: Case,
    passes: int,
    say: Callable[[str], None],
    only: set[str] | None = None,
    peer_names: Sequence[str] = (),
) -> dict[str, Any]:
    n = len(case.requests)
    say(f"{case.name}: {n:,} requests, {len(case.sets)} principals, {len(case.arns):,} instances")
    say(f"  compile (parse + PolicySet) {case.compile_seconds * 1e3:,.0f} ms CPU")
    modes = [m for m in MODES if available(m) and (only is None or m in only)]
    # every evaluator gets one untimed pass first, the peers in `peer_runs` and the modes here:
    # it builds what each builds lazily (lspolicy's plans and their generated functions), and
    # its time is printed apart as the first pass; its answers are checked like the others.
    # The modes' first passes run before the oracle: the oracle's pass over the same requests
    # fills caches the modes share with it (each statement's ARN matches), so after it a
    # "first" pass would not meet the requests for the first time (measured, batch on the
    # harder workload, two runs each: 130-158k/s with nothing before it, 174-200k/s after the
    # oracle). The first mode's first pass is the cold one; a later mode's finds the ARN and
    # condition memos the earlier modes filled
    first: dict[str, float] = {}
    first_answers: dict[str, list[bool]] = {}
    for m in modes:
        first[m], first_answers[m] = timed(lambda: MODES[m](case))  # noqa: B023
    seconds, truth = timed(lambda: oracle(case))
    say(f"  oracle (explained path, evaluate) {n / seconds:,.0f}/s")
    if case.expected is not None:
        same = sum(a == b for a, b in zip(truth, case.expected, strict=True))
        say(f"  oracle vs expected.json: {same:,}/{n:,}")
        if same != n:
            truth = case.expected
    say(f"  allowed by the oracle: {sum(truth):,}/{n:,}")
    results: dict[str, Any] = {}
    times: dict[str, list[float]] = {m: [] for m in modes}
    agree = {m: sum(a == b for a, b in zip(first_answers[m], truth, strict=True)) for m in modes}
    others = peer_runs(case, peer_names, say) if peer_names else {}
    peer_times: dict[str, list[float]] = {name: [] for name in others}
    # round-robin, the modes and the peers alike, so that drift on the machine spreads over
    # every one; the order reverses every pass (serpentine): with a fixed order the first mode
    # always ran right after the peers, whose passes leave the processor's caches cold
    # (measured: a mode ran ~25% slower in that place than in another)
    order = [("mode", m) for m in modes] + [("peer", name) for name in others]
    for k in range(passes):
        for kind, name in order if k % 2 == 0 else order[::-1]:
            if kind == "peer":
                seconds, _ = timed(others[name]["run"])
                peer_times[name].append(seconds)
                continue
            seconds, answers = timed(lambda: MODES[name](case))  # noqa: B023
            times[name].append(seconds)
            agree[name] = min(
                agree.get(name, n), sum(a == b for a, b in zip(answers, truth, strict=True))
            )
    unseen = unseen_passes(case, modes, say)
    base = n / statistics.median(times["general"]) if "general" in times else None
    say(
        f"  {'mode':<16}{'decisions/s (median)':>22}{'best':>12}{'first pass':>12}"
        f"{'unseen':>12}{'vs general':>12}{'agreement':>16}"
    )
    for m in modes:
        med = n / statistics.median(times[m])
        best = n / min(times[m])
        cold = n / first[m]
        pct = 100.0 * agree[m] / n
        ratio = f"{med / base:>11.1f}x" if base else f"{'':>12}"
        fresh = f"{unseen[m]['dps']:>12,.0f}" if m in unseen else f"{'-':>12}"
        say(f"  {m:<16}{med:>22,.0f}{best:>12,.0f}{cold:>12,.0f}{fresh}{ratio}{pct:>15.3f}%")
        results[m] = {
            "median_dps": med,
            "best_dps": best,
            "first_pass_dps": cold,
            "agree": agree[m],
        }
        if m in unseen:
            results[m]["unseen_dps"] = unseen[m]["dps"]
            results[m]["unseen_agree"] = unseen[m]["agree"]
            results[m]["unseen_requests"] = unseen[m]["requests"]
    for name, peer in others.items():
        med = n / statistics.median(peer_times[name])
        pct = 100.0 * sum(a == b for a, b in zip(peer["answers"], truth, strict=True)) / n
        ratios = "  ".join(
            f"{m} {results[m]['median_dps'] / med:.1f}x" for m in modes if m != "general"
        )
        say(f"  {name:<16}{med:>22,.0f}{n / min(peer_times[name]):>12,.0f}{'':>24}{pct:>15.3f}%"
            f"  ({name} {peer['version']}: requests prepared before the timing)")  # fmt: skip
        say(f"  {'':<16}lspolicy / {name}, same requests, same run (medians): {ratios}")
        paired = {m: paired_ratios(times[m], peer_times[name]) for m in modes if m != "general"}
        say(f"  {'':<16}per round (each pass over the pass of {name} beside it), median"
            f" [min-max]: " + "  ".join(f"{m} {statistics.median(r):.1f}x [{min(r):.1f}-{max(r):.1f}]"
            for m, r in paired.items()))  # fmt: skip
        if unseen:
            say(f"  {'':<16}unseen requests (lspolicy, all chunks) / {name} (median): " + "  ".join(
                f"{m} {u['dps'] / med:.1f}x" for m, u in unseen.items() if m != "general"))  # fmt: skip
        results[f"peer:{name}"] = {
            "median_dps": med,
            "best_dps": n / min(peer_times[name]),
            "agree_percent": pct,
            "compile_seconds": peer["compile_seconds"],
            "paired_ratios": paired,
            "unseen_ratios": {m: u["dps"] / med for m, u in unseen.items()},
        }
    got = None
    if only is None or "matrix" in only:
        got = matrix(case, "lightsail:StopInstance", passes)
    if got is not None:
        shape = f"StopInstance, {len(case.sets)} x {len(case.arns):,}"
        say(f"  matrix   {got['cells_per_s']:>22,.0f} cells/s ({shape}, decide_matrix); "
            f"sampled cells equal evaluate: {got['ok']}")  # fmt: skip
        if "compact_cells_per_s" in got:
            say(f"  compact  {got['compact_cells_per_s']:>22,.0f} cells/s ({shape}, decide_matrix_compact)")  # fmt: skip
        results["matrix"] = got
    results["ok"] = (
        all(agree[m] == n for m in modes)
        and all(u["agree"] == u["requests"] for u in unseen.values())
        and (got is None or got["ok"])
    )
    if got is not None:
        results["matrix_cells_per_s"] = got["cells_per_s"]
        if "compact_cells_per_s" in got:
            results["compact_cells_per_s"] = got["compact_cells_per_s"]
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/engine.py", description=__doc__.split("\n")[0])
    parser.add_argument("--workload", choices=["standard", "harder", "both"], default="both")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--requests", type=int, default=100_000, help="harder workload size")
    parser.add_argument("--quick", action="store_true", help="20,000 harder requests")
    parser.add_argument(
        "--unseen",
        type=int,
        default=2,
        metavar="K",
        help="harder workload: K further chunks of as many requests, each decided once per"
        " mode after the timed passes (requests never met before); 0 for none",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--standard", type=Path, default=STANDARD, metavar="DIR", help="the standard workload"
    )
    parser.add_argument("--modes", help="comma-separated modes to run (default: all, matrix too)")
    parser.add_argument("--compare", type=Path, metavar="REF", help="another checkout to compare")
    parser.add_argument("--rounds", type=int, default=3, help="child runs per tree with --compare")
    parser.add_argument(
        "--no-peers", action="store_true", help="do not time moto and principalmapper"
    )
    args = parser.parse_args(argv)
    requests = 20_000 if args.quick else args.requests
    only = set(args.modes.split(",")) if args.modes else None
    if args.compare is not None:
        return compare(args, requests)

    def say(line: str) -> None:
        print(line, flush=True)

    say(f"bench/engine.py: CPU time, median of {args.passes} passes, gc off in the timed loops")
    figures: dict[str, Any] = {}
    names = () if args.no_peers else tuple(peers.PEERS)
    if args.workload in ("standard", "both"):
        case = load_standard(args.standard)
        figures["standard"] = run_case(case, args.passes, say, only, names)
    if args.workload in ("harder", "both"):
        case = load_harder(requests, unseen=args.unseen)
        figures["harder"] = run_case(case, args.passes, say, only, names)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    ok = all(f["ok"] for f in figures.values())
    if not ok:
        say("DISAGREEMENT: some mode differs from the oracle")
    return 0 if ok else 1


def compare(args: argparse.Namespace, requests: int) -> int:
    """Run this bench for ``args.compare``'s library and this one alternately (child
    processes, one workload each), and print the medians per mode and their ratio."""
    trees = {"ref": args.compare.resolve(), "this": LIBRARY}
    if not (trees["ref"] / "lspolicy" / "__init__.py").is_file():
        print(f"bench/engine.py: {trees['ref']}: no lspolicy package there", file=sys.stderr)
        return 2
    workloads = ["standard", "harder"] if args.workload == "both" else [args.workload]
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    ok = True
    with tempfile.TemporaryDirectory() as scratch:
        for r in range(args.rounds):
            for workload in workloads:
                order = ["ref", "this"] if r % 2 == 0 else ["this", "ref"]
                for name in order:
                    out = Path(scratch) / f"{name}-{workload}-{r}.json"
                    cmd = [
                        sys.executable,
                        str(Path(__file__).resolve()),
                        "--workload", workload,
                        "--passes", str(args.passes),
                        "--requests", str(requests),
                        "--unseen", str(args.unseen),
                        "--standard", str(args.standard),
                        "--json", str(out),
                        "--no-peers",
                    ]  # fmt: skip
                    if args.modes:
                        cmd += ["--modes", args.modes]
                    env = {**os.environ, "LSPOLICY_BENCH_LIB": str(trees[name])}
                    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
                    if not out.is_file():
                        print(done.stdout + done.stderr, file=sys.stderr)
                        return 2
                    got = json.loads(out.read_text(encoding="utf-8"))[workload]
                    ok = ok and bool(got["ok"])
                    runs.setdefault((workload, name), []).append(got)
                    print(f"round {r + 1} {workload} {name}: done", flush=True)
    print(f"bench/engine.py --compare: ref = {trees['ref']}, this = {trees['this']}")
    print(f"{args.rounds} rounds, each child the median of {args.passes} passes (CPU time)")
    for workload in workloads:
        ref_runs, this_runs = runs[(workload, "ref")], runs[(workload, "this")]
        keys = [k for k in this_runs[0] if k in ref_runs[0] and k not in ("ok", "matrix")]
        print(f"{workload}: {'mode':<10}{'ref (median)':>16}{'this (median)':>16}{'this/ref':>10}"
              f"{'per round this/ref':>28}")  # fmt: skip
        for k in keys:

            def value(run: dict[str, Any], key: str = k) -> float:
                v = run[key]
                return float(v["median_dps"] if isinstance(v, dict) else v)

            a = [value(x) for x in ref_runs]
            b = [value(x) for x in this_runs]
            per = " ".join(f"{y / x:.2f}" for x, y in zip(a, b, strict=True))
            ma, mb = statistics.median(a), statistics.median(b)
            print(f"{'':<9} {k:<10}{ma:>16,.0f}{mb:>16,.0f}{mb / ma:>9.2f}x{per:>28}")
    if not ok:
        print("DISAGREEMENT: some mode differs from the oracle")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
