"""Benchmark of the CI gate (`lspolicy check`): lint + policy tests over a policy repository.

    python3 bench/gate.py [--quick] [--json]

1. The standard workload's 19 policies (``../shared/bench/workload.json``), linted alone and as
   each principal's set, plus a policy-test file of 200 of its requests with their expected
   decisions (``expected.json``), through `lspolicy.gate.run_gate`.
2. Generated repositories of 100, 300 and 1,000 policies that mix services as real repositories
   do: half are variants of the workload's Lightsail policies (other Sids, tag values, regions),
   half are EC2, S3 and IAM policies (tag conditions, bucket prefixes with policy variables,
   PassRole with iam:PassedToService); a tenth carry a deliberate lint finding (a Lightsail
   StringLike without a wildcard, or a misspelt EC2/S3 action). One policy-test file per 20
   policies (500 cases at 1,000 policies), to show how the gate's time grows. Target: 1,000
   policies and 500 cases in under 10 s on one core (this process is single-threaded), with the
   all-service action catalog loaded (the lint rules read it).
3. Start-up: ``lspolicy check`` on one policy file as a new process (median of several runs),
   beside ``python -c pass`` in the same run as the floor. Target: under 0.5 s.

Times are wall-clock seconds of `run_gate` in this process (median of the repeats), plus the time
to render SARIF and JSON. Speed is printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lspolicy.gate.formats import render  # noqa: E402
from lspolicy.gate.run import run_gate  # noqa: E402
from lspolicy.lint.config import LintConfig  # noqa: E402

WORKLOAD = ROOT.parent / "shared" / "bench"


def _variant(policy: dict[str, Any], rng: random.Random, index: int) -> dict[str, Any]:
    text = json.dumps(policy)
    for old, new in (
        ("dev", rng.choice(["dev", "qa", "test"])),
        ("us-east-1", rng.choice(["us-east-1", "eu-west-1"])),
    ):
        text = text.replace(f'"{old}"', f'"{new}"')
    doc = json.loads(text)
    statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    for j, st in enumerate(statements):
        if "Sid" in st:
            st["Sid"] = f"{st['Sid']}{index}x{j}"
    if index % 10 == 0:  # a finding for the linter to report: StringLike without a wildcard
        statements[0].setdefault("Condition", {}).setdefault("StringLike", {})[
            "aws:ResourceTag/owner"
        ] = "ops"
    return doc


def _other_service(rng: random.Random, index: int, account: str) -> dict[str, Any]:
    """An EC2, S3 or IAM policy of the kinds real repositories hold; every tenth misspells an
    action (a finding for the linter: the action matches no request)."""
    team = rng.choice(["web", "data", "search", "platform"])
    region = rng.choice(["us-east-1", "eu-west-1", "us-west-2"])
    kind = index % 3
    statements: list[dict[str, Any]]
    if kind == 0:
        statements = [
            {
                "Sid": f"OperateTeamInstances{index}",
                "Effect": "Allow",
                "Action": ["ec2:StartInstances", "ec2:StopInstances", "ec2:RebootInstances"],
                "Resource": f"arn:aws:ec2:{region}:{account}:instance/*",
                "Condition": {"StringEquals": {"aws:ResourceTag/team": team}},
            },
            {
                "Sid": f"Describe{index}",
                "Effect": "Allow",
                "Action": "ec2:Describe*",
                "Resource": "*",
            },
        ]
        typo = ("ec2:StopInstances", "ec2:StopInstancez")
    elif kind == 1:
        bucket = f"{team}-artifacts-{index}"
        statements = [
            {
                "Sid": f"ReadWriteObjects{index}",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"arn:aws:s3:::{bucket}/*",
            },
            {
                "Sid": f"ListOwnPrefix{index}",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}},
            },
        ]
        typo = ("s3:GetObject", "s3:GetObjekt")
    else:
        statements = [
            {
                "Sid": f"PassAppRole{index}",
                "Effect": "Allow",
                "Action": ["iam:GetRole", "iam:PassRole"],
                "Resource": f"arn:aws:iam::{account}:role/app-{team}-{index}",
                "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
            }
        ]
        typo = ("iam:GetRole", "iam:GetRol")
    if index % 10 == 0:
        actions = statements[0]["Action"]
        statements[0]["Action"] = [typo[1] if a == typo[0] else a for a in actions]
    return {"Version": "2012-10-17", "Statement": statements}


def _write_repo(
    root: Path, workload: dict[str, Any], expected: dict[str, Any], count: int, seed: int
) -> None:
    rng = random.Random(seed)
    names = sorted(workload["policies"])
    files: list[str] = []
    for i in range(count):
        base = names[i % len(names)]
        if i % 2:
            name = f"p{i:04d}-other.json"
            doc = _other_service(rng, i // 2, workload["account"])
        else:
            name = f"p{i:04d}-{base}.json"
            doc = _variant(workload["policies"][base], rng, i // 2)
        (root / name).write_text(json.dumps(doc, indent=2))
        files.append(name)
    instances = {
        f"i{k}": {
            "id": r["arn"].rsplit("/", 1)[1],
            "region": r["region"],
            "account": workload["account"],
            "tags": r["tags"],
        }
        for k, r in enumerate(workload["resources"][:40])
    }
    for t in range(max(1, count // 20)):
        group = files[t * 20 : t * 20 + 20] or files[:20]
        principals = {
            f"u{k}": {
                "arn": f"arn:aws:iam::{workload['account']}:user/u{t}-{k}",
                "tags": {"team": "web"},
                "policies": group[k::5] or group[:1],
            }
            for k in range(5)
        }
        cases = [
            {
                "name": f"case {t}-{c}",
                "principal": f"u{c % 5}",
                "instance": f"i{c % 40}",
                "expect": "denied" if c % 2 else "allowed",
            }
            for c in range(10)
        ]
        doc = {"principals": principals, "instances": instances, "cases": cases}
        (root / f"t{t:03d}.lspolicy-test.yaml").write_text(json.dumps(doc))


def _standard(root: Path, workload: dict[str, Any], expected: dict[str, Any]) -> None:
    for name, policy in workload["policies"].items():
        (root / f"{name}.json").write_text(json.dumps(policy, indent=2))
    principals = {}
    for k, p in enumerate(workload["principals"]):
        entry: dict[str, Any] = {
            "arn": p["arn"],
            "tags": p["tags"],
            "policies": [f"{n}.json" for n in p["policies"]],
        }
        if p["permissions_boundary"]:
            entry["boundary"] = [f"{p['permissions_boundary']}.json"]
        principals[f"p{k}"] = entry
    by_arn = {p["arn"]: f"p{k}" for k, p in enumerate(workload["principals"])}
    resources = {r["arn"]: r for r in workload["resources"]}
    instances: dict[str, Any] = {}
    cases = []
    for i, req in enumerate(workload["requests"][:200]):
        r = resources[req["resource"]]
        inst = f"i{len(instances)}"
        instances[inst] = {
            "id": r["arn"].rsplit("/", 1)[1],
            "region": r["region"],
            "account": workload["account"],
            "tags": r["tags"],
        }
        want = "allowed" if expected["decisions"][i] == "Allow" else "denied"
        cases.append(
            {
                "name": f"request {i}",
                "principal": by_arn[req["principal"]],
                "action": req["action"],
                "instance": inst,
                "context": req["context"],
                "expect": want,
            }
        )
    doc = {"principals": principals, "instances": instances, "cases": cases}
    (root / "workload.lspolicy-test.yaml").write_text(json.dumps(doc))


def _time_gate(root: Path, repeats: int) -> dict[str, Any]:
    config = LintConfig()
    times: list[float] = []
    report = None
    for _ in range(repeats):
        start = time.perf_counter()
        report = run_gate([root], config=config)
        times.append(time.perf_counter() - start)
    assert report is not None
    start = time.perf_counter()
    render(report, "sarif")
    render(report, "json")
    rendering = time.perf_counter() - start
    return {
        "policies": len(report.policy_files),
        "findings": len(report.active_findings),
        "cases": len(report.cases),
        "failed_cases": len(report.failed_cases),
        "seconds": statistics.median(times),
        "render_seconds": rendering,
    }


def _startup(policy: Path, runs: int) -> dict[str, float]:
    """Median wall time of ``lspolicy check POLICY`` as a new process, and of ``python -c pass``
    (the interpreter's own start, the floor) measured in the same run."""
    script = Path(sys.executable).with_name("lspolicy")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "lspolicy.cli"]

    def median(argv: list[str]) -> float:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=False)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    floor = median([sys.executable, "-c", "pass"])
    check = median([*command, "check", str(policy)])
    return {"check_seconds": check, "python_seconds": floor}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="one repeat, repositories up to 300 policies"
    )
    parser.add_argument("--json", action="store_true", help="figures as JSON on stdout")
    args = parser.parse_args(argv)
    workload = json.loads((WORKLOAD / "workload.json").read_text())
    expected = json.loads((WORKLOAD / "expected.json").read_text())
    repeats = 1 if args.quick else 3
    sizes = (100, 300) if args.quick else (100, 300, 1000)
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        std = Path(tmp) / "standard"
        std.mkdir()
        _standard(std, workload, expected)
        figures["standard"] = _time_gate(std, repeats)
        figures["startup"] = _startup(
            std / f"{sorted(workload['policies'])[0]}.json", 3 if args.quick else 7
        )
        for size in sizes:
            repo = Path(tmp) / f"repo{size}"
            repo.mkdir()
            _write_repo(repo, workload, expected, size, seed=size)
            figures[f"generated_{size}"] = _time_gate(repo, repeats)
    out = sys.stderr if args.json else sys.stdout
    std_fig = figures["standard"]
    print(
        f"standard workload: {std_fig['policies']} policies, {std_fig['cases']} policy-test cases "
        f"({std_fig['failed_cases']} failed), {std_fig['findings']} findings: {std_fig['seconds']:.2f} s",
        file=out,
    )
    if std_fig["failed_cases"]:
        print(
            "  the gate disagrees with expected.json on some cases: a bug to investigate", file=out
        )
    up = figures["startup"]
    print(
        f"start-up: `lspolicy check` on one policy {up['check_seconds']:.2f} s (median, new process; "
        f"`python -c pass` {up['python_seconds']:.2f} s, x{up['check_seconds'] / up['python_seconds']:.1f}); "
        f"target 0.5 s: {'within' if up['check_seconds'] < 0.5 else 'OVER'}",
        file=out,
    )
    print("generated mixed-service repositories (lint + policy tests, one process):", file=out)
    previous = None
    for size in sizes:
        fig = figures[f"generated_{size}"]
        growth = ""
        if previous is not None:
            growth = (
                f"  x{fig['seconds'] / previous[1]:.2f} time for x{size / previous[0]:.2f} policies"
            )
        print(
            f"  {size:5d} policies, {fig['cases']:4d} cases, {fig['findings']:4d} findings: "
            f"{fig['seconds']:6.2f} s (+{fig['render_seconds']:.2f} s SARIF and JSON){growth}",
            file=out,
        )
        previous = (size, fig["seconds"])
    if 1000 in sizes:
        verdict = "within" if figures["generated_1000"]["seconds"] < 10 else "OVER"
        print(f"  1,000 policies: {verdict} the 10 s target", file=out)
    if args.json:
        json.dump(figures, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 1 if std_fig["failed_cases"] else 0


if __name__ == "__main__":
    sys.exit(main())
