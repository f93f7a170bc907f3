"""The class-cell stage of the full organization's review, on a sample of principals.

    python bench/org_cells.py DIR [--every 100] [--escalations] [--profile]
    # DIR from orggen.py --scale full

Reads the exports, forms the instance classes with the review's join features, then decides
the class cells (`decide_principal_classes`, StopInstance; the escalation search with
``--escalations``) for every ``--every``-th principal, each taken as its own principal class. Prints CPU seconds per stage,
cells stored, column maps, the expanded class cells, and the peak RSS.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import time
from pathlib import Path

from lspolicy.account.authdetails import read_auth_details
from lspolicy.account.classes import InstanceClasses, find_join_features, role_values
from lspolicy.account.decide import Authority
from lspolicy.account.instances import read_instances
from lspolicy.account.organization import read_organization
from lspolicy.account.review import STOP, ClassReview, decide_principal_classes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--escalations", action="store_true")
    parser.add_argument(
        "--first", type=int, default=0, help="take the first N principals instead (a batch)"
    )
    args = parser.parse_args()
    d = args.dir
    start = time.process_time()
    inventory = read_organization(d / "organization.json")
    inventory = read_auth_details(sorted(d.glob("auth-details-*.json")), inventory)
    inventory = read_instances(sorted(d.glob("instances-*.json")), inventory)
    authority = Authority(inventory)
    joins = find_join_features(inventory, authority)
    classes = InstanceClasses.build(inventory, joins, role_values(inventory, authority, joins))
    review = ClassReview(inventory, classes)
    built = time.process_time()
    every = review.authority.principals()
    principals = every[: args.first] if args.first else every[:: args.every]
    print(
        f"read + classes {built - start:.1f} s CPU: {len(classes.reps)} instance classes; "
        f"{len(principals)} principals sampled",
        flush=True,
    )
    prof = cProfile.Profile() if args.profile else None
    t = time.process_time()
    if prof:
        prof.enable()
    cells, witnesses = decide_principal_classes(
        review, list(enumerate(principals)), (STOP,), escalations=args.escalations
    )
    if prof:
        prof.disable()
    took = time.process_time() - t
    stored = getattr(cells, "stored", len(cells))
    maps = getattr(cells, "maps", None)
    print(
        f"decide {took:.1f} s CPU ({took / max(len(principals), 1) * 1000:.0f} ms per class): "
        f"{review.identity_classes} identity classes, cells stored {stored}, "
        f"maps {len(maps) if maps is not None else '-'}, class cells {len(cells)}, "
        f"witnesses {len(witnesses)}, partitions {len(getattr(review, '_partitions', ()))}",
        flush=True,
    )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if hasattr(cells, "parts"):
        _map_sizes(cells, len(classes.reps))
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(30)


def _map_sizes(cells: object, n_classes: int) -> None:
    """The column maps as held per account against one dense array per map (the layout
    before): stored rows (``part_maps`` + ``map_parts`` against ``column_maps``, which was
    written twice) and bytes of the arrays (plus the pickle a worker sends)."""
    import pickle  # noqa: PLC0415
    from array import array  # noqa: PLC0415

    maps, parts = cells.maps, cells.parts  # type: ignore[attr-defined]
    used = set(cells.map_of.values())  # type: ignore[attr-defined]
    used_parts = {p for m in used for p in maps[m][0]}
    part_rows = sum(len(parts[p]) for p in used_parts)
    map_rows = sum(len(maps[m][1]) for m in used)
    held = sum(a.itemsize * len(a) for a in parts) + sum(
        a.itemsize * len(a) + b.itemsize * len(b) for a, b in maps
    )
    dense = len(used) * n_classes
    runs = len(cells.starts)  # type: ignore[attr-defined]
    print(
        f"maps {len(used)} over {runs} runs of one account: {len(parts)} part maps; rows "
        f"part_maps {part_rows:,} + map_parts {map_rows:,} = {part_rows + map_rows:,} "
        f"against dense {dense:,} (x2 files); arrays {held / 2**20:.1f} MB against "
        f"{dense * array('i').itemsize / 2**20:.1f} MB; ClassCells pickled "
        f"{len(pickle.dumps(cells)) / 2**20:.1f} MB",
        flush=True,
    )
    import tempfile  # noqa: PLC0415

    import duckdb  # noqa: PLC0415

    from lspolicy.account.parquet import _write_maps  # noqa: PLC0415
    from lspolicy.account.views import maps_sql  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        t = time.process_time()
        _write_maps(out, cells)  # type: ignore[arg-type]
        wrote = time.process_time() - t
        con = duckdb.connect()
        for name in ("part_maps", "map_parts"):
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{out}/{name}.parquet')")
        t = time.process_time()
        got = con.execute(f"SELECT count(*) FROM ({maps_sql()})").fetchone()
        counted = time.process_time() - t
        size = sum(f.stat().st_size for f in out.iterdir())
        print(
            f"_write_maps {wrote:.2f} s CPU, {size / 2**20:.1f} MB; the view column_maps has "
            f"{got[0] if got else 0:,} rows ({counted:.2f} s CPU to count)",
            flush=True,
        )


if __name__ == "__main__":
    main()
