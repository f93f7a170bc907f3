"""Worst inputs of each kind, through the real command: wall time and peak memory per run.

    python3 bench/hardening_inputs.py

Each case is one ``lspolicy`` process on a small hostile input (an alias bomb, a FIFO, a gzip
bomb, a pathological request...). For each it prints the exit status (all must be 2: refused,
or 0/1 where the input is legal and merely expensive), the wall time and the process's peak
resident memory (``ru_maxrss`` from ``wait4``), beside ``lspolicy --version`` measured in the
same run as the floor (start-up and imports). Targets (issue 10): each under 1 s above the
floor and under 200 MB. Figures are printed, never asserted.

The semantic diff is the one case whose cost is not bounded by the input's size but by its time
budget (``--timeout``, default 30 s): it runs here with ``--timeout 0.5``, so it is bounded like
the others. It exits 1, not 2: differences found before the budget ran out are reported (exit 1,
as ``diff`` exits for any difference), the questions left are listed as undecided; a pair with no
difference found and some question undecided exits 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORLD = ROOT / "policies" / "world.yaml"
INTENT = ROOT / "policies" / "intents" / "owner-stop-start-own.yaml"

BOMB = "".join(
    f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9 if prev else ['"lol"'] * 9) + "]\n"
    for prev, name in zip(["", "a", "b", "c", "d", "e", "f", "g"], "abcdefgh", strict=True)
)


def command() -> list[str]:
    script = Path(sys.executable).with_name("lspolicy")
    return [str(script)] if script.exists() else [sys.executable, "-m", "lspolicy.cli"]


def measure(argv: list[str], cwd: Path) -> tuple[int, float, float]:
    """Exit status, wall seconds and peak RSS (MB) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return os.waitstatus_to_exitcode(status), wall, usage.ru_maxrss / 1024


def cases(d: Path) -> list[tuple[str, Callable[[], list[str]]]]:
    def write(name: str, data: str | bytes) -> Path:
        path = d / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        return path

    def gzip_bomb() -> Path:
        packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        chunk = bytes(1 << 20)
        body = b"".join(packer.compress(chunk) for _ in range(300)) + packer.flush()
        return write("bomb.json.gz", body)

    def fifo() -> Path:
        path = d / "fifo.json"
        if not path.exists():
            os.mkfifo(path)
        return path

    def big_request() -> Path:
        policy = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "lightsail:*", "Resource": "*"}}  # fmt: skip
        request = {
            "PolicyInputList": [json.dumps(policy)],
            "ActionNames": [f"lightsail:StopInstance{i}" for i in range(10_000)],
            "ResourceArns": [f"arn:aws:lightsail:us-east-1:111122223333:Instance/{i}" for i in range(10_000)],
            "MaxItems": 1,
        }  # fmt: skip
        return write("big-request.json", json.dumps(request))

    def glob_request() -> Path:
        pattern = "*" + "a?" * 600 + "b*"
        policy = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "lightsail:StopInstance", "Resource": "*", "Condition": {"StringLike": {"aws:ResourceTag/x": pattern}}}}  # fmt: skip
        request = {
            "PolicyInputList": [json.dumps(policy)],
            "ActionNames": ["lightsail:StopInstance"],
            "ContextEntries": [{"ContextKeyName": "aws:ResourceTag/x", "ContextKeyValues": ["a" * 10_000], "ContextKeyType": "string"}],
        }  # fmt: skip
        return write("glob-request.json", json.dumps(request))

    def heavy(seed: int) -> Path:
        import random  # noqa: PLC0415

        rng = random.Random(seed)

        def pat() -> str:
            return "".join(
                rng.choice(["a", "b", "*", "?", "ab*", "*b?a"]) for _ in range(rng.randint(4, 9))
            )

        sts = [
            {"Sid": f"S{i}", "Effect": rng.choice(["Allow", "Allow", "Deny"]),
             "Action": [f"lightsail:{rng.choice(['Stop', 'Start', 'Get', 'Reboot'])}*"],
             "Resource": [f"arn:aws:lightsail:*:*:Instance/{pat()}" for _ in range(3)],
             "Condition": {"StringLike": {f"aws:ResourceTag/{rng.choice(['env', 'team'])}": [pat() for _ in range(3)],
                                          "aws:PrincipalTag/team": [pat() for _ in range(2)]}}}
            for i in range(14)
        ]  # fmt: skip
        return write(f"heavy{seed}.json", json.dumps({"Version": "2012-10-17", "Statement": sts}))

    lsp = command()
    return [
        ("alias bomb as a world (serve)", lambda: [*lsp, "serve", "--world", str(write("w.yaml", BOMB)), "--port", "0"]),
        ("alias bomb as an intent (generate)", lambda: [*lsp, "generate", str(write("i.yaml", BOMB)), "--out", str(d / "o")]),
        ("alias bomb as a test file", lambda: [*lsp, "test", str(write("b.lspolicy-test.yaml", BOMB))]),
        ("alias bomb as a CloudFormation template", lambda: [*lsp, "check", str(write("t.yaml", "AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\nMetadata:\n" + "".join("  " + line + "\n" for line in BOMB.splitlines())))]),
        ("FIFO as a policy", lambda: [*lsp, "check", str(fifo())]),
        ("/dev/zero as a policy", lambda: [*lsp, "check", "/dev/zero"]),
        ("/dev/zero as a world", lambda: [*lsp, "serve", "--world", "/dev/zero", "--port", "0"]),
        ("2 MB gzip inflating to 300 MiB as a trail", lambda: [*lsp, "generate", "--from-trail", str(gzip_bomb()), "--world", str(WORLD), "--out", str(d / "o")]),
        ("10^4 actions x 10^4 ARNs, MaxItems 1 (simulate)", lambda: [*lsp, "simulate", str(big_request())]),
        ("*a?a?...b* (1,203 chars) on 10,000 chars (simulate)", lambda: [*lsp, "simulate", str(glob_request())]),
        ("policy nested 100,000 deep", lambda: [*lsp, "check", str(write("deep.json", "[" * 100_000 + "]" * 100_000))]),
        ("5,000-digit number in a world", lambda: [*lsp, "serve", "--world", str(write("n.yaml", "transition_seconds: " + "9" * 5000)), "--port", "0"]),
        ("two 5 KB wildcard-heavy policies, diff --timeout 0.5 (budget)", lambda: [*lsp, "diff", str(heavy(1)), str(heavy(2)), "--timeout", "0.5"]),
    ]  # fmt: skip


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        floors = [measure([*command(), "--version"], d) for _ in range(3)]
        floor = sorted(f[1] for f in floors)[1]  # the median of three: the machine is noisy
        floor_mb = max(f[2] for f in floors)
        print(f"floor: lspolicy --version {floor:.2f} s (median of 3), {floor_mb:.0f} MB")
        worst_t = worst_m = 0.0
        for name, make in cases(d):
            code, wall, mb = measure(make(), d)
            worst_t, worst_m = max(worst_t, wall - floor), max(worst_m, mb)
            print(f"  {name:<55} exit {code}  {wall:6.2f} s (+{wall - floor:5.2f})  {mb:6.0f} MB")
        verdict = "within" if worst_t < 1 and worst_m < 200 else "OVER"
        print(f"worst: +{worst_t:.2f} s above the floor, {worst_m:.0f} MB ({verdict} 1 s / 200 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
