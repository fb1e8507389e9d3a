"""The static course site (``make site``): built once per session from this checkout.

The lectures are executed by the build (cached in ``build/site-cache`` between local runs; a
fresh clone executes them all). Checked here: a page per lecture and per student release, every
widget turned into a moving picture, every internal link and image resolving, nothing secret or
machine-specific on any page, and, in headless Chromium over HTTP, rendered math and a playing
animation (screenshots in ``test-artifacts/site/``).
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from course import REPO, SECRET_MARKERS, block_lines, hidden_test_lines, html_text, in_own_thread
from PIL import Image, ImageChops

from devtools import site

ARTIFACTS = REPO / "test-artifacts" / "site"
CHROMIUM = "/usr/bin/chromium"
#: one widget per call like ``utils.viz_2d.StepThrough()`` as the last line of a code cell
VISUALIZER_CALL = re.compile(r"^utils\.viz_\w+\.[A-Z]\w*\(")


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("site") / "html"
    start = time.perf_counter()
    report = site.build(out, REPO / "build" / "site-cache")
    report["total_seconds"] = round(time.perf_counter() - start, 1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "build-report.json").write_text(json.dumps(report, indent=2))
    print(f"\nsite built in {report['total_seconds']} s (executing {report['execute_seconds']} s, "
          f"sphinx {report['sphinx_seconds']} s)")
    return out, report


def pages(out: Path) -> list[Path]:
    return sorted(out.rglob("*.html"))


def first_heading(notebook: Path) -> str:
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "markdown":
            match = re.search(r"(?m)^#\s+(.+)$", cell.source)
            if match:
                return match.group(1).strip()
    raise AssertionError(f"{notebook} has no title")


class Links(HTMLParser):
    """Every href and src of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.targets.append(value)
            if name == "id" and value:
                self.ids.add(value)


def parsed(page: Path) -> Links:
    links = Links()
    links.feed(page.read_text())
    return links


def test_build_reports_its_time_and_no_warnings(built, record_property):
    _, report = built
    record_property("site_seconds", report["total_seconds"])
    assert report["warnings"] == [], "Sphinx warned:\n" + "\n".join(report["warnings"])


def test_every_lecture_and_release_has_its_page_in_course_order(built):
    out, _ = built
    index = (out / "index.html").read_text()
    positions = []
    for notebook in site.lectures():
        page = out / "lectures" / f"{notebook.stem}.html"
        assert page.exists(), f"no page for {notebook.name}"
        title = first_heading(notebook)
        assert title in html_text(page.read_text()), f"{page.name} lacks its title {title!r}"
        positions.append(index.find(f"lectures/{notebook.stem}.html"))
    assert -1 not in positions and positions == sorted(positions), \
        "the table of contents is not in course order"
    for release in site.releases():
        page = out / "assignments" / release.parent.name / f"{release.stem}.html"
        assert page.exists(), f"no page for the release {release.relative_to(REPO)}"
    landing = html_text(index)
    for section in site.LANDING_SECTIONS:
        assert section in landing, f"the landing page lacks the README's section {section!r}"


