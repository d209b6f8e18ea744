"""Shared types: the base Struct, constrained scalar aliases, cursors and HTTP helpers.

Every request and response body derives from :class:`Base` (camelCase on the wire, unknown
fields refused). Scalars that recur across resources (ODS codes, limits, texts) are
``Annotated`` aliases here, so a constraint is written once and shows in the spec.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar.enums import RequestEncodingType
from litestar.openapi.spec import Example
from litestar.params import Body, BodyKwarg, HeaderParameter, QueryParameter
from msgspec import Meta

from service.errors import InvalidInputError


class Base(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, rename="camel"):
    """The one base for request and response bodies."""


class ReadBase(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Base for response bodies built from database records (no unknown-field check needed)."""


# --- scalar aliases -------------------------------------------------------------------------

# Every string a client sends has a pattern, so the spec says what the server refuses: no NUL
# (PostgreSQL text cannot hold it) and no other control characters. LINE is one line of text;
# TEXT may span lines (tab, LF and CR allowed). tests/test_contract.py checks every string in
# every request has one.
LINE = r"^[^\x00-\x1f\x7f]*$(?!\n)"
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$(?!\n)"
# A cursor is unpadded URL-safe base64 (see encode_cursor).
CURSOR = r"^[A-Za-z0-9_-]+$(?!\n)"

