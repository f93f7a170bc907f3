"""Random identifiers for requests and operations: RFC 4122 version 4 UUIDs as text.

``str(uuid.uuid4())`` builds a `uuid.UUID` object to format 16 random bytes; the server makes
one or two per request, and formatting the bytes directly is the same text at a fraction of the
work (``tests/unit/test_server_fastpaths.py`` checks the two agree).
"""

from __future__ import annotations

import os

__all__ = ["uuid4_text"]


def uuid4_text() -> str:
    """A random version 4 UUID in its canonical text form (``8-4-4-4-12`` lowercase hex digits),
    exactly as ``str(uuid.uuid4())`` gives it: 122 random bits from `os.urandom`, the version
    nibble 4 and the RFC 4122 variant bits ``10``."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
