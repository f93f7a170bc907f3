"""Engine benchmark: lspolicy against moto and principalmapper on the standard workload.

Usage (from the repository root)::

    python3 bench/run.py                 # full run
    python3 bench/run.py --quick         # fewer repeats, shorter pathological inputs
    python3 bench/run.py --json          # JSON figures on stdout, the human report on stderr
    python3 bench/run.py --workload DIR  # another copy of workload.json + expected.json

Exit status: 0 when lspolicy agrees with expected.json on every request (or lspolicy's API is
not there yet, which is reported as skipped), 1 when lspolicy disagrees anywhere or gets a
pathological case wrong, 2 when the workload cannot be read.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WORKLOAD = REPO_ROOT.parent / "shared" / "bench"

# Benchmark this checkout's lspolicy, not whatever else is installed; bench/ itself is already
# sys.path[0] when this file is run as a script, which is how peers and pathological import.
sys.path.insert(0, str(REPO_ROOT))

import pathological  # noqa: E402
import peers  # noqa: E402

SHOWN_DISAGREEMENTS = 5
KIND_OF_REASON = {"allow": "allowed", "explicit": "explicitDeny", "implicit": "implicitDeny"}


# --------------------------------------------------------------------------------------------
# the workload
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """The standard workload, with every request's context derived as meta.context_derivation says."""

    directory: Path
    policies: dict[str, str]  # name -> JSON text
    principals: list[peers.Principal]
    requests: list[peers.Request]
    expected: list[bool]
    reasons: list[str]


class WorkloadError(Exception):
    """The workload files are missing or not what this benchmark expects."""


def derive_context(
    account: str, principal: peers.Principal, resource: dict[str, Any], extra: dict[str, Any]
) -> peers.Context:
    """The request context per ``meta.context_derivation`` of workload.json."""
    if principal.kind not in ("user", "role"):
        raise WorkloadError(f"principal {principal.arn!r} has unknown type {principal.kind!r}")
    context: peers.Context = {
        "aws:PrincipalArn": principal.arn,
        "aws:PrincipalAccount": account,
        "aws:PrincipalType": "User" if principal.kind == "user" else "AssumedRole",
    }
    if principal.kind == "user":
        context["aws:username"] = principal.name
    for key, value in principal.tags.items():
        context[f"aws:PrincipalTag/{key}"] = value
    for key, value in (resource.get("tags") or {}).items():
        context[f"aws:ResourceTag/{key}"] = value
    context["aws:RequestedRegion"] = resource["region"]
    for key, value in extra.items():
        context[key] = list(value) if isinstance(value, list) else value
    return context


