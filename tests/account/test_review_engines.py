"""``lspolicy review --engine serial|pool|ray``: every engine writes the same dataset.

Issue 11 §3: the embedded default runs a process pool over this machine's cores; beyond one
machine the same class-pair job runs on Ray, tested against a local Ray cluster the test
starts, "with results identical to the embedded run". The AWS documentation is silent on how a
review is distributed: what is checked is that the engine changes nothing — the same class
cells in the same order, so the same bytes for every Parquet file pyarrow writes, the same row
set for the matrix DuckDB expands (its row order is unspecified), the same report.json — on
the bundled sample export (``examples/account``), on the tag-escalation fixture (so the
escalation witnesses travel through the engines too) and on the seeded small organization of
``bench/orggen.py``. The decisions themselves are checked elsewhere against the IAM policy
evaluation logic (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).

Ray: ``ray.init(num_cpus=2, include_dashboard=False)`` starts a local cluster
(https://docs.ray.io/en/latest/ray-core/api/doc/ray.init.html); skipped with the reason when
Ray cannot be imported (it is in the ``test`` extra where it has wheels).
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_review_properties import ACTIONS, reviewed  # same folder (rootdir import)

from lspolicy.account import engines, review
from lspolicy.account.engines import SMALL_WORK, Engine, EngineError, _batches, make_engine
from lspolicy.account.model import Inventory
from lspolicy.account.parquet import run_query
from lspolicy.account.review import compute_matrix
from lspolicy.account.views import ESCALATION_FILES
from lspolicy.account.witness_table import WitnessTable
from lspolicy.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "account"
DATA = Path(__file__).resolve().parent / "data"
PYARROW_FILES = (
    "class_columns.parquet",
    "class_maps.parquet",
    "part_maps.parquet",
    "map_parts.parquet",
    "principals.parquet",
    "instances.parquet",
    *(f"{name}.parquet" for name in ESCALATION_FILES),
    "problems.parquet",
    "observed.parquet",
)


def example_inputs() -> list[str]:
    return [
        "--auth-details",
        *sorted(str(p) for p in EXAMPLE.glob("auth-details-*.json")),
        "--instances",
        *sorted(str(p) for p in EXAMPLE.glob("instances-*.json")),
        "--organization",
        str(EXAMPLE / "organization.json"),
    ]


def fixture_inputs() -> list[str]:
    return [
        "--auth-details",
        str(DATA / "review-auth-details-333333333333.json"),
        "--instances",
        str(DATA / "review-instances-333333333333.json"),
        "--trail",
        str(DATA / "review-trail.json"),
    ]


@cache
def orggen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("orggen", ROOT / "bench" / "orggen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["orggen"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def small_org(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """``bench/orggen.py --scale small --seed 1``: 3 accounts, 27 principals, 36 instances."""
    out = tmp_path_factory.mktemp("orggen-small")
    manifest = orggen().generate(out, seed=1, scale="small")
    return [
        "--auth-details",
        *(str(out / f) for f in manifest.auth_details),
        "--instances",
        *(str(out / f) for f in manifest.instance_files),
        "--organization",
        str(out / manifest.organization),
        "--max-chain",
        "4",
    ]


def run(out: Path, inputs: list[str], *extra: str) -> Path:
    assert main(["review", *inputs, "--out", str(out), *extra]) == 0
    return out


def matrix_rows(out: Path) -> list[tuple[Any, ...]]:
    con = duckdb.connect()
    try:
        return con.execute(
            f"SELECT * FROM read_parquet('{out}/matrix/*.parquet') "
            "ORDER BY principal_arn, instance_arn, action"
        ).fetchall()
    finally:
        con.close()


def assert_same_dataset(a: Path, b: Path) -> None:
    """Byte-identical pyarrow files, the same matrix rows, the same report (paths aside)."""
    for name in PYARROW_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    rows = matrix_rows(a)
    assert rows, "an empty matrix proves nothing"
    assert rows == matrix_rows(b)
    report_a = (a / "report.json").read_text().replace(str(a), "OUT")
    report_b = (b / "report.json").read_text().replace(str(b), "OUT")
    assert json.loads(report_a) == json.loads(report_b)


@pytest.fixture(scope="module")
def serial_runs(tmp_path_factory: pytest.TempPathFactory, small_org: list[str]) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("serial")
    return {
        "example": run(base / "example", example_inputs(), "--engine", "serial"),
        "fixture": run(base / "fixture", fixture_inputs(), "--engine", "serial"),
        "small": run(base / "small", small_org, "--engine", "serial"),
    }


def inputs_of(name: str, small_org: list[str]) -> list[str]:
    return {"example": example_inputs(), "fixture": fixture_inputs(), "small": small_org}[name]


@pytest.mark.parametrize("name", ["example", "fixture", "small"])
def test_pool_writes_what_serial_writes(
    name: str, serial_runs: dict[str, Path], small_org: list[str], tmp_path: Path
) -> None:
    """Two forked workers, batches merged by index: the same bytes as one process."""
    out = run(tmp_path / "pool", inputs_of(name, small_org), "--engine", "pool", "--workers", "2")
    assert_same_dataset(serial_runs[name], out)


def test_escalations_went_through_the_engine(serial_runs: dict[str, Path]) -> None:
    """The fixture has tag escalations (``test_review.py`` checks them by hand): the engine
    comparison above covers the escalation witnesses, not only an empty table."""
    _, got = run_query(serial_runs["fixture"], "SELECT count(*) FROM escalations")
    assert got[0][0] > 0


def test_spawned_pool_unpickles_the_job(
    serial_runs: dict[str, Path], small_org: list[str], tmp_path: Path, monkeypatch: Any
) -> None:
    """Where processes are not forked (macOS, Windows) each worker unpickles the job (the
    inventory's frozen tag maps included) and builds its own review: the same dataset."""
    monkeypatch.setattr(engines.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    out = run(tmp_path / "spawn", small_org, "--engine", "pool", "--workers", "2")
    assert_same_dataset(serial_runs["small"], out)


# -- Ray ----------------------------------------------------------------------------------------


def _ray_or_skip() -> Any:
    if sys.version_info >= (3, 14):
        pytest.skip("Ray has no wheels for this Python: the Ray engine is not tested here")
    return pytest.importorskip(
        "ray", reason="Ray is not installed (pip install 'lspolicy[ray]'): engine not tested"
    )


def test_ray_starts_and_stops_its_own_local_cluster(
    serial_runs: dict[str, Path], tmp_path: Path
) -> None:
    """Without ``--address`` and with no cluster connected, the engine starts a local one
    with ``--workers`` CPUs for the run and shuts it down after."""
    ray = _ray_or_skip()
    assert not ray.is_initialized()
    out = run(tmp_path / "ray", example_inputs(), "--engine", "ray", "--workers", "2")
    assert_same_dataset(serial_runs["example"], out)
    assert not ray.is_initialized()


def test_ray_unreachable_address_is_one_line_and_exit_2(tmp_path: Path, capsys: Any) -> None:
    """A head that does not answer is said at once (Ray itself retries for minutes). Run
    before the module's cluster starts: a driver already connected keeps its cluster."""
    _ray_or_skip()
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens on it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = main(
        ["review", *example_inputs(), "--out", str(tmp_path / "o"), "--engine", "ray",
         "--address", f"127.0.0.1:{port}"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert err.startswith(
        f"lspolicy: engine ray: cannot start or reach the Ray cluster at '127.0.0.1:{port}': "
        f"no answer on 127.0.0.1:{port}"
    )


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    """A local Ray cluster for the module's Ray tests, shut down after them."""
    ray = _ray_or_skip()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.mark.parametrize("name", ["example", "fixture", "small"])
def test_ray_writes_what_serial_writes(
    name: str,
    ray_cluster: Any,
    serial_runs: dict[str, Path],
    small_org: list[str],
    tmp_path: Path,
) -> None:
    """``--engine ray`` on the cluster this driver is connected to: the job is put in the
    object store, tasks run in Ray's worker processes, and the dataset is the serial one."""
    out = run(tmp_path / "ray", inputs_of(name, small_org), "--engine", "ray")
    assert_same_dataset(serial_runs[name], out)
    assert ray_cluster.is_initialized(), "a cluster the engine did not start is left running"


def test_ray_tasks_run_outside_the_driver(ray_cluster: Any) -> None:
    """The cluster the Ray tests use runs tasks in its own worker processes (not in-process
    local mode), so the comparison above crossed a process boundary."""
    # a lambda is pickled by value: this test module is not importable on the workers
    pid = ray_cluster.remote(lambda: os.getpid())  # noqa: PLW0108
    pids = ray_cluster.get([pid.remote() for _ in range(4)])
    assert os.getpid() not in pids
    assert engines._CACHE == {}, "the driver decided no batch itself"


def _example_job() -> engines.PairJob:
    from lspolicy.account.authdetails import read_auth_details  # noqa: PLC0415
    from lspolicy.account.classes import InstanceClasses  # noqa: PLC0415
    from lspolicy.account.instances import read_instances  # noqa: PLC0415
    from lspolicy.account.organization import read_organization  # noqa: PLC0415

    inv = Inventory()
    read_organization(EXAMPLE / "organization.json", inv)
    read_auth_details(sorted(EXAMPLE.glob("auth-details-*.json")), inv)
    read_instances(sorted(EXAMPLE.glob("instances-*.json")), inv)
    return engines.PairJob(inv, InstanceClasses.build(inv), ACTIONS, 4, True)


def test_a_batch_failing_in_a_ray_worker_comes_back_as_one_line(ray_cluster: Any) -> None:
    """A batch that raises inside a Ray worker (here: a principal the inventory does not
    have) is returned as data and raised in the driver as one `EngineError` line."""
    nobody = "arn:aws:iam::999999999999:user/nobody"
    with pytest.raises(EngineError) as caught:
        Engine("ray").run(_example_job(), [(0, nobody)])
    assert str(caught.value) == (
        f"engine ray: a worker failed on principal class 0 ({nobody}): KeyError: '{nobody}'"
    )


def _merged(job: engines.PairJob, results: list[engines.BatchResult]) -> list[object]:
    """The batches' class cells and witnesses merged in batch order, as `compute_matrix`."""
    cells = review.ClassCells(job.actions, review.account_runs(job.classes))
    found = WitnessTable()
    for part in sorted(results, key=lambda r: r.index):
        cells.extend(part.cells)
        found.extend(part.witnesses)
    return [list(cells), list(found)]


def test_ray_puts_the_job_once_and_tasks_carry_ranges(ray_cluster: Any, monkeypatch: Any) -> None:
    """The driver's state reaches Ray's workers through one object in the object store (the
    job and every representative, `RayJob`); a task's arguments are the job's token, that
    object's reference (boxed, so Ray does not resolve it per task) and three ints: the batch
    index and its range of positions. The batches merged are the serial run's cells and
    witnesses."""
    job = _example_job()
    reps = list(enumerate(sorted([*job.inventory.users, *job.inventory.roles])))
    puts: list[object] = []
    sent: list[tuple[object, ...]] = []
    real_put, real_remote = ray_cluster.put, ray_cluster.remote

    def put(value: object, **options: object) -> object:
        puts.append(value)
        return real_put(value, **options)

    def remote(**options: object) -> Any:
        def wrap(fn: Any) -> Any:
            task = real_remote(**options)(fn)

            class Spy:
                def remote(self, *args: object) -> object:
                    sent.append(args)
                    return task.remote(*args)

            return Spy()

        return wrap

    monkeypatch.setattr(ray_cluster, "put", put)
    monkeypatch.setattr(ray_cluster, "remote", remote)
    got = Engine("ray").run(job, reps)
    assert len(puts) == 1
    assert isinstance(puts[0], engines.RayJob)
    assert puts[0].job is job
    assert puts[0].reps == tuple(reps)
    assert len(sent) == len(got) == min(len(reps), 2 * engines.BATCHES_PER_WORKER) > 1
    positions: list[int] = []
    for token, boxed, index, start, end in sent:
        assert token == job.token
        assert isinstance(boxed, list)
        assert [type(b).__name__ for b in boxed] == ["ObjectRef"]
        assert isinstance(index, int)
        positions += range(start, end)  # type: ignore[call-overload]
    assert positions == list(range(len(reps)))
    assert [r.index for r in got] == list(range(len(sent)))
    assert _merged(job, got) == _merged(job, Engine("serial").run(job, reps))


@settings(max_examples=5, deadline=None)
@given(inv=reviewed())
def test_ray_matrix_equals_serial_on_random_organizations(ray_cluster: Any, inv: Inventory) -> None:
    """For random small organizations (the generator of ``test_review_properties.py``), the
    Ray engine on the local cluster (2 CPUs: up to 8 tasks of principal-class ranges, each
    worker building its own review from the job in the object store) gives the serial matrix:
    cells, escalations, classes and what was not evaluated, in the same order."""
    serial = compute_matrix(inv, ACTIONS, engine=Engine("serial"))
    on_ray = compute_matrix(inv, ACTIONS, engine=Engine("ray"))
    assert list(on_ray.cells) == list(serial.cells)
    assert on_ray.escalations == serial.escalations
    assert on_ray.principal_class == serial.principal_class
    assert on_ray.not_evaluated == serial.not_evaluated
    assert on_ray.notes == serial.notes
    assert list(on_ray.witnesses) == list(serial.witnesses)


# -- errors: one line, exit 2, never a traceback -------------------------------------------------


def _boom(*args: object, **kwargs: object) -> object:
    raise RuntimeError("decision failed on purpose")


def _die(*args: object) -> object:
    os._exit(3)


@pytest.mark.parametrize("engine", ["serial", "pool"])
def test_a_failing_batch_is_one_line_and_exit_2(
    engine: str, tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    """A batch that raises in a worker (forked: the patch is inherited) comes back as data:
    the engine, the principal class and the error, on one line; exit 2."""
    monkeypatch.setattr(review, "_outcome", _boom)
    code = main(
        ["review", *example_inputs(), "--out", str(tmp_path / "o"), "--engine", engine]
        + (["--workers", "2"] if engine == "pool" else [])
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert f"lspolicy: engine {engine}: a worker failed on principal class 0 (arn:aws:iam::" in err
    assert "RuntimeError: decision failed on purpose" in err
    assert not (tmp_path / "o" / "matrix").exists()


def test_a_dying_worker_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    """A worker process that dies (killed, out of memory) breaks the pool: said, exit 2."""
    monkeypatch.setattr(engines, "_pool_batch", _die)
    code = main(
        ["review", *example_inputs(), "--out", str(tmp_path / "o"), "--engine", "pool",
         "--workers", "2"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert "lspolicy: engine pool: a worker process died" in err


def test_ray_missing_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    code = main(["review", *example_inputs(), "--out", str(tmp_path / "o"), "--engine", "ray"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == "lspolicy: engine ray: Ray is not installed; pip install 'lspolicy[ray]'\n"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--address", "head:6379"], "--address 'head:6379' is for --engine ray"),
        (["--workers", "0"], "--workers 0: give 1 or more"),
        (["--engine", "spark"], None),
    ],
)
def test_engine_options_checked(
    extra: list[str], message: str | None, tmp_path: Path, capsys: Any
) -> None:
    code = main(["review", *example_inputs(), "--out", str(tmp_path / "o"), *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    if message is not None:
        assert message in err
    else:
        assert "invalid choice: 'spark'" in err


@settings(max_examples=10, deadline=None)
@given(reviewed())
def test_pool_matrix_equals_serial_on_random_organizations(inv: Inventory) -> None:
    """For random small organizations (role chains, boundaries, SCPs, tag conditions, shared
    policies, policy-variable resources: the generator of ``test_review_properties.py``), a
    pool of two workers (up to 8 batches of principal classes) gives the serial matrix: cells,
    escalations, classes and what was not evaluated, in the same order."""
    serial = compute_matrix(inv, ACTIONS, engine=Engine("serial"))
    pooled = compute_matrix(inv, ACTIONS, engine=Engine("pool", workers=2))
    assert pooled.cells == serial.cells
    assert pooled.escalations == serial.escalations
    assert pooled.principal_class == serial.principal_class
    assert pooled.not_evaluated == serial.not_evaluated
    assert pooled.notes == serial.notes
    assert list(pooled.witnesses) == list(serial.witnesses)
    # the driver's heap is frozen only while the forked workers run (`engines._frozen_heap`)
    assert gc.get_freeze_count() == 0


# -- the engine's own parts ---------------------------------------------------------------------


@given(
    n=st.integers(0, 60),
    count=st.integers(1, 20),
)
def test_batches_cover_every_class_once_in_order(n: int, count: int) -> None:
    """Contiguous batches, indexed in order, concatenating to the input; sizes differ by at
    most one; never an empty batch, never more batches than asked."""
    reps = [(i, f"arn:p{i}") for i in range(n)]
    got = _batches(reps, count)
    assert [i for i, _ in got] == list(range(len(got)))
    assert [r for _, b in got for r in b] == reps
    assert len(got) <= count
    assert all(b for _, b in got)
    sizes = [len(b) for _, b in got]
    assert not sizes or max(sizes) - min(sizes) <= 1


@given(n=st.integers(0, 60), count=st.integers(1, 20))
def test_ray_ranges_cut_the_positions_in_order(n: int, count: int) -> None:
    """A Ray task's ``(index, start, end)`` (`engines._ranges`, which the pool's `_batches`
    slices by): indices 0, 1, ...; contiguous, non-empty ranges covering ``range(n)`` once;
    at most ``count`` of them, sizes differing by at most one."""
    got = engines._ranges(n, count)
    assert [i for i, _, _ in got] == list(range(len(got)))
    assert len(got) <= count
    assert all(start < end for _, start, end in got)
    assert [p for _, start, end in got for p in range(start, end)] == list(range(n))
    sizes = [end - start for _, start, end in got]
    assert not sizes or max(sizes) - min(sizes) <= 1


def test_auto_is_serial_for_small_work_and_pool_otherwise() -> None:
    assert Engine("auto", workers=4).resolve(SMALL_WORK - 1) == "serial"
    assert Engine("auto", workers=4).resolve(SMALL_WORK) == "pool"
    assert Engine("auto", workers=1).resolve(10 * SMALL_WORK) == "serial"
    assert Engine("ray").resolve(1) == "ray"


def test_make_engine_rejects_unknown_names() -> None:
    with pytest.raises(EngineError, match="unknown engine 'spark'"):
        make_engine("spark")


def _example_inventory() -> Inventory:
    from lspolicy.account.authdetails import read_auth_details  # noqa: PLC0415
    from lspolicy.account.instances import read_instances  # noqa: PLC0415
    from lspolicy.account.organization import read_organization  # noqa: PLC0415

    inv = Inventory()
    read_organization(str(EXAMPLE / "organization.json"), inv)
    read_auth_details(sorted(str(p) for p in EXAMPLE.glob("auth-details-*.json")), inv)
    read_instances(sorted(str(p) for p in EXAMPLE.glob("instances-*.json")), inv)
    return inv


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_the_driver_decides_batches_beside_workers_fewer_by_one(
    workers: int, monkeypatch: Any
) -> None:
    """A pool of ``--workers N`` is this process and N - 1 forked workers, taking batches
    from one queue (`engines._run_pool`): each batch is decided once, by this process or a
    worker; this process decides some and a worker the first; no more than N - 1 other
    processes decide any; and the matrix is the serial one."""
    inv = _example_inventory()
    serial = compute_matrix(inv, ACTIONS, engine=Engine("serial"))
    decide = engines._decide

    driver = os.getpid()

    def marked(*args: Any) -> engines.BatchResult:
        if os.getpid() == driver:
            time.sleep(0.05)  # the workers' batches come back first: all are waited for
        got = decide(*args)
        got.not_evaluated.append({"decided by": os.getpid(), "batch": got.index})
        return got

    monkeypatch.setattr(engines, "_decide", marked)
    pooled = compute_matrix(inv, ACTIONS, engine=Engine("pool", workers=workers))
    marks = [n for n in pooled.not_evaluated if "decided by" in n]
    batches = [m["batch"] for m in marks]
    assert sorted(batches) == list(range(min(4 * workers, pooled.principal_classes)))
    assert len(batches) > 1
    deciders = {m["decided by"] for m in marks}
    assert os.getpid() in deciders
    assert len(deciders) <= workers
    if workers == 1:
        assert deciders == {os.getpid()}
    else:  # the first batch goes to a worker before this process starts on the others
        assert next(m["decided by"] for m in marks if m["batch"] == 0) != os.getpid()
    rest = [n for n in pooled.not_evaluated if "decided by" not in n]
    assert rest == serial.not_evaluated
    assert pooled.cells == serial.cells
    assert list(pooled.witnesses) == list(serial.witnesses)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_batch_the_driver_fails_is_an_error_not_a_missing_batch(
    workers: int, monkeypatch: Any
) -> None:
    """The driver decides its share of a pool's batches in a thread (`engines._decide_here`);
    an exception there must reach the caller as one clear `EngineError`, never leave the
    matrix without that batch (a thread's exception is otherwise lost). Only this process
    fails: forked workers (other pids) decide as usual."""
    inv = _example_inventory()
    decide = engines._decide
    driver = os.getpid()

    def failing(*args: Any) -> engines.BatchResult:
        if os.getpid() == driver:
            raise RuntimeError("the driver's batch broke")
        return decide(*args)

    monkeypatch.setattr(engines, "_decide", failing)
    with pytest.raises(EngineError, match="the driver's batch broke"):
        compute_matrix(inv, ACTIONS, engine=Engine("pool", workers=workers))
