"""The Spread Explorer in Debian's Chromium, on the demo registry: search, the spread map
counted against the API, the time slider, a site's page, errors on the page, keys, and
axe-core's accessibility check (no serious or critical violations)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.static.pages import EXPLORER_POLICY
from tests.explorer.conftest import Live

AXE = (Path(__file__).parent / "axe.min.js").read_text()
# Set to a folder (docs/images) to save the screenshots the documentation shows.
SCREENSHOTS = os.environ.get("SPREAD_EXPLORER_SCREENSHOTS")


class Tab:
    """A page plus everything the browser reported going wrong on it."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.ready()

    def ready(self) -> None:
        self.page.wait_for_selector("body[data-state=ready]", timeout=60_000)

    def axe(self) -> list[str]:
        """Serious and critical axe-core violations on the page as it is now."""
        self.page.evaluate(AXE + "\n;0")  # through DevTools: the page's CSP does not apply
        result = self.page.evaluate("async () => (await axe.run(document)).violations")
        return [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result
            if v["impact"] in ("serious", "critical")
        ]

    def shot(self, name: str, selector: str | None = None) -> None:
        if not SCREENSHOTS:
            return
        path = str(Path(SCREENSHOTS) / name)
        if selector:
            self.page.locator(selector).screenshot(path=path)
        else:
            self.page.screenshot(path=path, full_page=False)


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    try:
        yield Tab(context.new_page())
    finally:
        context.close()


def test_search_map_slider_site_and_accessibility(public: Live, tab: Tab) -> None:
    page = tab.page
    tab.open(public.base + "/explorer/")
    page.fill("#search-q", "virtual wards")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector(".explorer-result mark")
    tab.ready()
    assert tab.axe() == []
    tab.shot("explorer-search.png")

    first = public.api("/v1/search", q="virtual wards", limit=1)["items"][0]
    page.click(".explorer-result a >> nth=0")
    page.wait_for_selector(".explorer-map__marker")
    tab.ready()
    assert page.inner_text("h1") == first["title"]
    adoptions = public.all_items(f"/v1/innovations/{first['id']}/adoptions")
    lineage = public.api(f"/v1/innovations/{first['id']}/lineage")
    sites = {a["siteCode"] for a in adoptions}
    markers = page.locator(".explorer-map__marker")
    assert markers.count() == len(sites) == len(adoptions)
    assert {markers.nth(i).get_attribute("data-site") for i in range(markers.count())} == sites
    assert len(lineage["edges"]) > 0
    assert page.locator(".explorer-map__arrow").count() == len(lineage["edges"])
    # Discontinued adoptions are marked by a cross, not colour alone.
    stopped = sum(1 for a in adoptions if a["stage"] == "discontinued")
    assert page.locator(".explorer-map__cross").count() == stopped
    assert tab.axe() == []
    tab.shot("explorer-innovation.png")
    tab.shot("explorer-map.png", "#spread-map")
    tab.shot("explorer-lineage.png", "#lineage")

    # The slider back to the first month: only the sites that had started by then.
    visible = ".explorer-map__marker:not(.explorer-map--hidden)"
    assert page.locator(visible).count() == len(sites)
    page.fill("#map-month", "0")
    first_month = min(a["startedOn"][:7] for a in adoptions)
    assert page.inner_text("#map-month-value") == first_month
    started = sum(1 for a in adoptions if a["startedOn"][:7] <= first_month)
    assert 0 < page.locator(visible).count() == started < len(sites)

    # A site: what it adopted, from whom it learned.
    learner = next(a for a in adoptions if a["sources"])
    page.goto(f"{public.base}/explorer/#/sites/{learner['siteCode']}")
    page.wait_for_selector(".explorer-site-adoption")
    tab.ready()
    row = page.locator(".explorer-site-adoption", has_text=first["title"])
    assert row.count() == 1
    assert "Nobody in the registry" not in row.inner_text()
    page.wait_for_selector("#site-campaigns:not(:has-text('Loading'))")
    committed = [
        c["name"]
        for c in public.all_items("/v1/campaigns")
        for m in public.all_items(f"/v1/campaigns/{c['id']}/commitments")
        if m["siteCode"] == learner["siteCode"]
    ]
    assert page.locator("#site-campaigns li").count() == len(committed)
    assert tab.axe() == []
    tab.shot("explorer-site.png")
    assert tab.errors == []


