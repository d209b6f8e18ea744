"""The published OpenAPI document: one place that turns Litestar's generated spec into ours.

Litestar builds the document from handlers and Structs; ``finalise`` then makes three
corrections, and both the served ``/schema/openapi.json`` and ``spread openapi`` (the committed
file) go through it, so the two are always byte-for-byte the same document:

- descriptions are normalised, so the result does not depend on how a library version treats
  docstrings (msgspec 0.23 began dedenting multi-line docstrings);
- request-body Structs are described by msgspec itself, the library that validates them:
  Litestar's generator drops the constraints of list items inside ``| UnsetType`` unions (a
  PATCH field's patterns and lengths), and says nothing of ``forbid_unknown_fields``, which
  becomes ``additionalProperties: false``;
- each create operation's 201 response gets OpenAPI ``links`` to the operations that take the
  new record's id, derived from the paths (see :func:`_links`).
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.openapi.plugins import JsonRenderPlugin

_METHODS = ("get", "put", "post", "patch", "delete")


def _normalise_text(text: str) -> str:
    # cleandoc: strip the common indentation of every line after the first, and the blank
    # lines around the text, whatever the generator already did.
    return inspect.cleandoc(text)


def _normalise(node: Any) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("description", "summary") and isinstance(value, str):
                out[key] = _normalise_text(value)
            else:
                out[key] = _normalise(value)
        return out
    if isinstance(node, list):
        return [_normalise(item) for item in node]
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


def finalise(spec: Any, app: Litestar | None = None) -> Any:
    """A copy of ``spec`` (plain dicts and lists): request Structs, links, descriptions fixed.

    Without ``app`` only descriptions and links are touched (the request Structs come from the
    app's handlers).
    """
    spec = msgspec.json.decode(msgspec.json.encode(spec))  # a deep copy we may change
    if app is not None and isinstance(spec.get("components", {}).get("schemas"), dict):
        _describe_request_structs(spec, app)
    if isinstance(spec.get("paths"), dict):
        _drop_phantom_400s(spec)
        _bad_request_is_a_problem(spec)
        _parameters_are_never_null(spec)
        _read_your_writes(spec)
        _links(spec)
        _fhir_components(spec)
    return _normalise(spec)


def _fhir_components(spec: dict[str, Any]) -> None:
    """The FHIR resources an operation answers with (``application/fhir+json``), described by msgspec."""
    from service.sites.fhir import FHIR_SCHEMAS

    text = msgspec.json.encode(spec["paths"])
    if b"#/components/schemas/Fhir" not in text:
        return
    _, components = msgspec.json.schema_components(FHIR_SCHEMAS, ref_template="#/components/schemas/{name}")
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in components.items():
        schema.pop("title", None)
        schemas[name] = schema
    spec["components"]["schemas"] = dict(sorted(schemas.items()))


def _bad_request_is_a_problem(spec: dict[str, Any]) -> None:
    """Litestar declares a 400 "Validation Exception" of its own shape on every operation with
    parameters; this API answers validation failures 422 and any 400 as problem+json, so the
    declared 400 becomes the problem document every other error is."""
    from service.errors import _DESCRIPTIONS, problem_response_spec

    problem = problem_response_spec(400, _DESCRIPTIONS[400])
    for item in spec["paths"].values():
        for op in item.values():
            responses = op.get("responses", {}) if isinstance(op, dict) else {}
            declared = responses.get("400", {}).get("content", {})
            if declared and "application/problem+json" not in declared:
                responses["400"] = {
                    "description": problem.description,
                    "content": {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"},
                            "examples": {
                                f"problem-example-{n}": {"summary": e.summary, "value": e.value}
                                for n, e in enumerate(problem.examples or [], start=1)
                            },
                        }
                    },
                }


def _read_your_writes(spec: dict[str, Any]) -> None:
    """``X-Spread-Consistency``: answered by every successful ``/v1`` write, accepted by every read.

    Declared here for all operations at once (service.replicas implements it, in the request
    path rather than in each handler). A read that sends a malformed token is refused 422.
    """
    from service.errors import _DESCRIPTIONS, problem_response_spec
    from service.replicas import HEADER, TOKEN_PATTERN

    schema = {"type": "string", "pattern": TOKEN_PATTERN, "maxLength": 17, "examples": ["16/B374D848"]}
    response_header = {
        "description": (
            "Read-your-writes token: the primary's WAL position after this write committed. "
            "Send it back in the X-Spread-Consistency request header of a following read to be "
            "sure the read sees this write (see docs/replicas.md)."
        ),
        "schema": schema,
    }
    parameter = {
        "name": HEADER,
        "in": "header",
        "required": False,
        "description": (
            "A token from the X-Spread-Consistency response header of an earlier write: the read "
            "is then served only by a database that has that write (a replica that has replayed "
            "past it within 200 ms, else the primary). Without it a read may be served by a "
            "replica up to SPREAD_REPLICA_MAX_LAG_SECONDS behind."
        ),
        "schema": schema,
    }
    invalid = problem_response_spec(422, _DESCRIPTIONS[422])
    for path, item in spec["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            responses = op.setdefault("responses", {})
            if method == "get":
                op.setdefault("parameters", []).append(parameter)
                if "422" not in responses:
                    responses["422"] = {
                        "description": invalid.description,
                        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
                    }
            elif method in ("post", "put", "patch", "delete"):
                for status, answer in responses.items():
                    if status.startswith("2") and isinstance(answer, dict):
                        answer.setdefault("headers", {})[HEADER] = response_header


def _parameters_are_never_null(spec: dict[str, Any]) -> None:
    """Drop the ``null`` Litestar derives from ``str | None`` for a free-text parameter.

    A query string or header cannot say null: a client sends the text "null", which the server
    takes as that text (and a pattern then refuses it). For enums, numbers, dates and ids the
    server does read "null" as absent, so there the ``null`` stays true and stays; an enum's is
    said as a separate branch (``oneOf: [{enum}, {type: null}]``), not as a ``null`` inside the
    enum and the type list, which openapi-python-client turned into three types
    (``ListInnovationsCategoryType1 | ...Type2Type1 | ...Type3Type1``).
    """
    for item in spec["paths"].values():
        for op in item.values():
            for param in op.get("parameters", []) if isinstance(op, dict) else []:
                schema = param.get("schema")
                if not isinstance(schema, dict):
                    continue
                _nullable_enum_as_branch(schema, _pascal(param.get("name", "")))
                for key in ("oneOf", "anyOf"):
                    branches = schema.get(key)
                    if not isinstance(branches, list) or {"type": "null"} not in branches:
                        continue
                    rest = [b for b in branches if b != {"type": "null"}]
                    if len(rest) == 1 and rest[0] == {"type": "string"} and "enum" not in schema:
                        del schema[key]
                        schema["type"] = "string"


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name))


def _nullable_enum_as_branch(schema: dict[str, Any], title: str) -> None:
    kinds, values = schema.get("type"), schema.get("enum")
    if not (isinstance(kinds, list) and "null" in kinds and isinstance(values, list) and None in values):
        return
    rest = [k for k in kinds if k != "null"]
    branch: dict[str, Any] = {
        "title": title,  # openapi-python-client names the enum ListInnovations + this
        "enum": [v for v in values if v is not None],
        "type": rest[0] if len(rest) == 1 else rest,
    }
    del schema["type"], schema["enum"]
    schema["oneOf"] = [branch, {"type": "null"}]


# --- request bodies -----------------------------------------------------------------------------


def _request_body_types(app: Litestar) -> list[Any]:
    types: list[Any] = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is not None and data.annotation not in types:
                types.append(data.annotation)
    return types


def _struct_classes(types: list[Any]) -> dict[str, type[Any]]:
    """Every Struct class the request types hold, by name (as msgspec names components)."""
    found: dict[str, type[Any]] = {}
    todo: list[Any] = list(msgspec.inspect.multi_type_info(types))
    while todo:
        info = todo.pop()
        if isinstance(info, msgspec.inspect.Metadata):
            todo.append(info.type)
        elif isinstance(info, msgspec.inspect.StructType):
            if info.cls.__name__ in found:
                continue
            found[info.cls.__name__] = info.cls
            todo.extend(field.type for field in info.fields)
        elif isinstance(info, msgspec.inspect.UnionType):
            todo.extend(info.types)
        elif isinstance(
            info,
            (
                msgspec.inspect.ListType,
                msgspec.inspect.SetType,
                msgspec.inspect.FrozenSetType,
                msgspec.inspect.VarTupleType,
            ),
        ):
            todo.append(info.item_type)
        elif isinstance(info, msgspec.inspect.TupleType):
            todo.extend(info.item_types)
        elif isinstance(info, msgspec.inspect.DictType):
            todo.extend([info.key_type, info.value_type])
    return found


def _describe_request_structs(spec: dict[str, Any], app: Litestar) -> None:
    schemas: dict[str, Any] = spec["components"]["schemas"]
    types = []
    for annotation in _request_body_types(app):
        try:
            msgspec.json.schema(annotation)
        except (TypeError, ValueError):  # not a JSON body msgspec can describe (raw bytes, ...)
            continue
        types.append(annotation)
    _, components = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
    classes = _struct_classes(types)
    for name, schema in _without_extra(components).items():
        if name not in schemas:  # Litestar named it otherwise (a clash); leave it alone
            continue
        schema.pop("title", None)
        for kept in ("description", "examples"):
            if kept in schemas[name]:
                schema[kept] = schemas[name][kept]
        cls = classes.get(name)
        if cls is not None and cls.__struct_config__.forbid_unknown_fields:
            schema["additionalProperties"] = False
        schemas[name] = schema


def _without_extra(node: Any) -> Any:
    # `extra_json_schema={"extra": ...}` is a hint for Litestar's generator; msgspec describes
    # those items itself and would print the hint as a literal "extra" member.
    if isinstance(node, dict):
        return {k: _without_extra(v) for k, v in node.items() if k != "extra"}
    if isinstance(node, list):
        return [_without_extra(v) for v in node]
    return node


# --- links ----------------------------------------------------------------------------------------

_PARAM = re.compile(r"\{([^}]+)\}")


def _links(spec: dict[str, Any]) -> None:
    """Link each create operation (a POST answering 201) to the operations on what it made.

    The rule: a POST to ``.../things`` makes a thing whose own path is ``/v1/things/{p}``; every
    operation on that path or under it takes the new record's ``p`` from the 201 body (``id``
    or ``code``, as the path names it). Creates whose records have no path of their own get no
    links.
    """
    paths: dict[str, Any] = spec["paths"]
    schemas = spec.get("components", {}).get("schemas", {})
    for path, item in paths.items():
        create = item.get("post")
        if not isinstance(create, dict) or "201" not in create.get("responses", {}):
            continue
        collection = path.rstrip("/").rsplit("/", 1)[-1]
        own = [p for p in paths if re.fullmatch(rf"/v1/{re.escape(collection)}/\{{[^}}/]+\}}", p)]
        if len(own) != 1:
            continue
        own_path = own[0]
        param = _PARAM.findall(own_path)[-1]
        response = create["responses"]["201"]
        ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
        body = schemas.get(ref.rsplit("/", 1)[-1], {})
        if param not in body.get("properties", {}):
            continue
        links: dict[str, Any] = {}
        for target_path, target_item in paths.items():
            if target_path != own_path and not target_path.startswith(own_path + "/"):
                continue
            for method in _METHODS:
                target = target_item.get(method)
                if not isinstance(target, dict) or "operationId" not in target:
                    continue
                links[target["operationId"]] = {
                    "operationId": target["operationId"],
                    "parameters": {param: f"$response.body#/{param}"},
                    "description": f"`{param}` of the new record, for {method.upper()} {target_path}.",
                }
        if links:
            response["links"] = dict(sorted(links.items()))


def document(app: Litestar) -> dict[str, Any]:
    """The finished OpenAPI document of ``app`` as plain data."""
    spec: dict[str, Any] = finalise(msgspec.to_builtins(app.openapi_schema.to_schema()), app)
    return spec


class SpecJsonPlugin(JsonRenderPlugin):
    """Serves ``/schema/openapi.json``: the same finished document ``spread openapi`` writes."""

    def __init__(self) -> None:
        super().__init__(path="/openapi.json")
        self._rendered: bytes | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self._rendered is None:  # derived from code only, so the same on every replica
            self._rendered = self.render_json(request, finalise(openapi_schema, request.app))
        return self._rendered
