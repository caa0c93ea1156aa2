"""Every client page, anonymous and signed in, as a phone (390 px) and a desktop show it: axe-core
(WCAG 2.2 A/AA and best practice) finds nothing, and no page scrolls sideways.

The pages are found the way a client finds them: from each persona's start pages, following every
link the pages show (one page per URL pattern, so 200 tickets cost one visit). The demo's personas
cover the journeys: just signed up (new@), onboarding half done (progress@), the gate ahead
(eligible@), financing open at WATCH with tickets (alice@), in English (bob@), under a margin
call (call@). Phone screenshots of each persona's pages land in var/screens/i21/.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.a11y import DESKTOP, PHONE, problems

pytestmark = [pytest.mark.e2e]

SCREENS = Path(__file__).resolve().parents[2] / "var" / "screens" / "i21"
NEVER = ("/accounts/logout", "/admin", "/static", "/media", "/ws/", "/i18n/", "/jsi18n")
NOT_PAGES = (".pdf", "/receipt", "/download", "/export", "/healthz", "/readyz", "/status.json")
PERSONAS = {
    "anonymous": (
        "",
        [
            "/",
            "/accounts/login/",
            "/accounts/signup/",
            "/disclosures/fees/?amount=1000000&days=45&tier=2",
        ],
    ),
    "new": ("new@demo.wangrun.test", ["/", "/onboarding/"]),
    "progress": ("progress@demo.wangrun.test", ["/onboarding/", "/onboarding/personal/"]),
    "eligible": ("eligible@demo.wangrun.test", ["/education/", "/margin/open/"]),
    "alice": ("alice@demo.wangrun.test", ["/", "/margin/", "/funds/", "/support/", "/notices/"]),
    "bob": ("bob@demo.wangrun.test", ["/margin/", "/funds/", "/support/sla/"]),
    "call": ("call@margin-demo.wangrun.test", ["/margin/", "/funds/"]),
}
# Desktop: the same personas' start pages (the crawl at phone size covers the rest).
MAX_PAGES = 45


@pytest.fixture
def demo(live_portal):
    from django.apps import apps

    from accounts.roles import sync_roles
    from tests.e2e.conftest import seed_demo

    sync_roles(apps)
    seed_demo()
    return live_portal


def sign_in(page, email: str) -> None:
    from accounts.demo import DEMO_PASSWORD

    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-testid=user-name]")).to_be_visible()


def route(url: str) -> str:
    parts = urlsplit(url)
    keys = sorted(k.split("=")[0] for k in parts.query.split("&") if k)
    return re.sub(r"\d+", "N", parts.path) + ("?" + "&".join(keys) if keys else "")


def crawl(page, start: list[str], seen_routes: set[str], limit: int = MAX_PAGES):
    """Visit the start pages, then every page they link to whose URL pattern no one has checked
    yet (the start pages always: each persona's own dashboard differs); yield each URL."""
    queue, visited, mine = list(start), 0, set()
    while queue and visited < limit:
        url = queue.pop(0)
        if url in mine or (url not in start and route(url) in seen_routes):
            continue
        mine.add(url)
        seen_routes.add(route(url))
        response = page.goto(url)
        if response is None or response.status >= 400:
            continue
        if "text/html" not in (response.headers.get("content-type") or ""):
            continue
        landed = urlsplit(page.url)
        here = landed.path + (f"?{landed.query}" if landed.query else "")
        if here != url:
            if here in mine or (url not in start and route(here) in seen_routes):
                continue
            mine.add(here)
            seen_routes.add(route(here))
        visited += 1
        yield here
        for href in page.eval_on_selector_all(
            "a[href]", "as => as.map(a => a.getAttribute('href'))"
        ):
            href = (href or "").split("#")[0]
            if not href.startswith("/") or href.startswith("//"):
                continue
            if any(href.startswith(p) for p in NEVER) or any(p in href for p in NOT_PAGES):
                continue
            if href not in mine and route(href) not in seen_routes:
                queue.append(href)


def context_for(browser, live_portal, viewport):
    context = browser.new_context(
        base_url=live_portal, locale="zh-CN", timezone_id="Asia/Shanghai", viewport=viewport
    )
    context.set_default_timeout(20_000)
    return context


def test_every_client_page_passes_axe_and_fits_a_phone(browser, demo):
    SCREENS.mkdir(parents=True, exist_ok=True)
    found: dict[str, list[str]] = {}
    checked, seen = 0, set()
    for persona, (email, start) in PERSONAS.items():
        context = context_for(browser, demo, PHONE)
        page = context.new_page()
        if email:
            sign_in(page, email)
        for url in crawl(page, start, seen):
            checked += 1
            trouble = problems(page)
            if trouble:
                found[f"{persona} {url}"] = trouble
            name = re.sub(r"[^a-z0-9]+", "-", url.lower()).strip("-") or "home"
            page.screenshot(path=str(SCREENS / f"{persona}-{name}.png"), full_page=True)
        context.close()
    assert checked >= 50, f"only {checked} pages were reached"
    assert not found, "\n".join(
        f"{where}: {line}" for where, lines in found.items() for line in lines
    )


def test_the_start_pages_pass_axe_on_a_desktop(browser, demo):
    found: dict[str, list[str]] = {}
    for persona, (email, start) in PERSONAS.items():
        context = context_for(browser, demo, DESKTOP)
        page = context.new_page()
        if email:
            sign_in(page, email)
        for url in start:
            page.goto(url)
            trouble = problems(page)
            if trouble:
                found[f"{persona} {url}"] = trouble
        context.close()
    assert not found, "\n".join(
        f"{where}: {line}" for where, lines in found.items() for line in lines
    )


def test_on_a_phone_the_menu_folds_and_the_line_prices_stay_visible(browser, demo):
    context = context_for(browser, demo, PHONE)
    page = context.new_page()
    sign_in(page, "alice@demo.wangrun.test")
    page.goto("/margin/")
    toggle = page.locator("[data-testid=menu-toggle]")
    nav = page.locator("#main-nav")
    expect(toggle).to_be_visible()
    expect(nav).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="资金")).to_be_visible()
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    # The call and liquidation prices of each position are on screen, not off to the right.
    for which in ("call", "liquidation"):
        price = page.locator(f"[data-testid^={which}-price-]").first
        expect(price).to_be_visible()
        # Found and measured in one task of the page: the live status replaces the table's rows
        # on every push, and a cell found before a push and measured after it is detached (a
        # detached cell measures 0, and bounding_box() answers None for it).
        right = page.evaluate(
            "s => document.querySelector(s).getBoundingClientRect().right",
            f"[data-testid^={which}-price-]",
        )
        assert 0 < right <= PHONE["width"]
        expect(price).to_have_text(re.compile(r"^¥[\d,]+\.\d\d$"))
    context.close()
    # On a desktop the menu is simply there.
    context = context_for(browser, demo, DESKTOP)
    page = context.new_page()
    sign_in(page, "alice@demo.wangrun.test")
    expect(page.locator("[data-testid=menu-toggle]")).to_be_hidden()
    expect(page.locator("#main-nav").get_by_role("link", name="资金")).to_be_visible()
    context.close()
