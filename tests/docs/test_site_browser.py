"""The documentation site in a real browser: headless Chromium (Debian's ``chromium``, which
``make integration-deps`` installs) renders the home page, a guide and an API page served over
HTTP on 127.0.0.1, and each must show its navigation and content, not a blank page."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from scripts.browser import chromium, dump_dom, read_png, screenshot

from tests.docs.support import build_site
from tests.helpers import REPO

pytestmark = pytest.mark.integration


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if chromium() is None:
        pytest.fail("chromium is not installed: run `make integration-deps` (Debian: chromium)")
    site = tmp_path_factory.mktemp("site")
    proc = build_site(REPO, site)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    handler = functools.partial(_Quiet, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _text(dom: str, css_class: str) -> str:
    """The text inside the first element whose class list has ``css_class`` (roughly)."""
    match = re.search(rf'class="[^"]*\b{css_class}\b[^"]*"[^>]*>(.*)', dom, re.DOTALL)
    assert match, f"no element with class {css_class}"
    return re.sub(r"<[^>]+>", " ", match.group(1))


def _check_page(dom: str, *, title: str, words: tuple[str, ...]) -> None:
    assert f"<title>{title}" in dom, re.search(r"<title>.*?</title>", dom)
    nav = re.findall(r'class="md-nav__link[^"]*"', dom)
    assert len(nav) >= 20, f"navigation missing ({len(nav)} links)"
    content = _text(dom, "md-content")
    assert len(content.split()) >= 150, "the page has almost no text"
    for word in words:
        assert word in content, word


def test_the_home_page_renders_with_its_story_and_pictures(served: str, tmp_path: Path) -> None:
    dom = dump_dom(served + "/")
    _check_page(dom, title="aumai-chaos", words=("robust", "fragile", "make demo"))
    assert 'src="images/report.png"' in dom
    assert 'src="images/phoenix-trace.png"' in dom
    png = tmp_path / "home.png"
    screenshot(served + "/", png, width=1280, height=1600)
    image = read_png(png)
    assert len(image.colors(step=4)) >= 50, "a near-blank render"


def test_a_guide_renders(served: str) -> None:
    dom = dump_dom(served + "/transport/")
    _check_page(dom, title="The HTTP transport", words=("instrument()", "ChaosTransport"))


def test_an_api_page_renders_its_entries(served: str) -> None:
    dom = dump_dom(served + "/reference/aumai_chaos/")
    _check_page(dom, title="aumai_chaos", words=("chaos_monkey", "ExperimentScheduler"))
    entries = re.findall(r'class="doc doc-object doc-(?:class|function)', dom)
    assert len(entries) >= 30, f"only {len(entries)} API entries"