def test_an_unknown_id_shows_the_problem_detail(public: Live, tab: Tab) -> None:
    tab.open(public.base + "/explorer/#/innovations/00000000-0000-4000-8000-000000000000")
    assert tab.page.inner_text("#error-summary-title") == "There is a problem"
    detail = httpx.get(public.base + "/v1/innovations/00000000-0000-4000-8000-000000000000").json()["detail"]
    assert tab.page.inner_text("[data-testid=problem-detail]") == detail
    tab.open(public.base + "/explorer/#/nowhere")
    assert "Page not found" in tab.page.inner_text("[data-testid=problem-title]")
    assert tab.axe() == []


def test_api_down_is_a_message_not_a_blank_page(public: Live, tab: Tab) -> None:
    tab.page.route("**/v1/**", lambda route: route.abort())
    tab.open(public.base + "/explorer/#/?q=frailty")
    assert tab.page.inner_text("[data-testid=problem-title]") == "Spread is not answering"


def test_without_public_read_a_key_is_needed_and_kept_in_session_storage(private: Live, tab: Tab) -> None:
    page = tab.page
    tab.open(private.base + "/explorer/#/?q=frailty")
    assert "(401)" in page.inner_text("[data-testid=problem-title]")
    page.click("text=Paste a read-only API key")
    page.wait_for_selector("#key-input")
    # A key that can write is refused and not kept.
    page.fill("#key-input", private.write_key)
    page.click("#key-form button[type=submit]")
    page.wait_for_selector("#key-error:not([hidden])")
    assert "read-only" in page.inner_text("#key-error")
    assert page.evaluate("sessionStorage.length") == 0
    # A revoked key: the API's detail.
    page.fill("#key-input", private.revoked_key)
    page.click("#key-form button[type=submit]")
    page.wait_for_selector("#key-error:has-text('revoked')")
    assert page.evaluate("sessionStorage.length") == 0
    # A read key works, stays out of the URL, and is sent on every request.
    page.fill("#key-input", private.read_key)
    with page.expect_request("**/v1/search?*") as request:
        page.click("#key-form button[type=submit]")
    assert request.value.headers["authorization"] == f"Bearer {private.read_key}"
    page.wait_for_selector(".explorer-result")
    assert private.read_key not in page.url
    assert page.evaluate("Object.values(sessionStorage)") == [private.read_key]


def test_a_revisited_page_sends_if_none_match(public: Live, tab: Tab) -> None:
    page = tab.page
    first = public.api("/v1/search", q="virtual wards", limit=1)["items"][0]
    etag = httpx.get(f"{public.base}/v1/innovations/{first['id']}").headers["etag"]
    tab.open(f"{public.base}/explorer/#/innovations/{first['id']}")
    page.evaluate("location.hash = '#/key'")
    page.wait_for_selector("#key-input")
    with page.expect_request(f"**/v1/innovations/{first['id']}") as request:
        page.evaluate(f"location.hash = '#/innovations/{first['id']}'")
    tab.ready()
    assert request.value.headers.get("if-none-match") == etag
    assert page.inner_text("h1") == first["title"]  # a 304 shows the same page
    assert tab.errors == []


def test_public_read_is_a_setting_for_reads_only(public: Live, private: Live) -> None:
    assert httpx.get(private.base + "/v1/innovations").status_code == 401
    assert httpx.get(public.base + "/v1/innovations").status_code == 200
    write = httpx.post(public.base + "/v1/innovations", json={"title": "x"})
    assert write.status_code == 401
    assert write.headers["content-type"].startswith("application/problem+json")


def test_served_with_a_strict_policy_and_no_other_origin(public: Live) -> None:
    r = httpx.get(public.base + "/explorer/")
    assert r.status_code == 200 and r.headers["content-security-policy"] == EXPLORER_POLICY
    assert "http" not in r.text.split("<body>")[0].replace("http-equiv", "")
    for name in ("explorer.js", "nhsuk.min.css", "explorer.css", "regions.json"):
        assert httpx.get(f"{public.base}/explorer/{name}").status_code == 200, name
    assert "assets.nhs.uk" not in httpx.get(public.base + "/explorer/nhsuk.min.css").text
    assert httpx.get(public.base + "/explorer/../pages.py").status_code == 404


