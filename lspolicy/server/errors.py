"""Lightsail's error codes as data: the HTTP status each one travels with, and the error value
that every step of the request pipeline returns instead of raising.

Codes and their meaning: ``../shared/spec/stop-instance.md`` (restating the Lightsail API
reference, https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html)
and botocore's Lightsail model (the shapes carry ``code``, ``docs``, ``message``, ``tip``).
Every client error is HTTP 400; ``ServiceException`` is HTTP 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["ERROR_CODES", "ApiError", "ErrorCode"]


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """One error of the API: its name, HTTP status, and what it means."""

    name: str
    status: int
    meaning: str


def _table(*codes: ErrorCode) -> MappingProxyType[str, ErrorCode]:
    out: dict[str, ErrorCode] = {}
    for code in codes:
        if code.name in out:
            raise RuntimeError(f"error code {code.name!r} is registered twice")
        out[code.name] = code
    return MappingProxyType(out)


ERROR_CODES = _table(
    ErrorCode(
        "AccessDeniedException",
        400,
        "the caller cannot be authenticated or uses invalid credentials, or is not authorized",
    ),
    ErrorCode("AccountSetupInProgressException", 400, "the account is still being set up"),
    ErrorCode("RegionSetupInProgressException", 400, "the region is still being set up"),
    ErrorCode("InvalidInputException", 400, "input does not conform to the validation rules"),
    ErrorCode("NotFoundException", 400, "the resource cannot be found"),
    ErrorCode("OperationFailureException", 400, "the operation fails to execute"),
    ErrorCode("UnauthenticatedException", 400, "the caller has not been authenticated at all"),
    ErrorCode("ServiceException", 500, "a general service failure"),
    # from Lightsail's CommonErrors (errors common to every action), not StopInstance's model:
    # https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/CommonErrors.html
    ErrorCode(
        "IncompleteSignature", 400, "the request signature does not conform to AWS standards"
    ),
    ErrorCode(
        "ServiceUnavailable", 503, "the request failed due to a temporary failure of the server"
    ),
)

DOCS = "https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_StopInstance.html"


@dataclass(frozen=True, slots=True)
class ApiError:
    """An error response, as data: each pipeline step returns one instead of raising."""

    code: str
    message: str
    tip: str = ""

    def __post_init__(self) -> None:
        if self.code not in ERROR_CODES:
            raise ValueError(f"unknown Lightsail error code {self.code!r}")

    @property
    def status(self) -> int:
        """The HTTP status this error travels with."""
        return ERROR_CODES[self.code].status

    def body(self) -> dict[str, str]:
        """The JSON 1.1 error body botocore parses: ``__type`` names the error shape."""
        return {
            "__type": self.code,
            "code": self.code,
            "docs": DOCS,
            "message": self.message,
            "tip": self.tip,
        }
