"""Issue 11 §3's review benchmark: lspolicy on a synthetic organization's AWS exports, with
cloudsplaining and principalmapper side by side.

    python bench/review.py                 # one account (500 principals, 5,000 instances)
    python bench/review.py --full          # + the 50-account organization (20,000 x 200,000)

Every measured step runs in a child process of its own, so that its wall time, CPU time (user +
system, from ``os.wait4``) and peak resident memory (``ru_maxrss`` of that child) are its alone.
A step that runs past ``--timeout`` seconds is stopped (SIGKILL to that child, by pid) and
reported as such, with the progress it printed. Data come from ``bench/orggen.py`` (seed
``--seed``) and are generated once into ``--data`` (reused when the manifest matches).

Steps (the ``--step`` entry points are for this script's children, not for people):

- ``read``: the three readers on every export file; then the equivalence classes (the keys that
  decide, issue 11 §3) counted from what was read — the **baseline unit**: other times are also
  printed as multiples of the reading time;
- ``baseline``: the brute-force per-pair engine loop (``Authority.decide`` for
  ``lightsail:StopInstance``, each principal's own policies only, no role chains) on a sample of
  principals x instances: pairs per second, and the time it would take for every pair;
- ``who-can``: ``Review.who_can`` in process for a few instances, after one read (the first
  query pays for the role graph; progress printed every few seconds), and the
  ``lspolicy who-can`` CLI end to end (reading included);
- ``review``: ``lspolicy review`` end to end when ``lspolicy review --help`` works, skipped with
  the reason otherwise;
- ``cloudsplaining``: ``cloudsplaining scan`` on the one-account export;
- ``pmapper``: principalmapper's graph build against moto in server mode (the account's users,
  groups, roles and policies loaded with boto3) and its ``search_authorization_for`` query for
  the same instance as who-can.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lspolicy.account.authdetails import read_auth_details
from lspolicy.account.decide import Authority
from lspolicy.account.instances import read_instances
from lspolicy.account.model import Inventory
from lspolicy.account.organization import read_organization
from lspolicy.account.query import Review, instance_context

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STOP = "lightsail:StopInstance"
VAR = re.compile(r"\$\{([^}]+)\}")
DEFAULT_DATA = Path(tempfile.gettempdir()) / "lspolicy-orgbench"


def _orggen() -> Any:
    spec = importlib.util.spec_from_file_location("orggen", HERE / "orggen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["orggen"] = module
    spec.loader.exec_module(module)
    return module


# -- measuring a child ------------------------------------------------------------------------


@dataclass
class Measured:
    """One child process: wall and CPU seconds, peak RSS, exit status, its output."""

    label: str
    wall: float = 0.0
    cpu: float = 0.0
    rss_mb: float = 0.0
    rc: int | None = None
    timed_out: bool = False
    stdout: str = ""
    stderr: str = ""
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.timed_out


def measure(
    label: str, cmd: Sequence[str], timeout: float, env: dict[str, str] | None = None
) -> Measured:
    """Run ``cmd``; wall time, CPU time and peak RSS of that child (``os.wait4``)."""
    m = Measured(label)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout:
                os.kill(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                m.timed_out = True
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        m.wall = time.perf_counter() - start
        m.cpu = usage.ru_utime + usage.ru_stime
        m.rss_mb = usage.ru_maxrss / 1024
        m.rc = proc.returncode
        out.seek(0)
        err.seek(0)
        m.stdout, m.stderr = out.read(), err.read()
    for line in reversed(m.stdout.splitlines()):
        if line.startswith("RESULT "):
            m.result = json.loads(line[len("RESULT ") :])
            break
    return m


def progress_lines(m: Measured) -> list[str]:
    return [ln for ln in m.stdout.splitlines() if ln.startswith("PROGRESS ")]


def emit(result: dict[str, Any]) -> None:
    """A child's result: one line the parent reads."""
    print("RESULT " + json.dumps(result), flush=True)


# -- the steps (run in children) --------------------------------------------------------------


def _files(data: Path) -> tuple[list[Path], list[Path], Path]:
    manifest = json.loads((data / "manifest.json").read_text())
    return (
        [data / f for f in manifest["auth_details"]],
        [data / f for f in manifest["instance_files"]],
        data / manifest["organization"],
    )


def _read(data: Path, *, organization: bool = True) -> tuple[Any, dict[str, float]]:
    auth, instances, org = _files(data)
    inv = Inventory()
    times: dict[str, float] = {}
    t = time.perf_counter()
    if organization:
        read_organization(org, inv)
    times["organization"] = time.perf_counter() - t
    t = time.perf_counter()
    read_auth_details(auth, inv)
    times["auth_details"] = time.perf_counter() - t
    t = time.perf_counter()
    read_instances(instances, inv)
    times["instances"] = time.perf_counter() - t
    return inv, times


