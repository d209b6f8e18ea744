"""Path and query parameters shared by the outcomes route modules."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar.params import PathParameter, QueryParameter

AdoptionId = Annotated[uuid.UUID, PathParameter(description="Adoption id")]
InnovationId = Annotated[uuid.UUID, PathParameter(description="Innovation id")]
CODE = {"min_length": 2, "max_length": 40, "pattern": r"^[A-Za-z][A-Za-z0-9_]{1,39}$(?!\n)"}
CodePath = Annotated[str, PathParameter(description="Measure code, e.g. AE_4HR", **CODE)]
MeasureQuery = Annotated[
    str | None, QueryParameter(description="Only this measure (its code, e.g. AE_4HR).", examples=[], **CODE)
]
SITE = {"min_length": 3, "max_length": 12, "pattern": r"^[A-Za-z0-9-]{3,12}$(?!\n)"}
