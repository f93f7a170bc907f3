"""Does the principalmapper adapter answer as principalmapper itself? (bench extra needed)

``bench/peers.py`` times principalmapper through ``policy_has_matching_statement``, combining
the layers in ``local_check_authorization_full``'s order, so that the timed call is the peer's
own matching and nothing else (the full function deep-copies the context and infers keys on
every call). This checks that combination against the full function itself, on the harder
workload's requests, with every layer the workload has (identity policies, SCP groups, session
policy, boundary). Usage (from the repository root)::

    python3 bench/peer_fidelity.py [--requests 3000]

Exit 0 when every answer is the same, 1 otherwise (the first differences are printed), 2 when
no request would be compared.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import engine
import peers

_NO_TRUST = {"Version": "2012-10-17", "Statement": []}


def _node_arn(arn: str) -> str:
    """principalmapper's nodes are users and roles: an assumed-role session as its role."""
    if ":assumed-role/" not in arn:
        return arn
    return f"arn:aws:iam::{arn.split(':')[4]}:role/{arn.split('/')[1]}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/peer_fidelity.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args(argv)
    # principalmapper imports only once the shim is applied (`peers.apply_principalmapper_shim`)
    peers.apply_principalmapper_shim()
    from principalmapper.common import Node  # noqa: PLC0415
    from principalmapper.querying.query_interface import (  # noqa: PLC0415
        local_check_authorization_full,
    )
    from principalmapper.util.case_insensitive_dict import CaseInsensitiveDict  # noqa: PLC0415

    if args.requests < 1:
        print(
            "bench/peer_fidelity.py: --requests must be at least 1 (nothing compared is no answer)"
        )
        return 2
    case = engine.load_harder(args.requests)
    adapter = peers.PrincipalmapperAdapter()
    adapter.compile(case.policy_texts, case.peer_principals)
    requests = [
        peers.Request(
            n, p, action, case.arns[i], {**case.principal_ctx[p], **case.instance_ctx[i], **extra}
        )
        for n, (p, action, i, extra) in enumerate(case.requests)
    ]
    nodes = []
    for n, (mine, given) in enumerate(zip(adapter.principals, case.peer_principals, strict=True)):
        arn = _node_arn(given.arn)
        trust = _NO_TRUST if ":role/" in arn else None
        nodes.append(Node(arn, f"AIDA{n}", mine.identity, [], trust, None, 0, False, False,
                          mine.boundary, False, dict(given.tags)))  # fmt: skip
    differ = []
    for (fn, call), r in zip(adapter.prepare(requests), requests, strict=True):
        mine = adapter.principals[r.principal]
        full = local_check_authorization_full(
            nodes[r.principal],
            r.action,
            r.resource,
            CaseInsensitiveDict(r.context),
            service_control_policy_groups=mine.scps or None,
            session_policy=mine.session,
        )
        if bool(full) != bool(fn(*call)):
            differ.append(r)
    print(
        f"principalmapper adapter vs local_check_authorization_full: "
        f"{len(requests) - len(differ):,}/{len(requests):,} the same"
    )
    for r in differ[:5]:
        print(f"  differs: {r.action} {r.resource} (principal {r.principal})")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