def _statement_key(st: Any) -> tuple[Any, ...]:
    return (
        st.effect,
        st.actions,
        st.not_actions,
        st.resources,
        st.not_resources,
        tuple((c.operator, c.key, c.values) for c in st.conditions),
    )


def _policy_key(p: Any) -> tuple[Any, ...]:
    """A policy by content (not by name: two inline copies of one document decide alike)."""
    return tuple(_statement_key(st) for st in p.statements)


def _all_policies(inv: Any) -> Iterable[Any]:
    for mp in inv.policies.values():
        if mp.policy is not None:
            yield mp.policy
    for entity in [*inv.users.values(), *inv.groups.values(), *inv.roles.values()]:
        for named in entity.inline:
            if named.policy is not None:
                yield named.policy
    for role in inv.roles.values():
        if role.trust is not None:
            yield role.trust
    for levels in inv.scp_levels.values():
        for level in levels or ():
            yield from level


def classes(inv: Any) -> dict[str, Any]:
    """Principals and instances grouped by the keys that decide (issue 11 §3).

    Read keys are found in every policy's conditions (keys and ``${...}`` variables).
    Principal key: account, SCP levels, identity policies and boundary by content, the values
    that the principal's own layers' conditions read (user name, principal tags, which
    ``aws:PrincipalArn`` patterns match), and the roles whose trust policy names the principal by ARN (what decides its role
    chains besides its own policies). Instance key: account, region, and every tag whose key
    (case-insensitively) some condition reads, with its exact key and value. The keys are
    finer than necessary, never coarser, for the policies orggen writes (no policy names one
    instance by ARN): the counts are an upper bound on the classes a review needs."""
    tag_keys: set[str] = set()
    ptag_keys: set[str] = set()
    scalars: set[str] = set()
    arn_patterns: set[str] = set()
    var_tags: set[str] = set()
    literal_tags: set[str] = set()
    var_refs: dict[str, set[str]] = {}
    for p in _all_policies(inv):
        for st in p.statements:
            for c in st.conditions:
                keys = [c.key, *(m for v in c.values for m in VAR.findall(v))]
                for k in keys:
                    low = k.lower()
                    if low.startswith("aws:resourcetag/"):
                        tag_keys.add(low.split("/", 1)[1])
                    elif low.startswith("aws:principaltag/"):
                        ptag_keys.add(low.split("/", 1)[1])
                    elif low in ("aws:username", "aws:userid", "aws:principaltype"):
                        scalars.add(low)
                if c.key.lower() == "aws:principalarn":
                    arn_patterns.update(c.values)
                if c.key.lower().startswith("aws:resourcetag/"):
                    tag = c.key.lower().split("/", 1)[1]
                    for v in c.values:
                        found = VAR.findall(v)
                        (var_tags if found else literal_tags).add(tag)
                        var_refs.setdefault(tag, set()).update(f.lower() for f in found)
    patterns = sorted(arn_patterns)
    # tags compared only with a principal's own value (owner = ${aws:username}): a join key
    join_tags = var_tags - literal_tags
    join_vars = {v for t in join_tags for v in var_refs.get(t, ())}
    reads: dict[int, tuple[bool, frozenset[str], bool]] = {}

    def policy_reads(p: Any) -> tuple[bool, frozenset[str], bool]:
        """Whether ``p`` reads the user name, which principal tags, the principal ARN."""
        got = reads.get(id(p))
        if got is None:
            keys = {
                k.lower()
                for st in p.statements
                for c in st.conditions
                for k in [c.key, *(m for v in c.values for m in VAR.findall(v))]
            }
            got = reads[id(p)] = (
                "aws:username" in keys,
                frozenset(k.split("/", 1)[1] for k in keys if k.startswith("aws:principaltag/")),
                "aws:principalarn" in keys,
            )
        return got

    named: dict[str, set[str]] = {}
    for role in inv.roles.values():
        if role.trust is None:
            continue
        for st in role.trust.statements:
            if st.effect == "Allow" and st.principal is not None:
                for kind, values in st.principal.entries:
                    for v in values:
                        if kind == "AWS":
                            named.setdefault(v, set()).add(role.arn)
    auth = Authority(inv)
    keyed: dict[str, tuple[Any, ...]] = {}
    joined: dict[str, tuple[Any, ...]] = {}
    policy_keys: dict[int, tuple[Any, ...]] = {}

    def pk(p: Any) -> tuple[Any, ...]:
        got = policy_keys.get(id(p))
        if got is None:
            got = policy_keys[id(p)] = _policy_key(p)
        return got

    for arn in auth.principals():
        actor = auth.actor(arn)
        entity = inv.users.get(arn) or inv.roles.get(arn)
        tags = {k.lower(): v for k, v in entity.tags.items()}
        # only what the principal's own layers read decides its own requests
        layers = [
            *actor.identity,
            *(actor.boundary or ()),
            *(p for lvl in actor.scps or () for p in lvl),
        ]
        own = [policy_reads(p) for p in layers]
        wants_name = any(r[0] for r in own)
        wants_tags = sorted(set().union(*(r[1] for r in own)) if own else set())
        wants_arn = any(r[2] for r in own)
        values = (
            entity.name if wants_name and arn in inv.users else None,
            arn if "aws:userid" in scalars else None,
            actor.kind if "aws:principaltype" in scalars else None,
            tuple((k, tags.get(k)) for k in wants_tags),
            tuple(fnmatch.fnmatchcase(arn, pat) for pat in patterns) if wants_arn else (),
        )
        keyed[arn] = (
            entity.account,
            tuple(tuple(id(p) for p in lvl) for lvl in actor.scps or ()),
            frozenset(pk(p) for p in actor.identity),
            None if actor.boundary is None else frozenset(pk(p) for p in actor.boundary),
            values,
            frozenset(named.get(arn, ())),
        )
        joined[arn] = (
            *keyed[arn][:4],
            (
                None if "aws:username" in join_vars else values[0],
                *values[1:3],
                tuple(kv for kv in values[3] if f"aws:principaltag/{kv[0]}" not in join_vars),
                values[4],
            ),
            keyed[arn][5],
        )
    p_classes = len(set(keyed.values()))
    jp_classes = len(set(joined.values()))
    read = sorted(tag_keys)
    i_keys = set()
    ji_keys = set()
    for inst in inv.instances.values():
        values = tuple(
            tuple(sorted((k, v) for k, v in inst.tags.items() if k.lower() == key)) for key in read
        )
        i_keys.add((inst.account, inst.region, values))
        ji_keys.add(
            (
                inst.account,
                inst.region,
                tuple(v for key, v in zip(read, values, strict=True) if key not in join_tags),
            )
        )
    n_p = len(keyed)
    n_i = len(inv.instances)
    return {
        "principals": n_p,
        "instances": n_i,
        "pairs": n_p * n_i,
        "principal_classes": p_classes,
        "instance_classes": len(i_keys),
        "class_pairs": p_classes * len(i_keys),
        "resource_tag_keys_read": read,
        "principal_tag_keys_read": sorted(ptag_keys),
        "principal_values_read": sorted(scalars) + (["aws:principalarn"] if patterns else []),
        "join_tags": sorted(join_tags),
        "join_principal_values": sorted(join_vars),
        "join_principal_classes": jp_classes,
        "join_instance_classes": len(ji_keys),
        "join_class_pairs": jp_classes * len(ji_keys),
    }


