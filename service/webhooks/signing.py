"""Signing deliveries, and checking a signature as a receiver would.

``Spread-Signature: v1=<hex>`` where ``<hex>`` is the HMAC-SHA256, keyed with the webhook's
secret, of ``"<Spread-Timestamp>.<raw body>"``. The timestamp is Unix seconds at the time of
the attempt, so a receiver can refuse stale or replayed requests; the event id
(``Spread-Event-Id``, also the body's ``id``) stays the same on every retry, so a receiver can
drop duplicates. :func:`verify_signature` has no dependency on the rest of this package: a
receiver may copy it as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SCHEME = "v1"
DEFAULT_TOLERANCE = 300  # seconds a receiver should accept between signing and checking


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"``."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: str, body: bytes) -> str:
    """The ``Spread-Signature`` header value."""
    return f"{SCHEME}={sign(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    body: bytes,
    timestamp: str,
    signature: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """True when ``signature`` (a ``Spread-Signature`` value) signs ``body`` at ``timestamp``.

    ``body`` must be the raw request bytes, before any JSON parsing. The timestamp must be
    within ``tolerance`` seconds of ``now`` (default: the current time); pass ``tolerance=0``
    to skip that check. Several comma-separated ``v1=`` values are accepted (any may match).
    """
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if tolerance and abs(current - sent_at) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    for part in signature.split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == SCHEME and hmac.compare_digest(value.strip(), expected):
            return True
    return False
