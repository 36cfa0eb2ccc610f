"""The portal page in a real browser (Debian's Chromium, driven by Playwright) against the real stack."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
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
#: an https origin for the page, served by the real stack through Playwright's request interception
HTTPS_ORIGIN = "https://portal.test"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    overrides = {"PREQUEL_ENV": "development", "PREQUEL_RATE_LIMIT_CREATES_PER_MINUTE": "1000"}
    data_dir: Path = tmp_path_factory.mktemp("ui")
    with running_stack(
        Stack(data_dir=data_dir, tokens=f"ui:{TOKEN}", front_port=free_port(), env_overrides=overrides)
    ) as running:
        yield running


@pytest.fixture(scope="module")
def browser(stack: Stack) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is required for the UI tests (apt-get install chromium; .ci/run does it)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


def _new_page(browser: Any, **context_options: Any) -> tuple[Any, Any, list[str]]:
    """A page in a fresh context; the list collects what the Content-Security-Policy refused."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **context_options)
    tab = context.new_page()
    tab.on("dialog", lambda dialog: dialog.accept())
    refused: list[str] = []
    tab.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
    return context, tab, refused


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context, tab, refused = _new_page(browser)
    yield tab
    context.close()
    assert refused == [], "the page broke its own Content-Security-Policy"


def _sign_in(page, url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url + "/")
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    playwright_api.expect(page.locator("#connection")).to_have_text("connected", timeout=15000)


