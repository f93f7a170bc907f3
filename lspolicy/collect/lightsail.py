"""Lightsail: each region's instances, as ``aws lightsail get-instances`` writes them.

Every page (the paginator follows ``nextPageToken``), merged into ``{"instances": [...]}``
(https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstances.html).
"""

from __future__ import annotations

from typing import Any

from lspolicy.collect.calls import CallFailure, attempt
from lspolicy.collect.cliformat import cli_json

__all__ = ["instances"]


def instances(client: Any, region: str, failures: list[CallFailure]) -> dict[str, Any] | None:
    """The region's instances, or None (the failure recorded)."""

    def call() -> dict[str, Any]:
        result: dict[str, Any] = (
            client.get_paginator("get_instances").paginate().build_full_result()
        )
        return result

    result = attempt(
        call,
        failures,
        service="lightsail",
        operation="GetInstances",
        region=region,
        consequence=f"lightsail-instances-{region}.json not written",
    )
    if result is None:
        return None
    return {"instances": cli_json(result.get("instances", []))}