SiteCode = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=12,
        pattern=r"^[A-Z0-9][A-Z0-9-]{2,11}$(?!\n)",
        description="ODS code (or registry-issued code for non-NHS partners), upper case.",
        examples=["RQM"],
    ),
]
Slug = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=120,
        pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$(?!\n)",
        examples=["virtual-wards-for-frailty"],
    ),
]
Title = Annotated[str, Meta(min_length=1, max_length=300, pattern=LINE, examples=["Virtual wards for frailty"])]
LongText = Annotated[str, Meta(max_length=20_000, pattern=TEXT)]
Tag = Annotated[str, Meta(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9_\- ]*$(?!\n)")]
Key = Annotated[
    str, Meta(min_length=1, max_length=60, pattern=r"^[a-z0-9][a-z0-9_\-]*$(?!\n)", examples=["daily_huddle"])
]
Url = Annotated[
    str,
    Meta(min_length=8, max_length=2000, pattern=r"^https?://[!-~]+$(?!\n)", examples=["https://example.org/guide"]),
]
Latitude = Annotated[float, Meta(ge=-90, le=90)]
Longitude = Annotated[float, Meta(ge=-180, le=180)]
# Query parameters carry their constraints in QueryParameter: Litestar validates and documents
# those, not a msgspec Meta nested inside.
MAX_LIMIT = 500  # the largest page any list answers
LimitQuery = Annotated[
    int, QueryParameter(ge=1, le=MAX_LIMIT, description=f"Page size (default 50, at most {MAX_LIMIT}).")
]
CursorQuery = Annotated[
    str | None,
    QueryParameter(min_length=1, max_length=500, pattern=CURSOR, description="Opaque cursor from `nextCursor`."),
]

INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1
INT8_MIN, INT8_MAX = -(2**63), 2**63 - 1

DEFAULT_LIMIT = 50


# --- cursors --------------------------------------------------------------------------------


def encode_cursor(values: list[Any]) -> str:
    """Encode the sort key of the last row of a page as an opaque, URL-safe cursor."""
    raw = msgspec.json.encode(values)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    """Decode a cursor made by :func:`encode_cursor`; 422 naming ``cursor`` when it is not one."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = msgspec.json.decode(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, msgspec.DecodeError, ValueError):
        raise InvalidInputError("cursor is not one this API issued; start again without it", field="cursor") from None
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidInputError("cursor does not fit this listing; start again without it", field="cursor")
    if any(isinstance(v, int) and not INT8_MIN <= v <= INT8_MAX for v in values):
        # no key the database stores is wider than bigint: such a cursor was not issued here
        raise InvalidInputError("cursor is not one this API issued; start again without it", field="cursor")
    return values


def cursor_int4(value: Any) -> int:
    """A cursor's key for an ``integer`` column; 422 naming ``cursor`` when it does not fit."""
    if isinstance(value, bool) or not isinstance(value, int) or not INT4_MIN <= value <= INT4_MAX:
        raise InvalidInputError("cursor does not fit this listing; start again without it", field="cursor")
    return value


# --- ETags ----------------------------------------------------------------------------------


def etag(version: int | str) -> str:
    """A strong ETag from a record's version counter."""
    return f'"{version}"'


def if_match_versions(if_match: str | None) -> list[int] | None:
    """The record versions an ``If-Match`` header accepts; the one place it is read.

    ``None`` when the header is absent or ``*`` (any existing record matches). Otherwise the
    version of every listed entity tag that this API could have issued. RFC 9110 13.1.1:
    If-Match uses the strong comparison, so weak tags (``W/"3"``) never match, and a list
    matches when any listed tag does. An empty list matches no record (412).
    """
    if if_match is None or not if_match.strip():
        return None
    tags = [t.strip() for t in if_match.split(",")]
    if "*" in tags:
        return None
    versions: list[int] = []
    for tag in tags:
        inner = tag[1:-1] if len(tag) >= 2 and tag[0] == tag[-1] == '"' else ""
        # Strong comparison is character for character: "3" matches version 3, "03" does not.
        if inner.isascii() and inner.isdigit() and len(inner) <= 9 and str(int(inner)) == inner:
            versions.append(int(inner))
    return versions


def if_match_allows(versions: list[int] | None, current_version: int) -> bool:
    """Whether the versions from :func:`if_match_versions` accept a record at ``current_version``."""
    return versions is None or current_version in versions


# --- request bodies -------------------------------------------------------------------------


def fields_of(data: msgspec.Struct) -> dict[str, Any]:
    """A create body's fields by name (snake_case), for the queries' value lists."""
    return {k: getattr(data, k) for k in data.__struct_fields__}


def changes_of(data: msgspec.Struct) -> dict[str, Any]:
    """A PATCH body's fields that were sent (not ``msgspec.UNSET``), by name."""
    return {k: v for k in data.__struct_fields__ if (v := getattr(data, k)) is not msgspec.UNSET}


# --- request bodies with examples -----------------------------------------------------------


def json_body(*examples: Example) -> BodyKwarg:
    """``Annotated[T, json_body(Example(...), ...)]``: a JSON request body with OpenAPI examples."""
    body: BodyKwarg = Body(media_type=RequestEncodingType.JSON, examples=list(examples) or None)
    return body


# --- shared request parameters --------------------------------------------------------------

# An ETag this API issues is a quoted version number; If-Match takes `*` or a list of them
# (empty: no precondition, as if the header were absent).
ETAG_LIST = r'^(\*|(W/)?"[0-9]{1,18}"( *, *(W/)?"[0-9]{1,18}"){0,9})?$(?!\n)'
IfMatchHeader = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        pattern=ETAG_LIST,
        required=False,
        description='ETag from a GET. Strong comparison: `W/"..."` tags never match; a list matches when any '
        "listed tag does; `*` matches any existing record; empty means no precondition. 412 when none matches.",
    ),
]
# A header value: visible ASCII, inner spaces allowed (servers strip the outer ones).
HEADER_VALUE = r"^[!-~]([ -~]*[!-~])?$(?!\n)"
# Constraints for a site-code query parameter: QueryParameter(..., **CODE_QUERY).
CODE_QUERY: dict[str, Any] = {"min_length": 3, "max_length": 12, "pattern": r"^[A-Za-z0-9-]{3,12}$(?!\n)"}


def decode_time_cursor(cursor: str | None) -> tuple[dt.datetime, uuid.UUID] | None:
    """Decode a ``[timestamp, id]`` keyset cursor; 422 naming ``cursor`` when it is not one."""
    decoded = decode_cursor(cursor, 2)
    if decoded is None:
        return None
    try:
        return dt.datetime.fromisoformat(str(decoded[0])), uuid.UUID(str(decoded[1]))
    except ValueError:
        raise InvalidInputError("cursor does not fit this listing; start again without it", field="cursor") from None
