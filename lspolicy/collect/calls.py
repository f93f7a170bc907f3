"""One AWS call of the collector, its failure kept as data.

A call that AWS refuses (access denied, not in an organization, throttled past the retries) is
recorded as a `CallFailure` with the error code AWS gave, and the collection goes on: nothing is
dropped silently, and what could be gathered is still written. Credential and endpoint problems
(no credentials, credentials AWS does not recognise, an endpoint that cannot be reached) are not
worth going on with: they raise `CollectFatalError` (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from lspolicy.errors import LspolicyError

__all__ = ["NOT_IN_ORGANIZATION", "CallFailure", "CollectFatalError", "attempt"]

T = TypeVar("T")

NOT_IN_ORGANIZATION: Final = "AWSOrganizationsNotInUseException"
"""Organizations' answer for an account that belongs to no organization: a fact about the
account, recorded in the report, but not a failure of the collection."""

_CREDENTIAL_CODES: Final = frozenset(
    {
        # STS/IAM/Organizations (query and JSON protocols) and Lightsail's own
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
        "MissingAuthenticationToken",
        "UnauthenticatedException",
    }
)
"""Error codes that mean the credentials themselves are unusable, whatever the call."""


class CollectFatalError(LspolicyError):
    """Credentials or an endpoint cannot be used: nothing more can be collected (exit 2)."""


@dataclass(frozen=True, slots=True)
class CallFailure:
    """A call that failed, what AWS said, and what was not written because of it."""

    service: str
    operation: str
    region: str | None
    error_code: str
    message: str
    consequence: str

    def to_json(self) -> dict[str, Any]:
        """The failure as the report lists it."""
        return {
            "service": self.service,
            "operation": self.operation,
            "region": self.region,
            "error_code": self.error_code,
            "message": self.message,
            "consequence": self.consequence,
        }

    def line(self) -> str:
        """One line for stderr."""
        where = f" in {self.region}" if self.region else ""
        return (
            f"{self.service} {self.operation}{where} failed: {self.error_code}: {self.message} "
            f"({self.consequence})"
        )


def attempt(
    call: Callable[[], T],
    failures: list[CallFailure],
    *,
    service: str,
    operation: str,
    region: str | None,
    consequence: str,
) -> T | None:
    """``call()``, or None with the failure appended to ``failures``."""
    where = f"{service} {operation}" + (f" in {region}" if region else "")
    try:
        return call()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        message = str(error.get("Message") or "")
        if code in _CREDENTIAL_CODES:
            raise CollectFatalError(
                f"{where}: the credentials were refused: {code}: {message}\n"
                "hint: check --profile and the credentials it names"
            ) from None
        failures.append(CallFailure(service, operation, region, code, message, consequence))
        return None
    except (NoCredentialsError, PartialCredentialsError, ProfileNotFound) as exc:
        raise CollectFatalError(
            f"{where}: no usable AWS credentials: {exc}\n"
            "hint: name a profile with --profile, or set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY"
        ) from None
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as exc:
        raise CollectFatalError(
            f"{where}: the endpoint cannot be reached: {exc}\n"
            "hint: check the --*-endpoint-url options and the network"
        ) from None
    except BotoCoreError as exc:
        failures.append(
            CallFailure(service, operation, region, type(exc).__name__, str(exc), consequence)
        )
        return None
