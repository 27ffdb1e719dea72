"""The war-room page in a real browser: Debian's Chromium, headless, driven by Playwright,
against `warroom serve` under uvicorn on loopback with the worker and the Twilio stand-in."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from support.serving import API_TOKEN, SECRET, Served, serving
from typer.testing import CliRunner

from warroom.cli import app

T0 = datetime.fromisoformat("2026-11-16T10:00:00+01:00")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WAIT_MS = 20_000
"""Generous: the machine is shared; the assertion is about what shows, never how fast."""

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it with apt-get)")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield launched
        launched.close()


def cli(served: Served, mini: Path, *args: str, minutes: int = 0) -> str:
    env = {
        "WARROOM_DB": str(served.db),
        "WARROOM_LIBRARY": str(mini),
        "WARROOM_CLOCK": (T0 + timedelta(minutes=minutes)).isoformat(),
        "WARROOM_PUBLIC_URL": served.base,
        "WARROOM_SECRET": SECRET,
    }
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def activate(served: Served, mini: Path) -> str:
    out = cli(
        served, mini, "activate", "outage", "--fact", "company=Acme", "--fact", "service=the shop"
    )
    return out.split()[0]


def share(served: Served, mini: Path, incident: str, lifetime: str = "12h") -> str:
    printed = cli(served, mini, "share", "--incident", incident, "--for", lifetime)
    return printed.splitlines()[0].strip()


def test_the_page_follows_the_incident_without_a_reload(
    browser: object, mini: Path, tmp_path: Path
) -> None:
    with serving(tmp_path / "warroom.db", T0) as served:
        incident = activate(served, mini)
        page = browser.new_page()  # type: ignore[attr-defined]
        page.goto(share(served, mini, incident))
        lead = page.locator("tr", has_text="Crisis lead")
        assert "not yet" in lead.inner_text()
        assert page.locator("#live").inner_text() == "live"
        page.evaluate("window.__marker = 42")  # gone if the page reloaded
        cli(served, mini, "ack", "--as", "anna", minutes=1)
        page.wait_for_selector("tr.acked:has-text('Crisis lead')", timeout=WAIT_MS)
        assert page.evaluate("window.__marker") == 42
        for person in ("bartek", "dawid"):
            cli(served, mini, "ack", "--as", person, minutes=2)
        cli(served, mini, "approve", "holding", "--as", "dawid", minutes=3)
        # the release goes out; the stand-in's status callbacks fill the staff bar
        page.wait_for_selector(
            ".delivery[data-audience='Employees'] .count[data-state='delivered']",
            timeout=WAIT_MS,
        )
        text = page.locator("main").inner_text()
        assert "+48" not in text  # contact lists: counts only, no numbers
        assert "@acme.example" not in text
        page.close()


def test_expired_revoked_and_foreign_links_show_nothing(
    browser: object, mini: Path, tmp_path: Path
) -> None:
    with serving(tmp_path / "warroom.db", T0, worker=False) as served:
        first = activate(served, mini)
        cli(served, mini, "resolve", "--incident", first)
        cli(served, mini, "close", "--incident", first)
        second = activate(served, mini)
        page = browser.new_page()  # type: ignore[attr-defined]

        short = share(served, mini, second, "1m")
        served.clock.advance(timedelta(minutes=2))
        page.goto(short)
        assert "Link expired" in page.title() + page.inner_text("h1")
        assert page.locator("#board").count() == 0

        revoked = share(served, mini, second)
        link_id = revoked.rsplit("view=", 1)[1].split(".")[0]
        cli(served, mini, "share", "--revoke", link_id)
        page.goto(revoked)
        assert "revoked" in page.inner_text("main")
        assert page.locator("#board").count() == 0

        other = share(served, mini, second).replace(f"/incidents/{second}", f"/incidents/{first}")
        page.goto(other)
        assert "another incident" in page.inner_text("main")
        assert page.locator("#board").count() == 0
        page.close()


def test_the_api_token_shows_contacts_and_the_list(
    browser: object, mini: Path, tmp_path: Path
) -> None:
    with serving(tmp_path / "warroom.db", T0, worker=False) as served:
        incident = activate(served, mini)
        page = browser.new_page()  # type: ignore[attr-defined]
        page.goto(f"{served.base}/incidents")
        assert page.locator("form").count() == 1  # no token yet: the sign-in form, no data
        page.fill("input[name=token]", API_TOKEN)
        page.click("button[type=submit]")
        page.wait_for_selector(f"a:has-text('{incident}')", timeout=WAIT_MS)
        page.click(f"a:has-text('{incident}')")
        page.wait_for_selector("tr:has-text('Crisis lead')", timeout=WAIT_MS)
        assert "anna@acme.example" in page.locator("tr", has_text="Crisis lead").inner_text()
        page.close()


def test_polish_browsers_get_polish(browser: object, mini: Path, tmp_path: Path) -> None:
    with serving(tmp_path / "warroom.db", T0, worker=False) as served:
        incident = activate(served, mini)
        context = browser.new_context(locale="pl-PL")  # type: ignore[attr-defined]
        page = context.new_page()
        page.goto(share(served, mini, incident))
        assert page.locator("h2", has_text="Role").count() == 1
        assert "jeszcze nie" in page.locator("tr", has_text="Crisis lead").inner_text()
        context.close()


def test_the_server_stops_with_pages_open(browser: object, mini: Path, tmp_path: Path) -> None:
    """Live streams end when the server stops: three open pages never hold it past its
    graceful timeout (30 s)."""
    with serving(tmp_path / "warroom.db", T0, worker=False) as served:
        incident = activate(served, mini)
        link = share(served, mini, incident)
        pages = []
        for _ in range(3):
            page = browser.new_page()  # type: ignore[attr-defined]
            page.goto(link)
            page.wait_for_function("document.getElementById('live').className === 'live'")
            pages.append(page)
        assert served.stop(timeout=30), "the server was still running 30 s after the stop"
        assert served.service.desk.closing.is_set()
        for page in pages:
            page.close()
