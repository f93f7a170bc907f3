"""Principal classes of an organization's exports, and what they cost to form.

    python bench/org_principals.py DIR                      # the class formation of this tree
    python bench/org_principals.py DIR --reference          # the per-principal reference loop
    python bench/org_principals.py DIR --compare REF_TREE   # also REF_TREE's loop, in a child

Reads the exports as `lspolicy review` does (`organization.json`, `auth-details-*.json`; the
instances are not read: principal classes do not depend on them, but the join features are
then found without the instances' tag spellings), then forms the principal classes as
`compute_matrix` does: identity classes with the review's join features, reach, unevaluated
policies and which join variables each principal carries. Prints the counts, the CPU seconds
of reading and of forming, and the peak RSS of the process.

``--dump FILE`` writes the partition (principal -> class id) and the representatives as JSON;
``--against FILE`` checks this run's against such a file; ``--compare REF_TREE`` runs
``--reference`` on REF_TREE's ``lspolicy`` (a tree of this repository, e.g. from
``git archive``) in a child process and checks that both partitions are the same.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if os.environ.get("ORG_PRINCIPALS_TREE"):
    # --compare's child: import lspolicy from the reference tree, not from the editable install
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in repr(f)]
    sys.path.insert(0, os.environ["ORG_PRINCIPALS_TREE"])

from lspolicy.account.authdetails import read_auth_details
from lspolicy.account.classes import InstanceClasses, find_join_features, role_values
from lspolicy.account.decide import Authority
from lspolicy.account.organization import read_organization
from lspolicy.account.review import ClassReview


def _form(d: Path, *, reference: bool) -> tuple[dict[str, int], list[str], dict[str, object]]:
    start = time.process_time()
    inventory = read_organization(d / "organization.json")
    inventory = read_auth_details(sorted(d.glob("auth-details-*.json")), inventory)
    inventory = dataclasses.replace(inventory, instances={})
    authority = Authority(inventory)
    joins = find_join_features(inventory, authority)
    classes = InstanceClasses.build(inventory, joins, role_values(inventory, authority, joins))
    review = ClassReview(inventory, classes)
    read = time.process_time()

    def presence(p: str) -> tuple[bool, ...]:
        return tuple(v is not None for v in review.join_values(p))

    if reference:
        # the loop of `compute_matrix` before `principal_classes` (works on older trees too)
        from lspolicy.account.classes import principal_key  # noqa: PLC0415

        keys: dict[tuple[object, ...], int] = {}
        of: dict[str, int] = {}
        reps: list[str] = []
        for p in review.authority.principals():
            key = (*principal_key(review, p, review.identity_class(p)), presence(p))
            got = keys.setdefault(key, len(keys))
            if got == len(reps):
                reps.append(p)
            of[p] = got
    else:
        from lspolicy.account.principal_classes import form_principal_classes  # noqa: PLC0415

        formed = form_principal_classes(review, review.identity_class, presence)
        of, reps = formed.of, formed.reps
    done = time.process_time()
    stats: dict[str, object] = {
        "mode": "reference" if reference else "classes",
        "users": len(inventory.users),
        "roles": len(inventory.roles),
        "identity_classes": review.identity_classes,
        "principal_classes": len(reps),
        "read_cpu_s": round(read - start, 1),
        "form_cpu_s": round(done - read, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    return of, reps, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--reference", action="store_true")
    parser.add_argument("--compare", type=Path, metavar="REF_TREE")
    parser.add_argument("--dump", type=Path)
    parser.add_argument("--against", type=Path, metavar="DUMP", help="a --dump to compare with")
    args = parser.parse_args()
    of, reps, stats = _form(args.dir, reference=args.reference)
    stats["tree"] = str(Path(sys.modules["lspolicy"].__file__ or "").parent.parent)
    print(json.dumps(stats))
    if args.dump:
        args.dump.write_text(json.dumps({"of": of, "reps": reps}))
    if args.against:
        ref = json.loads(args.against.read_text())
        same = ref["of"] == of and ref["reps"] == reps
        print(json.dumps({"same_partition_as": str(args.against), "same": same}))
        if not same:
            sys.exit(1)
    if args.compare:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "ref.json"
            env = {**os.environ, "ORG_PRINCIPALS_TREE": str(args.compare.resolve())}
            cmd = [sys.executable, __file__, str(args.dir), "--reference", "--dump", str(out)]
            subprocess.run(cmd, env=env, check=True)
            ref = json.loads(out.read_text())
        same = ref["of"] == of and ref["reps"] == reps
        print(json.dumps({"same_partition": same}))
        if not same:
            sys.exit(1)


if __name__ == "__main__":
    main()
