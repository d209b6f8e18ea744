"""Delivery signatures: HMAC-SHA256 over "<timestamp>.<body>", checked by verify_signature."""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path

from service.webhooks.signing import sign, signature_header, verify_signature

SECRET = "whsec_test-secret-0123456789"
BODY = b'{"id":"42","type":"adoption.created"}'
NOW = 1_800_000_000


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, str(NOW), BODY) == expected
    assert signature_header(SECRET, str(NOW), BODY) == f"v1={expected}"


def test_verify_accepts_the_real_signature() -> None:
    header = signature_header(SECRET, str(NOW), BODY)
    assert verify_signature(SECRET, BODY, str(NOW), header, now=NOW + 10)
    # several values (e.g. while a secret is rotated): any match will do
    assert verify_signature(SECRET, BODY, str(NOW), f"v1=deadbeef, {header}", now=NOW)


def test_verify_refuses_tampering_wrong_secret_and_stale_requests() -> None:
    header = signature_header(SECRET, str(NOW), BODY)
    assert not verify_signature(SECRET, BODY + b" ", str(NOW), header, now=NOW)
    assert not verify_signature("another-secret-entirely", BODY, str(NOW), header, now=NOW)
    assert not verify_signature(SECRET, BODY, str(NOW + 1), header, now=NOW)  # timestamp is signed too
    assert not verify_signature(SECRET, BODY, str(NOW), header, now=NOW + 301)  # replayed later
    assert verify_signature(SECRET, BODY, str(NOW), header, now=NOW + 10_000, tolerance=0)
    assert not verify_signature(SECRET, BODY, "yesterday", header, now=NOW)
    assert not verify_signature(SECRET, BODY, str(NOW), header.replace("v1=", "v0="), now=NOW)
    assert not verify_signature(SECRET, BODY, str(NOW), "", now=NOW)


def test_docs_receiver_example_verifies_a_real_signature() -> None:
    section = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    code = section[section.index("```python") + len("```python") : section.index("```", section.index("```python") + 9)]
    namespace: dict = {}
    exec(compile(code, "docs/webhooks.md", "exec"), namespace)  # noqa: S102 - our own docs
    namespace["SECRET"] = SECRET
    now = str(int(time.time()))
    body = b'{"id": "7", "type": "adoption.created", "data": {"entityId": "abc"}}'
    headers = {"Spread-Timestamp": now, "Spread-Signature": signature_header(SECRET, now, body)}
    assert namespace["receive"](headers, body) == 200
    assert namespace["receive"](headers, body) == 200  # a retry is acknowledged, handled once
    assert namespace["seen"] == {"7"}
    assert namespace["receive"](headers, body.replace(b"abc", b"abd")) == 401
    stale = str(int(time.time()) - 3600)
    assert namespace["receive"]({**headers, "Spread-Timestamp": stale}, body) == 401
