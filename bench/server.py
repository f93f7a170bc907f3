"""Endpoint benchmark: signed boto3 calls against `lspolicy serve`, and against a trivial floor.

Usage (from the repository root)::

    python3 bench/server.py                 # full run (2,000 timed calls per scenario)
    python3 bench/server.py --quick         # 300 timed calls per scenario
    python3 bench/server.py --json          # JSON figures on stdout, the human report on stderr
    python3 bench/server.py --workload DIR  # another copy of workload.json
    python3 bench/server.py --compare REF   # also serve git revision REF's lspolicy, same rounds
                                            # (repeatable)
    python3 bench/server.py --stages        # also time each step of a call inside the servers
    python3 bench/server.py --repeat-one    # the best case: the same call repeated

The world is the standard workload (its 19 policies, 20 principals and 2,000 instances) written
as an lspolicy world file. By default every timed call names an instance no earlier call of its
scenario named (instances added to the world for the run, copies of workload instances the
engine answers as the scenario needs), as a real client's calls rarely repeat; with
``--repeat-one`` every call of a scenario is on one instance, which the server's memos answer. Each server runs in a subprocess of its own: `lspolicy serve` with
``--state :memory:``, `lspolicy serve` with a SQLite file (WAL), and the floor — a stdlib
``http.server`` on HTTP/1.1 keep-alive that answers every call with a canned valid reply and does
nothing else. The same boto3 client set-up (SigV4 signing, one kept-alive connection, no
retries) talks to all three, so lspolicy's overhead is its latency above the floor's.

Exit status: 0 when every call was answered as expected and the file state holds exactly the
operations and log entries the calls made; 1 when anything disagrees (an unexpected answer or
error, a wrong state); 2 when the workload cannot be read or a server does not start.
"""

from __future__ import annotations

import argparse
import email.utils
import gc
import json
import math
import os
import platform
import re
import secrets
import select
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WORKLOAD = REPO_ROOT.parent / "shared" / "bench"

# Benchmark this checkout's lspolicy, not whatever else is installed (the server subprocesses get
# the same path through PYTHONPATH).
sys.path.insert(0, str(REPO_ROOT))

from lspolicy.errors import LspolicyError  # noqa: E402

TARGET_PREFIX = "Lightsail_20161128."
JSON_TYPE = "application/x-amz-json-1.1"
OVERHEAD_TARGET_MS = 1.0
START_TIMEOUT = 60.0
SCENARIOS = ("StopInstance", "StartInstance", "GetInstanceState", "AccessDenied")
SCENARIO_TITLES = {
    "StopInstance": "StopInstance (stop/start cycle)",
    "StartInstance": "StartInstance (stop/start cycle)",
    "GetInstanceState": "GetInstanceState",
    "AccessDenied": "StopInstance denied (AccessDenied)",
}
ACTIONS = ("lightsail:StopInstance", "lightsail:StartInstance", "lightsail:GetInstanceState")


class BenchError(Exception):
    """The benchmark cannot run: workload unreadable, a server that does not start."""


class Disagreement(Exception):
    """A call was answered otherwise than expected, or the state is not what the calls made."""


# --------------------------------------------------------------------------------------------
# the world: the standard workload as an lspolicy world file
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchWorld:
    """The world file written for this run, and the calls chosen on it."""

    path: Path
    policies: int
    principals: int
    instances: int
    caller: str  # allowed to stop, start and read the instance
    caller_key: str
    caller_secret: str
    caller_policies: list[str]
    denied: str  # denied StopInstance on the instance
    denied_key: str
    denied_secret: str
    denied_policies: list[str]
    denied_kind: str
    denied_by: list[str]
    instance: str
    instance_arn: str
    region: str
    instance_tags: dict[str, str]


def write_world(workload_dir: Path, out: Path) -> tuple[Path, dict[str, Any]]:
    """Write the workload's policies as files and a world file naming them; returns its path and
    the credentials by principal ARN."""
    try:
        data = json.loads((workload_dir / "workload.json").read_text(encoding="utf-8"))
        policies: dict[str, Any] = data["policies"]
        principals: list[dict[str, Any]] = data["principals"]
        resources: list[dict[str, Any]] = data["resources"]
        account: str = data["account"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BenchError(f"cannot read {workload_dir / 'workload.json'}: {exc}") from None
    (out / "policies").mkdir()
    for name, document in policies.items():
        (out / "policies" / f"{name}.json").write_text(json.dumps(document, indent=2))
    creds: dict[str, Any] = {}
    world_principals = []
    for i, p in enumerate(principals, 1):
        key = f"AKIABENCH{i:011d}"
        secret = secrets.token_urlsafe(30)
        creds[p["arn"]] = {"key": key, "secret": secret, "policies": list(p["policies"])}
        entry: dict[str, Any] = {
            "name": p["name"],
            "arn": p["arn"],
            "access_key_id": key,
            "secret_access_key": secret,
            "tags": p.get("tags") or {},
            "policies": [f"policies/{n}.json" for n in p["policies"]],
        }
        if p.get("permissions_boundary"):
            entry["boundary"] = f"policies/{p['permissions_boundary']}.json"
        world_principals.append(entry)
    instances = []
    for i, r in enumerate(resources, 1):
        instances.append(
            {
                "name": f"i-{i:04d}",
                "id": r["arn"].rsplit("/", 1)[-1],
                "region": r["region"],
                "tags": r.get("tags") or {},
            }
        )
    world = {
        "transition_seconds": 0,
        "accounts": [{"id": account, "regions": list(data.get("regions") or [])}],
        "principals": world_principals,
        "instances": instances,
    }
    path = out / "world.yaml"
    # JSON is YAML; the loader reads either
    path.write_text(json.dumps(world, indent=1))
    return path, creds


def server_context(region: str) -> dict[str, Any]:
    """The request keys `lspolicy serve` adds to every call from 127.0.0.1 (app.Service._context)."""
    now = datetime.now(UTC)
    return {
        "aws:SourceIp": "127.0.0.1",
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now.timestamp())),
        "aws:SecureTransport": "false",
        "aws:RequestedRegion": region,
    }


