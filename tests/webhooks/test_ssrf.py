"""SSRF: a webhook may only point at public addresses, checked at registration and again at
send time, and the worker connects to the address it checked (no second DNS answer).

No external DNS is reachable here: the tests use IP literals, names from /etc/hosts
(`localhost`) and names that do not resolve; the rebinding test answers lookups itself.
"""

from __future__ import annotations

import dataclasses
import socket
from typing import Any

import httpx
import pytest

from service.webhooks import targets
from service.webhooks.worker import Worker
from tests.webhooks import registry
from tests.webhooks.conftest import FAST, create_webhook, drain_until
from tests.webhooks.receiver import Receiver

EVENTS = ["innovation.created"]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080/hooks", "loopback"),
        ("http://127.9.9.9/hooks", "loopback"),
        ("http://localhost:8000/v1/webhooks", "a name for loopback"),
        ("http://[::1]/hooks", "IPv6 loopback"),
        ("http://10.1.2.3/hooks", "RFC 1918"),
        ("http://172.16.0.10/hooks", "RFC 1918"),
        ("http://192.168.1.1/admin", "RFC 1918"),
        ("http://169.254.169.254/latest/meta-data/", "link-local: cloud metadata"),
        ("http://100.64.0.1/hooks", "shared address space (CGNAT)"),
        ("http://100.100.100.200/latest/meta-data", "CGNAT: another cloud's metadata"),
        ("http://[fd00:ec2::254]/latest", "IPv6 unique-local (ULA)"),
        ("http://[fe80::1]/hooks", "IPv6 link-local"),
        ("http://0.0.0.0:5432/", "unspecified"),
        ("http://[::]/hooks", "IPv6 unspecified"),
        ("http://224.0.0.1/hooks", "multicast"),
        ("http://[ff02::1]/hooks", "IPv6 multicast"),
        ("http://255.255.255.255/hooks", "broadcast (reserved)"),
        ("http://240.0.0.1/hooks", "reserved"),
        ("http://192.0.2.10/hooks", "documentation range"),
        ("http://[::ffff:127.0.0.1]/hooks", "IPv4-mapped loopback"),
        ("http://[::ffff:a9fe:a9fe]/hooks", "IPv4-mapped metadata"),
        ("http://[64:ff9b::a9fe:a9fe]/hooks", "NAT64 of the metadata address"),
        ("http://[2002:7f00:1::]/hooks", "6to4 of loopback"),
        ("http://2130706433/hooks", "loopback written as one decimal number"),
        ("http://0x7f.1/hooks", "loopback written in hex and short form"),
    ],
)
async def test_non_public_targets_are_refused_at_registration(
    guarded_client: httpx.AsyncClient, admin: dict[str, str], url: str, why: str
) -> None:
    r = await guarded_client.post("/v1/webhooks", json={"url": url, "events": EVENTS}, headers=admin)
    assert r.status_code == 422, (why, r.text)
    problem = r.json()
    assert problem["type"].endswith("/problems/invalid-input")
    assert [e["field"] for e in problem["errors"]] == ["url"]
    assert "not a public address" in problem["detail"], problem["detail"]


@pytest.mark.parametrize("url", ["https://metadata.google.internal/computeMetadata/v1/", "https://nowhere.invalid/h"])
async def test_names_that_do_not_resolve_are_refused(
    guarded_client: httpx.AsyncClient, admin: dict[str, str], url: str
) -> None:
    r = await guarded_client.post("/v1/webhooks", json={"url": url, "events": EVENTS}, headers=admin)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["url"]
    assert "could not be resolved" in r.json()["detail"]


