"""The signature a payment provider puts on every call it makes to us (and we check).

    X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

The timestamp is inside what is signed, so a captured call cannot be replayed later than the
window allows, nor re-dated. The comparison is constant-time. A header may carry several `v1`
values (a provider rotating its secret signs with both); we accept the call when any of them
matches any of our secrets (the current one and, during a rotation, the previous one).
Pure: the caller gives the time and the secrets.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

HEADER = "X-Signature"
SCHEME = "v1"


class SignatureRefused(Exception):
    """The call is not signed by someone holding the secret, or not recently enough."""


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 over `<timestamp>.<body>`."""
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The value of the `X-Signature` header for `body` sent at `timestamp`."""
    return f"t={timestamp},{SCHEME}={signature(secret, timestamp, body)}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, separator, value = part.strip().partition("=")
        if not separator:
            raise SignatureRefused("the signature header is malformed")
        if name == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit():
                raise SignatureRefused("the signature header has no valid timestamp")
            timestamp = int(value)
        elif name == SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise SignatureRefused("the signature header has no timestamp")
    if not signatures:
        raise SignatureRefused(f"the signature header has no {SCHEME} signature")
    return timestamp, signatures


def verify(
    header: str | None,
    body: bytes,
    *,
    secrets: Sequence[bytes],
    now: float,
    window_seconds: int,
) -> int:
    """Return the signed timestamp if the header signs `body` within the window; else refuse."""
    if not header:
        raise SignatureRefused(f"the {HEADER} header is missing")
    timestamp, offered = _parse(header)
    if abs(now - timestamp) > window_seconds:
        raise SignatureRefused("the signature's timestamp is outside the accepted window")
    expected = [signature(secret, timestamp, body) for secret in secrets if secret]
    # Every pair is compared, so the time taken does not say which one (if any) matched.
    matched = False
    for candidate in offered:
        for wanted in expected:
            matched |= hmac.compare_digest(candidate.encode(), wanted.encode())
    if not matched:
        raise SignatureRefused("the signature does not match the body")
    return timestamp