def choose_calls(path: Path, creds: dict[str, Any]) -> BenchWorld:
    """Ask the engine, on the world as the server loads it, for a caller allowed to stop, start
    and read one instance, and for another principal denied StopInstance on it (preferring an
    explicit deny, which runs the deny statements)."""
    from lspolicy.lightsail.context import instance_request  # noqa: PLC0415
    from lspolicy.server.world import load_world  # noqa: PLC0415

    world = load_world(path)
    principals = list(world.principals.values())
    # the caller with the most policies attached: the most statements to evaluate
    by_size = sorted(principals, key=lambda p: -len(creds[p.identity.arn]["policies"]))
    for caller in by_size:
        for spec in world.instances:
            inst = spec.instance
            ctx = server_context(inst.region)
            if not all(
                caller.policies.is_allowed(instance_request(a, inst, caller.identity, context=ctx))
                for a in ACTIONS
            ):
                continue
            denied: list[tuple[int, Any, Any]] = []
            for p in principals:
                if p is caller:
                    continue
                d = p.policies.evaluate(
                    instance_request("lightsail:StopInstance", inst, p.identity, context=ctx)
                )
                if not d.allowed:
                    rank = 0 if d.decision == "explicitDeny" else 1
                    denied.append((rank, -len(creds[p.identity.arn]["policies"]), (p, d)))
            if not denied:
                continue
            denied.sort(key=lambda t: t[:2])
            who, decision = denied[0][2]
            return BenchWorld(
                path=path,
                policies=len(list((path.parent / "policies").glob("*.json"))),
                principals=len(world.principals),
                instances=len(world.instances),
                caller=caller.identity.arn,
                caller_key=caller.access_key_id,
                caller_secret=caller.secret_access_key,
                caller_policies=creds[caller.identity.arn]["policies"],
                denied=who.identity.arn,
                denied_key=who.access_key_id,
                denied_secret=who.secret_access_key,
                denied_policies=creds[who.identity.arn]["policies"],
                denied_kind=decision.decision,
                denied_by=[f"{Path(m.policy).stem}/{m.sid or m.index}" for m in decision.matched],
                instance=inst.name or "",
                instance_arn=inst.arn,
                region=inst.region,
                instance_tags=dict(inst.tags),
            )
    raise BenchError("no principal of the workload may stop, start and read any instance")


@dataclass(frozen=True)
class Plan:
    """The calls of every scenario, the same for every server, in order (warm-up first).

    Realistic (the default): each call names an instance no earlier call of its scenario named
    (the stop/start cycle stops one instance that is running and starts another that is
    stopped, alternately), on instances added to the world for the run with the region and tags
    of workload instances the engine answers as the scenario needs; so no body, lookup or
    decision repeats within the server's memos' reach, as a real client's calls rarely do.
    ``--repeat-one``: every call on the one chosen instance (the cycle stops and starts it),
    the best case: the same call repeated."""

    repeat_one: bool
    cycle: tuple[tuple[str, str, str], ...]  # (StopInstance | StartInstance, name, region)
    reads: tuple[tuple[str, str], ...]  # GetInstanceState: (name, region)
    denials: tuple[tuple[str, str], ...]  # the denied principal's StopInstance: (name, region)
    stopped: frozenset[tuple[str, str]]  # (name, region) stopped in the world file
    regions: frozenset[str]
    added: int  # instances added to the world for the run
    templates: tuple[int, int]  # workload instances copied: for the caller, for the denied one
    denied_kinds: dict[str, int]  # the denied principal's decisions on the denial pool

    def calls(self, block: str) -> int:
        return len(
            self.cycle
            if block == "cycle"
            else self.reads
            if block == "GetInstanceState"
            else self.denials
        )


