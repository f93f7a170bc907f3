"""Page tokens of the emulator's listing operations (``GetInstances``).

Lightsail's token is opaque: "To get a page token, perform an initial GetInstances request. If
your results are paginated, the response will return a next page token that you can specify as
the page token in a subsequent request"; no ``nextPageToken`` is returned when there are no more
results (https://docs.aws.amazon.com/lightsail/2016-11-28/api-reference/API_GetInstances.html).
The reference documents neither its format nor how long it stays valid, so this one is ours:

- keyset pagination: a token names the last instance served (by name, the listing's order), so
  a page never repeats or skips an instance that existed through the whole listing, even while
  other requests change states;
- bound to the account and region it was issued for, and signed (HMAC-SHA256) with a key drawn
  once per server process: a token made up, altered, issued by another server process or for
  another account or region is refused with ``InvalidInputException`` (AWS documents this error
  for "input that does not conform to the validation rules"; what it answers for a foreign token
  is not documented). Tokens therefore do not survive a restart of ``lspolicy serve``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import Final

__all__ = ["MAX_TOKEN_CHARS", "PageTokens"]

MAX_TOKEN_CHARS: Final = 2048
"""A token longer than this is refused unread (ours are under 400 characters: a 255-character
name, an account id, a region and a signature)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PageTokens:
    """Issues and checks the tokens of one server process."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()

    def issue(self, account: str, region: str, after: str) -> str:
        """The token of the page that follows the instance named ``after``."""
        payload = json.dumps([account, region, after], separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def after(self, token: str, account: str, region: str) -> str | None:
        """The instance name the page starts after, or None when ``token`` is not one this
        process issued for ``account`` and ``region``."""
        if len(token) > MAX_TOKEN_CHARS or not token.isascii():
            return None
        head, dot, tail = token.partition(".")
        if not dot:
            return None
        try:
            payload, mac = _unb64(head), _unb64(tail)
        except (binascii.Error, ValueError):
            return None
        if _b64(payload) != head or _b64(mac) != tail:
            return None  # the decoder skips stray characters: only our exact spelling passes
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        # signed by us, so well formed: json.dumps of three strings
        issued_account, issued_region, after = json.loads(payload)
        if (issued_account, issued_region) != (account, region):
            return None
        return str(after)
