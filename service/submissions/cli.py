"""``spread submit FILE``: send a CSV, JSON or NDJSON file of adoption reports to a Spread API.

Files over 10,000 rows go in several requests. Rows are sent sources first (by the
learned-from links, then start date), so a row that learns from another row of the file is in
the same request or a later one. Every request carries an Idempotency-Key and is retried on
network errors, 429 and 503, so a retry never writes twice.
"""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from service.submissions.formats import CSV, JSON, NDJSON
from service.submissions.schemas import MAX_ROWS

MAX_CHUNK_BYTES = 9_000_000  # under the server's default 10 MB body limit
_RETRY_STATUSES = {429, 502, 503, 504}


def register(main: click.Group) -> None:
    main.add_command(submit)


@dataclass
class Batch:
    """A file's rows in one format: ``rows`` are encoded rows, ``header`` the CSV header line."""

    media_type: str
    rows: list[str]
    header: str = ""
    parsed: list[dict[str, Any]] | None = None

    def body(self, indices: list[int]) -> bytes:
        if self.media_type == JSON:
            return ("[" + ",".join(self.rows[i] for i in indices) + "]").encode()
        if self.media_type == NDJSON:
            return ("\n".join(self.rows[i] for i in indices) + "\n").encode()
        return (self.header + "".join(self.rows[i] for i in indices)).encode()


def _media_type(path: Path, given: str | None) -> str:
    if given:
        return {"csv": CSV, "json": JSON, "ndjson": NDJSON}[given]
    suffix = path.suffix.lower()
    if suffix in (".ndjson", ".jsonl"):
        return NDJSON
    if suffix == ".json":
        return JSON
    return CSV


