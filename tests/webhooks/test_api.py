"""/v1/webhooks: create, list, read, delete, delivery log, validation and the admin scope."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

import httpx
import pytest

from service.webhooks.crypto import SecretBox, SecretKeyError
from tests.conftest import KeyMaker, running_app, settings_for
from tests.webhooks.conftest import SECRET_KEY

HOOK = {"url": "https://integration.example.nhs.uk/spread", "events": ["adoption.stage_changed", "innovation.*"]}


async def test_create_read_list_delete(client: httpx.AsyncClient, admin, conn) -> None:
    r = await client.post("/v1/webhooks", json={**HOOK, "events": [*HOOK["events"], "innovation.*"]}, headers=admin)
    assert r.status_code == 201, r.text
    created = r.json()
    assert r.headers["location"] == f"/v1/webhooks/{created['id']}"
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["events"] == ["adoption.stage_changed", "innovation.*"]  # distinct, sorted
    assert created["active"] is True
    assert created["url"] == HOOK["url"]
    partner = await conn.fetchval("SELECT id FROM partners WHERE name = 'Registry admin'")
    assert created["createdByPartnerId"] == str(partner)

    r = await client.get(f"/v1/webhooks/{created['id']}", headers=admin)
    assert r.status_code == 200
    shown = r.json()
    assert "secret" not in shown
    assert shown == {k: v for k, v in created.items() if k != "secret"}

    second = (await client.post("/v1/webhooks", json=HOOK, headers=admin)).json()
    r = await client.get("/v1/webhooks?limit=1", headers=admin)
    assert [w["id"] for w in r.json()["items"]] == [created["id"]]
    assert 'rel="next"' in r.headers["link"]
    r = await client.get(f"/v1/webhooks?limit=1&cursor={r.json()['nextCursor']}", headers=admin)
    assert [w["id"] for w in r.json()["items"]] == [second["id"]]
    assert all("secret" not in w for w in r.json()["items"])

    r = await client.delete(f"/v1/webhooks/{created['id']}", headers=admin)
    assert r.status_code == 204
    for path in (f"/v1/webhooks/{created['id']}", f"/v1/webhooks/{created['id']}/deliveries"):
        r = await client.get(path, headers=admin)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/problem+json")
    assert (await client.delete(f"/v1/webhooks/{created['id']}", headers=admin)).status_code == 404
    r = await client.get("/v1/webhooks", headers=admin)
    assert [w["id"] for w in r.json()["items"]] == [second["id"]]


async def test_secret_is_generated_stored_encrypted_and_never_shown_again(
    client: httpx.AsyncClient, admin, conn
) -> None:
    r = await client.post("/v1/webhooks", json={**HOOK, "secret": "a-shared-secret-of-some-length"}, headers=admin)
    assert r.status_code == 422  # a client cannot choose the secret
    assert "secret" in [e["field"] for e in r.json()["errors"]]

    r = await client.post("/v1/webhooks", json=HOOK, headers=admin)
    secret = r.json()["secret"]
    raw = base64.urlsafe_b64decode(secret.removeprefix("whsec_") + "=")
    assert len(raw) == 32
    webhook_id = uuid.UUID(r.json()["id"])
    stored = await conn.fetchval("SELECT secret_ciphertext FROM webhooks WHERE id = $1", webhook_id)
    assert secret.encode() not in stored and raw not in stored
    assert SecretBox(SECRET_KEY).decrypt(webhook_id, stored) == secret
    with pytest.raises(SecretKeyError):  # bound to its webhook: no use on another row
        SecretBox(SECRET_KEY).decrypt(uuid.uuid4(), stored)
    with pytest.raises(SecretKeyError):
        SecretBox(bytes(32)).decrypt(webhook_id, stored)
    assert secret not in (await client.get(f"/v1/webhooks/{webhook_id}", headers=admin)).text


async def test_without_a_secret_key_webhooks_cannot_be_registered(db_dsn: str, make_key: KeyMaker) -> None:
    admin = await make_key("read,write,admin", partner="Registry admin")
    async with running_app(settings_for(db_dsn, webhook_allow_private=True)) as client:
        r = await client.post("/v1/webhooks", json=HOOK, headers=admin)
    assert r.status_code == 503
    assert "SPREAD_SECRET_KEY" in r.json()["detail"]


async def test_rotate_secret_returns_a_new_one_and_keeps_the_old_for_the_overlap(
    client: httpx.AsyncClient, admin, conn
) -> None:
    created = (await client.post("/v1/webhooks", json=HOOK, headers=admin)).json()
    webhook_id = uuid.UUID(created["id"])
    r = await client.post(f"/v1/webhooks/{webhook_id}/rotate-secret", json={"overlapSeconds": 3600}, headers=admin)
    assert r.status_code == 200, r.text
    rotated = r.json()
    assert rotated["id"] == created["id"] and rotated["secret"] != created["secret"]
    assert rotated["secret"].startswith("whsec_")
    row = await conn.fetchrow(
        "SELECT secret_ciphertext, previous_secret_ciphertext, previous_secret_expires_at - now() AS left"
        " FROM webhooks WHERE id = $1",
        webhook_id,
    )
    box = SecretBox(SECRET_KEY)
    assert box.decrypt(webhook_id, row["secret_ciphertext"]) == rotated["secret"]
    assert box.decrypt(webhook_id, row["previous_secret_ciphertext"]) == created["secret"]
    assert dt.timedelta(minutes=59) < row["left"] <= dt.timedelta(hours=1)
    shown = (await client.get(f"/v1/webhooks/{webhook_id}", headers=admin)).json()
    assert shown["previousSecretExpiresAt"] == rotated["previousSecretExpiresAt"]

    # no overlap: the old secret stops at once
    r = await client.post(f"/v1/webhooks/{webhook_id}/rotate-secret", json={"overlapSeconds": 0}, headers=admin)
    assert r.json()["previousSecretExpiresAt"] is None
    assert await conn.fetchval("SELECT previous_secret_ciphertext FROM webhooks WHERE id = $1", webhook_id) is None

    for body in ({"overlapSeconds": -1}, {"overlapSeconds": 8 * 24 * 3600}, {"secret": "mine-mine-mine-mine"}):
        r = await client.post(f"/v1/webhooks/{webhook_id}/rotate-secret", json=body, headers=admin)
        assert r.status_code == 422, body
    r = await client.post(f"/v1/webhooks/{uuid.uuid4()}/rotate-secret", json={}, headers=admin)
    assert r.status_code == 404
    # the change log records that the secret changed, but not the secret
    rows = await conn.fetch("SELECT before, after FROM changes WHERE entity = 'webhook' AND action = 'update'")
    assert len(rows) == 2
    for r in rows:
        assert r["after"]["secretRotatedAt"] != r["before"]["secretRotatedAt"]
        assert not {"secretCiphertext", "previousSecretCiphertext", "previousSecretExpiresAt"} & set(r["after"])


async def test_change_log_records_webhooks_without_secret_or_url(client: httpx.AsyncClient, admin, conn) -> None:
    created = (await client.post("/v1/webhooks", json=HOOK, headers=admin)).json()
    await client.delete(f"/v1/webhooks/{created['id']}", headers=admin)
    # Read the log directly: the feed holds rows back while any older transaction on the server runs.
    rows = await conn.fetch(
        "SELECT action, partner_name, before, after FROM changes WHERE entity = 'webhook' ORDER BY seq"
    )
    assert [r["action"] for r in rows] == ["create", "delete"]
    assert rows[0]["partner_name"] == "Registry admin"
    for r in rows:
        record = r["after"] or r["before"]
        assert record["events"] == created["events"]
        assert not {"secret", "secretCiphertext", "previousSecretCiphertext", "url", "seenSnapshot"} & set(record)


async def test_admin_scope_is_required(client: httpx.AsyncClient, make_key: KeyMaker, admin) -> None:
    created = (await client.post("/v1/webhooks", json=HOOK, headers=admin)).json()
    writer = await make_key("read,write", partner="Trust partner", sites=["RQM"])
    reader = await make_key("read", partner="Reader")
    calls = [
        ("POST", "/v1/webhooks", HOOK),
        ("GET", "/v1/webhooks", None),
        ("GET", f"/v1/webhooks/{created['id']}", None),
        ("GET", f"/v1/webhooks/{created['id']}/deliveries", None),
        ("POST", f"/v1/webhooks/{created['id']}/rotate-secret", {}),
        ("DELETE", f"/v1/webhooks/{created['id']}", None),
    ]
    for method, path, body in calls:
        for headers in (writer, reader):
            r = await client.request(method, path, json=body, headers=headers)
            assert r.status_code == 403, (method, path, r.text)
            assert "admin" in r.json()["detail"]
        r = await client.request(method, path, json=body)
        assert r.status_code == 401, (method, path)
    assert (await client.get(f"/v1/webhooks/{created['id']}", headers=admin)).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**HOOK, "url": "ftp://example.org/hook"}, "url"),
        ({**HOOK, "url": "https://"}, "url"),
        ({**HOOK, "url": "not a url at all"}, "url"),
        ({**HOOK, "url": "https://user:pw@example.org/hook"}, "url"),
        ({**HOOK, "url": "https://example.org:99999/hook"}, "url"),
        ({**HOOK, "events": []}, "events"),
        ({**HOOK, "events": ["adoption.exploded"]}, "events[0]"),
        ({**HOOK, "events": ["innovation.*", "webhook.created"]}, "events[1]"),
        ({**HOOK, "events": ["nothing.*"]}, "events[0]"),
        ({**HOOK, "events": ["ADOPTION.created"]}, "events[0]"),
        ({**HOOK, "secret": "a-secret-the-client-chose"}, "secret"),
        ({**HOOK, "colour": "blue"}, "colour"),
    ],
)
async def test_bad_webhooks_are_422(client: httpx.AsyncClient, admin, body: dict, field: str) -> None:
    r = await client.post("/v1/webhooks", json=body, headers=admin)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]], r.json()


async def test_unknown_event_names_the_known_ones(client: httpx.AsyncClient, admin) -> None:
    r = await client.post("/v1/webhooks", json={**HOOK, "events": ["adoption.exploded"]}, headers=admin)
    assert "adoption.stage_changed" in r.json()["detail"]
    r = await client.post("/v1/webhooks", json={"events": ["innovation.*"]}, headers=admin)
    assert r.status_code == 422
    assert "url" in r.json()["detail"]


async def test_bad_cursors_and_filters_are_422(client: httpx.AsyncClient, admin) -> None:
    created = (await client.post("/v1/webhooks", json=HOOK, headers=admin)).json()
    for path in (
        "/v1/webhooks?cursor=nonsense",
        f"/v1/webhooks/{created['id']}/deliveries?cursor=nonsense",
        f"/v1/webhooks/{created['id']}/deliveries?status=lost",
        "/v1/webhooks?limit=0",
        "/v1/webhooks?limit=501",
        f"/v1/webhooks/{created['id']}/deliveries?limit=0",
        "/v1/webhooks?cursor=" + "x" * 501,
    ):
        r = await client.get(path, headers=admin)
        assert r.status_code == 422, (path, r.text)
    r = await client.get("/v1/webhooks/not-a-uuid", headers=admin)
    assert r.status_code == 404
