"""The portal page in a real browser (Debian's Chromium, driven by Playwright) against the real stack."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from stack import REPO, Stack, free_port, running_stack

pytestmark = pytest.mark.e2e
playwright_api = pytest.importorskip("playwright.sync_api")

TOKEN = "ui-token-0123456789abcdef"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = REPO / "test-artifacts" / "screenshots"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    overrides = {"PREQUEL_ENV": "development", "PREQUEL_RATE_LIMIT_CREATES_PER_MINUTE": "1000"}
    data_dir: Path = tmp_path_factory.mktemp("ui")
    with running_stack(
        Stack(data_dir=data_dir, tokens=f"ui:{TOKEN}", front_port=free_port(), env_overrides=overrides)
    ) as running:
        yield running


@pytest.fixture
def page(stack: Stack) -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is required for the UI tests (apt-get install chromium; .ci/run does it)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        tab = context.new_page()
        tab.on("dialog", lambda dialog: dialog.accept())
        yield tab
        browser.close()


def _sign_in(page, stack: Stack) -> None:  # type: ignore[no-untyped-def]
    page.goto(stack.url + "/")
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    playwright_api.expect(page.locator("#connection")).to_have_text("connected", timeout=15000)


def test_sign_in_create_watch_it_go_live_and_destroy(page, stack: Stack) -> None:  # type: ignore[no-untyped-def]
    expect = playwright_api.expect
    _sign_in(page, stack)
    expect(page.get_by_label("Challenge")).to_contain_text("Python")

    # a validation error is shown beside its field, not as an alert
    page.get_by_label("Candidate name").fill("Too Short Lived")
    page.get_by_label("Auto-destroy after (minutes)").fill("10")
    page.get_by_role("button", name="Create interview").click()
    expect(page.locator("#autoDestroyMinutes-error")).to_contain_text("autoDestroyMinutes must be between 30 and 240")
    expect(page.get_by_label("Auto-destroy after (minutes)")).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(SHOTS / "form-validation.png"))

    page.get_by_label("Candidate name").fill("Ada From The Browser")
    page.get_by_label("Challenge").select_option("python")
    page.get_by_label("Auto-destroy after (minutes)").fill("60")
    page.get_by_role("button", name="Create interview").click()
    row = page.locator("tr", has_text="Ada From The Browser")
    expect(row.locator(".badge")).to_have_text("initializing", timeout=10000)
    expect(row.locator(".badge")).to_have_text("active", timeout=60000)  # live, no reload
    page.screenshot(path=str(SHOTS / "list.png"))

    detail = page.locator("#detail")
    expect(detail.locator("#d-url")).to_contain_text("http://127.0.0.1:", timeout=10000)
    expect(detail.locator("#d-password")).to_have_text(re.compile(r"^[a-z0-9]{12}$"))
    expect(detail.get_by_role("button", name="Copy URL")).to_be_visible()
    expect(detail.get_by_role("button", name="Copy password")).to_be_visible()
    expect(detail.get_by_label("Log of the create operation")).to_contain_text("Interview created successfully")
    page.screenshot(path=str(SHOTS / "detail.png"))

    detail.get_by_role("button", name="Destroy").click()
    expect(row.locator(".badge")).to_have_text("destroyed", timeout=60000)


def test_the_indicator_shows_reconnecting_then_connected_when_the_gateway_restarts(  # type: ignore[no-untyped-def]
    page, stack: Stack
) -> None:
    expect = playwright_api.expect
    _sign_in(page, stack)
    stack.procs["events-gateway"].stop()
    expect(page.locator("#connection")).to_have_text("reconnecting…", timeout=15000)
    stack.restart("events-gateway")
    expect(page.locator("#connection")).to_have_text("connected", timeout=20000)


def test_sign_out_forgets_the_token(page, stack: Stack) -> None:  # type: ignore[no-untyped-def]
    _sign_in(page, stack)
    page.get_by_role("button", name="Sign out").click()
    playwright_api.expect(page.get_by_label("API token")).to_be_visible()
    assert "prequel_token" not in page.evaluate("document.cookie")