def read_file(path: Path, media_type: str) -> Batch:
    """Split the file into rows without judging them (the server does), keeping CSV quoting."""
    raw = path.read_bytes()
    if media_type == CSV:
        text = raw.decode("utf-8-sig")
        records = list(csv.reader(io.StringIO(text, newline="")))
        if not records:
            return Batch(CSV, [], "")
        header_cells, *data = records
        data = [cells for cells in data if any(c.strip() for c in cells)]

        def line(cells: list[str]) -> str:
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerow(cells)
            return out.getvalue()

        names = [h.strip() for h in header_cells]
        parsed = [dict(zip(names, cells, strict=False)) for cells in data]
        return Batch(CSV, [line(cells) for cells in data], line(header_cells), parsed)
    if media_type == NDJSON:
        lines = [ln for ln in raw.decode("utf-8").splitlines() if ln.strip()]
        parsed = []
        for ln in lines:
            try:
                value = json.loads(ln)
            except ValueError:
                value = {}
            parsed.append(value if isinstance(value, dict) else {})
        return Batch(NDJSON, lines, parsed=parsed)
    try:
        values = json.loads(raw)
    except ValueError as exc:
        raise click.ClickException(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(values, list):
        raise click.ClickException(f"{path} must hold a JSON array of adoption reports")
    return Batch(
        JSON,
        [json.dumps(v, ensure_ascii=False) for v in values],
        parsed=[v if isinstance(v, dict) else {} for v in values],
    )


def _sources(row: dict[str, Any]) -> list[str]:
    value = row.get("learnedFrom") or row.get("learnedfrom") or []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                return []
        else:
            return [entry.split(":")[0].strip().upper() for entry in text.split(";") if entry.strip()]
    if not isinstance(value, list):
        return []
    return [str(v.get("siteCode", "")).upper() for v in value if isinstance(v, dict)]


def sources_first(parsed: list[dict[str, Any]]) -> list[int]:
    """Row indices with every row after the rows it learns from (by innovation and site),
    earlier starts first; rows in a cycle keep their order (the server reports them)."""
    key_of = [(str(r.get("innovation", "")), str(r.get("siteCode", "")).upper()) for r in parsed]
    where: dict[tuple[str, str], int] = {}
    for i, key in enumerate(key_of):
        where.setdefault(key, i)
    order = sorted(range(len(parsed)), key=lambda i: (str(parsed[i].get("startedOn", "")), i))
    placed: set[int] = set()
    out: list[int] = []
    for start in order:
        stack = [(start, False)]
        on_path: set[int] = set()
        while stack:
            i, expanded = stack.pop()
            if i in placed:
                continue
            if expanded:
                on_path.discard(i)
                placed.add(i)
                out.append(i)
                continue
            on_path.add(i)
            stack.append((i, True))
            innovation = key_of[i][0]
            for site in _sources(parsed[i]):
                j = where.get((innovation, site))
                if j is not None and j not in placed and j not in on_path:
                    stack.append((j, False))
    return out


def chunks(batch: Batch, size: int) -> list[list[int]]:
    """Row indices per request: at most ``size`` rows and about 9 MB each."""
    order = sources_first(batch.parsed) if batch.parsed and len(batch.rows) > size else list(range(len(batch.rows)))
    out: list[list[int]] = []
    current: list[int] = []
    current_bytes = len(batch.header)
    for i in order:
        length = len(batch.rows[i].encode()) + 1
        if current and (len(current) >= size or current_bytes + length > MAX_CHUNK_BYTES):
            out.append(current)
            current, current_bytes = [], len(batch.header)
        current.append(i)
        current_bytes += length
    if current:
        out.append(current)
    return out


def _post(client: Any, url: str, body: bytes, headers: dict[str, str], attempts: int = 4) -> Any:
    import httpx

    for attempt in range(attempts):
        try:
            r = client.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            if attempt == attempts - 1:
                raise click.ClickException(f"could not reach {url}: {exc}") from None
        else:
            if r.status_code not in _RETRY_STATUSES or attempt == attempts - 1:
                return r
            retry_after = r.headers.get("retry-after", "")
            if retry_after.isdigit():
                time.sleep(min(int(retry_after), 30))
                continue
        time.sleep(min(2**attempt, 10))
    raise AssertionError("unreachable")  # pragma: no cover


@click.command("submit")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", envvar="SPREAD_KEY", required=True, help="API key with the write scope (or SPREAD_KEY).")
@click.option(
    "--url",
    envvar="SPREAD_URL",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="The API's base URL (or SPREAD_URL).",
)
@click.option(
    "--mode",
    type=click.Choice(["atomic", "partial"]),
    default="atomic",
    show_default=True,
    help="atomic: a request with a bad row writes nothing; partial: write the valid rows.",
)
@click.option(
    "--idempotency-key",
    default=None,
    help="Key for a safe re-run within 24 hours (requests get KEY-1, KEY-2, ... when the file is split). "
    "Default: a new key per run.",
)
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "ndjson"]), help="Default: from the extension.")
@click.option(
    "--chunk-size",
    type=click.IntRange(1, MAX_ROWS),
    default=MAX_ROWS,
    show_default=True,
    help="Rows per request.",
)
@click.option("--show", type=click.IntRange(0, 100_000), default=50, show_default=True, help="Rejected rows to list.")
@click.option("--json", "as_json", is_flag=True, help="Print every row's result as JSON instead of tables.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check the file without writing anything (POST /v1/submissions?dryRun=true) and print what each row "
    "would do as a table. A file sent in several requests is checked request by request.",
)
def submit(
    file: Path,
    key: str,
    url: str,
    mode: str,
    idempotency_key: str | None,
    fmt: str | None,
    chunk_size: int,
    show: int,
    as_json: bool,
    dry_run: bool,
) -> None:
    """Send FILE (CSV, JSON array or NDJSON of adoption reports) to POST /v1/submissions."""
    from rich.console import Console

    console = Console(stderr=as_json)
    media_type = _media_type(file, fmt)
    try:
        batch = read_file(file, media_type)
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{file} is not UTF-8 text (byte {exc.start})") from None
    except csv.Error as exc:
        raise click.ClickException(f"{file} could not be read as CSV: {exc}") from None
    if not batch.rows:
        raise click.ClickException(f"{file} has no rows to send")
    parts = chunks(batch, chunk_size)
    query = "&".join(q for q in ("mode=partial" if mode == "partial" else "", "dryRun=true" if dry_run else "") if q)
    endpoint = url.rstrip("/") + "/v1/submissions" + (f"?{query}" if query else "")
    sent = _send(console, file.name, batch, parts, endpoint, key, idempotency_key or uuid.uuid4().hex, as_json)
    if as_json:
        answer = {"summary": sent.totals, "rows": sorted(sent.results, key=lambda x: x["row"])}
        click.echo(json.dumps(answer | ({"dryRun": True} if dry_run else {}), indent=2))
    elif dry_run:
        console.print(dry_run_table(file.name, len(batch.rows), sent.totals, sent.results, show))
        if len(sent.results) > show:
            console.print(f"... and {len(sent.results) - show:,} more rows (use --show or --json to see them all)")
    else:
        _print_tables(
            console, f"{file.name}: {len(batch.rows):,} rows in {len(parts)} request(s), mode {mode}", sent, show
        )
    if sent.failed is not None:
        note = (
            f" Requests 1-{sent.failed_request - 1} were written; re-sending the whole file is harmless."
            if sent.failed_request > 1 and not dry_run
            else ""
        )
        raise click.ClickException(f"{sent.failed}{note}")
    if sent.totals["rejected"]:
        raise SystemExit(1)


