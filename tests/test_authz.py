"""The authorisation rules in service/authz.py, as pure functions (no database, no app).

Who may write for a site, who may add and move sites, and the one wording of each refusal.
The database half (``require_site_writer`` locking the site and computing coverage) is tested
through the API in tests/security/ and tests/test_refusals.py.
"""

from __future__ import annotations

import uuid

import pytest

from service.auth.schemas import Principal
from service.authz import (
    NHS_KINDS,
    SiteAccess,
    check_new_placement,
    check_placement,
    check_site_creator,
    check_site_writer,
    no_such_site,
    not_site_writer,
)
from service.errors import ForbiddenError, InvalidInputError, NotFoundError

PARTNER = Principal(
    key_id=uuid.uuid4(), partner_id=uuid.uuid4(), partner_name="Leeds", scopes=("write",), expires_at=None
)
ADMIN = Principal(key_id=uuid.uuid4(), partner_id=uuid.uuid4(), partner_name="Ops", scopes=("admin",), expires_at=None)
REFUSED = (
    "partner 'Leeds' is not authorised for site RR8{also}; "
    "ask an administrator to add it (`spread partners create NAME --sites CODE`)"
)


def site(code: str = "RR8", *, covered: bool, **placement: str | None) -> SiteAccess:
    where: dict[str, str | None] = {"parent_code": None, "icb_code": None, "region_code": None, "successor_code": None}
    where.update(placement)
    return SiteAccess(code=code, kind="trust", covered=covered, **where)  # type: ignore[arg-type]


def forbidden(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(ForbiddenError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    assert caught.value.status == 403
    return caught.value.detail


# --- who writes for a site -------------------------------------------------------------------------


def test_a_partner_writes_for_a_site_it_covers() -> None:
    check_site_writer(PARTNER, site(covered=True))


def test_an_admin_writes_for_any_site() -> None:
    check_site_writer(ADMIN, site(covered=False))


def test_a_partner_is_refused_a_site_it_does_not_cover_with_the_one_wording() -> None:
    assert forbidden(check_site_writer, PARTNER, site(covered=False)) == REFUSED.format(also="")


def test_the_campaign_lead_writes_for_a_site_it_does_not_cover() -> None:
    check_site_writer(PARTNER, site(covered=False), lead_partner_id=PARTNER.partner_id)


def test_another_campaigns_lead_does_not_help_and_the_refusal_says_so() -> None:
    detail = forbidden(check_site_writer, PARTNER, site(covered=False), lead_partner_id=uuid.uuid4())
    assert detail == REFUSED.format(also=", nor does it lead this campaign")


def test_the_refusal_wording_is_shared_with_bulk_rows() -> None:
    assert not_site_writer(PARTNER, "RR8") == REFUSED.format(also="")
    assert not_site_writer(PARTNER, "RR8", campaign=True) == REFUSED.format(also=", nor does it lead this campaign")


def test_an_unknown_site_is_a_404_on_the_path_and_a_422_on_a_body_field() -> None:
    on_path = no_such_site("ZZZ", None)
    assert isinstance(on_path, NotFoundError)
    assert on_path.detail == "no site has code 'ZZZ'"
    in_body = no_such_site("ZZZ", "siteCode")
    assert isinstance(in_body, InvalidInputError)
    assert [(e.field, e.detail) for e in in_body.errors or []] == [("siteCode", "no site has code 'ZZZ'")]


# --- who adds and moves sites ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(NHS_KINDS))
def test_only_an_admin_adds_an_nhs_site(kind: str) -> None:
    check_site_creator(ADMIN, kind)
    assert forbidden(check_site_creator, PARTNER, kind) == (
        f"only an administrator may add a {kind} site: the NHS hierarchy comes from the ODS import; "
        "a partner may add `kind: other` sites"
    )


def test_a_partner_adds_an_other_site() -> None:
    check_site_creator(PARTNER, "other")


def test_nhs_kinds_are_the_ods_hierarchy() -> None:
    assert frozenset({"region", "icb", "trust", "trust_site", "pcn", "gp_practice"}) == NHS_KINDS


def test_a_partner_may_not_move_a_site_and_hears_which_fields() -> None:
    current = site(covered=True, parent_code="RR8", icb_code="QWO", region_code="Y63")
    changes = {"name": "New", "parent_code": "RR9", "icb_code": "QWO", "successor_code": "RXX", "region_code": "Y61"}
    assert forbidden(check_placement, PARTNER, current, changes) == (
        "only an administrator may change where a site sits (parentCode, regionCode, successorCode): "
        "a partner may change a covered site's name, postcode, coordinates and status"
    )


def test_a_partner_may_resend_a_sites_placement_unchanged_and_change_its_name() -> None:
    current = site(covered=True, parent_code="RR8", icb_code="QWO", region_code="Y63", successor_code=None)
    check_placement(PARTNER, current, {"name": "New", "parent_code": "RR8", "icb_code": "QWO", "successor_code": None})


def test_an_admin_moves_a_site() -> None:
    check_placement(ADMIN, site(covered=False, parent_code="RR8"), {"parent_code": "RR9"})


def test_a_partner_places_a_new_site_only_under_sites_it_covers() -> None:
    check_new_placement(PARTNER, {"parent_code": site("RR8", covered=True), "icb_code": site("QWO", covered=True)})
    detail = forbidden(
        check_new_placement, PARTNER, {"parent_code": site("RR8", covered=True), "icb_code": site("QWO", covered=False)}
    )
    assert detail == "partner 'Leeds' may place a new site only under sites it covers, and does not cover QWO (icbCode)"


def test_an_admin_places_a_new_site_anywhere() -> None:
    check_new_placement(ADMIN, {"parent_code": site("RR8", covered=False)})
