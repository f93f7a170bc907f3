"""Where ``lspolicy review`` decides its class pairs: in this process, on a process pool over
this machine's cores, or on a Ray cluster (issue 11 §3: an existing distributed engine, not a
home-made scheduler).

The job unit is a batch of principal classes, each given by its representative's ARN: for each,
every instance class and action is decided and the tag-escalation witnesses are searched
(`lspolicy.account.review.decide_principal_classes`). A worker is sent the `PairJob` once (the
inventory and the instance classes), builds one `ClassReview` per worker process and keeps it
for every batch it gets. Batches come back as plain data in any order and are merged by batch
index, so every engine yields the same cells in the same order, and the same Parquet files.

Under Ray the driver puts the job and the representatives in the object store once
(`RayJob`, one ``ray.put``); a task carries only its batch's index and range of positions; a
worker process fetches the job on its first batch, builds its own review (Ray workers are not
forked: nothing of the driver's review reaches them) and keeps both, frozen out of the
collector's reach, for its later batches; results are fetched as they finish (``ray.wait``),
each released from the object store once fetched.

Engines (`ENGINES`, one entry each):

- ``serial``: in this process, on the review that formed the classes (tests, debugging);
- ``pool``: ``os.cpu_count()`` deciders (or ``--workers``): this process, and a
  `concurrent.futures.ProcessPoolExecutor` of one process fewer; on Linux the workers are
  forked and inherit the review already built (`_run_pool`);
- ``ray``: ``ray.remote`` tasks on the cluster at ``--address`` (``ray.init(address=...)``), or
  on a local one started for the run with ``ray.init(num_cpus=...)``; the optional extra
  ``lspolicy[ray]``. Every node needs ``lspolicy`` importable (same version as the driver);
- ``auto``: ``serial`` when the work is small (`SMALL_WORK` class cells) or there is one CPU,
  else ``pool``.

A batch that fails in a worker, a worker that dies, Ray missing or unreachable: `EngineError`,
one line naming the engine and the principal class (exit 2 from the command line).
"""

from __future__ import annotations

import contextlib
import copyreg
import gc
import multiprocessing
import os
import socket
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from lspolicy.account.classes import InstanceClasses
from lspolicy.account.model import Inventory, _frozen
from lspolicy.account.review import ClassCells, ClassReview, decide_principal_classes
from lspolicy.account.witness_table import WitnessTable
from lspolicy.errors import LspolicyError

__all__ = [
    "ENGINES",
    "SERIAL",
    "SMALL_WORK",
    "BatchResult",
    "Engine",
    "EngineError",
    "PairJob",
    "RayJob",
    "make_engine",
]

SMALL_WORK = 20_000
"""Class cells (principal classes x instance classes x actions) below which ``auto`` decides
in this process: starting processes and sending them the inventory costs more than it saves."""
BATCHES_PER_WORKER = 4
"""Batches per worker: enough that a slow batch does not leave the other workers idle."""

Rep = tuple[int, str]
"""A principal class id and its representative's ARN."""


# The inventory freezes every tag map (a read-only view, which pickle refuses): it travels to
# workers as a plain dict and is frozen again there. Registered here, where the job is sent.
def _reduce_frozen(tags: MappingProxyType[str, str]) -> tuple[Any, tuple[dict[str, str]]]:
    return _frozen, (dict(tags),)


copyreg.pickle(MappingProxyType, _reduce_frozen)


class EngineError(LspolicyError):
    """An engine could not decide the class pairs (exit 2): the message names the engine and,
    when a batch failed, its first principal class."""


@dataclass(frozen=True)
class PairJob:
    """Everything a worker needs to decide class pairs, picklable: the inventory, its instance
    classes (the ids the cells carry), the actions, and the chain limit."""

    inventory: Inventory
    classes: InstanceClasses
    actions: tuple[str, ...]
    max_chain: int
    escalations: bool
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    """Names this job in the worker's cache (a worker may serve several jobs in a session)."""


@dataclass(frozen=True)
class BatchResult:
    """A batch's cells and witnesses in class order, and what its worker could not evaluate;
    ``error`` (a message) instead when the batch failed."""

    index: int
    cells: ClassCells
    witnesses: WitnessTable
    not_evaluated: list[dict[str, object]]
    error: str | None = None


# -- the worker side ---------------------------------------------------------------------------

_CACHE: dict[str, tuple[PairJob, ClassReview]] = {}
"""Per worker process: the job and its review (built on the first batch, then kept)."""


def _cached(job: PairJob, review: ClassReview | None = None) -> tuple[PairJob, ClassReview]:
    got = _CACHE.get(job.token)
    if got is None:
        _CACHE.clear()  # one job at a time per worker: drop the previous job's caches
        if review is None:
            review = ClassReview(job.inventory, job.classes, max_chain=job.max_chain)
        got = _CACHE[job.token] = (job, review)
    return got