@dataclass
class _Sent:
    """What the requests of one run answered: totals, every row's result, and the first failure."""

    totals: dict[str, int]
    results: list[dict[str, Any]]
    failed: str | None = None
    failed_request: int = 0


def _send(
    console: Any, name: str, batch: Batch, parts: list[list[int]], endpoint: str, key: str, base_key: str, quiet: bool
) -> _Sent:
    """POST each chunk in turn, stopping at the first request that fails as a whole."""
    import httpx
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    sent = _Sent(totals={"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}, results=[])
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with (
        httpx.Client(timeout=httpx.Timeout(600, connect=10)) as client,
        Progress(*columns, console=console, transient=quiet) as progress,
    ):
        task = progress.add_task(f"Sending {name}", total=len(batch.rows))
        for n, indices in enumerate(parts, start=1):
            progress.update(task, description=f"Request {n}/{len(parts)}")
            headers = {
                "Authorization": f"Bearer {key}",
                "Content-Type": batch.media_type,
                "Idempotency-Key": base_key if len(parts) == 1 else f"{base_key}-{n}",
            }
            r = _post(client, endpoint, batch.body(indices), headers)
            answer = _json(r)
            rows: list[dict[str, Any]] = []
            if r.status_code in (200, 201):
                for kind in sent.totals:
                    sent.totals[kind] += answer["summary"][kind]
                rows = answer["rows"]
            elif r.status_code == 422 and isinstance(answer.get("rows"), list):
                rows = answer["rows"]
                sent.totals["rejected"] += len(rows)
                sent.failed = answer.get("detail", "rejected")
            else:
                sent.failed = f"HTTP {r.status_code}: {answer.get('detail') or r.text[:500]}"
            for row in rows:
                row["row"] = indices[row["row"] - 1] + 1  # the file's row number
                row["request"] = n
            sent.results.extend(rows)
            progress.advance(task, len(indices))
            if sent.failed is not None:
                sent.failed_request = n
                break
    return sent


def _print_tables(console: Any, title: str, sent: _Sent, show: int) -> None:
    """The totals, then the rejected rows (at most ``show``) with every problem."""
    from rich.table import Table

    table = Table(title=title)
    for kind in sent.totals:
        table.add_column(kind, justify="right")
    table.add_row(*(f"{sent.totals[kind]:,}" for kind in sent.totals))
    console.print(table)
    rejected = sorted((x for x in sent.results if x["status"] == "rejected"), key=lambda x: x["row"])
    if not rejected or not show:
        return
    listing = Table(title="Rejected rows")
    listing.add_column("row", justify="right")
    listing.add_column("externalId")
    listing.add_column("field")
    listing.add_column("problem")
    for x in rejected[:show]:
        for i, error in enumerate(x["errors"] or [{"field": "", "detail": ""}]):
            first = i == 0
            listing.add_row(
                str(x["row"]) if first else "",
                (x.get("externalId") or "") if first else "",
                error["field"],
                error["detail"],
            )
    console.print(listing)
    if len(rejected) > show:
        console.print(f"... and {len(rejected) - show:,} more (use --show or --json to see them all)")


def dry_run_table(name: str, count: int, totals: dict[str, int], results: list[dict[str, Any]], show: int) -> Any:
    """What each row would do, one line per problem or warning: the report of a dry run."""
    from rich.table import Table

    summary = ", ".join(f"{totals[kind]:,} {kind}" for kind in totals)
    table = Table(title=f"Dry run of {name} ({count:,} rows), nothing written: {summary}")
    for column, justify in (("row", "right"), ("externalId", "left"), ("would be", "left"), ("field", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]  # rich's Literal of justifications
    table.add_column("why")
    for x in sorted(results, key=lambda x: x["row"])[:show]:
        notes = [(e["field"], e["detail"]) for e in x.get("errors") or []]
        notes += [("", warning) for warning in x.get("warnings") or []]
        for i, (field, detail) in enumerate(notes or [("", "")]):
            first = i == 0
            table.add_row(
                str(x["row"]) if first else "",
                (x.get("externalId") or "") if first else "",
                x["status"] if first else "",
                field,
                detail,
            )
    return table


def _json(r: Any) -> dict[str, Any]:
    try:
        value = r.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