def _api(stack: Stack, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """A REST call made outside the page: the page can learn about it only through its event stream."""
    reply = httpx.request(method, stack.url + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30, **kwargs)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _create_scheduled(stack: Stack, name: str, *, starts_in: timedelta = timedelta(hours=1)) -> dict[str, Any]:
    """An interview that waits for its start: no IDE, it is ready at once."""
    start = (datetime.now(UTC) + starts_in).replace(microsecond=0).isoformat()
    body = {"candidateName": name, "challenge": "python", "autoDestroyMinutes": 30, "scheduledAt": start}
    return _api(stack, "POST", "/api/interviews/create", json=body)


def test_sign_in_create_watch_it_go_live_and_destroy(page, stack: Stack) -> None:  # type: ignore[no-untyped-def]
    expect = playwright_api.expect
    _sign_in(page, stack.url)
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


def test_after_a_long_gateway_outage_the_page_reconnects_and_catches_up(  # type: ignore[no-untyped-def]
    page, stack: Stack
) -> None:
    """Down longer than the stream's 5 s retry: the browser's own reconnect gets the front door's 502 and gives up
    for good; the page must reconnect by itself, resume after the last event it saw, and show what it missed."""
    expect = playwright_api.expect
    _sign_in(page, stack.url)
    created = _create_scheduled(stack, "Grace While Down")
    row = page.locator("tr", has_text="Grace While Down")
    expect(row.locator(".badge")).to_have_text("scheduled", timeout=15000)  # an event with an id: the cursor
    streams: list[str] = []
    page.on("request", lambda request: streams.append(request.url) if "/api/events" in request.url else None)

    stack.hold("events-gateway")
    held_at = time.monotonic()
    try:
        expect(page.locator("#connection")).to_have_text("reconnecting…", timeout=15000)
        # while the gateway is down, the interview ends (its scheduled create is cancelled: it goes destroyed)
        _api(stack, "POST", f"/api/operations/{created['operationId']}/cancel")
        time.sleep(max(0.0, 9.0 - (time.monotonic() - held_at)))  # longer than the 5 s retry plus one attempt
        expect(page.locator("#connection")).to_have_text("reconnecting…")
        expect(row.locator(".badge")).to_have_text("scheduled")  # nothing could tell the page yet
    finally:
        stack.release("events-gateway")

    expect(page.locator("#connection")).to_have_text("connected", timeout=30000)
    expect(row.locator(".badge")).to_have_text("destroyed", timeout=15000)
    assert any("lastEventId=" in url for url in streams), f"no resume after the last event seen: {streams}"


def test_copy_says_copied_only_when_the_clipboard_took_it(browser, stack: Stack) -> None:  # type: ignore[no-untyped-def]
    expect = playwright_api.expect
    created = _create_scheduled(stack, "Clip Board", starts_in=timedelta(minutes=10))
    no_clipboard = "Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined});"
    refusing = "Clipboard.prototype.writeText = () => Promise.reject(new DOMException('denied', 'NotAllowedError'));"
    cases = [
        ("clipboard works", {"permissions": ["clipboard-read", "clipboard-write"]}, None, True),
        ("no clipboard (plain http elsewhere than localhost)", {}, no_clipboard, False),
        ("clipboard refuses", {"permissions": ["clipboard-read", "clipboard-write"]}, refusing, False),
    ]
    for name, options, init_script, works in cases:
        context, page, refused = _new_page(browser, **options)
        try:
            if init_script:
                context.add_init_script(init_script)
            _sign_in(page, stack.url)
            page.get_by_role("button", name="Details of Clip Board").click()
            expect(page.locator("#d-password")).to_have_text(created["password"])
            button = page.get_by_role("button", name="Copy password")
            button.click()
            if works:
                expect(page.locator("button[data-copy=d-password]")).to_have_text("Copied")
                assert page.evaluate("navigator.clipboard.readText()") == created["password"], name
            else:
                expect(page.locator("button[data-copy=d-password]")).to_have_text("Selected: press Ctrl+C to copy")
                assert page.evaluate("window.getSelection().toString()") == created["password"], name
            expect(page.locator("button[data-copy=d-password]")).to_have_text("Copy password", timeout=6000)
            assert refused == [], name
        finally:
            context.close()


def test_the_detail_countdown_ticks(page, stack: Stack) -> None:  # type: ignore[no-untyped-def]
    expect = playwright_api.expect
    _create_scheduled(stack, "Tick Tock", starts_in=timedelta(minutes=10))  # destroyed in 40 min: seconds show
    _sign_in(page, stack.url)
    page.get_by_role("button", name="Details of Tick Tock").click()
    countdown = page.locator("#d-deadline .countdown")
    expect(countdown).to_have_text(re.compile(r"^in \d+ min \d+ s$"))
    first = countdown.text_content()
    expect(countdown).not_to_have_text(first or "", timeout=5000)  # no event came: the clock moved it


def test_the_token_cookie_is_strict_and_secure_on_https(browser, stack: Stack) -> None:  # type: ignore[no-untyped-def]
    # plain http (the local front door): SameSite=Strict, and Secure would make the browser drop it
    context, page, _ = _new_page(browser)
    try:
        _sign_in(page, stack.url)
        [cookie] = [c for c in context.cookies() if c["name"] == "prequel_token"]
        assert (cookie["sameSite"], cookie["secure"]) == ("Strict", False)
    finally:
        context.close()

    # https: the same page served from an https origin (the real stack behind Playwright's interception)
    context, page, _ = _new_page(browser)
    try:

        def forward(route: Any) -> None:
            path = route.request.url.removeprefix(HTTPS_ORIGIN)
            if path.startswith("/api/events"):  # a stream never ends: the cookie is all this test looks at
                route.abort()
                return
            route.fulfill(response=route.fetch(url=stack.url + path))

        page.route(HTTPS_ORIGIN + "/**", forward)
        page.goto(HTTPS_ORIGIN + "/")
        page.get_by_label("API token").fill(TOKEN)
        page.get_by_role("button", name="Sign in").click()
        playwright_api.expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        playwright_api.expect(page.locator("#empty, #interviews tbody tr").first).to_be_visible()  # lists loaded
        [cookie] = [c for c in context.cookies(HTTPS_ORIGIN) if c["name"] == "prequel_token"]
        assert (cookie["sameSite"], cookie["secure"]) == ("Strict", True)
        page.unroute_all(behavior="ignoreErrors")
    finally:
        context.close()


def test_sign_out_forgets_the_token(page, stack: Stack) -> None:  # type: ignore[no-untyped-def]
    _sign_in(page, stack.url)
    page.get_by_role("button", name="Sign out").click()
    playwright_api.expect(page.get_by_label("API token")).to_be_visible()
    assert "prequel_token" not in page.evaluate("document.cookie")
