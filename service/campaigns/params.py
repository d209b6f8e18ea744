"""Path parameters and look-ups shared by the campaign route modules."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar.params import PathParameter

from service.campaigns import queries
from service.campaigns.schemas import Campaign
from service.db import Connection
from service.errors import NotFoundError

CampaignId = Annotated[uuid.UUID, PathParameter(description="Campaign id")]
ImpedimentId = Annotated[uuid.UUID, PathParameter(description="Impediment id")]
BreakthroughId = Annotated[uuid.UUID, PathParameter(description="Breakthrough id")]
SiteCodePath = Annotated[
    str,
    PathParameter(
        min_length=3, max_length=12, pattern=r"^[A-Za-z0-9-]{3,12}$(?!\n)", description="Site (or ICB, region) code"
    ),
]


async def campaign_exists(conn: Connection, campaign_id: uuid.UUID) -> Campaign:
    found = await queries.get_campaign(conn, campaign_id)
    if found is None:
        raise NotFoundError(f"no campaign has id {campaign_id}")
    return found[0]
