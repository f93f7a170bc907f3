"""``aws lightsail get-instances`` output: each instance's name, ARN, region, tags and state.

Response shape (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstances.html,
https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_Instance.html):
``instances`` (each with ``name``, ``arn``, ``location.regionName``, ``tags`` as
``[{"key", "value"}]``, ``state.name``, ``resourceType``) and ``nextPageToken``. One file per
region or several; several pages in one file (documents one after another). Unknown fields are
ignored; an instance without a usable name and ARN is recorded in ``not_evaluated``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lspolicy.account.jsondocs import fail, read_documents
from lspolicy.account.model import Instance, Inventory, NotEvaluated, account_of

__all__ = ["read_instances"]


def _instance(item: object, source: str, path: str, inv: Inventory) -> None:
    def note(message: str, name: str = source) -> None:
        inv.not_evaluated.append(NotEvaluated("instance", name, message, source, path))

    if not isinstance(item, dict):
        note("instance entry is not an object")
        return
    name, arn = item.get("name"), item.get("arn")
    if not isinstance(name, str) or not isinstance(arn, str) or account_of(arn) is None:
        note("instance without a usable name and arn", str(name or arn or source))
        return
    location = item.get("location")
    region = location.get("regionName") if isinstance(location, dict) else None
    if not isinstance(region, str):
        region = arn.split(":")[3]
    tags: dict[str, str] = {}
    raw_tags = item.get("tags") or []
    for i, tag in enumerate(raw_tags if isinstance(raw_tags, list) else []):
        if isinstance(tag, dict) and isinstance(tag.get("key"), str):
            value = tag.get("value", "")
            tags[tag["key"]] = value if isinstance(value, str) else ""
        else:
            inv.not_evaluated.append(
                NotEvaluated("tag", arn, "tag entry without a key", source, f"{path}.tags[{i}]")
            )
    state = item.get("state")
    inv.instances[arn] = Instance(
        name=name,
        arn=arn,
        region=region,
        tags=tags,
        state=state.get("name")
        if isinstance(state, dict) and isinstance(state.get("name"), str)
        else None,
        resource_type=item.get("resourceType")
        if isinstance(item.get("resourceType"), str)
        else None,
    )


def read_instances(paths: Iterable[str | Path], inventory: Inventory | None = None) -> Inventory:
    """Read every file (each one or more pages) into the inventory's instances."""
    inv = inventory if inventory is not None else Inventory()
    for path in paths:
        source = str(path)
        docs = read_documents(path)
        for n, doc in enumerate(docs, 1):
            where = f"document {n}: " if len(docs) > 1 else ""
            if not isinstance(doc, dict) or not isinstance(doc.get("instances"), list):
                raise fail(
                    source,
                    f"{where}instances",
                    "not get-instances output: expected an object with an instances list",
                )
            for i, item in enumerate(doc["instances"]):
                _instance(item, source, f"{where}instances[{i}]", inv)
    return inv