def test_the_demo_campaign(public: Live, tab: Tab) -> None:
    page = tab.page
    tab.open(public.base + "/explorer/")
    page.click("text=Campaigns")
    page.wait_for_selector(".explorer-result a")
    tab.ready()
    campaign = public.all_items("/v1/campaigns")[0]
    page.click(f"text={campaign['name']}")
    page.wait_for_selector("#campaign-sites")
    tab.ready()
    progress = public.api(f"/v1/campaigns/{campaign['id']}/progress")
    rows = page.locator("#campaign-sites tbody tr")
    assert rows.count() == len(progress["sites"]) > 0
    # Furthest behind first.
    ratios = [s["value"] / (s["expectedByNow"] or 1) for s in progress["sites"]]
    first = min(progress["sites"], key=lambda s: s["value"] / (s["expectedByNow"] or 1))
    assert first["siteName"] in rows.nth(0).inner_text() and min(ratios) <= max(ratios)
    impediments = public.all_items(f"/v1/campaigns/{campaign['id']}/impediments")
    assert page.locator("#campaign-impediments li").count() == max(len(impediments), 1)
    assert page.locator("img.explorer-chart").evaluate("img => img.complete && img.naturalWidth > 0")
    assert tab.axe() == []
    tab.shot("explorer-campaign.png")
    # A committed site's page lists the campaign.
    site = public.all_items(f"/v1/campaigns/{campaign['id']}/commitments")[0]["siteCode"]
    page.goto(f"{public.base}/explorer/#/sites/{site}")
    page.wait_for_selector("#site-campaign-list")
    assert campaign["name"] in page.inner_text("#site-campaign-list")
    assert tab.errors == []


def test_facets_filter_and_next_follows_the_cursor(public: Live, tab: Tab) -> None:
    page = tab.page
    tab.open(public.base + "/explorer/#/?q=ward")
    whole = public.api("/v1/search", q="ward", limit=10)
    assert page.locator(".explorer-result").count() == len(whole["items"])
    # Next: the following page of the same query, as the API's cursor gives it.
    assert whole["nextCursor"], "the demo has more than 10 hits for 'ward'"
    second = public.api("/v1/search", q="ward", limit=10, cursor=whole["nextCursor"])
    page.click("text=More results")
    page.wait_for_url("**cursor=*")
    tab.ready()
    titles = page.locator(".explorer-result h2").all_inner_texts()
    assert titles == [hit["title"] for hit in second["items"]]
    tab.open(public.base + "/explorer/#/?q=ward")
    # A facet value: the filtered results, and a way to remove the filter.
    category, count = max(whole["facets"]["category"].items(), key=lambda kv: kv[1])
    page.click(f".explorer-facet[data-facet=category] a[href*='category={category}']")
    page.wait_for_url(f"**category={category}*")
    tab.ready()
    filtered = public.api("/v1/search", q="ward", category=category, limit=10)
    assert filtered["total"] == count
    assert page.locator(".explorer-result").count() == len(filtered["items"])
    assert page.locator(".explorer-facet[data-facet=category] >> text=Remove").count() == 1
    assert tab.axe() == []
    assert tab.errors == []


def test_exceptional_sites_with_their_spc_charts(public: Live, tab: Tab) -> None:
    page = tab.page
    hit = public.api("/v1/search", q="front-door streaming", types="innovation", limit=1)["items"][0]
    exceptional = public.api("/v1/insights/exceptional", measure="AE_4HR", innovation=hit["id"], limit=3)
    assert exceptional["items"]
    tab.open(f"{public.base}/explorer/#/innovations/{hit['id']}")
    items = page.locator(".explorer-exceptional li")
    assert items.count() == len(exceptional["items"])
    assert items.nth(0).locator("a").inner_text() == exceptional["items"][0]["site"]["name"]
    charts = page.locator(".explorer-exceptional img.explorer-chart")
    assert charts.count() == len(exceptional["items"])
    assert charts.nth(0).evaluate("img => img.complete && img.naturalWidth > 0")
    tab.shot("explorer-outcomes.png", "#outcomes")
    assert tab.axe() == []
    assert tab.errors == []


def test_public_read_is_off_unless_set() -> None:
    from service.config import ConfigError, load_settings

    assert load_settings({}).explorer_public_read is False
    assert load_settings({"SPREAD_EXPLORER_PUBLIC_READ": "true"}).explorer_public_read is True
    with pytest.raises(ConfigError, match="SPREAD_EXPLORER_PUBLIC_READ"):
        load_settings({"SPREAD_EXPLORER_PUBLIC_READ": "maybe"})
