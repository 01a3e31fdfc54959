"""A person in a browser: Debian's chromium, driven by Playwright, against the real server.

Opens ``/``, searches, opens a model, its files and a comparison, and checks what is on the
screen; a hostile card runs nothing (no dialog, no console error, no script error). A screenshot
of each page is saved under ``$HGLOC_TEST_ARTIFACTS`` (default ``tests/artifacts/``).

Skipped where ``/usr/bin/chromium`` or Playwright is missing, except in CI (``CI=true``), where
that is a failure: ``.ci/run`` installs chromium.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catalog.support import TOKENS, card, write_repo
from hg_localization.catalog import catalog_app, default_catalog
from hg_localization.server.folder_source import FolderSource

from helpers.servers import PRIVATE_TOKEN, HubServer, run_server

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(os.environ.get("HGLOC_TEST_ARTIFACTS") or Path(__file__).parents[1] / "artifacts")
PHONE = {"width": 375, "height": 812}

HOSTILE_CARD = """# Totally normal model

<script>alert("script tag")</script>

<img src=x onerror="alert('onerror'); window.pwned = 1">

[click me](javascript:alert('javascript link')) [or me](JaVaScRiPt:alert(1))
[data](data:text/html,<script>alert(1)</script>)

<a href="javascript:alert('raw a')">raw link</a> <iframe src="javascript:alert('frame')"></iframe>
<svg onload="alert('svg')"></svg> <style>body { display: none }</style>

![x](x" onerror="alert('attr'))

"""


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run the browser tests (.ci/run installs chromium).")
    pytest.skip(f"{reason}: install it with `apt-get install chromium` to run the browser tests.")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is missing (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Watched:
    """A page, and everything it did that a person would not want: dialogs, errors."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def shot(self, name: str, *, full_page: bool = True) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"catalog-{name}.png"), full_page=full_page)


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield Watched(context.new_page())
    finally:
        context.close()


def test_search_a_model_its_files_and_a_comparison(watched: Watched, hub_server: HubServer) -> None:
    page = watched.page
    page.goto(hub_server.url + "/")
    assert page.get_by_role("heading", name="Your team's Hub").is_visible()
    assert "3" in page.locator(".stat", has_text="models").inner_text()
    watched.shot("home")

    page.get_by_placeholder("Search models by name, tag or task…").fill("bert")
    page.keyboard.press("Enter")
    page.wait_for_url("**/models?search=bert")
    results = page.locator(".repo-card .repo-link")
    assert results.all_inner_texts() == ["hgloc-test/tiny-bert"]
    watched.shot("search")

    results.first.click()
    page.wait_for_url("**/hgloc-test/tiny-bert")
    assert page.locator("h1.repo-title").inner_text() == "hgloc-test/tiny-bert"
    assert page.get_by_text("A tiny BERT-like model (2 layers, hidden size 32)").is_visible()
    assert page.locator("#config").get_by_text("hidden_dropout_prob").is_visible()
    assert "hf download hgloc-test/tiny-bert" in page.locator(".snippet").first.inner_text()
    watched.shot("model")

    page.get_by_role("link", name="Files and versions").click()
    page.get_by_role("link", name="extra/", exact=True).click()
    assert page.get_by_role("link", name="file with space.txt", exact=True).is_visible()
    watched.shot("files")

    page.goto(hub_server.url + "/compare?a=hgloc-test/tiny-bert")
    page.get_by_label("Model B").fill("hgloc-test/tiny-bert@v1.0")
    page.get_by_role("button", name="Compare").click()
    assert page.locator(".summary").inner_text() == "1 of 19 keys differ"
    differing = page.locator("tr.diff")
    assert differing.count() == 1 and "hidden_dropout_prob" in differing.inner_text()
    same = page.get_by_role("row", name="vocab_size 16384")
    assert same.is_visible()
    page.get_by_text("Differences only").click()  # a checkbox and CSS: no script
    assert not same.is_visible() and differing.is_visible()
    watched.shot("compare")
    assert watched.errors == [] and watched.dialogs == []


def test_a_phone_sees_the_whole_model_page(browser: Any, hub_server: HubServer) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        watched = Watched(context.new_page())
        watched.page.goto(hub_server.url + "/hgloc-test/tiny-bert")
        width = watched.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]  # nothing runs off the side of the screen
        assert watched.page.get_by_text("Use this model").is_visible()
        watched.shot("model-phone")
        watched.page.goto(hub_server.url + "/models")
        assert watched.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        watched.shot("models-phone")
        assert watched.errors == []
    finally:
        context.close()


