"""The published OpenAPI document: one place that turns Litestar's generated spec into ours.

Litestar builds the document from handlers and Structs; what it makes of docstrings depends on
library versions (msgspec 0.23 began dedenting multi-line docstrings, which changed one
description). ``finalise`` makes the result independent of that, and both the served
``/schema/openapi.json`` and ``spread openapi`` (the committed file) go through it, so the two
are always byte-for-byte the same document.
"""

from __future__ import annotations

import inspect
from typing import Any

from litestar import Litestar, Request
from litestar.openapi.plugins import JsonRenderPlugin


def _normalise_text(text: str) -> str:
    # cleandoc: strip the common indentation of every line after the first, and the blank
    # lines around the text, whatever the generator already did.
    return inspect.cleandoc(text)


def finalise(node: Any) -> Any:
    """A copy of ``node`` (a spec as plain dicts and lists) with every description normalised."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("description", "summary") and isinstance(value, str):
                out[key] = _normalise_text(value)
            else:
                out[key] = finalise(value)
        return out
    if isinstance(node, list):
        return [finalise(item) for item in node]
    return node


def _drop_phantom_400s(spec: dict[str, Any]) -> dict[str, Any]:
    """Remove the 400 Litestar adds to every operation with parameters.

    It describes Litestar's own ``ValidationException`` body, but this API answers a failed
    validation with a 422 problem (service.errors), so no request ever gets that 400. Where an
    operation declares 400 itself (a malformed body), its problem response replaced this one and
    is kept. Found by tests/test_refusals.py, which fails on a declared status nothing produces.
    """
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            responses = operation.get("responses") if isinstance(operation, dict) else None
            if not responses or "400" not in responses:
                continue
            schema = responses["400"].get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("description") == "Validation Exception":
                del responses["400"]
    return spec


def document(app: Litestar) -> dict[str, Any]:
    """The finished OpenAPI document of ``app`` as plain data."""
    import msgspec

    return _drop_phantom_400s(finalise(msgspec.to_builtins(app.openapi_schema.to_schema())))


class SpecJsonPlugin(JsonRenderPlugin):
    """Serves ``/schema/openapi.json``: the same finished document ``spread openapi`` writes."""

    def __init__(self) -> None:
        super().__init__(path="/openapi.json")
        self._rendered: bytes | None = None

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        if self._rendered is None:  # derived from code only, so the same on every replica
            self._rendered = self.render_json(request, _drop_phantom_400s(finalise(openapi_schema)))
        return self._rendered