async def test_a_public_address_is_accepted(guarded_client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for url in ("https://93.184.215.14/hooks", "https://[2606:4700:4700::1111]/hooks"):
        r = await guarded_client.post("/v1/webhooks", json={"url": url, "events": EVENTS}, headers=admin)
        assert r.status_code == 201, r.text


async def test_the_allow_private_setting_admits_loopback(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    r = await client.post("/v1/webhooks", json={"url": "http://localhost:9/x", "events": EVENTS}, headers=admin)
    assert r.status_code == 201, r.text


async def test_send_time_check_refuses_a_private_target(client, admin, conn, pool) -> None:
    """Registered while allowed (or while its name was public): the worker still refuses it."""
    async with Receiver() as receiver:
        hook = await create_webhook(client, admin, receiver.url, EVENTS)
        await registry.add_innovation(conn, "guarded")
        async with Worker(pool, dataclasses.replace(FAST, allow_private=False)) as worker:
            await drain_until(worker, lambda: worker.stats.failed == 1)
    assert receiver.requests == []
    log = (await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=admin)).json()["items"]
    assert [(d["status"], d["lastError"], d["lastStatusCode"]) for d in log] == [("failed", "forbidden_address", None)]


async def test_the_worker_connects_to_the_address_it_checked(client, admin, conn, pool, monkeypatch) -> None:
    """DNS rebinding: the name is public for the check and loopback for any later lookup.
    The worker looks it up once and connects to that answer; the loopback receiver never
    hears from it."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.test":
            lookups.append(host)
            answer = "8.8.8.8" if len(lookups) == 1 else "127.0.0.1"
            return real(answer, *args, **kwargs)
        return real(host, *args, **kwargs)

    async with Receiver() as receiver:
        hook = await create_webhook(client, admin, f"http://rebind.test:{receiver.port}/hooks", EVENTS)
        monkeypatch.setattr(socket, "getaddrinfo", rebinding)
        await registry.add_innovation(conn, "rebinding")
        config = dataclasses.replace(FAST, allow_private=False, timeout=1)
        async with Worker(pool, config) as worker:
            await drain_until(worker, lambda: worker.stats.failed == 1)
    assert lookups == ["rebind.test"]
    assert receiver.requests == []
    log = (await client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=admin)).json()["items"]
    assert log[0]["lastError"] in ("timeout", "connection_failed")


async def test_host_header_names_the_url_host_while_the_address_is_pinned(client, admin, conn, pool) -> None:
    async with Receiver() as receiver:
        await create_webhook(client, admin, f"http://localhost:{receiver.port}/hooks", EVENTS)
        await registry.add_innovation(conn, "pinned")
        async with Worker(pool, FAST) as worker:
            await drain_until(worker, lambda: len(receiver.delivered()) == 1)
    assert receiver.requests[0].headers["host"] == f"localhost:{receiver.port}"


def test_every_non_public_range_is_forbidden() -> None:
    import ipaddress

    refused = [
        *("127.0.0.1", "10.0.0.1", "172.31.255.255", "192.168.0.1", "169.254.169.254", "100.64.0.1"),
        *("0.0.0.0", "224.0.0.251", "fc00::1", "fd12:3456::1", "fe80::1", "::1", "::", "ff02::1"),  # noqa: S104
        *("::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::", "2001:db8::1"),
    ]
    for text in refused:
        assert targets.forbidden(ipaddress.ip_address(text)), text
    for text in ("8.8.8.8", "93.184.215.14", "2606:4700:4700::1111", "2a00:1450:4009:81f::200e"):
        assert not targets.forbidden(ipaddress.ip_address(text)), text


def _certificate(name: str, directory: Any) -> tuple[str, str]:
    """A self-signed certificate for ``name`` (PEM files: certificate, key)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


async def test_https_to_the_pinned_address_checks_the_certificate_for_the_name(
    client, admin, conn, pool, tmp_path
) -> None:
    """The worker dials 127.0.0.1 but sends SNI `localhost` and verifies the certificate
    against `localhost`; a certificate for another name is refused (tls_failed)."""
    import ssl

    cert, key = _certificate("localhost", tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    sni: list[str | None] = []
    server_tls.sni_callback = lambda _sock, name, _ctx: sni.append(name)  # type: ignore[assignment,misc]
    # keep-alive on, unlike the worker's own client: each request must still get its own connection
    trusting = httpx.AsyncClient(verify=ssl.create_default_context(cafile=cert), trust_env=False)
    async with Receiver(tls=server_tls) as receiver, trusting:
        good = await create_webhook(client, admin, f"https://localhost:{receiver.port}/hooks", EVENTS)
        await registry.add_innovation(conn, "over-tls")
        async with Worker(pool, FAST, http=trusting) as worker:
            await drain_until(worker, lambda: len(receiver.delivered()) == 1)
        assert sni == ["localhost"]
        assert receiver.requests[0].headers["host"] == f"localhost:{receiver.port}"
        await client.delete(f"/v1/webhooks/{good['id']}", headers=admin)

        # the same address under a name the certificate does not cover
        bad = await create_webhook(client, admin, f"https://127.0.0.1:{receiver.port}/hooks", EVENTS)
        await registry.add_innovation(conn, "wrong-name")
        async with Worker(pool, FAST, http=trusting) as worker:
            await drain_until(worker, lambda: worker.stats.failed == 1)
    log = (await client.get(f"/v1/webhooks/{bad['id']}/deliveries", headers=admin)).json()["items"]
    assert [(d["lastError"], d["lastStatusCode"]) for d in log] == [("tls_failed", None)]
    assert len(receiver.requests) == 1
