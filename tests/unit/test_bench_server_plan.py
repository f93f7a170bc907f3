"""bench/server.py's call plans (issue 12): the realistic default names a new instance in every
call of a scenario, so the server's memos (valid body by bytes, decision per principal, instance
and second, lookup answer by name) never answer a timed call from an earlier one; the
``--repeat-one`` best case repeats the one chosen call.

What a call costs the server is not an AWS behaviour: the Lightsail API reference is silent on
it. The instance states a stop and a start go between are Lightsail's ("StopInstance": a
running instance; "StartInstance": a stopped one; Amazon Lightsail API Reference,
https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html and
API_StartInstance.html), which is what the cycle relies on.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lspolicy.lightsail.context import instance_request
from lspolicy.server.world import load_world

ROOT = Path(__file__).resolve().parents[2]
WORKLOAD = ROOT.parent / "shared" / "bench"
pytestmark = pytest.mark.skipif(
    not (WORKLOAD / "workload.json").exists(), reason="no ../shared/bench workload"
)


@cache
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_server", ROOT / "bench" / "server.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_server"] = module
    spec.loader.exec_module(module)
    return module


def _plan(tmp_path: Path, *, repeat_one: bool) -> tuple[Any, Any]:
    b = bench()
    path, creds = b.write_world(WORKLOAD, tmp_path)
    world = b.choose_calls(path, creds)
    return b.plan_calls(world, cycle_calls=41, other_calls=23, repeat_one=repeat_one)


def test_realistic_plan_names_a_new_instance_in_every_call(tmp_path: Path) -> None:
    world, plan = _plan(tmp_path, repeat_one=False)
    assert not plan.repeat_one
    assert (len(plan.cycle), len(plan.reads), len(plan.denials)) == (41, 23, 23)
    cycle = [(name, region) for _, name, region in plan.cycle]
    # no instance twice within a scenario, and none shared between scenarios (the body memo is
    # per account and operation: the denied principal is in the caller's account)
    everything = cycle + list(plan.reads) + list(plan.denials)
    assert len(set(everything)) == len(everything) == 41 + 23 + 23
    assert plan.added == len(everything)
    # the cycle alternates, stopping an instance the world starts running and starting one
    # it starts stopped
    ops = [op for op, _, _ in plan.cycle]
    assert ops == ["StopInstance", "StartInstance"] * 20 + ["StopInstance"]
    loaded = load_world(world.path)
    assert world.instances == len(loaded.instances)
    states = {(s.instance.name, s.instance.region): s.state for s in loaded.instances}
    for op, name, region in plan.cycle:
        assert states[name, region] == ("running" if op == "StopInstance" else "stopped")
    assert plan.stopped == {(n, r) for op, n, r in plan.cycle if op == "StartInstance"}
    assert all(states[key] == "running" for key in plan.reads)
    # the engine answers each scenario's calls as the scenario expects
    by_key = {p.access_key_id: p for p in loaded.principals.values()}
    caller, denied = by_key[world.caller_key], by_key[world.denied_key]
    specs = {(s.instance.name, s.instance.region): s.instance for s in loaded.instances}
    for key, who, action, want in (
        (cycle[0], caller, "lightsail:StopInstance", True),
        (cycle[1], caller, "lightsail:StartInstance", True),
        (plan.denials[0], denied, "lightsail:StopInstance", False),
    ):
        inst = specs[key]
        request = instance_request(
            action, inst, who.identity, context=bench().server_context(inst.region)
        )
        assert who.policies.is_allowed(request) is want
    assert sum(plan.denied_kinds.values()) == 23
    assert plan.regions == {r for _, r in everything}


def test_repeat_one_plan_is_the_same_call(tmp_path: Path) -> None:
    world, plan = _plan(tmp_path, repeat_one=True)
    one = (world.instance, world.region)
    assert plan.repeat_one and plan.added == 0 and not plan.stopped
    assert {(n, r) for _, n, r in plan.cycle} == {one}
    assert set(plan.reads) == set(plan.denials) == {one}
    assert [op for op, _, _ in plan.cycle[:4]] == ["StopInstance", "StartInstance"] * 2


def test_floor_reply_names_the_instance_and_region() -> None:
    """The floor answers about the instance of the request (same stream, comparable work)."""
    replies = bench().canned_replies("arn:aws:iam::111122223333:user/dave")
    status, text = replies["StartInstance"]
    op = json.loads(text.format(id="x", name="bench-run-00001", region="us-west-2", now=1.5))
    (only,) = op["operations"]
    assert status == 200
    assert only["resourceName"] == "bench-run-00001"
    assert only["location"] == {"availabilityZone": "us-west-2a", "regionName": "us-west-2"}
    assert only["operationType"] == "StartInstance" and only["createdAt"] == 1.5
    status, text = replies["AccessDenied"]
    assert status == 400
    assert json.loads(text.format(id="", name="", region="", now=0))["__type"] == (
        "AccessDeniedException"
    )
