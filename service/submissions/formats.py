"""Reading a batch: a JSON array, NDJSON (one report per line) or CSV (one report per row).

Every row is decoded on its own, so a bad row becomes that row's errors rather than failing
the batch; only a body that cannot be read at all (not UTF-8, not a JSON array, a CSV header
with unknown columns) refuses the whole request. CSV cells are strings: ``learnedFrom`` is
``SITE:channel[:YYYY-MM-DD]`` entries separated by ``;`` (or a JSON array), ``adaptations``
and ``observations`` are JSON arrays in a cell; empty cells count as absent.

``observations`` in CSV: one cell holding a JSON array of the objects
``POST /v1/adoptions/{id}/observations`` takes, quoted the CSV way (inner quotes doubled), e.g.
``"[{""measureCode"":""AE_4HR"",""periodStart"":""2023-01-01"",""period"":""month"",""value"":0.87}]"``;
every observation in the cell is for that row's adoption. That cell is read by the standard
library's JSON reader, which also takes the ``NaN``, ``Infinity`` and out-of-range numbers a
spreadsheet may export, so a non-finite value is reported as ``observations[i].value`` rather
than as an unreadable cell.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any, get_args

import msgspec

from service.errors import BadRequestError, FieldError, InvalidInputError, PayloadTooLargeError
from service.outcomes.schemas import Period
from service.submissions.schemas import MAX_ROWS, Report
from service.vocab import (
    CHANNELS,
    STAGES,
    ContextChange,
    Fidelity,
    Goal,
    Level,
    Nature,
    Phase,
    Planning,
    Reason,
    WhatModified,
)

JSON = "application/json"
NDJSON = "application/x-ndjson"
CSV = "text/csv"
MEDIA_TYPES = (JSON, NDJSON, CSV)

CSV_COLUMNS = (
    "innovation",
    "siteCode",
    "stage",
    "startedOn",
    "learnedFrom",
    "adaptations",
    "observations",
    "externalId",
    "notes",
    "discontinuedReason",
)
REQUIRED_COLUMNS = ("innovation", "siteCode", "stage", "startedOn")
_JSON_CELLS = ("adaptations", "observations")


@dataclass(slots=True)
class RowInput:
    """One row as read: the report when it decoded, else the reasons it did not."""

    row: int
    report: Report | None
    errors: list[FieldError] = field(default_factory=list)
    external_id: str | None = None


def fingerprint(mode: str, media_type: str, body: bytes) -> bytes:
    """What an Idempotency-Key remembers of a batch: its mode, format and exact bytes."""
    return hashlib.sha256(f"{mode}\n{media_type}\n".encode() + body).digest()


def too_many(count: int, max_mb: float) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"This batch has {count:,} rows; one request takes at most {MAX_ROWS:,} rows and {max_mb:g} MB. "
        f"Split the file into requests of at most {MAX_ROWS:,} rows (`spread submit` does this for you)."
    )


# --- msgspec errors to field errors -----------------------------------------------------------

_AT = re.compile(r" - at `\$\.?([^`]*)`$")
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")
_INDEX = re.compile(r"\[\d+\]")
_ALLOWED = {
    "stage": STAGES,
    "channel": CHANNELS,
    "phase": get_args(Phase),
    "planning": get_args(Planning),
    "whatModified": get_args(WhatModified),
    "level": get_args(Level),
    "nature": get_args(Nature),
    "contextChanges": get_args(ContextChange),
    "fidelity": get_args(Fidelity),
    "goals": get_args(Goal),
    "reasons": get_args(Reason),
    "period": get_args(Period),
}


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def field_error(exc: msgspec.ValidationError, prefix: str = "") -> FieldError:
    """``Invalid enum value 'x' - at `$.stage``` -> FieldError(field='stage', detail=...)."""
    message = str(exc)
    at = _AT.search(message)
    path = prefix
    if at:
        message = message[: at.start()]
        path = _join(prefix, at.group(1)) if at.group(1) else prefix
    if unknown := _UNKNOWN.search(message):
        return FieldError(field=_join(path, unknown.group(1)), detail="unknown field")
    if missing := _MISSING.search(message):
        return FieldError(field=_join(path, missing.group(1)), detail="is required")
    if "RFC3339 encoded date" in message:
        message = "must be a date as YYYY-MM-DD"
    elif message.startswith("Invalid enum value"):
        last = _INDEX.sub("", path.rsplit(".", 1)[-1])
        if last in _ALLOWED:
            message += f" (one of: {', '.join(_ALLOWED[last])})"
    return FieldError(field=path or "row", detail=message)


# PostgreSQL text cannot hold NUL, so a row containing one is refused before it is echoed.
_NUL = FieldError(field="row", detail="text may not contain the NUL character (\\u0000)")


def _external_id(value: Any) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= 200:
        return value
    return None


# --- JSON and NDJSON ----------------------------------------------------------------------

_report_decoder = msgspec.json.Decoder(Report)
_any_decoder = msgspec.json.Decoder()


def _decode_row(n: int, raw: bytes | msgspec.Raw) -> RowInput:
    data = bytes(raw)
    if b"\\u0000" in data or b"\x00" in data:
        return RowInput(n, None, [_NUL])
    try:
        return RowInput(n, _report_decoder.decode(data))
    except msgspec.ValidationError as exc:
        errors = [field_error(exc)]
    except msgspec.DecodeError as exc:
        return RowInput(n, None, [FieldError(field="row", detail=f"not valid JSON ({exc})")])
    external_id = None
    try:
        value = _any_decoder.decode(data)
        if isinstance(value, dict):
            external_id = _external_id(value.get("externalId"))
    except msgspec.DecodeError:
        pass
    return RowInput(n, None, errors, external_id)


_reports_decoder = msgspec.json.Decoder(list[Report])


def read_json(body: bytes, max_mb: float) -> list[RowInput]:
    if b"\\u0000" not in body and b"\x00" not in body:
        try:  # every row valid, the common case: one pass of the decoder
            reports = _reports_decoder.decode(body)
        except (msgspec.ValidationError, msgspec.DecodeError):
            pass  # read row by row below, so each bad row gets its own errors
        else:
            if len(reports) > MAX_ROWS:
                raise too_many(len(reports), max_mb)
            return [RowInput(i, report) for i, report in enumerate(reports, start=1)]
    try:
        raws = msgspec.json.decode(body, type=list[msgspec.Raw])
    except msgspec.ValidationError:
        raise InvalidInputError(
            'The body must be a JSON array of adoption reports, e.g. [{"innovation": ..., "siteCode": ...}].',
            field="body",
        ) from None
    except msgspec.DecodeError as exc:
        raise BadRequestError(
            f"The request body is not valid JSON ({exc}). Check quoting, commas and brackets."
        ) from None
    if len(raws) > MAX_ROWS:
        raise too_many(len(raws), max_mb)
    return [_decode_row(i, raw) for i, raw in enumerate(raws, start=1)]


def read_ndjson(body: bytes, max_mb: float) -> list[RowInput]:
    lines = [line for line in body.split(b"\n") if line.strip()]
    if len(lines) > MAX_ROWS:
        raise too_many(len(lines), max_mb)
    return [_decode_row(i, line) for i, line in enumerate(lines, start=1)]


# --- CSV --------------------------------------------------------------------------------------

_CANONICAL = {c.lower(): c for c in CSV_COLUMNS}
# An adoptions export (GET /v1/innovations/{id}/adoptions?format=csv, service/csv_export.py)
# reads back as a batch: its innovationId and sources columns are these columns, and its
# read-only columns are skipped, so an export can be edited and submitted unchanged.
EXPORT_ALIASES = {"innovationid": "innovation", "sources": "learnedFrom"}
EXPORT_READ_ONLY = frozenset(
    c.lower()
    for c in (
        "id",
        "siteName",
        "stageHistory",
        "isOrigin",
        "partner",
        "adaptationCount",
        "createdAt",
        "updatedAt",
        # structured de-adoption (docs/sustainment.md): not carried by submissions yet
        "discontinuedCriterion",
        "discontinuedOutcome",
        "replacedBy",
    )
)
IGNORED = "-"


def _header(names: list[str]) -> list[str]:
    columns = []
    unknown = []
    for raw in names:
        key = raw.strip().lower()
        if key in EXPORT_READ_ONLY:
            columns.append(f"{IGNORED}{raw}")
            continue
        name = _CANONICAL.get(key) or EXPORT_ALIASES.get(key)
        if name is None:
            unknown.append(raw)
        columns.append(name or raw)
    if unknown:
        raise InvalidInputError(
            f"Unknown CSV column(s): {', '.join(repr(u) for u in unknown)}. The columns are: {', '.join(CSV_COLUMNS)}.",
            field="columns",
        )
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise InvalidInputError(f"CSV column(s) given twice: {', '.join(duplicated)}.", field="columns")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InvalidInputError(
            f"The CSV header lacks the required column(s) {', '.join(missing)}. "
            f"The columns are: {', '.join(CSV_COLUMNS)} (the first four required).",
            field="columns",
        )
    return columns


def _learned_from(cell: str) -> list[dict[str, str]]:
    """``RXN:peer_visit:2022-02-10;RQM:learning_network`` -> learnedFrom objects."""
    links = []
    for i, entry in enumerate(e.strip() for e in cell.split(";")):
        if not entry:
            continue
        parts = [p.strip() for p in entry.split(":")]
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"entry {i + 1} ({entry!r}) is not SITE:channel or SITE:channel:YYYY-MM-DD")
        link = {"siteCode": parts[0].upper(), "channel": parts[1]}
        if len(parts) == 3:
            link["on"] = parts[2]
        links.append(link)
    return links


def _unquote(cell: str) -> str:
    """Undo the export's formula-injection quote: ``'=x`` is read as ``=x`` (service/csv_export.py)."""
    return cell[1:] if len(cell) > 1 and cell[0] == "'" and cell[1] in "=+-@\t\r" else cell


def _sources(value: Any) -> Any:
    """An export's ``sources`` (objects with ``adoptionId``, ``siteCode``, ``channel``, ``on``) as learnedFrom."""
    if not isinstance(value, list):
        return value
    return [
        {k: v for k, v in item.items() if k in ("siteCode", "channel", "on") and v is not None}
        if isinstance(item, dict) and "adoptionId" in item
        else item
        for item in value
    ]