def step_read(data: Path) -> None:
    t0 = time.perf_counter()
    inv, times = _read(data)
    times["read"] = time.perf_counter() - t0
    t = time.perf_counter()
    counts = classes(inv)
    times["classes"] = time.perf_counter() - t
    emit(
        {
            "times": times,
            "classes": counts,
            "users": len(inv.users),
            "roles": len(inv.roles),
            "not_evaluated": len(inv.not_evaluated),
        }
    )


def _sample(seq: Sequence[Any], n: int) -> list[Any]:
    if len(seq) <= n:
        return list(seq)
    step = len(seq) / n
    return [seq[int(i * step)] for i in range(n)]


def step_baseline(data: Path, n_principals: int, n_instances: int) -> None:
    inv, _ = _read(data)
    auth = Authority(inv)
    principals = _sample(auth.principals(), n_principals)
    instances = _sample(sorted(inv.instances), n_instances)
    actors = [auth.actor(p) for p in principals]
    contexts = [(arn, instance_context(inv.instances[arn])) for arn in instances]
    allowed = 0
    t, c = time.perf_counter(), time.process_time()
    for actor in actors:
        for arn, ctx in contexts:
            allowed += auth.decide(actor, STOP, arn, ctx).reaches
    secs, cpu = time.perf_counter() - t, time.process_time() - c
    pairs = len(actors) * len(contexts)
    emit(
        {
            "pairs": pairs,
            "seconds": secs,
            "cpu_seconds": cpu,
            "pairs_per_s": pairs / secs,
            "pairs_per_cpu_s": pairs / cpu,
            "reaching": allowed,
        }
    )