def _decide(job: PairJob, review: ClassReview, index: int, reps: Sequence[Rep]) -> BatchResult:
    """One batch, errors as data: a worker never raises, the message goes back."""
    try:
        cells, witnesses = decide_principal_classes(
            review, reps, job.actions, escalations=job.escalations
        )
    except Exception as exc:  # reported to the driver, which fails the run
        first = reps[0] if reps else (-1, "")
        message = str(exc).splitlines()[0] if str(exc) else ""
        return BatchResult(
            index, ClassCells(job.actions), WitnessTable(), [], f"principal class {first[0]} ({first[1]}): {type(exc).__name__}"
            + (f": {message}" if message else ""),
        )  # fmt: skip
    notes = [n.to_dict() for n in review.authority.notes]
    return BatchResult(index, cells, witnesses, notes)


_POOL_TOKEN: list[str] = []


def _pool_init(job: PairJob, review: ClassReview | None) -> None:
    """A pool worker's start: the job, and when forked the driver's review (reach kept)."""
    _cached(job, review)
    _POOL_TOKEN[:] = [job.token]


def _pool_batch(index: int, reps: Sequence[Rep]) -> BatchResult:
    got = _CACHE.get(_POOL_TOKEN[0]) if _POOL_TOKEN else None
    if got is None:
        return BatchResult(
            index, ClassCells(()), WitnessTable(), [], "pool worker started without its job"
        )
    return _decide(*got, index, reps)


@dataclass(frozen=True)
class RayJob:
    """What a Ray driver puts in the object store once: the job and every principal class's
    representative; a task names its batch by a range of positions in ``reps``."""

    job: PairJob
    reps: tuple[Rep, ...]


_RAY_REPS: dict[str, tuple[Rep, ...]] = {}
"""Per Ray worker process: the representatives of the job it serves (by job token)."""


def _ray_load(boxed: list[Any]) -> tuple[PairJob, ClassReview, tuple[Rep, ...]]:
    """A Ray worker's first batch of a job: fetch and unpickle the job (a Ray worker is not
    forked: it has nothing of the driver's), build its review, and move all of it out of the
    collector's reach (`gc.freeze`; the previous job's objects are unfrozen and dropped first):
    kept for every later batch, scanned by no full collection."""
    import ray  # noqa: PLC0415 - the optional extra, present on every Ray worker

    gc.unfreeze()
    _CACHE.clear()
    _RAY_REPS.clear()
    whole: RayJob = ray.get(boxed[0])
    job, review = _cached(whole.job)
    _RAY_REPS[job.token] = whole.reps
    del whole
    gc.collect()
    gc.freeze()
    return job, review, _RAY_REPS[job.token]


def _ray_batch(token: str, boxed: list[Any], index: int, start: int, end: int) -> BatchResult:
    """A Ray task: the batch ``index``, the representatives at positions ``start:end`` of the
    job's. ``boxed`` holds the `RayJob`'s object reference in a list, so that Ray does not
    fetch and unpickle the job for every task: a worker process fetches it on its first
    batch and keeps it (`_ray_load`)."""
    got = _CACHE.get(token)
    reps = _RAY_REPS.get(token)
    if got is None or reps is None:
        job, review, reps = _ray_load(boxed)
    else:
        job, review = got
    return _decide(job, review, index, reps[start:end])


# -- the driver side ---------------------------------------------------------------------------


def _batches(reps: Sequence[Rep], count: int) -> list[tuple[int, list[Rep]]]:
    """``reps`` cut into at most ``count`` contiguous batches of nearly equal size (the
    ranges `_ranges` gives, which a Ray task names instead of carrying its batch)."""
    return [(i, list(reps[start:end])) for i, start, end in _ranges(len(reps), count)]


Runner = Callable[["Engine", PairJob, Sequence[Rep], "ClassReview | None"], list[BatchResult]]


def _run_serial(
    engine: Engine, job: PairJob, reps: Sequence[Rep], review: ClassReview | None
) -> list[BatchResult]:
    if review is None:
        review = ClassReview(job.inventory, job.classes, max_chain=job.max_chain)
    return [_decide(job, review, 0, reps)]