def test_the_token_form_shows_private_repos(watched: Watched, hub_server: HubServer) -> None:
    page = watched.page
    page.goto(hub_server.url + "/models")
    assert page.get_by_role("link", name="hgloc-test/private-model").count() == 0
    page.get_by_role("link", name="Token").click()
    page.get_by_label("Token").fill(PRIVATE_TOKEN)
    page.get_by_role("button", name="Use this token").click()
    page.wait_for_url("**/models")
    assert page.get_by_role("link", name="hgloc-test/private-model").is_visible()
    assert page.evaluate("document.cookie") == ""  # HttpOnly: no script can read the token
    watched.shot("token")
    assert watched.errors == []


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("hostile-repos")
    body = HOSTILE_CARD + "lorem ipsum dolor sit amet " * (5 * 1024 * 1024 // 27)  # a 5 MB card
    front_matter = 'tags: ["<img src=x onerror=alert(9)>"]\ntitle: "<script>alert(10)</script>"'
    files = {
        "README.md": card(front_matter, body),
        "config.json": b'{"</td><script>alert(11)</script>": "<img src=x onerror=alert(12)>"}',
        "<img src=x onerror=alert(13)>.txt": b"a file name that is markup\n",
    }
    write_repo(root, "evil/card", files)
    with run_server(catalog_app(FolderSource.for_repos_dir(root), tokens=TOKENS)) as url:
        yield url


def test_a_hostile_card_runs_nothing(watched: Watched, hostile_server: str) -> None:
    page = watched.page
    for path in ("/evil/card", "/evil/card/tree/main", "/models?tag=%3Cimg+src%3Dx+onerror%3Dalert(9)%3E"):
        page.goto(hostile_server + path)
        page.wait_for_load_state("load")
    page.goto(hostile_server + "/evil/card")
    assert page.get_by_role("heading", name="Totally normal model").is_visible()
    assert page.get_by_text("only its first 128 KB are shown").is_visible()
    assert (
        page.locator("a[href^='javascript' i], a[href^='data' i], iframe, svg, .markdown img, script").count()
        == 0
    )
    page.get_by_text("click me").click()  # text, not a link: nothing happens
    assert page.evaluate("window.pwned") is None
    assert page.locator("body").is_visible()  # the card's <style> is text too
    watched.shot("hostile-card", full_page=False)  # the whole 128 KB card is a tall picture
    assert watched.dialogs == []
    assert watched.errors == []


COLLECTIONS_MANIFEST = """collections:
  core:
    description: "What every team member needs"
    models:
      - id: hgloc-test/tiny-bert
        full: true
      - id: hgloc-test/not-localized-yet
    datasets:
      - id: hgloc-test/tiny-dataset
"""


@pytest.fixture(scope="module")
def collections_server(sample_repos: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    manifest = tmp_path_factory.mktemp("collections") / "hg-localization.yaml"
    manifest.write_text(COLLECTIONS_MANIFEST)
    source = FolderSource.for_repos_dir(sample_repos.directory)
    app = catalog_app(source, tokens=TOKENS, catalog=default_catalog(source, collections=manifest))
    with run_server(app) as url:
        yield url


def test_a_collection_shows_what_is_here_and_what_is_missing(
    watched: Watched, collections_server: str
) -> None:
    page = watched.page
    page.goto(collections_server + "/")
    page.get_by_role("link", name="Collections").click()
    page.wait_for_url("**/collections")
    assert page.get_by_text("What every team member needs").is_visible()
    assert page.get_by_text("2 of 3 here").is_visible()
    watched.shot("collections")

    page.get_by_role("link", name="core").click()
    page.wait_for_url("**/collections/core")
    rows = page.locator("table.collection-entries tbody tr")
    assert rows.count() == 3
    missing = page.get_by_role("row", name="hgloc-test/not-localized-yet")
    assert "Missing" in missing.inner_text() and "card + config" in missing.inner_text()
    assert "Present" in page.get_by_role("row", name="hgloc-test/tiny-bert").inner_text()
    watched.shot("collection")

    page.get_by_role("link", name="hgloc-test/tiny-bert").click()
    page.wait_for_url("**/hgloc-test/tiny-bert")
    assert page.locator("h1.repo-title").inner_text() == "hgloc-test/tiny-bert"
    assert watched.errors == [] and watched.dialogs == []
