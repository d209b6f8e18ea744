"""``spread import-ckm``: load the Coleman-Katz-Menzel tetracycline spread (real data) as a lineage."""

from __future__ import annotations

from typing import Any

import click


def register(main: click.Group) -> None:
    @main.command("import-ckm")
    def import_ckm_cmd() -> None:
        """Load the Coleman, Katz & Menzel (1957) tetracycline spread: 109 physicians, who learned from whom."""
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn

        from service.cli_support import connect as _connect
        from service.cli_support import resolve_dsn
        from service.cli_support import run as _run
        from service.cli_support import settings as _settings
        from service.demo.ckm import CITATION, import_ckm

        dsn, _ = resolve_dsn(_settings())
        console = Console()

        async def go() -> dict[str, Any]:
            conn = await _connect(dsn)
            try:
                with Progress(
                    TextColumn("[bold]{task.description}"),
                    BarColumn(),
                    TextColumn("{task.completed}/{task.total}"),
                    console=console,
                ) as bar:
                    task = bar.add_task("Loading the CKM spread", total=4)

                    def progress(step: str, done: int, total: int) -> None:
                        bar.update(task, completed=done, total=total, description=f"Loaded {step}")

                    return await import_ckm(conn, progress)
            finally:
                await conn.close()

        result = _run(go())
        created = result["created"]
        click.echo(
            f"Tetracycline spread: {result['adopters']} adopting physicians of {result['physicians']} "
            f"({result['excluded']} never adopted or undated, left out), {result['links']} learned-from links."
        )
        click.echo(
            f"Created {created['sites']} sites, {created['innovation']} innovation, {created['adoptions']} adoptions, "
            f"{created['links']} links (0 everywhere means it was already loaded)."
        )
        click.echo(f"Innovation {result['innovationId']}: GET /v1/innovations/{result['innovationId']}/lineage")
        click.echo(f"Cite: {CITATION}")