def step_who_can(data: Path, instances: Sequence[str]) -> None:
    t = time.perf_counter()
    inv, _ = _read(data)
    read = time.perf_counter() - t
    review = Review(inv)
    principals = review.authority.principals()
    out = []
    for arn in instances:
        inst = inv.instances[arn]
        found: list[Any] = []
        c = time.process_time()
        t = last = time.perf_counter()
        for i, p in enumerate(principals, 1):
            got = review.access(p, STOP, inst)
            if got is not None:
                found.append(got)
            now = time.perf_counter()
            if now - last > 5:
                last = now
                print(
                    f"PROGRESS {arn} {i}/{len(principals)} principals in {now - t:.1f} s "
                    f"(cpu {time.process_time() - c:.1f} s)",
                    flush=True,
                )
        secs, cpu = time.perf_counter() - t, time.process_time() - c
        chained = sum(1 for a in found if a.via)
        out.append(
            {
                "instance": arn,
                "seconds": secs,
                "cpu_seconds": cpu,
                "principals": len(found),
                "via_roles": chained,
            }
        )
        print(f"PROGRESS done {arn} in {secs:.2f} s", flush=True)
    emit({"read": read, "principals": len(principals), "queries": out})


# -- principalmapper against moto -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _load_into_moto(iam: Any, doc: dict[str, Any]) -> int:
    """The export's managed policies, groups, users and roles, created through IAM's API."""
    calls = 0

    def call(fn: Callable[..., Any], **kw: Any) -> None:
        nonlocal calls
        calls += 1
        fn(**kw)

    for p in doc["Policies"]:
        version = next(v for v in p["PolicyVersionList"] if v["IsDefaultVersion"])
        call(
            iam.create_policy,
            PolicyName=p["PolicyName"],
            Path=p["Path"],
            PolicyDocument=json.dumps(version["Document"]),
        )
    for g in doc["GroupDetailList"]:
        call(iam.create_group, GroupName=g["GroupName"], Path=g["Path"])
        for ip in g.get("GroupPolicyList", []):
            call(
                iam.put_group_policy,
                GroupName=g["GroupName"],
                PolicyName=ip["PolicyName"],
                PolicyDocument=json.dumps(ip["PolicyDocument"]),
            )
        for mp in g.get("AttachedManagedPolicies", []):
            call(iam.attach_group_policy, GroupName=g["GroupName"], PolicyArn=mp["PolicyArn"])
    for kind in ("User", "Role"):
        for e in doc[f"{kind}DetailList"]:
            name = e[f"{kind}Name"]
            kw: dict[str, Any] = {f"{kind}Name": name, "Path": e["Path"]}
            if e.get("Tags"):
                kw["Tags"] = e["Tags"]
            if "PermissionsBoundary" in e:
                kw["PermissionsBoundary"] = e["PermissionsBoundary"]["PermissionsBoundaryArn"]
            if kind == "Role":
                kw["AssumeRolePolicyDocument"] = json.dumps(e["AssumeRolePolicyDocument"])
                call(iam.create_role, **kw)
            else:
                call(iam.create_user, **kw)
            put = iam.put_user_policy if kind == "User" else iam.put_role_policy
            attach = iam.attach_user_policy if kind == "User" else iam.attach_role_policy
            for ip in e.get(f"{kind}PolicyList", []):
                call(
                    put,
                    **{f"{kind}Name": name},
                    PolicyName=ip["PolicyName"],
                    PolicyDocument=json.dumps(ip["PolicyDocument"]),
                )
            for mp in e.get("AttachedManagedPolicies", []):
                call(attach, **{f"{kind}Name": name}, PolicyArn=mp["PolicyArn"])
            for group in e.get("GroupList", []):
                call(iam.add_user_to_group, UserName=name, GroupName=group)
    return calls


def _moto_gaps(doc: dict[str, Any]) -> Callable[..., None]:
    """A botocore ``after-call`` hook for GetAccountAuthorizationDetails that fills in what moto
    5 leaves out of its answer (``PolicyName`` of managed policies; ``PermissionsBoundary`` and
    ``Tags`` of users and roles, although moto stores them), from the export moto was loaded
    with, so that principalmapper sees the same account as lspolicy."""
    extra = {
        e["Arn"]: {k: e[k] for k in ("PermissionsBoundary", "Tags") if k in e}
        for e in [*doc["UserDetailList"], *doc["RoleDetailList"]]
    }

    def hook(parsed: dict[str, Any], **_: Any) -> None:
        for p in parsed.get("Policies", []):
            p.setdefault("PolicyName", p["Arn"].rsplit("/", 1)[-1])
        for key in ("UserDetailList", "RoleDetailList"):
            for e in parsed.get(key, []):
                for k, v in extra.get(e.get("Arn", ""), {}).items():
                    e.setdefault(k, v)

    return hook


