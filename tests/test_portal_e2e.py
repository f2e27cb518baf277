"""End to end in a real browser: Debian's Chromium driven by Playwright against the app served by uvicorn.

An enterprise user sends a message and reads its receipt; a regulator looks at the dashboard, finds a list,
opens it, releases a held list, looks up a buyer's quota, the statistics, a year's assessment and a zone's
scorecard; an operator opens the register and the positive
list. A screenshot of every main page lands in var/screenshots/ (git-ignored) for people to look at.
Skipped only when /usr/bin/chromium is absent (CI installs it: .ci/run).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cbec.api import create_app
from cbec.ceb import examples, render
from cbec.clearance.service import Settings
from cbec.privacy import mask_value
from portal_helpers import Platform, build_platform, with_zones
from store_fixtures import sqlite_store

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Platform]]:
    import uvicorn

    store = sqlite_store(tmp_path)
    platform = build_platform(store, tmp_path)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(store, Settings()), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}/portal", platform
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.dispose()


def _sign_in(page: Any, base: str, login: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _sign_out(page: Any) -> None:
    page.click("form[action$='/logout'] button")
    page.wait_for_selector("input[name=login]")


def test_browser_walkthrough(served: tuple[str, Platform], tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    base, platform = served
    with_zones(platform, tmp_path)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 860})
            console_errors: list[str] = []
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)

            page.goto(f"{base}/login")
            page.screenshot(path=str(SHOTS / "login.png"))
            _sign_in(page, base, "ent", platform.passwords["ent"])
            page.click("nav a[href$='/upload']")
            order = render(examples.ceb311(examples.Trade(order_no="E2E1", pay_transaction_id="E2EPAY1")))
            page.fill("textarea[name=content]", order.decode("utf-8"))
            page.click("form[action$='/upload'] button[type=submit]")
            receipts = page.locator("table.receipts")
            assert "CEB312" in receipts.inner_text() and "120" in receipts.inner_text()
            page.screenshot(path=str(SHOTS / "upload.png"), full_page=True)
            page.goto(f"{base}/lists/{platform.released}")
            assert mask_value("buyerIdNumber", platform.trade.buyer.id_number) in page.content()
            assert platform.trade.buyer.id_number not in page.content()
            page.screenshot(path=str(SHOTS / "detail-enterprise.png"), full_page=True)
            _sign_out(page)

            _sign_in(page, base, "reg", platform.passwords["reg"])
            assert page.locator(".card").count() >= 6 and page.locator("svg.chart").count() >= 2
            page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)
            page.click("nav a[href$='/lists']")
            page.fill("input[name=number]", platform.trade.order_no)
            page.click("form.filters button[type=submit]")
            page.click(f"text={platform.released}")
            assert "CEB816" in page.content()
            page.screenshot(path=str(SHOTS / "detail.png"), full_page=True)
            page.click("nav a[href$='/lists']")
            page.screenshot(path=str(SHOTS / "search.png"), full_page=True)

            page.click("nav a[href$='/review']")
            assert platform.held in page.content()
            page.screenshot(path=str(SHOTS / "review.png"), full_page=True)
            page.click(f"form[action$='/review/{platform.held}'] button[value=release]")
            assert "800" in page.locator(".notice").inner_text()

            page.click("nav a[href$='/quota']")
            page.fill("input[name=id_number]", platform.trade.buyer.id_number)
            page.fill("input[name=name]", platform.trade.buyer.name)
            page.click("form[action$='/quota'] button[type=submit]")
            assert "26,000.00" in page.content()
            page.screenshot(path=str(SHOTS / "quota.png"), full_page=True)

            page.click("nav a[href$='/audit']")
            assert "personal.read" in page.content()
            page.screenshot(path=str(SHOTS / "audit.png"), full_page=True)
            page.click("nav a[href$='/quota']")
            page.click("a.lang")
            assert "Personal annual quota" in page.content()
            page.screenshot(path=str(SHOTS / "quota-en.png"), full_page=True)
            page.click("a.lang")

            page.click("nav a[href$='/statistics']")
            page.select_option("select[name=by]", "zone")
            page.select_option("select[name=period]", "year")
            page.click("form.filters button[type=submit]")
            assert page.locator("#stats-table tbody tr").count() >= 8
            assert page.locator("svg.chart").count() == 2 and "1,300.25" in page.content()
            page.screenshot(path=str(SHOTS / "statistics.png"), full_page=True)
            page.click("nav a[href$='/assessment']")
            assert page.locator("#ranking tbody tr").count() == 4 and "成效明显" in page.content()
            page.screenshot(path=str(SHOTS / "assessment.png"), full_page=True)
            page.click("#ranking a >> nth=0")
            page.wait_for_selector("#indicators")
            # a PNG served by the portal itself (img-src 'self'), drawn on request: wait for it to arrive
            deadline = time.monotonic() + 30
            loaded = 0
            while time.monotonic() < deadline and not loaded:
                loaded = page.evaluate("document.querySelector('img.chart-img').naturalWidth")
                page.wait_for_timeout(200)
            assert loaded > 100, "the scorecard chart did not load"
            page.screenshot(path=str(SHOTS / "scorecard.png"), full_page=True)
            page.click("nav a[href$='/zones']")
            page.screenshot(path=str(SHOTS / "zones.png"), full_page=True)
            _sign_out(page)

            _sign_in(page, base, "oper", platform.passwords["oper"])
            page.click("nav a[href$='/registry']")
            assert "无关企业" in page.content()
            page.screenshot(path=str(SHOTS / "registry.png"), full_page=True)
            page.click("nav a[href$='/positive-list']")
            page.screenshot(path=str(SHOTS / "positive-list.png"), full_page=True)
            assert not console_errors, console_errors
        finally:
            browser.close()
    for name in (
        "dashboard",
        "search",
        "detail",
        "review",
        "registry",
        "positive-list",
        "quota",
        "upload",
        "statistics",
        "assessment",
        "scorecard",
    ):
        assert (SHOTS / f"{name}.png").stat().st_size > 10_000