def test_every_widget_is_a_moving_picture(built):
    out, report = built
    for notebook in site.lectures():
        cells = [c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
        expected = sum(1 for c in cells if c.source.strip() and
                       VISUALIZER_CALL.match(c.source.strip().splitlines()[-1].strip()))
        assert report["pictures"][notebook.stem] == expected, (
            f"{notebook.name}: {expected} visualizer cells, {report['pictures'][notebook.stem]} pictures")
        page = (out / "lectures" / f"{notebook.stem}.html").read_text()
        gifs = re.findall(r'src="([^"]+\.gif)"', page)
        assert len(gifs) == expected, f"{notebook.name}: {len(gifs)} animations, expected {expected}"
        assert html_text(page).count("make lab") >= expected, f"{notebook.name}: no `make lab` hint"
        for src in gifs:
            with Image.open(out / "lectures" / src) as gif:
                frames = []
                for k in range(gif.n_frames):
                    gif.seek(k)
                    frames.append(gif.convert("RGB").tobytes())
            assert len(set(frames)) >= 2, f"{src}: the animation does not change"


def test_internal_links_and_images_resolve(built):
    out, _ = built
    broken = []
    for page in pages(out):
        if "_static" in page.parts:  # the theme's own template fragments, not pages
            continue
        for target in parsed(page).targets:
            parts = urlsplit(target)
            if parts.scheme or target.startswith(("//", "#", "mailto:", "data:")):
                continue
            path = (page.parent / unquote(parts.path)).resolve()
            if not path.exists():
                broken.append(f"{page.relative_to(out)}: {target}")
            elif parts.fragment and path.suffix == ".html" and parts.fragment not in parsed(path).ids:
                broken.append(f"{page.relative_to(out)}: {target} (no such anchor)")
    assert not broken, "broken links:\n" + "\n".join(broken[:40])


def test_no_solution_hidden_test_or_machine_path_on_any_page(built):
    out, _ = built
    secrets = set()
    for source in sorted((REPO / "solutions").glob("*/*.ipynb")):
        notebook = nbformat.read(source, as_version=4)
        secrets |= hidden_test_lines(notebook)
        secrets |= block_lines(notebook, "### BEGIN SOLUTION", "### END SOLUTION")
    secrets |= {line.strip() for path in (REPO / "solutions").glob("*/checks.py")
                for line in path.read_text().splitlines() if len(line.strip()) >= 40}
    # a line that a lecture or a release shows anyway (an import, ``optimizer.step()``) proves nothing
    public = {line.strip() for path in [*site.lectures(), *site.releases()]
              for cell in nbformat.read(path, as_version=4).cells for line in cell.source.splitlines()}
    secrets -= public
    machine = [str(REPO), str(Path.home()), sys.prefix, "site-packages", "/tmp/"]
    found = []
    for path in sorted(out.rglob("*")):
        if path.suffix not in (".html", ".js", ".txt", ".ipynb", ".json") or "_static" in path.parts:
            continue
        text = path.read_text(errors="replace")
        lines = {line.strip() for line in html_text(text).splitlines()} | set(text.splitlines())
        found += [f"{path.relative_to(out)}: marker {m!r}" for m in SECRET_MARKERS if m in text]
        found += [f"{path.relative_to(out)}: secret line {s!r}" for s in secrets if s in lines]
        found += [f"{path.relative_to(out)}: path {m!r}" for m in machine if m in text]
    assert not found, "\n".join(found[:40])


@pytest.fixture(scope="session")
def served(built):
    out, _ = built
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.needs("browser")
@pytest.mark.parametrize("name", ["index", "lectures/02_conv1d", "lectures/06_conv2d_step_through"])
def test_chromium_renders_math_and_animations(served, name):
    in_own_thread(check_page_in_chromium, served, name)


def check_page_in_chromium(served: str, name: str) -> None:
    """Open ``name``: no script error, every image shown, math typeset, the animation playing."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{served}/{name}.html")
        page.wait_for_load_state("networkidle")
        assert not errors, f"{name}: script errors {errors}"
        broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                               ".map(i => i.src)")
        assert broken == [], f"{name}: images not shown {broken}"
        if name != "index":
            page.wait_for_function("window.MathJax && window.MathJax.isReady === true", timeout=20_000)
            page.evaluate("new Promise(done => MathJax.Hub.Queue(() => done(true)))")  # typesetting over
            # Sphinx's formulas (MathJax's own output has spans of class "math" too)
            raw = page.evaluate("Array.from(document.querySelectorAll('.math.notranslate')).filter(e => "
                                "!e.querySelector('.MathJax, .MathJax_Display')).length")
            assert raw == 0, f"{name}: {raw} formulas left as TeX source"
            assert page.locator(".math.notranslate").count() > 0, f"{name}: no formula on the page"
            page.locator(".math.notranslate").first.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"{name.replace('/', '_')}__math.png"))
        gif = page.locator("img[src$='.gif']").first
        if gif.count():
            gif.scroll_into_view_if_needed()
            first = ARTIFACTS / f"{name.replace('/', '_')}__widget_a.png"
            second = ARTIFACTS / f"{name.replace('/', '_')}__widget_b.png"
            gif.screenshot(path=str(first))
            page.wait_for_timeout(1600)  # two frames later
            gif.screenshot(path=str(second))
            with Image.open(first) as a, Image.open(second) as b:
                assert ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox(), \
                    f"{name}: the widget's animation does not play"
        else:
            assert name == "index", f"{name}: no widget animation on the page"
        page.screenshot(path=str(ARTIFACTS / f"{name.replace('/', '_')}.png"))
        browser.close()
