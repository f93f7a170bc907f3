"""Semantic diff benchmark: seconds per pair of realistic policies, with the witness found.

Usage (from the repository root)::

    python3 bench/diff.py                 # every workload policy and principal, mutated
    python3 bench/diff.py --json          # the figures as JSON on stdout, the report on stderr
    python3 bench/diff.py --workload DIR  # another copy of workload.json

Pairs come from the standard workload (``../shared/bench/workload.json``):

- *policy pairs*: each of its 19 policies against each mutation of it that applies
  (`MUTATIONS`: the edits a pull request makes: widen a tag value to a pattern, add an action,
  drop a statement, open a resource's region to ``*``, add ``IfExists``, move a date, remove a
  condition key);
- *principal pairs*: each of its 20 principals' whole policy set (1-4 identity policies and the
  permissions boundary when there is one) against the same set with one policy mutated.

Each pair is diffed ``--repeats`` times (fresh engines each time); the first run is reported
as *cold*, the best as *warm*. Exit status: 0 when every pair was decided (a difference, or
none proven) under the 1 s target, 1 when a pair missed it or was undecided, 2 when the
workload cannot be read.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WORKLOAD = REPO_ROOT.parent / "shared" / "bench"
sys.path.insert(0, str(REPO_ROOT))

import lspolicy  # noqa: E402
from lspolicy.diff import DiffResult, diff_policies  # noqa: E402

TARGET_SECONDS = 1.0
Doc = dict[str, Any]
Mutation = Callable[[Doc], Doc | None]


def _statements(doc: Doc) -> list[Doc]:
    raw = doc["Statement"]
    return raw if isinstance(raw, list) else [raw]


def _each_statement(doc: Doc) -> Iterator[tuple[Doc, Doc]]:
    """(copy of the document, the copy's statement) for each statement."""
    for i in range(len(_statements(doc))):
        out = copy.deepcopy(doc)
        yield out, _statements(out)[i]


def widen_tag_value(doc: Doc) -> Doc | None:
    """``StringEquals`` on a tag becomes ``StringLike`` with the value followed by ``*``."""
    for out, st in _each_statement(doc):
        block = (st.get("Condition") or {}).pop("StringEquals", None)
        if block:
            st["Condition"]["StringLike"] = {
                k: [f"{v}*" for v in (vs if isinstance(vs, list) else [vs])]
                for k, vs in block.items()
            }
            return out
    return None


def add_action(doc: Doc) -> Doc | None:
    """``lightsail:DeleteInstance`` joins the first statement's actions."""
    for out, st in _each_statement(doc):
        if "Action" in st:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            st["Action"] = [*actions, "lightsail:DeleteInstance"]
            return out
    return None


def drop_statement(doc: Doc) -> Doc | None:
    """The last statement goes (for a one-statement Deny: the whole deny goes)."""
    items = _statements(doc)
    out = copy.deepcopy(doc)
    if len(items) > 1:
        out["Statement"] = copy.deepcopy(items[:-1])
        return out
    if items[0]["Effect"] == "Deny":
        only = copy.deepcopy(items[0])
        only.pop("NotAction", None)
        out["Statement"] = [{**only, "Action": "ec2:NoSuchAction"}]
        return out
    return None


def any_region(doc: Doc) -> Doc | None:
    """The first Resource ARN naming a region names every region."""
    for out, st in _each_statement(doc):
        for key in ("Resource", "NotResource"):
            values = st.get(key)
            values = values if isinstance(values, list) else [values] if values else []
            for i, arn in enumerate(values):
                parts = arn.split(":")
                if len(parts) > 4 and parts[3] not in ("", "*"):
                    parts[3] = "*"
                    values[i] = ":".join(parts)
                    st[key] = values
                    return out
    return None


def add_if_exists(doc: Doc) -> Doc | None:
    """The first condition operator without ``IfExists`` gets it."""
    for out, st in _each_statement(doc):
        block = st.get("Condition") or {}
        for op in list(block):
            if not op.endswith("IfExists") and op != "Null":
                block[op + "IfExists"] = block.pop(op)
                return out
    return None


def move_date(doc: Doc) -> Doc | None:
    """A date condition's limit moves half a year."""
    for out, st in _each_statement(doc):
        for op, block in (st.get("Condition") or {}).items():
            if op.startswith("Date"):
                for key, value in block.items():
                    block[key] = str(value).replace("-07-01", "-12-31")
                return out
    return None


def drop_condition_key(doc: Doc) -> Doc | None:
    """The first condition key of the first statement with conditions goes."""
    for out, st in _each_statement(doc):
        cond = st.get("Condition") or {}
        for op, block in list(cond.items()):
            key = next(iter(block))
            del block[key]
            if not block:
                del cond[op]
            if not cond:
                del st["Condition"]
            return out
    return None


MUTATIONS: dict[str, Mutation] = {
    "widen-tag-value": widen_tag_value,
    "add-action": add_action,
    "drop-statement": drop_statement,
    "any-region": any_region,
    "add-if-exists": add_if_exists,
    "move-date": move_date,
    "drop-condition-key": drop_condition_key,
}


def parse(doc: Doc, name: str, kind: str = "identity") -> lspolicy.Policy:
    return lspolicy.parse_policy(doc, source=name, kind=kind)  # type: ignore[arg-type]


def first_witness(result: DiffResult) -> str:
    if not result.differences:
        return result.summary
    d = result.differences[0]
    lines = d.witness.lines()
    sign = "+" if d.direction == "new-access" else "-"
    return f"{sign} {lines[0]}" + (f" [{'; '.join(lines[1:])}]" if lines[1:] else "")


def timed(
    old: list[lspolicy.Policy],
    new: list[lspolicy.Policy],
    repeats: int,
    *,
    boundary: list[lspolicy.Policy] | None = None,
) -> tuple[DiffResult, list[float]]:
    times: list[float] = []
    result: DiffResult | None = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = diff_policies(old, new, boundary_old=boundary, boundary_new=boundary)
        times.append(time.perf_counter() - start)
    assert result is not None
    return result, times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", type=Path, default=DEFAULT_WORKLOAD)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        workload = json.loads((args.workload / "workload.json").read_text(encoding="utf-8"))
        docs: dict[str, Doc] = workload["policies"]
        principals: list[dict[str, Any]] = workload["principals"]
    except (OSError, ValueError, KeyError) as exc:
        print(f"cannot read the workload: {exc}", file=sys.stderr)
        return 2
    report = sys.stderr if args.json else sys.stdout
    rows: list[dict[str, Any]] = []

    def record(kind: str, name: str, mutation: str, result: DiffResult, times: list[float]) -> None:
        row = {
            "kind": kind,
            "pair": name,
            "mutation": mutation,
            "cold_seconds": times[0],
            "warm_seconds": min(times),
            "new_access": len(result.new_access),
            "removed_access": len(result.removed_access),
            "exact": result.exact,
            "witness": first_witness(result),
        }
        rows.append(row)
        print(
            f"{times[0]:7.3f} {min(times):7.3f}  {kind:9} {name:22} {mutation:19} "
            f"+{row['new_access']} -{row['removed_access']}{'' if result.exact else ' ?'}  "
            f"{row['witness']}",
            file=report,
        )

    print(
        "   cold    warm  kind      pair                   mutation            diff  witness",
        file=report,
    )
    for name, doc in docs.items():
        for mutation, mutate in MUTATIONS.items():
            changed = mutate(doc)
            if changed is None:
                continue
            result, times = timed(
                [parse(doc, f"{name}.json")], [parse(changed, f"{name}.json")], args.repeats
            )
            record("policy", name, mutation, result, times)
    for principal in principals:
        attached = principal["policies"]
        boundary_name = principal.get("permissions_boundary")
        boundary = (
            [parse(docs[boundary_name], f"{boundary_name}.json", "boundary")]
            if boundary_name
            else None
        )
        target = attached[0]
        for mutation in ("widen-tag-value", "add-action", "any-region"):
            changed = MUTATIONS[mutation](docs[target])
            if changed is None:
                continue
            old = [parse(docs[n], f"{n}.json") for n in attached]
            new = [parse(changed if n == target else docs[n], f"{n}.json") for n in attached]
            result, times = timed(old, new, args.repeats, boundary=boundary)
            record("principal", principal["arn"].rsplit("/", 1)[-1], mutation, result, times)

    cold = [r["cold_seconds"] for r in rows]
    warm = [r["warm_seconds"] for r in rows]
    undecided = [r for r in rows if not r["exact"]]
    slow = [r for r in rows if r["cold_seconds"] >= TARGET_SECONDS]
    summary = {
        "pairs": len(rows),
        "cold_mean": statistics.fmean(cold),
        "cold_median": statistics.median(cold),
        "cold_max": max(cold),
        "warm_mean": statistics.fmean(warm),
        "warm_median": statistics.median(warm),
        "warm_max": max(warm),
        "with_differences": sum(1 for r in rows if r["new_access"] or r["removed_access"]),
        "undecided": len(undecided),
        "over_target": len(slow),
        "target_seconds": TARGET_SECONDS,
    }
    print(
        f"\n{summary['pairs']} pairs ({summary['with_differences']} with differences, "
        f"{summary['undecided']} undecided): seconds per pair cold mean "
        f"{summary['cold_mean']:.3f} / median {summary['cold_median']:.3f} / max "
        f"{summary['cold_max']:.3f}; warm mean {summary['warm_mean']:.3f} / median "
        f"{summary['warm_median']:.3f} / max {summary['warm_max']:.3f}; "
        f"{summary['over_target']} over the {TARGET_SECONDS:.0f} s target",
        file=report,
    )
    if args.json:
        json.dump({"summary": summary, "pairs": rows}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 1 if slow or undecided else 0


if __name__ == "__main__":
    sys.exit(main())
