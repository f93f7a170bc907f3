"""A boto3 answer in the JSON the AWS CLI prints for it.

The CLI prints the parsed answer with timestamps as ISO 8601 strings (its default
``cli_timestamp_format``, ``iso8601``: ``2024-01-02T03:04:05+00:00``) and without
``ResponseMetadata``; for a paginated command it prints the pages merged, each result list
concatenated (https://docs.aws.amazon.com/cli/latest/userguide/cli-usage-pagination.html).
Policy documents are already JSON objects: botocore decodes IAM's URL-encoded documents.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

__all__ = ["cli_json"]


def cli_json(value: Any) -> Any:
    """``value`` with datetimes as ISO 8601 strings and ``ResponseMetadata`` left out."""
    if isinstance(value, dict):
        return {k: cli_json(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list | tuple):
        return [cli_json(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