def _csv_row(n: int, columns: list[str], cells: list[str]) -> RowInput:
    if any("\x00" in cell for cell in cells):
        return RowInput(n, None, [_NUL])
    if len(cells) > len(columns):
        return RowInput(
            n, None, [FieldError(field="row", detail=f"has {len(cells)} cells; the header has {len(columns)}")]
        )
    values: dict[str, Any] = {
        name: _unquote(v)
        for name, cell in zip(columns, cells, strict=False)
        if (v := cell.strip()) and not name.startswith(IGNORED)
    }
    external_id = _external_id(values.get("externalId"))
    errors: list[FieldError] = []
    if "siteCode" in values:
        values["siteCode"] = values["siteCode"].upper()
    if "learnedFrom" in values:
        cell = values["learnedFrom"]
        try:
            values["learnedFrom"] = _sources(_any_decoder.decode(cell)) if cell.startswith("[") else _learned_from(cell)
        except (ValueError, msgspec.DecodeError) as exc:
            errors.append(FieldError(field="learnedFrom", detail=str(exc)))
    for name in _JSON_CELLS:
        if name in values:
            try:
                cell = values[name]
                values[name] = json.loads(cell) if name == "observations" else _any_decoder.decode(cell)
            except (msgspec.DecodeError, ValueError, RecursionError) as exc:
                errors.append(FieldError(field=name, detail=f"must be a JSON array ({exc})"))
    if errors:
        return RowInput(n, None, errors, external_id)
    try:
        return RowInput(n, msgspec.convert(values, Report), external_id=external_id)
    except msgspec.ValidationError as exc:
        return RowInput(n, None, [field_error(exc)], external_id)


def read_csv(body: bytes, max_mb: float) -> list[RowInput]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequestError(
            f"The CSV is not UTF-8 text (byte {exc.start}). Save it as 'CSV UTF-8' and send it again."
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return []
        columns = _header(header)
        rows = [cells for cells in reader if "".join(cells).strip()]
    except csv.Error as exc:
        raise BadRequestError(f"The CSV could not be read: {exc}.") from None
    if len(rows) > MAX_ROWS:
        raise too_many(len(rows), max_mb)
    return [_csv_row(i, columns, cells) for i, cells in enumerate(rows, start=1)]


def read_body(body: bytes, media_type: str, max_mb: float) -> list[RowInput]:
    """The rows of a batch in any accepted format."""
    if media_type == CSV:
        rows = read_csv(body, max_mb)
    elif media_type == NDJSON:
        rows = read_ndjson(body, max_mb)
    else:
        rows = read_json(body, max_mb)
    if not rows:
        raise InvalidInputError("The batch has no reports; send at least one row.", field="body")
    return rows
