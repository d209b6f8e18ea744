"""The ``spread`` command line: serve, migrate, keys, partners, openapi and data loaders."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import click
import msgspec

from service.cli_support import resolve_dsn, with_connection
from service.cli_support import run as _run
from service.cli_support import settings as _settings
from service.config import Settings

ROOT = Path(__file__).resolve().parent.parent
OPENAPI_PATH = ROOT / "openapi" / "openapi.json"


@click.group()
@click.version_option(package_name="spread-registry")
def main() -> None:
    """Spread: the registry of how NHS innovations spread."""


# --- serve ------------------------------------------------------------------------------------


@main.command()
@click.option("--host", default=None, help="Interface to bind (default SPREAD_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="Port (default SPREAD_PORT or 8000).")
@click.option("--demo", is_flag=True, help="Load NHS reference sites and demo innovations first.")
def serve(host: str | None, port: int | None, demo: bool) -> None:
    """Run the API. Without DATABASE_URL, starts an embedded PostgreSQL and migrates it."""
    settings = _settings()
    dsn, is_embedded = resolve_dsn(settings)
    from service import migrate

    if is_embedded:
        click.echo("Applying migrations ...")
        migrate.upgrade(dsn)
    else:
        current = _run(migrate.current_revision(dsn))
        head = migrate.head_revision()
        if current != head:
            raise click.ClickException(
                f"the database schema is at {current or 'nothing'} but this release needs {head}. "
                "Run `spread migrate` first (migrations never run on start-up against DATABASE_URL)."
            )
    if demo:
        _load_demo(dsn)
    settings = msgspec.structs.replace(
        settings,
        database_url=dsn,
        host=host or settings.host,
        port=port or settings.port,
    )
    base = f"http://{settings.host}:{settings.port}"
    click.echo(f"Spread API:      {base}/v1")
    click.echo(f"Interactive docs: {base}/schema")
    click.echo(f"Health:          {base}/health/ready")
    click.echo(f"Explorer:        {base}/explorer/ (paste a read-only key: spread keys create --partner NAME)")
    if settings.explorer_public_read:
        click.echo("WARNING: SPREAD_EXPLORER_PUBLIC_READ is on: anyone who can reach this server reads without a key.")
    if is_embedded:
        key = _dev_key(dsn, settings.data_dir)
        click.echo("Development API key (admin; kept in the data folder for the next run):")
        click.echo(f"  export SPREAD_KEY={key}")
        click.echo(f'  curl -H "Authorization: Bearer $SPREAD_KEY" {base}/v1/me')
    from service.server import run

    try:
        run(settings)
    finally:
        if is_embedded:
            from service import embedded

            click.echo("Stopping the embedded PostgreSQL ...")
            embedded.stop_all()


def _dev_key(dsn: str, data_dir: Path) -> str:
    from service.auth.keys import create_key, hash_secret

    path = data_dir / "dev-key"

    async def go(conn: Any) -> str:
        if path.exists():
            secret = path.read_text().strip()
            live = await conn.fetchval(
                "SELECT 1 FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL"
                " AND (expires_at IS NULL OR expires_at > now())",
                hash_secret(secret),
            )
            if live:
                return secret
        _, secret = await create_key(conn, "Development", ["read", "write", "admin"])
        path.write_text(secret + "\n")
        path.chmod(0o600)
        return secret

    return with_connection(dsn, go)


def _load_demo(dsn: str) -> None:
    from service.demo import load_demo

    async def go(conn: Any) -> None:
        await load_demo(conn, echo=click.echo)

    with_connection(dsn, go)


# --- migrate ----------------------------------------------------------------------------------


@main.command("migrate")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def migrate_cmd(revision: str) -> None:
    """Upgrade the database schema (DATABASE_URL, else the embedded database)."""
    settings = _settings()
    dsn, _ = resolve_dsn(settings)
    from service import migrate

    migrate.upgrade(dsn, revision)
    click.echo(f"Database schema is at {_run(migrate.current_revision(dsn))}.")


# --- keys and partners ------------------------------------------------------------------------


@main.group()
def keys() -> None:
    """Create, list and revoke API keys."""


def _parse_expiry(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint="--expires") from None
    if day <= dt.date.today():
        raise click.BadParameter("the expiry date must be in the future", param_hint="--expires")
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


@keys.command("create")
@click.option("--partner", required=True, help="Partner organisation name (created if new).")
@click.option("--scopes", default="read", show_default=True, help="Comma-separated: read, write, admin.")
@click.option("--expires", default=None, help="Expiry date, YYYY-MM-DD (default: never).")
def keys_create(partner: str, scopes: str, expires: str | None) -> None:
    """Create a key. The secret is printed once, alone on the last line."""
    from service.auth.keys import create_key, parse_scopes

    try:
        scope_list = parse_scopes(scopes)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--scopes") from None
    expires_at = _parse_expiry(expires)
    dsn, _ = resolve_dsn(_settings(), quiet=True)

    async def go(conn: Any) -> tuple[uuid.UUID, str]:
        return await create_key(conn, partner.strip(), scope_list, expires_at)

    key_id, secret = with_connection(dsn, go)
    click.echo(
        f"Created key {key_id} for {partner} with scopes {','.join(scope_list)}"
        + (f", expiring {expires_at:%Y-%m-%d}" if expires_at else "")
        + "."
    )
    click.echo("Store the secret now; it is not shown again:")
    click.echo(secret)


@keys.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    from service.auth import queries

    dsn, _ = resolve_dsn(_settings(), quiet=True)

    async def go(conn: Any) -> list[queries.KeyListing]:
        return await queries.list_keys(conn)

    rows = with_connection(dsn, go)
    if not rows:
        click.echo("No keys yet. Create one with `spread keys create --partner NAME --scopes read`.")
        return
    for r in rows:
        state = (
            "revoked"
            if r.revoked_at
            else ("expired" if r.expires_at and r.expires_at <= dt.datetime.now(dt.UTC) else "live")
        )
        expiry = f"{r.expires_at:%Y-%m-%d}" if r.expires_at else "never"
        click.echo(f"{r.id}  {r.prefix}...  {r.partner:<30}  {','.join(r.scopes):<16}  expires {expiry:<10}  {state}")


@keys.command("revoke")
@click.argument("key_id", type=click.UUID)
def keys_revoke(key_id: uuid.UUID) -> None:
    """Revoke a key by id; it stops working at once."""
    from service.auth import queries

    dsn, _ = resolve_dsn(_settings(), quiet=True)

    async def go(conn: Any) -> dt.datetime | None:
        return await queries.revoke_key(conn, key_id)

    revoked = with_connection(dsn, go)
    if revoked is None:
        raise click.ClickException(f"no key with id {key_id}; `spread keys list` shows them")
    click.echo(f"Key {key_id} is revoked (since {revoked:%Y-%m-%d %H:%M} UTC).")


@main.group()
def partners() -> None:
    """Partner organisations and the sites they may write for."""


@partners.command("create")
@click.argument("name")
@click.option("--sites", default="", help="Comma-separated site codes; an ICB or region covers the sites under it.")
def partners_create(name: str, sites: str) -> None:
    """Create a partner (or add sites to an existing one)."""
    from service.auth import queries

    codes = sorted({c.strip().upper() for c in sites.split(",") if c.strip()})
    dsn, _ = resolve_dsn(_settings(), quiet=True)

    async def go(conn: Any) -> tuple[uuid.UUID, list[str]]:
        async with conn.transaction():
            partner_id = await queries.ensure_partner(conn, name.strip())
            missing = await queries.grant_sites(conn, partner_id, codes) if codes else []
            if missing:
                raise click.ClickException(
                    f"unknown site codes: {', '.join(missing)}. Load sites with `spread import-sites` first."
                )
        return partner_id, codes

    partner_id, granted = with_connection(dsn, go)
    click.echo(f"Partner {name} ({partner_id})" + (f" may write for {', '.join(granted)}." if granted else "."))
    click.echo(f'Next: `spread keys create --partner "{name}" --scopes read,write`')


@partners.command("list")
def partners_list() -> None:
    """List partners, their sites and live keys."""
    from service.auth import queries

    dsn, _ = resolve_dsn(_settings(), quiet=True)

    async def go(conn: Any) -> list[queries.PartnerListing]:
        return await queries.list_partners(conn)

    for r in with_connection(dsn, go):
        click.echo(f"{r.id}  {r.name:<30}  keys {r.live_keys:<3}  sites {','.join(r.sites) or '-'}")


# --- openapi ----------------------------------------------------------------------------------


def openapi_document() -> dict[str, Any]:
    from service.app import create_app
    from service.openapi import document

    return document(create_app(Settings()))


def render_openapi() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@main.command("openapi")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=OPENAPI_PATH, show_default=True)
def openapi_cmd(output: Path) -> None:
    """Write the OpenAPI document (sorted keys, trailing newline)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_openapi())
    click.echo(f"Wrote {output}")


# Commands contributed by resource packages register themselves here.
def _register_extensions() -> None:
    from service.demo import cli as demo_cli
    from service.sites import cli as sites_cli
    from service.submissions import cli as submissions_cli
    from service.webhooks import cli as webhooks_cli

    for module in (sites_cli, demo_cli, submissions_cli, webhooks_cli):
        module.register(main)


_register_extensions()


if __name__ == "__main__":  # pragma: no cover
    main()