def _run_pool(
    engine: Engine, job: PairJob, reps: Sequence[Rep], review: ClassReview | None
) -> list[BatchResult]:
    """``workers`` deciders: this process (when it has the review) and ``workers - 1``
    worker processes, taking batches from one queue.

    This process decides batches too, on its own review, in a thread (the main thread hands
    batches to the workers as they finish): a forked worker copies every page of the
    driver's state it reads (on Python 3.11 a read writes the object's reference count:
    ~0.4-0.8 GB per worker at the full organization), the driver reads its own for free, and
    its batches are not pickled. A worker process is stopped as soon as no batch is left for
    it, and the driver drops its review's caches when no batch is left for it."""
    workers = engine.workers or os.cpu_count() or 1
    forked = "fork" in multiprocessing.get_all_start_methods()
    # forked workers inherit the driver's review (its reach and decisions): nothing is pickled;
    # elsewhere each worker unpickles the job and builds its own
    context = multiprocessing.get_context("fork" if forked else "spawn")
    batches = _batches(reps, workers * BATCHES_PER_WORKER)
    if not batches:
        return []
    if forked and review is not None:
        review.warm()
    here = review is not None
    processes = min(workers - here, len(batches))
    todo = deque(batches)
    results: list[BatchResult] = []
    failed: list[BaseException] = []
    if processes < 1 and review is not None:
        _decide_here(job, review, todo, results, failed)
        _raise_first(failed)
        return results
    thread = (
        threading.Thread(
            target=_decide_here, args=(job, review, todo, results, failed), daemon=True
        )
        if review is not None
        else None
    )
    try:
        with _frozen_heap(forked):
            with ProcessPoolExecutor(
                max_workers=processes,
                mp_context=context,
                initializer=_pool_init,
                initargs=(job, review if forked else None),
            ) as pool:
                running: set[Future[BatchResult]] = set()
                _feed(pool, running, processes, todo)  # forked here, before the thread runs
                if thread is not None:
                    thread.start()
                while running:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for f in done:
                        running.discard(f)
                        results.append(f.result())
                    _feed(pool, running, processes, todo)
            if thread is not None:
                thread.join()
            _raise_first(failed)  # the driver's own batch failed: raised here, never dropped
            if len(results) != len(batches):
                raise EngineError(
                    f"engine pool: {len(results)} of {len(batches)} batches came back"
                )
    except EngineError:
        raise
    except BrokenProcessPool:
        raise EngineError(
            "engine pool: a worker process died (out of memory?); try --workers with fewer "
            "processes, or --engine serial"
        ) from None
    except Exception as exc:  # sending a batch failed (not the batch itself)
        raise EngineError(f"engine pool: {type(exc).__name__}: {_first(exc)}") from None
    finally:
        todo.clear()  # on failure: the driver's thread stops after its current batch
        if thread is not None and thread.is_alive():
            thread.join()
    return results


def _feed(
    pool: ProcessPoolExecutor,
    running: set[Future[BatchResult]],
    processes: int,
    todo: deque[tuple[int, list[Rep]]],
) -> None:
    """One batch to each idle worker process, while batches are left."""
    while len(running) < processes:
        try:
            index, batch = todo.popleft()
        except IndexError:
            return
        running.add(pool.submit(_pool_batch, index, batch))


def _decide_here(
    job: PairJob,
    review: ClassReview,
    todo: deque[tuple[int, list[Rep]]],
    results: list[BatchResult],
    failed: list[BaseException],
) -> None:
    """The driver's share of a pool's batches, on its own review, until none is left; then
    its caches are dropped (rebuilt if asked again; the worker processes may still run). An
    exception is kept in ``failed`` (a thread's exception would otherwise be lost, and its
    batch with it) and no further batch is taken."""
    try:
        while True:
            try:
                index, batch = todo.popleft()
            except IndexError:
                break
            results.append(_decide(job, review, index, batch))
    except BaseException as exc:  # handed to the main thread, raised there
        failed.append(exc)
        todo.clear()
    finally:
        review.forget(decisions=True)


def _raise_first(failed: Sequence[BaseException]) -> None:
    """The first exception the driver's thread kept, raised in the calling thread as the
    pool's one-line error (as a worker's is)."""
    if failed:
        exc = failed[0]
        if isinstance(exc, EngineError):
            raise exc
        raise EngineError(f"engine pool: {type(exc).__name__}: {_first(exc)}") from None


