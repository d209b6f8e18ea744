"""Schemathesis hooks for tests/test_schemathesis.py (loaded with ``SCHEMATHESIS_HOOKS``).

- Every request carries one of the keys in ``SPREAD_FUZZ_KEYS`` (a JSON list of secrets:
  admin, write, read and a partner key for a few sites), chosen by a hash of the generated
  request, so a seed replays the same choice; authorisation is fuzzed along with the data. It is an auth provider, so the auth checks know the keys are
  real and probe the API without them and with forged ones.
- ``DELETE /v1/innovations/{id}`` retires an innovation, which stays readable with its history
  by design ("nothing is erased"): reads after it are not use-after-free (ST301).
- ``POST /v1/submissions?mode=partial`` answers 201 to a batch with invalid rows, reporting
  them as rejected (that is what partial means), and a dry run (``dryRun=true``) answers 200
  with its per-row report in either mode; such a batch is not "invalid data accepted" as long
  as the answer rejects at least one row.
- ``refused_by_validation``: the spec cannot state every rule (an unknown site code in a
  filter, a cursor from another listing, a date outside a campaign), so the run's
  ``positive_data_acceptance`` allows 412 and 422. This check keeps that from hiding a loose
  spec: a request the spec calls valid must never be refused by the *validation layer* (the
  msgspec/Litestar messages: wrong type, pattern, length, unknown or missing field); only a
  rule the handler applies may refuse it.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from typing import Any

import schemathesis

_KEYS: list[str] = json.loads(os.environ.get("SPREAD_FUZZ_KEYS", "[]"))

# Messages the validation layer writes (msgspec and Litestar); a handler's rule never does.
_VALIDATION_MESSAGE = re.compile(
    r"^(Expected `|Object contains unknown field|Object missing required field|Invalid enum value|"
    r"Invalid value|Missing required|Validation failed)"
)


@schemathesis.auth()
class SpreadKeys:
    def get(self, case: Any, ctx: Any) -> list[str]:
        return _KEYS

    def set(self, case: Any, data: list[str], ctx: Any) -> None:
        drawn = repr((case.operation.label, case.path_parameters, case.query, case.body)).encode()
        secret = data[zlib.crc32(drawn) % len(data)]
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {secret}"}


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    code = getattr(failure, "code", "")
    retired = code == "ST301" and "DELETE /v1/innovations/" in str(failure.message)
    return not (retired or (code == "ST201" and _rejected_row_by_row(case, response)))


def _rejected_row_by_row(case: Any, response: Any) -> bool:
    """``POST /v1/submissions?mode=partial`` takes a batch with bad rows by design: it writes the
    good ones and answers which rows were rejected and why; a dry run answers that report in
    either mode. Invalid rows must show as rejected."""
    query = case.query or {}
    by_row = query.get("mode") == "partial" or str(query.get("dryRun")).lower() == "true"
    if case.operation.label != "POST /v1/submissions" or not by_row:
        return False
    try:
        return json.loads(response.content)["summary"]["rejected"] >= 1
    except (ValueError, KeyError, TypeError):
        return False


@schemathesis.check
def refused_by_validation(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        problem = json.loads(response.content)
    except ValueError:
        return None
    details = [e.get("detail", "") for e in problem.get("errors") or []] or [problem.get("detail", "")]
    layer = [d for d in details if _VALIDATION_MESSAGE.search(str(d))]
    if layer:
        raise AssertionError(
            "A request the spec calls valid was refused by the validation layer, so the spec is "
            f"looser than the server: {layer[0]}"
        )
    return None
