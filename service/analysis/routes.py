"""``POST /v1/analysis/spc``: an XmR statistical process control chart of a series sent in the body."""

from __future__ import annotations

from typing import Annotated

from litestar import post
from litestar.openapi.spec import Example

from service.analysis.schemas import SpcRequest, SpcResult
from service.analysis.spc import calculate_spc
from service.errors import responses
from service.types import json_body

_MONTHLY = Example(
    summary="Monthly A&E 4-hour breaches at one trust, fewer is better, against a target of 1,200",
    description="NHSRplotthedots' README example: mean 1,545, limits 740 and 2,350, two months of concern.",
    value={
        "values": [
            1199,
            929,
            970,
            1178,
            1110,
            1388,
            2061,
            1985,
            2675,
            3141,
            1942,
            2030,
            1309,
            1960,
            1169,
            1117,
            1085,
            1492,
            1280,
            1197,
            1569,
            1406,
            1328,
            1564,
        ],
        "periods": [f"{2016 + (m + 3) // 12}-{(m + 3) % 12 + 1:02d}-01" for m in range(24)],
        "improvementDirection": "decrease",
        "target": 1200,
    },
)
_BARE = Example(
    summary="A bare series, rebased at index 10",
    value={"values": [12, 14, 11, 13, 15, 12, 14, 13, 12, 14, 18, 19, 17, 20, 18, 19], "rebase": [10]},
)


@post(
    "/analysis/spc",
    operation_id="CalculateSpc",
    tags=["analysis"],
    summary="Calculate a statistical process control (XmR) chart",
    status_code=200,
    responses=responses(400, 401, 413, 415, 422, 429, 503),
    opt={"scope": "read"},
    sync_to_thread=True,  # CPU-bound (about 0.1 s for 10,000 points): keep the event loop free
)
def calculate_spc_chart(
    data: Annotated[SpcRequest, json_body(_MONTHLY, _BARE)],
) -> SpcResult:
    """Mean, limits and special-cause points of a series, the "Making Data Count" way (needs only `read`)."""
    return calculate_spc(
        data.values,
        periods=data.periods,
        improvement_direction=data.improvement_direction,
        target=data.target,
        rebase=data.rebase,
        screen_outliers=data.screen_outliers,
    )


route_handlers = [calculate_spc_chart]
