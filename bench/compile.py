"""Compile cost at organization scale: milliseconds per attachment at 40,000 attachments.

Usage (from the repository root)::

    python3 bench/compile.py                       # 40,000 attachments
    python3 bench/compile.py --attachments 10000

Principals as the harder workload draws them (`bench/harder.py`: 10-50 identity policies from a
pool of 400 documents, 40% with a boundary, session policies, three SCP levels), as many as it
takes to reach ``--attachments`` identity-policy attachments. Timed, in CPU seconds, collector on
(as in a real program):

- parsing each distinct document once (``parse_policy``; a loader keeps one model per document);
- building every principal's ``PolicySet`` (the attachments);
- the first decision of every principal for ``lightsail:StopInstance``, which compiles that
  action's plan into a decision function (lazily, once per policy set and action).

Memory: the process's peak resident set size (``ru_maxrss``) after all of it, and its growth
over the baseline before compiling. The targets from issue 12: <= 0.05 ms per attachment,
<= 500 MB.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import harder  # noqa: E402

import lspolicy  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/compile.py", description=__doc__.split("\n")[0])
    parser.add_argument("--attachments", type=int, default=40_000)
    parser.add_argument("--seed", type=int, default=harder.SEED)
    args = parser.parse_args(argv)
    work = harder.generate(args.seed, requests=0)
    rng = random.Random(args.seed)
    # enough principals for the attachments: the workload's own, then more drawn alike
    principals = list(work.principals)
    identity = [n for n in work.policies if n.startswith("identity-")]
    while sum(len(p.policies) for p in principals) < args.attachments:
        base = rng.choice(work.principals)
        principals.append(
            harder.Principal(
                arn=f"{base.arn}-{len(principals)}",
                account=base.account,
                kind=base.kind,
                name=base.name,
                tags=base.tags,
                policies=tuple(rng.sample(identity, rng.randint(10, 50))),
                boundary=base.boundary,
                session=base.session,
            )
        )
    attachments = sum(len(p.policies) for p in principals)
    texts = {n: json.dumps(d) for n, d in work.policies.items()}
    before = peak_mb()

    start = time.process_time()
    parsed = {n: lspolicy.parse_policy(t, source=n) for n, t in texts.items()}
    parse_s = time.process_time() - start

    start = time.process_time()
    sets = [
        lspolicy.PolicySet(
            [parsed[n] for n in p.policies],
            boundary=[parsed[p.boundary]] if p.boundary else None,
            session=[parsed[p.session]] if p.session else None,
            scps=[[parsed[n] for n in level] for level in work.scps_of(p)],
        )
        for p in principals
    ]
    build_s = time.process_time() - start

    start = time.process_time()
    for p, ps in zip(principals, sets, strict=True):
        ps.is_allowed(
            lspolicy.Request(
                "lightsail:StopInstance",
                f"arn:aws:lightsail:us-east-1:{p.account}:Instance/x",
                p.context(),
                caller_arn=p.arn,
            )
        )
    plan_s = time.process_time() - start
    after = peak_mb()

    per = 1e3 / attachments
    print(f"bench/compile.py: {len(principals):,} principals, {attachments:,} identity attachments")
    print(f"  parse {len(texts)} distinct documents  {parse_s * 1e3:9,.0f} ms")
    print(
        f"  build every PolicySet             {build_s * 1e3:9,.0f} ms  {build_s * per:.4f} ms/attachment"
    )
    print(
        f"  first StopInstance per principal  {plan_s * 1e3:9,.0f} ms  {plan_s * per:.4f} ms/attachment"
    )
    total = build_s + plan_s
    print(
        f"  build + plans                     {total * 1e3:9,.0f} ms  {total * per:.4f} ms/attachment"
    )
    print(
        f"  peak RSS {after:,.0f} MB (before compiling {before:,.0f} MB, growth {after - before:,.0f} MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