def step_pmapper(data: Path, instance: str) -> None:
    """principalmapper 1.1.5: graph build (its own gathering, against moto) and query."""
    result: dict[str, Any] = {}
    sys.path.insert(0, str(HERE))
    from peers import apply_principalmapper_shim  # noqa: PLC0415  (the engine bench's shim)

    result["shim"] = apply_principalmapper_shim()
    try:
        import boto3  # noqa: PLC0415
        import botocore.session  # noqa: PLC0415
        from principalmapper.graphing.gathering import create_graph  # noqa: PLC0415
        from principalmapper.querying import query_interface  # noqa: PLC0415
    except Exception as exc:  # any import failure is the answer
        emit({"error": f"import: {type(exc).__name__}: {exc}"})
        return
    auth, instance_files, _ = _files(data)
    doc = json.loads(auth[0].read_text())
    account = doc["UserDetailList"][0]["Arn"].split(":")[4]
    port = _free_port()
    env = {
        **os.environ,
        "MOTO_ACCOUNT_ID": account,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    moto = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    server = subprocess.Popen(
        [moto, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ[k] = "testing"
        os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
        iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
        t = time.perf_counter()
        result["load_calls"] = _load_into_moto(iam, doc)
        result["load_seconds"] = time.perf_counter() - t
        session = botocore.session.get_session()
        # moto 5's GetAccountAuthorizationDetails lacks PolicyName (principalmapper reads it)
        # and users' and roles' boundaries and tags: filled in from the export (_moto_gaps)
        session.register("after-call.iam.GetAccountAuthorizationDetails", _moto_gaps(doc))
        args = {"iam": {"endpoint_url": endpoint}, "sts": {"endpoint_url": endpoint}}
        t = time.perf_counter()
        try:
            graph = create_graph(session, ["iam", "sts"], ["us-east-1"], None, None, args)
        except Exception as exc:
            import traceback  # noqa: PLC0415

            frames = traceback.extract_tb(exc.__traceback__)[-3:]
            where = "; ".join(f"{Path(f.filename).name}:{f.lineno} {f.line}" for f in frames)
            emit({**result, "error": f"graph build: {type(exc).__name__}: {exc} at {where}"})
            return
        result["graph_seconds"] = time.perf_counter() - t
        result["nodes"] = len(graph.nodes)
        result["edges"] = len(graph.edges)
        target = None
        for f in instance_files:
            for i in json.loads(f.read_text())["instances"]:
                if i["arn"] == instance:
                    target = i
        assert target is not None
        keys = {f"aws:ResourceTag/{t['key']}": t["value"] for t in target["tags"]}
        keys["aws:RequestedRegion"] = target["location"]["regionName"]
        t = time.perf_counter()
        can = []
        for node in graph.nodes:
            got = query_interface.search_authorization_for(graph, node, STOP, instance, keys)
            if got.allowed:
                can.append(node.arn)
        result["query_seconds"] = time.perf_counter() - t
        result["who_can"] = sorted(can)
        emit(result)
    finally:
        server.terminate()
        server.wait(timeout=10)


def step_lspolicy_answer(data: Path, instance: str) -> None:
    """lspolicy's who-can without the organization file (principalmapper sees no SCPs), to
    compare the two answers principal by principal."""
    inv, _ = _read(data, organization=False)
    review = Review(inv)
    found = review.who_can(STOP, inv.instances[instance])
    emit(
        {
            "who_can": sorted(a.principal for a in found),
            "unconditional": sorted(a.principal for a in found if not a.conditional),
        }
    )


# -- the parent -------------------------------------------------------------------------------


def child(step: str, data: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        "--step",
        step,
        "--data",
        str(data),
        *extra,
    ]


def ensure_data(data: Path, seed: int, scale: str) -> tuple[Any, Measured | None]:
    orggen = _orggen()
    manifest = orggen.load_manifest(data)
    if manifest is not None and manifest.seed == seed and manifest.scale == scale:
        return manifest, None
    if data.exists():
        shutil.rmtree(data)
    m = measure(
        f"generate {scale}",
        [
            sys.executable,
            str(HERE / "orggen.py"),
            "--out",
            str(data),
            "--seed",
            str(seed),
            "--scale",
            scale,
        ],
        3600,
    )
    if not m.ok:
        raise SystemExit(f"orggen failed: {m.stderr[-2000:]}")
    return orggen.load_manifest(data), m


def lspolicy_cli() -> list[str]:
    exe = Path(sys.executable).parent / "lspolicy"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "lspolicy.cli"]


def review_available() -> tuple[bool, str]:
    try:
        got = subprocess.run(
            [*lspolicy_cli(), "review", "--help"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"lspolicy review --help: {exc}"
    if got.returncode != 0:
        last = (got.stderr.strip().splitlines() or ["?"])[-1]
        return False, f"`lspolicy review --help` exits {got.returncode}: {last}"
    return True, got.stdout


class Report:
    """Lines for people and a JSON document."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.doc: dict[str, Any] = {}

    def say(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def row(self, m: Measured, unit: Measured | None = None, note: str = "") -> None:
        status = "TIMEOUT" if m.timed_out else ("ok" if m.rc == 0 else f"exit {m.rc}")
        ratio = ""
        if unit is not None and unit.wall and unit.cpu:
            ratio = f"  = {m.wall / unit.wall:.1f} x read wall, {m.cpu / unit.cpu:.1f} x read cpu"
        self.say(
            f"  {m.label:<44} wall {m.wall:8.2f} s  cpu {m.cpu:8.2f} s  "
            f"peak RSS {m.rss_mb:7.0f} MB  {status}{ratio}{('  ' + note) if note else ''}"
        )
        self.doc.setdefault("steps", []).append(
            {
                "label": m.label,
                "wall": m.wall,
                "cpu": m.cpu,
                "rss_mb": m.rss_mb,
                "rc": m.rc,
                "timed_out": m.timed_out,
                "result": m.result,
            }
        )


def run_scale(
    rep: Report, scale: str, data: Path, args: argparse.Namespace, *, peers: bool
) -> None:
    manifest, gen = ensure_data(data, args.seed, scale)
    rep.say(
        f"\n== {scale}: {len(manifest.accounts)} accounts, {manifest.principals} principals "
        f"({manifest.users} users, {manifest.roles} roles, {manifest.boundaries} with a boundary), "
        f"{manifest.instances} instances  [{data}]"
    )
    if gen is not None:
        rep.row(gen, note="(generation, not lspolicy)")
    read = measure(f"read exports ({scale})", child("read", data), args.timeout)
    rep.row(read)
    if not read.ok:
        rep.say(f"  read failed: {read.stderr[-1500:]}")
        return
    unit = read
    r = read.result
    c = r["classes"]
    rep.doc.setdefault("scales", {})[scale] = {"manifest": manifest.__dict__, "classes": c}
    rep.say(
        f"    in-process: organization {r['times']['organization']:.2f} s, auth details "
        f"{r['times']['auth_details']:.2f} s, instances {r['times']['instances']:.2f} s; "
        f"not evaluated: {r['not_evaluated']}"
    )
    rep.say(
        f"  classes (bench's keys, {r['times']['classes']:.1f} s): {c['principals']} principals -> "
        f"{c['principal_classes']} classes; {c['instances']} instances -> {c['instance_classes']} "
        f"classes; {c['pairs']:,} pairs -> {c['class_pairs']:,} class pairs "
        f"({c['pairs'] / max(1, c['class_pairs']):,.0f}x fewer)"
    )
    rep.say(
        f"    keys read: aws:ResourceTag/{{{', '.join(c['resource_tag_keys_read'])}}}; "
        f"aws:PrincipalTag/{{{', '.join(c['principal_tag_keys_read'])}}}; "
        f"{', '.join(c['principal_values_read'])}"
    )
    if c["join_tags"]:
        rep.say(
            f"    with tag {', '.join(c['join_tags'])} (compared only with "
            f"{', '.join('${' + v + '}' for v in c['join_principal_values'])}) as a join key "
            f"instead of a class key: {c['join_principal_classes']} principal classes x "
            f"{c['join_instance_classes']} instance classes = {c['join_class_pairs']:,} class "
            f"pairs ({c['pairs'] / max(1, c['join_class_pairs']):,.0f}x fewer than pairs)"
        )

    if args.peers_only:
        if peers and manifest.sample_instances:
            run_peers(
                rep, data, manifest.sample_instances[0], unit, Measured(""), timeout=args.timeout
            )
        return
    base = measure(
        f"brute-force per-pair loop ({scale}, sample)",
        child("baseline", data, "--sample", *map(str, args.sample)),
        args.timeout,
    )
    rep.row(base, unit)
    rate = base.result.get("pairs_per_cpu_s", 0.0)
    if rate:
        rep.say(
            f"    {base.result['pairs']} pairs in {base.result['cpu_seconds']:.2f} s cpu "
            f"({base.result['seconds']:.2f} s wall) after reading = {rate:,.0f} pairs per cpu "
            f"second; every pair this way: {c['pairs'] / rate:,.0f} cpu s "
            f"({c['pairs'] / rate / 3600:,.1f} h), direct decisions only (no role chains)"
        )

    samples = manifest.sample_instances[: args.who_can]
    wc = measure(
        f"who-can x{len(samples)} in process ({scale})",
        child("who-can", data, "--instances", *samples),
        args.timeout,
    )
    rep.row(wc, unit)
    if wc.result:
        for q in wc.result["queries"]:
            pr = wc.result["principals"] / q["cpu_seconds"] if q["cpu_seconds"] else 0
            vs = f" = {pr / rate:.2f} x brute-force direct pairs/s" if rate else ""
            rep.say(
                f"    {q['instance']}: {q['seconds']:.2f} s wall, {q['cpu_seconds']:.2f} s cpu "
                f"(target < 1 s), {q['principals']} principals can ({q['via_roles']} via roles); "
                f"{pr:,.0f} principals per cpu second{vs}"
            )
        rep.say(f"    (reading before the queries: {wc.result['read']:.2f} s)")
    else:
        prog = progress_lines(wc)
        rep.say(
            "    did not finish"
            + (f" within {args.timeout:.0f} s" if wc.timed_out else "")
            + (f"; last progress: {prog[-1][9:]}" if prog else "")
        )
        got = re.search(r" (\d+)/(\d+) principals in ([\d.]+) s", prog[-1]) if prog else None
        if got:
            done, total, secs = int(got[1]), int(got[2]), float(got[3])
            rep.say(
                f"    linear extrapolation: {secs * total / done:,.0f} s wall for the first "
                f"instance ({done / secs:,.1f} principals/s; cpu/wall in this step "
                f"{wc.cpu / wc.wall:.2f})"
            )
            rep.doc.setdefault("extrapolated", {})[scale] = secs * total / done
        if not wc.timed_out:
            rep.say(f"    {wc.stderr[-1500:]}")
    if samples:
        cmd = [
            *lspolicy_cli(), "who-can", STOP, "--instance", samples[0], "--format", "json",
            "--auth-details", *map(str, _files(data)[0]),
            "--instances", *map(str, _files(data)[1]),
            "--organization", str(_files(data)[2]),
        ]  # fmt: skip
        cli = measure(f"lspolicy who-can CLI ({scale}, 1 instance)", cmd, args.timeout)
        note = ""
        if cli.ok:
            note = f"{len(json.loads(cli.stdout)['principals'])} principals"
        rep.row(cli, unit, note)
        if cli.timed_out:
            rep.say(f"    stopped after {args.timeout:.0f} s (--timeout)")

    available, why = review_available()
    if not available:
        rep.say(f"  lspolicy review: SKIPPED ({why})")
    else:
        out = Path(tempfile.mkdtemp(prefix=f"orgbench-review-{scale}-"))
        cmd = [
            *lspolicy_cli(), "review",
            "--auth-details", *map(str, _files(data)[0]),
            "--instances", *map(str, _files(data)[1]),
            "--organization", str(_files(data)[2]),
            "--out", str(out),
        ]  # fmt: skip
        if "--actions" in why:
            cmd += ["--actions", STOP]
        limit = args.review_timeout if scale == "full" else args.timeout
        rv = measure(f"lspolicy review ({scale})", cmd, limit)
        target = "(target < 10 min, < 4 GB)" if scale == "full" else "(target < 30 s)"
        rep.row(rv, unit, target)
        if rv.ok:
            pps = c["pairs"] / rv.wall
            cps = c["pairs"] / rv.cpu if rv.cpu else 0
            vs = f" = {cps / rate:,.0f} x brute-force pairs per cpu s" if rate else ""
            rep.say(
                f"    {c['pairs']:,} pairs in {rv.wall:.1f} s wall = {pps:,.0f} pairs/s; "
                f"{cps:,.0f} pairs per cpu s{vs}"
            )
            size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
            rep.say(f"    output {out}: {size / 1e6:.1f} MB")
        tail = (rv.stdout.strip().splitlines() or [""])[-5:] + rv.stderr.strip().splitlines()[-5:]
        for line in tail:
            if line:
                rep.say(f"    | {line}")
        shutil.rmtree(out, ignore_errors=True)

    if peers and samples:
        run_peers(rep, data, samples[0], unit, wc, timeout=args.timeout)


RISKS = (
    "PrivilegeEscalation",
    "DataExfiltration",
    "ResourceExposure",
    "CredentialsExposure",
    "InfrastructureModification",
    "ServiceWildcard",
)


def cloudsplaining_summary(results: dict[str, Any]) -> str:
    """Policies with a finding in each of cloudsplaining's risk categories."""
    policies = [
        p
        for section in ("customer_managed_policies", "inline_policies", "aws_managed_policies")
        for p in results.get(section, {}).values()
    ]
    counts = {}
    for risk in RISKS:
        flagged = 0
        for p in policies:
            v = p.get(risk)
            if isinstance(v, dict):
                v = v.get("findings", v)
            flagged += bool(v)
        counts[risk] = flagged
    listed = ", ".join(f"{k} {v}" for k, v in counts.items())
    return (
        f"policies with findings, of {len(policies)} (managed + inline): {listed}; "
        f"{len(results.get('users', {}))} users and {len(results.get('roles', {}))} roles "
        "listed with their policies; no per-instance, tag-condition, boundary or SCP answer"
    )


def run_peers(
    rep: Report, data: Path, instance: str, unit: Measured, wc: Measured, *, timeout: float
) -> None:
    auth = _files(data)[0]
    rep.say(f"\n  peers on the largest single-account export ({auth[0].name}):")
    exe = Path(sys.executable).parent / "cloudsplaining"
    if not exe.exists():
        rep.say("  cloudsplaining: SKIPPED (not installed: pip install cloudsplaining)")
    else:
        out = Path(tempfile.mkdtemp(prefix="orgbench-cloudsplaining-"))
        cs = measure(
            "cloudsplaining scan",
            [
                str(exe),
                "scan",
                "--input-file",
                str(auth[0]),
                "--output",
                str(out),
                "--skip-open-report",
            ],
            600,
        )
        files = sorted(p.name for p in out.iterdir()) if out.exists() else []
        rep.row(cs, unit, f"wrote {', '.join(files) or 'nothing'}")
        if not cs.ok:
            rep.say(f"    {(cs.stderr or cs.stdout).strip()[-800:]}")
        else:
            results = next((p for p in out.iterdir() if p.name.startswith("iam-results")), None)
            if results is not None:
                rep.say("    " + cloudsplaining_summary(json.loads(results.read_text())))
        shutil.rmtree(out, ignore_errors=True)
    pm = measure(
        "principalmapper (moto server)", child("pmapper", data, "--instances", instance), 900
    )
    rep.row(pm, unit, "(includes loading moto)")
    r = pm.result
    if "error" in r or not pm.ok:
        rep.say(f"    principalmapper cannot run: {r.get('error') or pm.stderr.strip()[-1200:]}")
        return
    rep.say(
        f"    shim: {'; '.join(r['shim']) or 'none needed'}; loading moto: {r['load_calls']} IAM "
        f"calls in {r['load_seconds']:.1f} s; graph build {r['graph_seconds']:.1f} s "
        f"({r['nodes']} nodes, {r['edges']} edges); who-can query {r['query_seconds']:.2f} s: "
        f"{len(r['who_can'])} principals"
    )
    ls = measure(
        "lspolicy who-can, no organization file",
        child("answer", data, "--instances", instance),
        timeout,
    )
    rep.row(ls, unit, "(reading included; to compare with principalmapper)")
    if ls.ok:
        mine, theirs = set(ls.result["who_can"]), set(r["who_can"])
        rep.say(
            f"    same instance, no SCPs on either side: lspolicy {len(mine)} principals "
            f"({len(ls.result['unconditional'])} unconditionally), principalmapper {len(theirs)}; "
            f"both {len(mine & theirs)}, only lspolicy {len(mine - theirs)}, only "
            f"principalmapper {len(theirs - mine)}"
        )
        rep.doc["pmapper_vs_lspolicy"] = {
            "only_lspolicy": sorted(mine - theirs)[:20],
            "only_pmapper": sorted(theirs - mine)[:20],
        }
    if wc.result and wc.result["queries"]:
        rep.say(
            f"    principalmapper graph build + query {r['graph_seconds'] + r['query_seconds']:.1f} s "
            f"vs lspolicy first who-can {wc.result['queries'][0]['seconds']:.2f} s"
        )


def environment() -> str:
    try:
        import psutil  # noqa: PLC0415  (optional)

        mem = f", {psutil.virtual_memory().total / 2**30:.0f} GiB RAM"
    except ImportError:
        mem = ""
    return (
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs{mem}, load average {os.getloadavg()[0]:.1f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help=f"data root (default {DEFAULT_DATA})"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--full", action="store_true", help="also the 50-account organization")
    parser.add_argument(
        "--timeout", type=float, default=240, help="seconds per step at most (default 240)"
    )
    parser.add_argument(
        "--review-timeout", type=float, default=900, help="full-org review cap (default 900)"
    )
    parser.add_argument("--who-can", type=int, default=3, help="instances to ask who-can for")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--only-full", action="store_true", help="the organization only")
    parser.add_argument("--peers-only", action="store_true", help="reading, then the peers")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--instances", nargs="*", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--sample", nargs=2, type=int, default=[200, 50], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        steps: dict[str, Callable[[], None]] = {
            "read": lambda: step_read(args.data),
            "baseline": lambda: step_baseline(args.data, *args.sample),
            "who-can": lambda: step_who_can(args.data, args.instances),
            "pmapper": lambda: step_pmapper(args.data, args.instances[0]),
            "answer": lambda: step_lspolicy_answer(args.data, args.instances[0]),
        }
        steps[args.step]()
        return 0
    rep = Report()
    rep.say(f"review benchmark, seed {args.seed}: {environment()}")
    rep.doc["environment"] = environment()
    if not args.only_full:
        run_scale(rep, "account", args.data / "account", args, peers=not args.no_peers)
    if args.full or args.only_full:
        run_scale(rep, "full", args.data / "full", args, peers=False)
    if args.json:
        args.json.write_text(json.dumps(rep.doc, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
