"""Instance classes of an organization's exports, and what they cost to form.

    python bench/org_classes.py DIR      # DIR from `python bench/orggen.py --out DIR --scale full`

Reads the exports as `lspolicy review` does, then forms the instance classes twice: without join
features, and with the review's own (`find_join_features`, roles' values). Prints CPU seconds,
class counts, the class-size histogram and the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import collections
import resource
import time
from pathlib import Path

from lspolicy.account.authdetails import read_auth_details
from lspolicy.account.classes import InstanceClasses, find_join_features, role_values
from lspolicy.account.decide import Authority
from lspolicy.account.instances import read_instances
from lspolicy.account.organization import read_organization


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    d = parser.parse_args().dir
    start = time.process_time()
    inventory = read_organization(d / "organization.json")
    inventory = read_auth_details(sorted(d.glob("auth-details-*.json")), inventory)
    inventory = read_instances(sorted(d.glob("instances-*.json")), inventory)
    read = time.process_time()
    plain = InstanceClasses.build(inventory)
    built = time.process_time()
    print(
        f"read {read - start:.1f} s CPU; build (no join features) {built - read:.1f} s CPU: "
        f"{len(inventory.instances)} instances -> {len(plain.members)} classes"
    )
    authority = Authority(inventory)
    joins = find_join_features(inventory, authority)
    classes = InstanceClasses.build(inventory, joins, role_values(inventory, authority, joins))
    done = time.process_time()
    print(
        f"build with join features {[(f.tag, f.variable, f.kept) for f in joins]}: "
        f"{done - built:.1f} s CPU -> {len(classes.members)} classes; "
        f"counted by outcomes: {sorted(classes.outcome_tags)}"
    )
    sizes = collections.Counter(len(m) for m in classes.members)
    print("class sizes (size, count):", sorted(sizes.items())[:12])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
