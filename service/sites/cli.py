"""``spread import-sites``: load the NHS reference sites shipped with the product."""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    main.add_command(import_sites)


@click.command("import-sites")
def import_sites() -> None:
    """Load the NHS regions, ICBs, trusts and hospital sites (an upsert: re-running changes nothing)."""
    import asyncpg
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from service.cli_support import connect as _connect
    from service.cli_support import resolve_dsn
    from service.cli_support import run as _run
    from service.cli_support import settings as _settings
    from service.sites.importer import ATTRIBUTION, ImportResult, import_reference_sites

    dsn, is_embedded = resolve_dsn(_settings())
    if is_embedded:  # as `serve` does; against DATABASE_URL, migrations are run on purpose
        from service import migrate

        migrate.upgrade(dsn)
    levels: list[tuple[str, int, ImportResult]] = []

    with Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), transient=False) as progress:
        task = progress.add_task("Importing NHS sites", total=4)

        def step(level: str, rows: int, result: ImportResult) -> None:
            levels.append((level, rows, result))
            progress.update(task, advance=1, description=level)

        async def go() -> ImportResult:
            conn = await _connect(dsn)
            try:
                return await import_reference_sites(conn, step)
            finally:
                await conn.close()

        try:
            total = _run(go())
        except asyncpg.UndefinedTableError:
            raise click.ClickException("the database has no registry tables yet. Run `spread migrate` first.") from None

    for level, rows, result in levels:
        click.echo(
            f"  {level:<24} {rows:>5} rows: {result.created} created, {result.updated} updated,"
            f" {result.unchanged} unchanged"
        )
    click.echo(f"Sites: {total.created} created, {total.updated} updated, {total.unchanged} unchanged.")
    click.echo(ATTRIBUTION)
