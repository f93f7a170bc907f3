"""IAM: the account's authorization details, as ``aws iam get-account-authorization-details``
writes them.

Every page (the paginator follows ``Marker`` while ``IsTruncated``), with the filter naming
every kind IAM has, which is what the CLI asks for when no filter is given: users, groups, roles,
and both customer-managed and AWS-managed policies
(https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html).
The pages are merged into the four lists, as the CLI prints them.
"""

from __future__ import annotations

from typing import Any, Final

from lspolicy.collect.calls import CallFailure, attempt
from lspolicy.collect.cliformat import cli_json

__all__ = ["FILTER", "RESULT_KEYS", "authorization_details"]

FILTER: Final = ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")
RESULT_KEYS: Final = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


def authorization_details(client: Any, failures: list[CallFailure]) -> dict[str, Any] | None:
    """The merged document, or None (the failure recorded)."""

    def call() -> dict[str, Any]:
        pages = client.get_paginator("get_account_authorization_details")
        result: dict[str, Any] = pages.paginate(Filter=list(FILTER)).build_full_result()
        return result

    result = attempt(
        call,
        failures,
        service="iam",
        operation="GetAccountAuthorizationDetails",
        region=None,
        consequence="iam-authorization-details.json not written",
    )
    if result is None:
        return None
    return {key: cli_json(result.get(key, [])) for key in RESULT_KEYS}