@contextlib.contextmanager
def _frozen_heap(forked: bool) -> Iterator[None]:
    """While forked workers run: every object the driver holds moved out of the collector's
    reach (`gc.freeze`), in the driver and, inherited, in each worker. A collection writes to
    the header of every object it scans, so without this each worker's first full collection
    copies every page of the driver's state it inherited (the inventory, the classes, the
    review: ~1 GB for the whole organization), and every later one scans it all again."""
    if not forked:
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _run_ray(
    engine: Engine, job: PairJob, reps: Sequence[Rep], review: ClassReview | None
) -> list[BatchResult]:
    try:
        import ray  # noqa: PLC0415 - the optional extra
    except ImportError:
        raise EngineError("engine ray: Ray is not installed; pip install 'lspolicy[ray]'") from None
    started = False
    if not ray.is_initialized():
        where = f"the Ray cluster at {engine.address!r}" if engine.address else "a local Ray"
        try:
            if engine.address:
                _check_reachable(engine.address)
                ray.init(address=engine.address, log_to_driver=False)
            else:
                ray.init(
                    num_cpus=engine.workers or os.cpu_count() or 1,
                    include_dashboard=False,
                    log_to_driver=False,
                )
        except Exception as exc:  # Ray raises many kinds; one line for the user
            raise EngineError(f"engine ray: cannot start or reach {where}: {_first(exc)}") from None
        started = True
    try:
        resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
        cpus = int(resources.get("CPU", 1)) or 1
        ranges = _ranges(len(reps), (engine.workers or cpus) * BATCHES_PER_WORKER)
        # once in the object store, whatever the number of tasks; each task carries 3 ints
        ref = ray.put(RayJob(job, tuple(reps)))
        task = ray.remote(num_cpus=1, max_retries=0)(_ray_batch)
        pending = [task.remote(job.token, [ref], i, start, end) for i, start, end in ranges]
        results: list[BatchResult] = []
        while pending:  # streamed: each result leaves the object store once fetched
            done, pending = ray.wait(pending, num_returns=1)
            results.append(ray.get(done[0]))
            del done
        return results
    except ray.exceptions.RayError as exc:
        raise EngineError(f"engine ray: a task failed: {_first(exc)}") from None
    finally:
        if started:
            ray.shutdown()


def _ranges(n: int, count: int) -> list[tuple[int, int, int]]:
    """``range(n)`` cut into at most ``count`` contiguous ``(index, start, end)`` ranges of
    nearly equal size (none empty): the positions of `_batches`'s batches."""
    count = max(1, min(count, n))
    size, extra = divmod(n, count)
    out: list[tuple[int, int, int]] = []
    start = 0
    for i in range(count):
        end = start + size + (i < extra)
        if end > start:
            out.append((i, start, end))
        start = end
    return out


CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a TCP connection to ``--address`` before handing it to Ray (which
retries an unreachable head for minutes)."""


def _check_reachable(address: str) -> None:
    """``HOST:PORT`` or ``ray://HOST:PORT`` must accept a TCP connection (``auto`` and other
    forms are left to Ray)."""
    hostport = address.removeprefix("ray://")
    host, colon, port = hostport.rpartition(":")
    if not colon or not host or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OSError(f"no answer on {host}:{port} ({reason.lower()})") from None


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


ENGINES: dict[str, Runner] = {
    "serial": _run_serial,
    "pool": _run_pool,
    "ray": _run_ray,
}
"""The engines by name (``auto`` chooses between ``serial`` and ``pool``)."""


@dataclass(frozen=True)
class Engine:
    """An engine choice: ``auto``, or a name of `ENGINES`; ``workers`` processes or Ray CPUs
    (default: every CPU); ``address`` of an existing Ray cluster (``ray`` only)."""

    name: str = "auto"
    workers: int | None = None
    address: str | None = None

    def resolve(self, work: int) -> str:
        """The engine that runs ``work`` class cells."""
        if self.name != "auto":
            return self.name
        cpus = self.workers or os.cpu_count() or 1
        return "serial" if work < SMALL_WORK or cpus < 2 else "pool"

    def run(
        self, job: PairJob, reps: Sequence[Rep], *, review: ClassReview | None = None
    ) -> list[BatchResult]:
        """Decide every class pair of ``reps``: the batches' results in class order.
        ``review`` is the driver's (serial and forked workers reuse it)."""
        work = len(reps) * len(job.classes.reps) * len(job.actions)
        name = self.resolve(work)
        runner = ENGINES.get(name)
        if runner is None:
            raise EngineError(f"unknown engine {name!r}: choose one of auto, {', '.join(ENGINES)}")
        results = sorted(runner(self, job, reps, review), key=lambda r: r.index)
        failed = [r.error for r in results if r.error is not None]
        if failed:
            more = f" (and {len(failed) - 1} more batches)" if len(failed) > 1 else ""
            raise EngineError(f"engine {name}: a worker failed on {failed[0]}{more}")
        return results


SERIAL = Engine("serial")
"""In this process."""


def make_engine(
    name: str = "auto", *, workers: int | None = None, address: str | None = None
) -> Engine:
    """An `Engine`, checked: a known name, ``workers`` at least 1, ``address`` only for ray."""
    if name != "auto" and name not in ENGINES:
        raise EngineError(f"unknown engine {name!r}: choose one of auto, {', '.join(ENGINES)}")
    if workers is not None and workers < 1:
        raise EngineError(f"--workers {workers}: give 1 or more")
    if address is not None and name != "ray":
        raise EngineError(f"--address {address!r} is for --engine ray (got --engine {name})")
    return Engine(name, workers, address)