def plan_calls(
    world: BenchWorld,
    *,
    cycle_calls: int,
    other_calls: int,
    repeat_one: bool,
    seed: int = 12,
) -> tuple[BenchWorld, Plan]:
    """The calls of the run (`Plan`): on ``world.instance`` alone with ``repeat_one``, or else on
    instances added to the world file (rewritten in place): ``cycle_calls`` for the stop/start
    cycle (half running, half stopped), ``other_calls`` for GetInstanceState and as many for
    the denied principal, each a copy (region, tags; a new name and id) of a workload instance
    on which the engine allows the caller StopInstance, StartInstance and GetInstanceState (or
    denies the denied principal StopInstance). Every added instance is checked with the engine
    on the world as the server loads it."""
    import random  # noqa: PLC0415

    from lspolicy.lightsail.context import instance_request  # noqa: PLC0415
    from lspolicy.server.world import load_world  # noqa: PLC0415

    if repeat_one:
        one = (world.instance, world.region)
        cycle = tuple(
            ("StopInstance" if i % 2 == 0 else "StartInstance", *one) for i in range(cycle_calls)
        )
        return world, Plan(
            True,
            cycle,
            (one,) * other_calls,
            (one,) * other_calls,
            frozenset(),
            frozenset({world.region}),
            0,
            (0, 0),
            {world.denied_kind: other_calls},
        )
    loaded = load_world(world.path)
    by_key = {p.access_key_id: p for p in loaded.principals.values()}
    caller, denied = by_key[world.caller_key], by_key[world.denied_key]

    def allowed(who: Any, actions: Sequence[str], inst: Any) -> bool:
        ctx = server_context(inst.region)
        return all(
            who.policies.is_allowed(instance_request(a, inst, who.identity, context=ctx))
            for a in actions
        )

    caller_templates = [
        s.instance for s in loaded.instances if allowed(caller, ACTIONS, s.instance)
    ]
    denied_templates = [
        s.instance
        for s in loaded.instances
        if not allowed(denied, ("lightsail:StopInstance",), s.instance)
    ]
    if not caller_templates or not denied_templates:
        raise BenchError("no workload instance to copy for the realistic calls")
    rng = random.Random(seed)
    data = json.loads(world.path.read_text(encoding="utf-8"))
    added: list[dict[str, Any]] = []

    def add(
        kind: str, count: int, templates: list[Any], state: str | None = None
    ) -> list[tuple[str, str]]:
        out = []
        for n in range(count):
            t = templates[n % len(templates)]
            entry: dict[str, Any] = {
                "name": f"bench-{kind}-{n:05d}",
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "region": t.region,
                "tags": dict(t.tags),
            }
            if state is not None:
                entry["state"] = state
            added.append(entry)
            out.append((entry["name"], t.region))
        return out

    running = add("run", (cycle_calls + 1) // 2, caller_templates)
    stopped = add("stopped", cycle_calls // 2, caller_templates, "stopped")
    reads = add("read", other_calls, caller_templates)
    denials = add("deny", other_calls, denied_templates)
    data["instances"] += added
    # compact: a few thousand instances more, under the loader's size limit
    world.path.write_text(json.dumps(data, separators=(",", ":")))
    cycle: list[tuple[str, str, str]] = []
    for i in range(cycle_calls):
        name, region = (running if i % 2 == 0 else stopped)[i // 2]
        cycle.append(("StopInstance" if i % 2 == 0 else "StartInstance", name, region))
    # check every added instance on the world as the server will load it
    loaded = load_world(world.path)
    caller, denied = (
        next(p for p in loaded.principals.values() if p.access_key_id == k)
        for k in (world.caller_key, world.denied_key)
    )
    specs = {(s.instance.name, s.instance.region): s.instance for s in loaded.instances}
    for pool, who, actions, want in (
        (running + stopped + reads, caller, ACTIONS, True),
        (denials, denied, ("lightsail:StopInstance",), False),
    ):
        for key in pool:
            if allowed(who, actions, specs[key]) is not want:
                raise BenchError(
                    f"added instance {key[0]} ({key[1]}): the engine disagrees with its template"
                )
    kinds: dict[str, int] = {}
    for key in denials:
        inst = specs[key]
        d = denied.policies.evaluate(
            instance_request(
                "lightsail:StopInstance", inst, denied.identity, context=server_context(inst.region)
            )
        )
        kinds[d.decision] = kinds.get(d.decision, 0) + 1
    regions = frozenset(r for _, r in running + stopped + reads + denials)
    world = BenchWorld(**{**asdict(world), "instances": len(loaded.instances)})
    return world, Plan(
        False,
        tuple(cycle),
        tuple(reads),
        tuple(denials),
        frozenset(stopped),
        regions,
        len(added),
        (len(caller_templates), len(denied_templates)),
        kinds,
    )


# --------------------------------------------------------------------------------------------
# the floor: a stdlib HTTP/1.1 server with canned replies
# --------------------------------------------------------------------------------------------


def canned_replies(caller: str) -> dict[str, tuple[int, str]]:
    """A valid Lightsail reply per operation, shaped as lspolicy's (same keys, similar sizes),
    as text with ``{id}``, ``{name}``, ``{region}`` and ``{now}`` to fill in per call."""

    def template(text: str) -> str:
        """``text`` for `str.format`: its braces doubled, but the four fields'."""
        text = text.replace("{", "{{").replace("}", "}}")
        for f in ("id", "name", "region", "now"):
            text = text.replace("{{" + f + "}}", "{" + f + "}")
        return text

    def operation(kind: str) -> str:
        op = {
            "id": "{id}",
            "resourceName": "{name}",
            "resourceType": "Instance",
            "createdAt": "{now}",
            "location": {"availabilityZone": "{region}a", "regionName": "{region}"},
            "isTerminal": False,
            "operationDetails": "",
            "operationType": kind,
            "status": "Started",
            "statusChangedAt": "{now}",
        }
        text = json.dumps({"operations": [op]}, separators=(",", ":"))
        return template(text.replace('"{now}"', "{now}"))

    denied = {
        "__type": "AccessDeniedException",
        "message": f"User: {caller} is not authorized to perform: lightsail:StopInstance",
    }
    return {
        "StopInstance": (200, operation("StopInstance")),
        "StartInstance": (200, operation("StartInstance")),
        "GetInstanceState": (
            200,
            template(json.dumps({"state": {"code": 16, "name": "running"}}, separators=(",", ":"))),
        ),
        "AccessDenied": (400, template(json.dumps(denied))),
    }


def serve_floor(deny_key: str, region: str, instance: str, caller: str) -> int:
    """Run the floor server until SIGTERM; print its address first (as `lspolicy serve` does).
    ``region`` and ``instance`` are kept for the command line's shape: each reply names the
    instance of the request's body and the region of its credential scope."""
    del region, instance
    replies = canned_replies(caller)
    deny_marker = f"Credential={deny_key}/"
    decode = json.JSONDecoder().decode

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # TCP_NODELAY on the accepted socket, as lspolicy's front sets it
        disable_nagle_algorithm = True
        date: tuple[int, str] = (-1, "")

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            # The same HTTP work as lspolicy's front (server/http.py): the stdlib's request
            # parsing, the body read by its length, the same headers (Server, Date formatted
            # once per second, the request id) and the head and body in one write; and the
            # least a reply about the named instance takes: the body decoded as JSON, the
            # region read from the credential scope, the reply filled in. No signature check,
            # no validation, no authorization, no state.
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            name = decode(raw.decode("utf-8")).get("instanceName", "")
            authorization = self.headers.get("Authorization") or ""
            scope = authorization.partition("Credential=")[2].split("/", 3)
            target = self.headers.get("X-Amz-Target") or ""
            operation = target.removeprefix(TARGET_PREFIX)
            if deny_marker in authorization:
                operation = "AccessDenied"
            status, text = replies.get(operation, replies["GetInstanceState"])
            self.log_request(status)
            now = time.time()
            body = text.format(
                id=uuid.uuid4(), name=name, region=scope[2] if len(scope) > 2 else "", now=now
            ).encode()
            if Handler.date[0] != int(now):
                Handler.date = (int(now), email.utils.formatdate(now, usegmt=True))
            head = (
                f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
                f"Server: {self.version_string()}\r\nDate: {Handler.date[1]}\r\n"
                f"Content-Type: {JSON_TYPE}\r\n"
                + ("x-amzn-ErrorType: AccessDeniedException\r\n" if status != 200 else "")
                + f"x-amzn-RequestId: {uuid.uuid4()}\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            self.wfile.write(head.encode("latin-1") + body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    host, port = server.server_address[:2]
    sys.stdout.write(f"floor serving at http://{host!s}:{port}\n")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


# --------------------------------------------------------------------------------------------
# server processes and clients
# --------------------------------------------------------------------------------------------

_ADDRESS = re.compile(r" at (http://127\.0\.0\.1:\d+)")

STAGES = (
    "request",
    "parse",
    "authenticate",
    "validate",
    "lookup",
    "decide",
    "log",
    "transition",
    "send",
    "handle",
)
"""The stages `--stages` times in each lspolicy server (`_STAGE_SERVER`): the whole request, the
request line and headers, SigV4, the body, the instance lookup, the decision, the log row, a
stop's or start's transaction, the response write, and the pipeline (`Service.handle`, which
holds authenticate ... transition)."""

_STAGE_SERVER = r"""
import collections, json, signal, sys, threading, time
from lspolicy.server import app, http, state
from lspolicy.server.world import load_world

clock = time.thread_time_ns
totals = collections.defaultdict(collections.Counter)
counts = collections.Counter()
local = threading.local()

def timed(owner, name, stage):
    inner = getattr(owner, name, None)
    if inner is None:  # an older tree without this step
        return
    def wrapper(*args, **kwargs):
        start = clock()
        try:
            return inner(*args, **kwargs)
        finally:
            spent = getattr(local, "spent", None)
            if spent is not None:
                spent[stage] += clock() - start
    setattr(owner, name, wrapper)

for owner, name, stage in (
    (http._Handler, "parse_request", "parse"),
    (http._Handler, "_send", "send"),
    (app, "authenticate", "authenticate"),
    (app, "validate_body", "validate"),
    (app, "decide", "decide"),
    (state.StateStore, "lookup", "lookup"),
    (state.StateStore, "log", "log"),
    (state.StateStore, "transition", "transition"),
    (app.Service, "handle", "handle"),
):
    timed(owner, name, stage)

handle = app.Service.handle
def keyed_handle(self, request, **kwargs):
    response = handle(self, request, **kwargs)
    target = (request.header_values("x-amz-target") or ("",))[0]
    local.key = target.rpartition(".")[2] + " " + str(response.status)
    return response
app.Service.handle = keyed_handle

one = http._Handler.handle_one_request
def one_request(self):
    local.spent, local.key = collections.Counter(), None
    start = clock()
    try:
        one(self)
    finally:
        if local.key is not None:
            local.spent["request"] += clock() - start
            totals[local.key].update(local.spent)
            counts[local.key] += 1
        local.spent = None
http._Handler.handle_one_request = one_request

world_path, state_path = sys.argv[1], sys.argv[2]
store = state.StateStore(state_path)
server = http.LightsailServer(app.Service(load_world(world_path), store), "127.0.0.1", 0)
signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
print(f"lspolicy serving {world_path} at {server.url} (state: {state_path})", flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
finally:
    server.server_close()
    store.close()
    figures = {
        key: {"calls": counts[key], **{k: v / counts[key] / 1e3 for k, v in spent.items()}}
        for key, spent in totals.items()
    }
    print("stages " + json.dumps(figures), file=sys.stderr, flush=True)
"""
"""`--stages`: an lspolicy server (`python -c`, so that the tree on PYTHONPATH is the one
imported) whose steps are timed by the handler thread's CPU clock, per request kind (operation
and status); the figures, in µs per call, go to stderr as one ``stages {json}`` line at SIGTERM."""


@dataclass
class Target:
    """One server process under test, its clients, and what the benchmark expects of it."""

    name: str
    process: subprocess.Popen[str]
    url: str
    stderr_path: Path
    emulates_state: bool  # False for the floor: canned replies, "running" forever
    state_file: Path | None = None
    # boto3 clients by (``"caller"`` or ``"denied"``, region)
    clients: dict[tuple[str, str], Any] = field(default_factory=dict)
    # the (name, region) of instances the world and the calls so far left stopped
    stopped: set[tuple[str, str]] = field(default_factory=set)
    # per block of the plan: the index of its next call
    cursor: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    operations: int = 0
    samples: dict[str, list[int]] = field(default_factory=lambda: {s: [] for s in SCENARIOS})
    # per block of the plan ("cycle", "GetInstanceState", "AccessDenied"): the p50 of each
    # round, and how many operations the server had recorded at the end of it
    rounds: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    # per block: the server process's CPU seconds over the timed calls, and how many calls
    cpu: dict[str, list[float]] = field(default_factory=dict)
    # with --stages: per request kind ("StopInstance 200"...), the calls and µs per call by stage
    stages: dict[str, dict[str, float]] = field(default_factory=dict)


def start_process(
    name: str, argv: list[str], workdir: Path, *, root: Path = REPO_ROOT
) -> tuple[subprocess.Popen[str], str, Path]:
    """Start a server subprocess (importing lspolicy from ``root``: first on PYTHONPATH, and
    the working directory, which ``python -m`` puts before it) and read the address it prints
    on its first line."""
    stderr_path = workdir / f"{name}.stderr"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=root, env=env
        )
    assert proc.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    line = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            break
        if proc.poll() is not None:
            break
    found = _ADDRESS.search(line)
    if found is None:
        stop_process(proc)
        detail = stderr_path.read_text(errors="replace").strip()[-2000:]
        raise BenchError(
            f"{name} did not print its address within {START_TIMEOUT:.0f} s"
            f" (first line {line.strip()!r}){': ' + detail if detail else ''}"
        )
    return proc, found.group(1), stderr_path


def stop_process(proc: subprocess.Popen[str]) -> None:
    """SIGTERM (both servers stop cleanly on it, closing their state), then SIGKILL if stuck."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system, every thread) a process has used, from /proc; None where
    there is no /proc. Clock-tick resolution (10 ms), so only sums over many calls mean much."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def make_client(url: str, region: str, key: str, secret: str) -> Any:
    """A real boto3 Lightsail client, as `lspolicy.testing.RunningServer.client` builds it."""
    import boto3  # type: ignore[import-untyped]  # noqa: PLC0415
    from botocore.config import Config  # type: ignore[import-untyped]  # noqa: PLC0415

    return boto3.client(
        "lightsail",
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        # total_max_attempts counts the first call (max_attempts counts retries): no retry may
        # hide a failed call or add its time to one
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


# --------------------------------------------------------------------------------------------
# the calls
# --------------------------------------------------------------------------------------------


def one_call(target: Target, block: str, plan: Plan) -> int:
    """Make the next call of ``block`` ("cycle", "GetInstanceState", "AccessDenied") in
    ``plan``, check its answer outside the timed window, and record its latency (under
    StopInstance or StartInstance for the cycle); returns nanoseconds."""
    from botocore.exceptions import ClientError  # type: ignore[import-untyped]  # noqa: PLC0415

    i = target.cursor.get(block, 0)
    target.cursor[block] = i + 1
    if block == "cycle":
        scenario, name, region = plan.cycle[i]
        client = target.clients["caller", region]
        call = client.stop_instance if scenario == "StopInstance" else client.start_instance
    elif block == "GetInstanceState":
        scenario, (name, region) = block, plan.reads[i]
        call = target.clients["caller", region].get_instance_state
    else:
        scenario, (name, region) = block, plan.denials[i]
        call = target.clients["denied", region].stop_instance
    error: Exception | None = None
    response: Any = None
    start = time.perf_counter_ns()
    try:
        response = call(instanceName=name)
    except Exception as exc:
        error = exc
    elapsed = time.perf_counter_ns() - start
    target.calls += 1
    where = f"{target.name}: {scenario} on {name} ({region})"
    if scenario == "AccessDenied":
        code = error.response["Error"]["Code"] if isinstance(error, ClientError) else None
        if code != "AccessDeniedException":
            got = f"error {error!r}" if error is not None else f"success {response!r}"
            raise Disagreement(f"{where}: expected AccessDeniedException, got {got}")
    elif error is not None:
        raise Disagreement(f"{where}: unexpected error {error!r}")
    elif scenario == "GetInstanceState":
        stopped = (name, region) in target.stopped and target.emulates_state
        expected = "stopped" if stopped else "running"
        got_state = response.get("state", {}).get("name")
        if got_state != expected:
            raise Disagreement(f"{where}: expected state {expected!r}, got {got_state!r}")
    else:
        ops = response.get("operations") or [{}]
        if len(ops) != 1 or ops[0].get("operationType") != scenario:
            raise Disagreement(f"{where}: expected one {scenario} operation, got {response!r}")
        if ops[0].get("resourceName") != name:
            raise Disagreement(f"{where}: the operation names {ops[0].get('resourceName')!r}")
        target.operations += 1
        if scenario == "StopInstance":
            target.stopped.add((name, region))
        else:
            target.stopped.discard((name, region))
    target.samples[scenario].append(elapsed)
    return elapsed


def run_block(target: Target, block: str, plan: Plan, count: int) -> None:
    """The next ``count`` calls of one block on one server, collector off (as timeit does)."""
    run_interleaved([target], block, plan, count)


def run_interleaved(targets: Sequence[Target], block: str, plan: Plan, count: int) -> None:
    """The next ``count`` calls of one block on every target, one call each in turn (the order
    rotated by one after every turn, so that no server always follows the same one): calls
    made within milliseconds of each other, so that the machine's load, which on a shared
    machine swings over seconds, falls on every server alike. Every server gets the same
    calls in the same order. Collector off (as timeit does)."""
    n = len(targets)
    gc.collect()
    gc.disable()
    try:
        for i in range(count):
            k = i % n
            for target in [*targets[k:], *targets[:k]]:
                one_call(target, block, plan)
    finally:
        gc.enable()


# --------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """Latency figures of one scenario on one target, in milliseconds."""

    count: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    requests_per_second: float  # sequential, one connection: calls over the summed latencies


def percentile(ordered: Sequence[int], p: float) -> int:
    """Nearest-rank percentile of sorted values."""
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def stats(samples: Sequence[int]) -> Stats:
    ordered = sorted(samples)
    total = sum(ordered)
    return Stats(
        count=len(ordered),
        p50_ms=percentile(ordered, 50) / 1e6,
        p90_ms=percentile(ordered, 90) / 1e6,
        p99_ms=percentile(ordered, 99) / 1e6,
        mean_ms=total / len(ordered) / 1e6,
        min_ms=ordered[0] / 1e6,
        max_ms=ordered[-1] / 1e6,
        requests_per_second=len(ordered) * 1e9 / total,
    )


def check_file_state(target: Target) -> dict[str, int]:
    """After the server stopped: the SQLite file must hold one operation per accepted stop or
    start and one log entry per call, and the instance in the state the calls left it."""
    assert target.state_file is not None
    db = sqlite3.connect(target.state_file)
    try:
        operations = db.execute("SELECT count(*) FROM operations").fetchone()[0]
        logged = db.execute("SELECT count(*) FROM request_log").fetchone()[0]
    finally:
        db.close()
    found = {"operations": operations, "request_log": logged}
    expected = {"operations": target.operations, "request_log": target.calls}
    if found != expected:
        raise Disagreement(f"{target.name}: state file holds {found}, the calls made {expected}")
    return found


def environment() -> dict[str, Any]:
    import boto3  # noqa: PLC0415
    import botocore  # type: ignore[import-untyped]  # noqa: PLC0415

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()),
        "boto3": boto3.__version__,
        "botocore": botocore.__version__,
    }


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/server.py",
        description="lspolicy serve benchmark: signed boto3 calls, against a trivial HTTP floor",
    )
    parser.add_argument(
        "--workload",
        metavar="DIR",
        type=Path,
        default=DEFAULT_WORKLOAD,
        help=f"directory holding workload.json (default: {DEFAULT_WORKLOAD})",
    )
    parser.add_argument("--quick", action="store_true", help="300 timed calls per scenario")
    parser.add_argument("--calls", type=int, default=None, help="timed calls per scenario")
    parser.add_argument(
        "--json", action="store_true", help="print the figures as JSON on stdout (report: stderr)"
    )
    parser.add_argument(
        "--compare",
        metavar="REF",
        action="append",
        default=[],
        help="also serve the git revision REF's lspolicy (:memory: and file), in the same rounds"
        " (repeatable: one pair of servers per revision)",
    )
    parser.add_argument(
        "--stages",
        action="store_true",
        help="run lspolicy's servers with each step timed by the handler's CPU clock, and"
        " print the per-step table (warm-up calls included)",
    )
    parser.add_argument(
        "--repeat-one",
        action="store_true",
        help="the best case: every call of a scenario on the one chosen instance (the same"
        " call repeated; the server's memos answer most of it), instead of a new instance per"
        " call",
    )
    # the floor server's own entry point: this file runs itself in a subprocess
    parser.add_argument("--floor-server", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor_server:
        return serve_floor(*args.floor_server)
    calls = args.calls or (300 if args.quick else 2000)
    if calls < 10:
        parser.error("--calls must be at least 10")
    warmup = 50 if args.quick else 200
    rounds = 2 if args.quick else 4
    out: TextIO = sys.stderr if args.json else sys.stdout

    def say(line: str = "") -> None:
        print(line, file=out, flush=True)

    with tempfile.TemporaryDirectory(prefix="lspolicy-bench-server-") as tmp:
        workdir = Path(tmp)
        try:
            world_path, creds = write_world(args.workload, workdir)
            world = choose_calls(world_path, creds)
            world, plan = plan_calls(
                world,
                cycle_calls=2 * calls + warmup,
                other_calls=calls + warmup,
                repeat_one=args.repeat_one,
            )
        except (BenchError, LspolicyError) as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 2
        env = environment()
        say("lspolicy serve benchmark")
        say(f"  workload   {args.workload}")
        say(
            f"  world      {world.policies} policies, {world.principals} principals,"
            f" {world.instances:,} instances (transition_seconds: 0)"
        )
        say(
            f"  caller     {world.caller} ({', '.join(world.caller_policies)}):"
            f" allowed to stop, start and read {world.instance} ({world.region},"
            f" {world.instance_arn.rsplit('/', 1)[-1]})"
        )
        say(f"             tags {json.dumps(world.instance_tags, sort_keys=True)}")
        say(
            f"  denied     {world.denied} ({', '.join(world.denied_policies)}):"
            f" StopInstance is {world.denied_kind}"
            + (f" by {', '.join(world.denied_by)}" if world.denied_by else "")
        )
        if plan.repeat_one:
            say(
                f"  calls      BEST CASE (--repeat-one): the same call repeated — every call of a"
                f" scenario on {world.instance}, the cycle stopping and starting it"
            )
        else:
            kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(plan.denied_kinds.items()))
            say(
                f"  calls      realistic: every call on an instance no earlier call of its"
                f" scenario named — {plan.added:,} instances added to the world, copies (region,"
                f" tags; new name and id) of the {plan.templates[0]:,} workload instances the"
                f" caller may stop, start and read and of the {plan.templates[1]:,} the denied"
                f" principal may not stop ({kinds}); the cycle stops one running instance and"
                f" starts one stopped instance in turn; regions {', '.join(sorted(plan.regions))};"
                " every server gets the same calls in the same order"
            )
        say(f"  python     {env['python']} on {env['platform']}, {env['cpus']} cpus")
        say(f"  boto3      {env['boto3']} (botocore {env['botocore']}), retries off")
        load = env["load_average"]
        say(
            f"  load       {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start"
            + (
                f" — more than {env['cpus']} cpus: absolute figures will be noisy"
                if load[0] > (env["cpus"] or 1)
                else ""
            )
        )
        say(
            f"  calls      {warmup} warm-up + {calls:,} timed per scenario and server, in {rounds}"
            " rounds, the servers' calls interleaved one by one; client collector off while timing"
        )
        say()

        try:
            before = [export_revision(ref, workdir) for ref in args.compare]
            for ref, (short, _) in zip(args.compare, before, strict=True):
                say(f"  compare    {short} ({ref}): its lspolicy served alongside")
            if before:
                say()
            targets, results, state_checks = run(
                world,
                plan,
                workdir,
                calls=calls,
                warmup=warmup,
                rounds=rounds,
                before=before,
                stages=args.stages,
            )
        except BenchError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 2
        except Disagreement as exc:
            say(f"DISAGREEMENT: {exc}")
            if args.json:
                json.dump({"ok": False, "disagreement": str(exc)}, sys.stdout, indent=2)
                sys.stdout.write("\n")
            return 1

    report, overhead = summarize(targets, results, say)
    server_cpu = {
        t.name: {block: used / n * 1e3 for block, (used, n) in t.cpu.items() if n} for t in targets
    }
    if any(server_cpu.values()):
        say(
            "server CPU per call, ms (the server process's user + system time over the timed"
            " calls, from /proc: what it computes, whatever the machine's load does to latency)"
        )
        blocks = ("cycle", "GetInstanceState", "AccessDenied")
        say(f"  {'server':<28}" + "".join(f"{b:>18}" for b in blocks))
        for t in targets:
            row = server_cpu[t.name]
            say(
                f"  {t.name:<28}"
                + "".join(f"{row[b]:18.3f}" if b in row else f"{'-':>18}" for b in blocks)
            )
        say()
    if any(t.stages for t in targets):
        say(
            "server CPU per call by stage, µs (the handler thread's CPU clock around each step;"
            " every call, warm-up included; handle holds authenticate ... transition)"
        )
        say(
            f"  {'server':<20}{'request kind':<22}{'calls':>6}"
            + "".join(f"{s:>13}" for s in STAGES)
        )
        for t in targets:
            for kind, figures in sorted(t.stages.items()):
                say(
                    f"  {t.name:<20}{kind:<22}{int(figures['calls']):>6}"
                    + "".join(
                        f"{figures[s]:13.0f}" if s in figures else f"{'-':>13}" for s in STAGES
                    )
                )
        say()
    say("p50 by round, ms (the state grows by one operation per accepted stop or start)")
    for t in targets:
        for block, per_round in t.rounds.items():
            figures = " ".join(f"{p50:7.3f}" for p50, _ in per_round)
            ops = " ".join(f"{n:,}" for _, n in per_round) if t.emulates_state else "-"
            say(f"  {t.name:<28}{block:<18}{figures}   operations at round ends: {ops}")
    say()
    for name, found in state_checks.items():
        say(
            f"state file of {name} after the run: {found['operations']:,} operations,"
            f" {found['request_log']:,} log entries (one per accepted stop or start, one per"
            " call: as expected)"
        )
    if args.json:
        figures = {
            "workload": str(args.workload),
            "environment": env,
            "world": {
                k: v for k, v in asdict(world).items() if k != "path" and not k.endswith("_secret")
            },
            "config": {
                "repeat_one": plan.repeat_one,
                "instances_added": plan.added,
                "regions": sorted(plan.regions),
                "denied_decisions": plan.denied_kinds,
                "calls": calls,
                "warmup": warmup,
                "rounds": rounds,
            },
            "results": report,
            "rounds": {
                t.name: {
                    block: [{"p50_ms": p, "operations": n} for p, n in per_round]
                    for block, per_round in t.rounds.items()
                }
                for t in targets
            },
            "server_cpu_ms_per_call": server_cpu,
            "stages_us_per_call": {t.name: t.stages for t in targets if t.stages},
            "load_average_end": list(os.getloadavg()),
            "overhead": overhead,
            "overhead_target_ms_p50": OVERHEAD_TARGET_MS,
            "state_file": state_checks,
            "ok": True,
        }
        json.dump(figures, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0


def export_revision(ref: str, workdir: Path) -> tuple[str, Path]:
    """``git archive`` of revision ``ref``'s ``lspolicy/`` into ``workdir``: (short name, the
    directory to put on PYTHONPATH)."""
    try:
        short = subprocess.run(
            ["git", "rev-parse", "--short", f"{ref}^{{commit}}"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        root = workdir / f"rev-{short}"
        root.mkdir()
        archive = subprocess.run(
            ["git", "archive", "--format=tar", short, "lspolicy"],
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", None) or exc
        raise BenchError(f"cannot export revision {ref!r}: {str(detail).strip()}") from None
    return short, root


def run(
    world: BenchWorld,
    plan: Plan,
    workdir: Path,
    *,
    calls: int,
    warmup: int,
    rounds: int,
    before: Sequence[tuple[str, Path]] = (),
    stages: bool = False,
) -> tuple[list[Target], dict[str, dict[str, Stats]], dict[str, dict[str, int]]]:
    """Start the servers, warm up, time every scenario round-robin, stop and check. With
    ``before`` (revisions' names and exported trees), their lspolicy is served too."""

    def serve(state: str) -> list[str]:
        if stages:
            return [sys.executable, "-c", _STAGE_SERVER, str(world.path), state]
        command = [sys.executable, "-m", "lspolicy.cli", "serve", "--world", str(world.path)]
        return [*command, "--port", "0", "--state", state]

    state = workdir / "state.db"
    specs: list[tuple[str, list[str], bool, Path | None, Path]] = [
        ("lspolicy :memory:", serve(":memory:"), True, None, REPO_ROOT),
        ("lspolicy file", serve(str(state)), True, state, REPO_ROOT),
    ]
    for name, root in before:
        old_state = workdir / f"state-{name}.db"
        specs += [
            (f"{name} :memory:", serve(":memory:"), True, None, root),
            (f"{name} file", serve(str(old_state)), True, old_state, root),
        ]
    floor = [sys.executable, str(Path(__file__).resolve()), "--floor-server"]
    floor += [world.denied_key, world.region, world.instance, world.denied]
    specs.append(("floor", floor, False, None, REPO_ROOT))
    targets: list[Target] = []
    try:
        for name, argv, emulates, state_file, root in specs:
            proc, url, stderr_path = start_process(
                re.sub(r"\W+", "-", name), argv, workdir, root=root
            )
            t = Target(name, proc, url, stderr_path, emulates, state_file)
            targets.append(t)
            t.stopped = set(plan.stopped)
            for region in sorted(plan.regions):
                t.clients["caller", region] = make_client(
                    url, region, world.caller_key, world.caller_secret
                )
                t.clients["denied", region] = make_client(
                    url, region, world.denied_key, world.denied_secret
                )
        blocks = [("cycle", 2 * calls), ("GetInstanceState", calls), ("AccessDenied", calls)]
        for scenario, _ in blocks:
            for t in targets:
                run_block(t, scenario, plan, warmup)
        for t in targets:
            for s in SCENARIOS:
                t.samples[s].clear()
        for scenario, total in blocks:
            per_round = [total // rounds + (i < total % rounds) for i in range(rounds)]
            for r, count in enumerate(per_round):
                order = targets[r % len(targets) :] + targets[: r % len(targets)]
                seen = {t.name: {s: len(t.samples[s]) for s in SCENARIOS} for t in targets}
                cpu_before = {t.name: process_cpu(t.process.pid) for t in targets}
                # the servers' calls interleaved one by one: a server waits, blocked, while the
                # others are called, so its CPU time over the round is its own calls'
                run_interleaved(order, scenario, plan, count)
                for t in targets:
                    cpu_after = process_cpu(t.process.pid)
                    start = cpu_before[t.name]
                    if start is not None and cpu_after is not None:
                        used = t.cpu.setdefault(scenario, [0.0, 0.0])
                        used[0] += cpu_after - start
                        used[1] += count
                    new = [x for s in SCENARIOS for x in t.samples[s][seen[t.name][s] :]]
                    p50 = percentile(sorted(new), 50) / 1e6
                    t.rounds.setdefault(scenario, []).append((p50, t.operations))
    except Disagreement as exc:
        for t in targets:
            stop_process(t.process)
        logs = "".join(
            f"\n  {t.name} stderr:\n    " + text[-3000:].replace("\n", "\n    ")
            for t in targets
            if (text := t.stderr_path.read_text(errors="replace").strip())
        )
        raise Disagreement(f"{exc}{logs}") from None
    finally:
        for t in targets:
            stop_process(t.process)
    state_checks = {t.name: check_file_state(t) for t in targets if t.state_file is not None}
    if stages:
        for t in targets:
            t.stages = read_stages(t.stderr_path)
    results = {t.name: {s: stats(t.samples[s]) for s in SCENARIOS} for t in targets}
    return targets, results, state_checks


def read_stages(stderr_path: Path) -> dict[str, dict[str, float]]:
    """The ``stages {json}`` line a `_STAGE_SERVER` printed at SIGTERM (empty for the floor)."""
    for line in stderr_path.read_text(errors="replace").splitlines():
        if line.startswith("stages "):
            figures: dict[str, dict[str, float]] = json.loads(line[len("stages ") :])
            return figures
    return {}


def summarize(
    targets: list[Target], results: dict[str, dict[str, Stats]], say: Callable[[str], None]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Print the latency table and the overhead over the floor; return both as JSON-ready data."""
    say("latency per call, milliseconds (sequential calls on one kept-alive connection)")
    say(
        f"  {'scenario':<36}{'server':<28}{'p50':>8}{'p90':>8}{'p99':>8}{'mean':>8}"
        f"{'max':>8}{'req/s':>8}"
    )
    for s in SCENARIOS:
        for t in targets:
            st = results[t.name][s]
            say(
                f"  {SCENARIO_TITLES[s]:<36}{t.name:<28}{st.p50_ms:8.3f}{st.p90_ms:8.3f}"
                f"{st.p99_ms:8.3f}{st.mean_ms:8.3f}{st.max_ms:8.2f}{st.requests_per_second:8,.0f}"
            )
    say()
    floor = results["floor"]
    overhead: dict[str, dict[str, Any]] = {}
    say(
        "lspolicy overhead above the floor (same client, same signing, same connection reuse),"
        f" target < {OVERHEAD_TARGET_MS:g} ms at p50"
    )
    say(
        f"  {'scenario':<36}{'server':<28}{'p50 +ms':>9}{'p99 +ms':>9}{'mean +ms':>10}"
        f"{'p50 x':>8}{'p99 x':>8}{'paired +ms':>12}"
    )
    above: list[str] = []
    floor_samples = next(t for t in targets if t.name == "floor").samples
    for s in SCENARIOS:
        for t in targets:
            if not t.emulates_state:
                continue
            st, fl = results[t.name][s], floor[s]
            # the i-th call to this server and the i-th to the floor were made one turn apart
            # (run_interleaved): the median of their differences
            pairs = sorted(a - b for a, b in zip(t.samples[s], floor_samples[s], strict=True))
            o = overhead.setdefault(t.name, {})[s] = {
                "p50_ms": st.p50_ms - fl.p50_ms,
                "p99_ms": st.p99_ms - fl.p99_ms,
                "mean_ms": st.mean_ms - fl.mean_ms,
                "ratio_p50": st.p50_ms / fl.p50_ms,
                "ratio_p99": st.p99_ms / fl.p99_ms,
                "within_target_p50": st.p50_ms - fl.p50_ms < OVERHEAD_TARGET_MS,
                "paired_p50_ms": percentile(pairs, 50) / 1e6,
            }
            mark = "" if o["within_target_p50"] else "  above target"
            if not o["within_target_p50"]:
                above.append(f"{s} / {t.name}")
            say(
                f"  {SCENARIO_TITLES[s]:<36}{t.name:<28}"
                f"{o['p50_ms']:9.3f}{o['p99_ms']:9.3f}{o['mean_ms']:10.3f}"
                f"{o['ratio_p50']:7.2f}x{o['ratio_p99']:7.2f}x{o['paired_p50_ms']:12.3f}{mark}"
            )
    if above:
        pairs = sum(len(by) for by in overhead.values())
        say(f"  {len(above)} of {pairs} above the {OVERHEAD_TARGET_MS:g} ms p50 target")
    else:
        say(f"  every scenario is within the {OVERHEAD_TARGET_MS:g} ms p50 target")
    stalled = [n for n, by in overhead.items() if min(o["p50_ms"] for o in by.values()) > 30]
    if stalled:
        say(
            f"  note: {', '.join(stalled)} spend(s) 30 ms or more above the floor on every call:"
            " ~40 ms is Linux's delayed-ACK timeout, not computation — a handler that writes"
            " the headers and the body in two send()s with Nagle's algorithm on makes the body"
            " wait for the client's ACK of the headers (see disable_nagle_algorithm in"
            " lspolicy/server/http.py)"
        )
    say()
    report = {name: {s: asdict(st) for s, st in by.items()} for name, by in results.items()}
    return report, overhead


if __name__ == "__main__":
    sys.exit(main())