def load_workload(directory: Path) -> Workload:
    """Read workload.json and expected.json from ``directory`` and derive every request context."""
    try:
        raw = json.loads((directory / "workload.json").read_text(encoding="utf-8"))
        exp = json.loads((directory / "expected.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WorkloadError(f"cannot read the workload in {str(directory)!r}: {exc}") from exc
    account = raw["account"]
    policies = {name: json.dumps(doc) for name, doc in raw["policies"].items()}
    principals = peers.standard_principals(raw["principals"])
    by_arn = {p.arn: i for i, p in enumerate(principals)}
    resources = {r["arn"]: r for r in raw["resources"]}
    requests = []
    for i, r in enumerate(raw["requests"]):
        if r["principal"] not in by_arn or r["resource"] not in resources:
            raise WorkloadError(f"request {i} names an unknown principal or resource")
        who = by_arn[r["principal"]]
        context = derive_context(
            account, principals[who], resources[r["resource"]], r.get("context") or {}
        )
        requests.append(peers.Request(i, who, r["action"], r["resource"], context))
    decisions = exp["decisions"]
    if len(decisions) != len(requests) or set(decisions) - {"Allow", "Deny"}:
        raise WorkloadError("expected.json does not hold one Allow/Deny per request")
    return Workload(
        directory=directory,
        policies=policies,
        principals=principals,
        requests=requests,
        expected=[d == "Allow" for d in decisions],
        reasons=list(exp.get("reasons") or ["?"] * len(requests)),
    )


# --------------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------------


run_calls = peers.run_calls
"""The timed loop: the same for every evaluator."""


@dataclass
class EvaluatorResult:
    """Everything measured for one evaluator."""

    name: str
    available: bool
    version: str = ""
    reason: str = ""
    compile_seconds: float | None = None  # the first, cold compilation
    compile_best_seconds: float | None = None
    compile_seconds_all: list[float] = field(default_factory=list)
    prepare_seconds: float | None = None
    cold_pass_seconds: float | None = None  # the first pass, before any timed one
    loop_seconds: list[float] = field(default_factory=list)
    best_dps: float | None = None
    median_dps: float | None = None
    agree: int | None = None
    total: int | None = None
    agree_percent: float | None = None
    deterministic: bool = True
    notes: list[str] = field(default_factory=list)


def measure(
    adapters: dict[str, Any], results: dict[str, EvaluatorResult], work: Workload, repeats: int
) -> dict[str, list[bool]]:
    """Compile, prepare, check and time every available evaluator; returns each one's answers."""
    calls: dict[str, list[peers.Call]] = {}
    answers: dict[str, list[bool]] = {}
    for name, adapter in adapters.items():
        res = results[name]
        try:
            # Compiled several times, collector off as in the loop; the first (cold) time and the
            # best are both reported. The last compilation is the one that is timed below.
            for _ in range(max(3, repeats)):
                gc.collect()
                gc.disable()
                try:
                    start = time.perf_counter()
                    adapter.compile(work.policies, work.principals)
                    res.compile_seconds_all.append(time.perf_counter() - start)
                finally:
                    gc.enable()
            res.compile_seconds = res.compile_seconds_all[0]
            res.compile_best_seconds = min(res.compile_seconds_all)
            start = time.perf_counter()
            calls[name] = adapter.prepare(work.requests)
            res.prepare_seconds = time.perf_counter() - start
            # The first pass warms caches (and builds whatever an evaluator compiles lazily on
            # first use); it gives the answers checked for agreement and is reported apart as
            # the cold pass, not counted in best/median.
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter()
                first = run_calls(calls[name])
                res.cold_pass_seconds = time.perf_counter() - start
            finally:
                gc.enable()
            answers[name] = [bool(a) for a in first]
        except Exception as exc:
            res.available = False
            res.reason = f"failed while compiling or evaluating: {exc!r}"[:300]
            calls.pop(name, None)
            continue
        res.agree = sum(a == e for a, e in zip(answers[name], work.expected, strict=True))
        res.total = len(work.expected)
        res.agree_percent = 100.0 * res.agree / res.total
    for _ in range(repeats):
        # Round-robin, so that drift on the machine spreads over every evaluator alike; the
        # collector is off during a loop, as timeit does.
        for name, todo in calls.items():
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter()
                got = run_calls(todo)
                elapsed = time.perf_counter() - start
            finally:
                gc.enable()
            results[name].loop_seconds.append(elapsed)
            if [bool(a) for a in got] != answers[name]:
                results[name].deterministic = False
    for name in calls:
        res = results[name]
        n = len(work.requests)
        res.best_dps = n / min(res.loop_seconds)
        res.median_dps = n / statistics.median(res.loop_seconds)
    return answers


# --------------------------------------------------------------------------------------------
# lspolicy's own correctness report
# --------------------------------------------------------------------------------------------


@dataclass
class Disagreement:
    """One request on which lspolicy and expected.json differ."""

    index: int
    principal: str
    action: str
    resource: str
    context: dict[str, Any]
    expected: str
    expected_reason: str
    got_is_allowed: bool
    got_decision: str
    detail: str


@dataclass
class LspolicyCheck:
    """lspolicy's answers against expected.json, request by request."""

    disagreements: list[Disagreement] = field(default_factory=list)
    wrong_decision: int = 0  # Allow vs Deny
    wrong_kind: int = 0  # explicitDeny vs implicitDeny, decision otherwise right
    inconsistent: int = 0  # is_allowed vs evaluate().allowed
    #: informational: the statement expected.json names as deciding is not among lspolicy's
    #: matched statements (several statements can decide a request; not counted as a failure)
    other_deciding_statement: int = 0


def _matched_names(decision: Any) -> list[str]:
    return [
        f"{getattr(m, 'policy', '?')}/{getattr(m, 'sid', None) or getattr(m, 'index', '?')}"
        for m in getattr(decision, "matched", ()) or ()
    ]


def check_lspolicy(
    adapter: peers.LspolicyAdapter, work: Workload, answers: list[bool]
) -> LspolicyCheck:
    """Compare ``is_allowed`` and ``evaluate`` with expected.json on every request (untimed)."""
    check = LspolicyCheck()
    for req, got, expected, reason in zip(
        work.requests, answers, work.expected, work.reasons, strict=True
    ):
        matched: list[str] = []
        try:
            decision = adapter.explain(req)
            kind = str(decision.decision)
            detail = repr(decision)
            allowed = bool(decision.allowed)
            matched = _matched_names(decision)
        except Exception as exc:
            kind, detail, allowed = "error", repr(exc), not got
        prefix, _, deciding = reason.partition(":")
        expected_kind = KIND_OF_REASON.get(prefix, "?")
        bad_decision = got != expected
        bad_kind = expected_kind not in ("?", kind)
        if bad_decision:
            check.wrong_decision += 1
        elif bad_kind:
            check.wrong_kind += 1
        if allowed != got:
            check.inconsistent += 1
        if deciding and matched and deciding not in matched:
            check.other_deciding_statement += 1
        if bad_decision or bad_kind or allowed != got:
            by = f" by {', '.join(matched)}" if matched else ""
            check.disagreements.append(
                Disagreement(
                    index=req.index,
                    principal=work.principals[req.principal].arn,
                    action=req.action,
                    resource=req.resource,
                    context=req.context,
                    expected="Allow" if expected else "Deny",
                    expected_reason=reason,
                    got_is_allowed=got,
                    got_decision=kind + by,
                    detail=detail[:2000],
                )
            )
    return check


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


def fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1:
        return f"{value * 1e3:.2f} ms"
    return f"{value:.2f} s"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 1e-3:
        return f"{seconds * 1e6:,.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:,.1f} ms"
    if seconds < 3600:
        return f"{seconds:,.1f} s"
    if seconds < 86400 * 365:
        return f"{seconds / 3600:,.1f} hours"
    return f"{seconds / (86400 * 365):.2g} years"


def environment(adapters: dict[str, Any]) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": {name: getattr(a, "version", "?") for name, a in adapters.items()},
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description="lspolicy engine benchmark against moto and principalmapper",
    )
    parser.add_argument(
        "--workload",
        metavar="DIR",
        type=Path,
        default=DEFAULT_WORKLOAD,
        help=f"directory holding workload.json and expected.json (default: {DEFAULT_WORKLOAD})",
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats, shorter inputs")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per evaluator")
    parser.add_argument(
        "--json", action="store_true", help="print the figures as JSON on stdout (report: stderr)"
    )
    parser.add_argument(
        "--no-pathological", action="store_true", help="skip the pathological-wildcard section"
    )
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 7)
    if repeats < 1:
        parser.error("--repeats must be at least 1")
    out: TextIO = sys.stderr if args.json else sys.stdout

    def say(line: str = "") -> None:
        print(line, file=out, flush=True)

    try:
        work = load_workload(args.workload)
    except (WorkloadError, KeyError, TypeError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2

    adapters: dict[str, Any] = {}
    results: dict[str, EvaluatorResult] = {}
    factories: dict[str, Any] = {"lspolicy": peers.LspolicyAdapter, **peers.PEERS}
    for name, factory in factories.items():
        try:
            adapters[name] = factory()
            results[name] = EvaluatorResult(name, True, version=adapters[name].version)
        except peers.PeerUnavailable as exc:
            results[name] = EvaluatorResult(name, False, reason=str(exc))

    say("lspolicy engine benchmark")
    say(f"  workload   {work.directory}")
    say(
        f"             {len(work.requests):,} requests, {len(work.principals)} principals, "
        f"{len(work.policies)} policies"
    )
    env = environment(adapters)
    say(f"  python     {env['python']} on {env['platform']}, {env['cpus']} cpus")
    say(f"  repeats    {repeats} timed passes each (after one untimed checking pass), gc off")
    if "principalmapper" in adapters:
        shim = adapters["principalmapper"].shim
        say(f"  shim       principalmapper: {'; '.join(shim) if shim else 'none needed'}")
    say()

    answers = measure(adapters, results, work, repeats)

    say("decisions (all requests; best / median over the timed passes)")
    say(
        f"  {'evaluator':<16}{'version':<9}{'compile: cold':>14}{'best':>11}"
        f"{'decisions/s: best':>19}{'median':>11}{'agreement':>22}"
    )
    for res in results.values():
        if not res.available:
            say(f"  {res.name:<16}SKIPPED: {res.reason}")
            continue
        agreement = f"{res.agree:,}/{res.total:,} {res.agree_percent:.1f}%"
        say(
            f"  {res.name:<16}{res.version:<9}{fmt_seconds(res.compile_seconds):>14}"
            f"{fmt_seconds(res.compile_best_seconds):>11}{fmt_rate(res.best_dps):>19}"
            f"{fmt_rate(res.median_dps):>11}{agreement:>22}"
        )
        if not res.deterministic:
            say(f"  {'':<16}warning: answers changed between passes")
    say("  cold first pass (untimed in best/median; includes anything compiled lazily):")
    for res in results.values():
        if res.available and res.cold_pass_seconds:
            cold = len(work.requests) / res.cold_pass_seconds
            say(f"    {res.name:<16}{fmt_seconds(res.cold_pass_seconds):>11}  {cold:>10,.0f}/s")
    say()

    ratios: dict[str, dict[str, float]] = {}
    lsp = results["lspolicy"]
    if lsp.available and lsp.best_dps and lsp.median_dps:
        say("ratios (lspolicy decisions/s over the peer's)")
        for name, res in results.items():
            if name == "lspolicy" or not res.available or not res.best_dps or not res.median_dps:
                continue
            r = ratios[f"lspolicy/{name}"] = {
                "best": lsp.best_dps / res.best_dps,
                "median": lsp.median_dps / res.median_dps,
            }
            if lsp.cold_pass_seconds and res.cold_pass_seconds:
                r["cold_pass"] = res.cold_pass_seconds / lsp.cold_pass_seconds
            cold = f"   cold pass {r['cold_pass']:6.1f}x" if "cold_pass" in r else ""
            say(f"  lspolicy/{name:<16} best {r['best']:6.1f}x   median {r['median']:6.1f}x{cold}")
        say()

    failed = False
    check = LspolicyCheck()
    if lsp.available and "lspolicy" in answers:
        check = check_lspolicy(adapters["lspolicy"], work, answers["lspolicy"])
        if check.disagreements:
            failed = True
            say(
                f"LSPOLICY DISAGREES with expected.json: {check.wrong_decision} allow/deny, "
                f"{check.wrong_kind} explicit/implicit kind, {check.inconsistent} is_allowed vs "
                "evaluate — each one is an engine bug"
            )
            for d in check.disagreements[:SHOWN_DISAGREEMENTS]:
                say(f"  request {d.index}: {d.principal}")
                say(f"    action    {d.action}")
                say(f"    resource  {d.resource}")
                say(f"    context   {json.dumps(d.context, sort_keys=True)}")
                say(f"    expected  {d.expected} ({d.expected_reason})")
                say(f"    got       is_allowed={d.got_is_allowed}, evaluate: {d.got_decision}")
            if len(check.disagreements) > SHOWN_DISAGREEMENTS:
                say(f"  ... and {len(check.disagreements) - SHOWN_DISAGREEMENTS} more (see --json)")
        else:
            say(
                "lspolicy agrees with expected.json on every request "
                "(allow/deny, explicit/implicit kind, is_allowed = evaluate)"
            )
        if check.other_deciding_statement:
            say(
                f"  note: on {check.other_deciding_statement} requests the statement expected.json "
                "names as deciding is not among lspolicy's matched statements (informational)"
            )
        if not lsp.deterministic:
            failed = True
    elif not lsp.available:
        say(f"lspolicy: SKIPPED — {lsp.reason}; peers measured alone, no ratios")
    say()

    patho: dict[str, Any] = {}
    if not args.no_pathological:
        patho, patho_wrong = run_pathological(adapters, args.quick, say)
        if patho_wrong:
            failed = True

    if args.json:
        figures = {
            "workload": {
                "directory": str(work.directory),
                "requests": len(work.requests),
                "principals": len(work.principals),
                "policies": len(work.policies),
            },
            "environment": env,
            "repeats": repeats,
            "evaluators": {name: asdict(res) for name, res in results.items()},
            "ratios": ratios,
            "lspolicy_check": {
                "allow_deny": check.wrong_decision,
                "decision_kind": check.wrong_kind,
                "is_allowed_vs_evaluate": check.inconsistent,
                "other_deciding_statement": check.other_deciding_statement,
                "disagreements": [asdict(d) for d in check.disagreements[:50]],
            },
            "pathological": patho,
            "ok": not failed,
        }
        json.dump(figures, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    return 1 if failed else 0


def run_pathological(
    adapters: dict[str, Any], quick: bool, say: Callable[[str], None]
) -> tuple[dict[str, Any], bool]:
    """The pathological-wildcard section; returns its figures and whether lspolicy got one wrong."""
    lengths = pathological.QUICK_LENGTHS if quick else pathological.LONG_LENGTHS
    budget = 0.1 if quick else 0.3
    lib = adapters["lspolicy"].lib if "lspolicy" in adapters else None
    say("pathological wildcards: each pattern against 'a' * n + a short tail, never a match")
    say(
        "  microseconds per evaluation; lspolicy = PolicySet.is_allowed on prepared requests,"
        " 'first seen' = a subject new to the set each time (the matcher runs), 'repeat' = one"
        " request again (lspolicy's per-resource and per-action caches answer)"
    )
    cases, wrong = pathological.run_lspolicy_cases(lib, lengths, budget)
    say(
        f"  {'pattern':<19}{'placement':<11}{'n':>8}{'lspolicy first seen':>21}"
        f"{'repeat':>10}{'fnmatch':>12}"
    )
    for c in cases:
        first = "-" if c.lspolicy_first_seen_us is None else f"{c.lspolicy_first_seen_us:,.2f}"
        repeat = "-" if c.lspolicy_repeat_us is None else f"{c.lspolicy_repeat_us:,.2f}"
        say(
            f"  {c.pattern:<19}{c.case:<11}{c.length:>8,}{first:>21}{repeat:>10}"
            f"{c.fnmatch_us:>12,.2f}  {c.lspolicy_note}".rstrip()
        )
    growth: dict[str, float] = {}
    for key in dict.fromkeys((c.pattern, c.case) for c in cases):
        timed = sorted(
            (c.length, c.lspolicy_first_seen_us)
            for c in cases
            if (c.pattern, c.case) == key and c.lspolicy_first_seen_us is not None
        )
        if len(timed) >= 2:
            (n1, t1), (n2, t2) = timed[-2], timed[-1]
            growth[f"{key[0]} {key[1]}"] = (t2 / t1) / (n2 / n1)
    if growth:
        say(
            "  lspolicy first-seen time growth over input growth between "
            f"n={lengths[-2]:,} and n={lengths[-1]:,} (1.0 = linear, below 1 = sublinear):"
        )
        for key, value in growth.items():
            say(f"    {key:<32}{value:6.2f}")
    target = 10_000
    say(
        "  naive regex ('*' -> '.*', the translation moto and principalmapper use), on short"
        f" inputs only — at {target:,} characters it would not finish:"
    )
    naive: dict[str, Any] = {}
    naive_budget = 0.05 if quick else 0.25
    for case in pathological.CASES:
        res = pathological.naive_regex(case, target, naive_budget)
        n_last, t_last = res.measured[-1]
        extrapolated = res.extrapolate(target)
        exponent = f"~n^{res.exponent:.1f}" if res.exponent is not None else "n/a"
        say(
            f"    {case.wildcards:<20}{case.name:<12}{n_last:>4} chars: {fmt_duration(t_last)}"
            f" per evaluation, growth {exponent}; {target:,} chars ~{fmt_duration(extrapolated)}"
            " (extrapolated)"
        )
        naive[f"{case.wildcards} {case.name}"] = {
            "measured": res.measured,
            "stopped_because": res.stopped_because,
            "exponent": res.exponent,
            "extrapolated_seconds_at": {str(target): extrapolated},
        }
    for w in wrong:
        say(f"  LSPOLICY WRONG: {w}")
    say()
    return (
        {
            "patterns": list(pathological.PATTERNS),
            "lengths": list(lengths),
            "cases": [asdict(c) for c in cases],
            "lspolicy_growth_vs_linear": growth,
            "naive_regex": naive,
            "lspolicy_wrong": wrong,
        },
        bool(wrong),
    )


if __name__ == "__main__":
    sys.exit(main())
