"""No timing oracle: for a caller who may not act, a forbidden existing instance and a missing
name cost the server the same work, so their answer times cannot be told apart.

The answers are already identical (AccessDeniedException, same message): Lightsail ARNs carry
the instance id, so a caller can only name an instance, and a denial must not say whether the
name exists. https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html
and https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlightsail.html

The statistic: Mann-Whitney U between the two kinds' handler times (in-process, the two kinds
interleaved so that drift in the machine's speed hits both alike), as a normal z-score. With
the old code (a missing name skipped the instance evaluation) |z| was far above the bound.
"""

from __future__ import annotations

import gc
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from lspolicy.server.app import Service
from lspolicy.server.auth import ReceivedRequest
from lspolicy.server.state import StateStore
from lspolicy.server.world import load_world

WORLD = Path(__file__).resolve().parents[2] / "policies" / "world.yaml"
URL = "http://127.0.0.1:8787"
SAMPLES = 600
"""Per kind. The old code's z at this size was about 15 (see the commit message)."""
BOUND = 5.0
"""|z| below this passes. With no difference |z| >= 5 has probability about 6e-7; at SAMPLES per
kind it bounds P(forbidden slower than missing) to 0.5 +/- 0.083 (the spread of U / n^2 is
sqrt((2n + 1) / 12) / n = 0.0167), so a shift of about 0.3 standard deviations of the handler
time fails (for normally distributed times). See bench/hardening.py, which prints the same statistic."""


def mann_whitney_z(a: Sequence[float], b: Sequence[float]) -> float:
    """The normal approximation of the Mann-Whitney U statistic, ties averaged."""
    pooled = sorted([(x, 0) for x in a] + [(x, 1) for x in b])
    ranks = [0.0] * len(pooled)
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        i = j + 1
    rank_a = sum(r for r, (_, g) in zip(ranks, pooled, strict=True) if g == 0)
    n1, n2 = len(a), len(b)
    u = rank_a - n1 * (n1 + 1) / 2
    mean = n1 * n2 / 2
    sd = math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
    return (u - mean) / sd


def signed(who: str, name: str) -> ReceivedRequest:
    world = load_world(WORLD)
    p = next(x for x in world.principals.values() if x.name == who)
    body = json.dumps({"instanceName": name}).encode()
    request = AWSRequest(
        method="POST",
        url=URL + "/",
        data=body,
        headers={
            "Host": urlsplit(URL).netloc,
            "X-Amz-Target": "Lightsail_20161128.StopInstance",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    SigV4Auth(Credentials(p.access_key_id, p.secret_access_key), "lightsail", "us-east-1").add_auth(
        request
    )
    headers = [(k, str(v)) for k, v in request.headers.items()]
    return ReceivedRequest.from_target("POST", "/", headers, body)


def timing_z(samples: int = SAMPLES) -> tuple[float, float, float]:
    """(z, median forbidden µs, median missing µs) for alice stopping another team's instance
    (data-dev) and a name that does not exist (same length)."""
    service = Service(load_world(WORLD), StateStore(":memory:"))
    forbidden, missing = signed("alice", "data-dev"), signed("alice", "nope-dev")
    answers = {service.handle(r).body.split(b'"message"')[1] for r in (forbidden, missing)}
    assert len(answers) == 1, answers  # the same answer, so only time could tell them apart
    for _ in range(50):  # warm caches
        service.handle(forbidden)
        service.handle(missing)
    times: dict[int, list[float]] = {0: [], 1: []}
    clock = time.perf_counter_ns
    gc.disable()
    try:
        for i in range(2 * samples):
            kind = (i + i // 2) % 2  # 0 1 1 0 0 1 1 0 ...: neither kind always goes first
            request = forbidden if kind == 0 else missing
            start = clock()
            service.handle(request)
            times[kind].append((clock() - start) / 1000)
    finally:
        gc.enable()
        service.store.close()
    a, b = sorted(times[0]), sorted(times[1])
    return mann_whitney_z(a, b), a[len(a) // 2], b[len(b) // 2]


def test_forbidden_and_missing_instances_take_the_same_time() -> None:
    """A rank test over interleaved handler timings cannot tell a forbidden existing instance
    from a missing one at a fixed sample size.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    z, forbidden, missing = timing_z()
    assert abs(z) < BOUND, f"z={z:.1f}: forbidden {forbidden:.0f} µs, missing {missing:.0f} µs"


def test_the_rank_statistic_sees_a_real_difference() -> None:
    """The control: the same statistic on two samples that differ by a shift is far from 0.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    a = [float(i % 97) for i in range(SAMPLES)]
    assert abs(mann_whitney_z(a, a)) < 1e-9
    assert mann_whitney_z(a, [x + 10 for x in a]) < -BOUND


def test_the_log_keeps_null_for_a_missing_name_and_the_values_for_a_forbidden_one() -> None:
    """Equal work must not change what is logged: a missing name's denial stores no resource
    ARN and no tags (NULL, bound as '' and turned into NULL by the insert), a forbidden
    instance's stores its ARN and tags; both are denied with the same answer.
    https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"""
    service = Service(load_world(WORLD), StateStore(":memory:"))
    try:
        for request in (signed("alice", "data-dev"), signed("alice", "nope-dev")):
            assert service.handle(request).status == 400
        rows = service.store.request_log()
    finally:
        service.store.close()
    forbidden, missing = rows[-2], rows[-1]
    assert forbidden["decision"] == missing["decision"] == "denied"
    assert forbidden["instance_name"] == "data-dev" and missing["instance_name"] == "nope-dev"
    assert str(forbidden["resource_arn"]).startswith("arn:aws:lightsail:")
    assert forbidden["tags"] not in (None, "")
    assert missing["resource_arn"] is None and missing["tags"] is None
