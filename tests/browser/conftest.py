"""Fixtures of the browser suite: one JupyterLab server on a copy of the course, one Chromium.

The server runs on a temporary copy of the repository (notebooks are run and saved there, the
formgrader's gradebook is created there), with its own settings/config/workspace folders.
Lectures are run two at a time in separate tabs (the machine has two cores; kernels get one
thread each): while a test checks lecture N, lecture N+1 already runs.

Environment knobs (all optional):
  CNN_COURSE_BROWSER_PARALLEL   notebooks run at once (default 2)
  CNN_COURSE_BROWSER_LECTURES   another folder of lecture notebooks (to develop the suite)
  CNN_COURSE_CHROMIUM           the browser binary (default /usr/bin/chromium)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lab_driver import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LabServer,
    copy_course,
    open_notebook,
    run_all_state,
    start_run_all,
)

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
PARALLEL = int(os.environ.get("CNN_COURSE_BROWSER_PARALLEL", "2"))
LECTURE_SOURCE = Path(os.environ.get("CNN_COURSE_BROWSER_LECTURES", REPO / "lectures"))
RUN_ALL_TIMEOUT_S = 420


def discover_lectures() -> list[str]:
    """Names of the lecture notebooks (found when the tests are collected)."""
    return sorted(p.name for p in LECTURE_SOURCE.glob("*.ipynb"))


@pytest.fixture(scope="session")
def browser_report():
    """Figures gathered by the suite, written to test-artifacts/browser-report.json."""
    report = {"started": time.time(), "parallel": PARALLEL, "lectures": {}, "nbgrader": {}}
    yield report
    report["suite_seconds"] = round(time.time() - report.pop("started"), 1)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "browser-report.json").write_text(json.dumps(report, indent=2))


@pytest.fixture(scope="session")
def course_root(tmp_path_factory) -> Path:
    root = copy_course(REPO, tmp_path_factory.mktemp("lab") / "course")
    if LECTURE_SOURCE != REPO / "lectures":
        shutil.rmtree(root / "lectures", ignore_errors=True)
        (root / "lectures").mkdir()
        for path in LECTURE_SOURCE.glob("*.ipynb"):
            shutil.copy(path, root / "lectures" / path.name)
    return root


@pytest.fixture(scope="session")
def lab_server(course_root, tmp_path_factory):
    server = LabServer(root=course_root, workdir=tmp_path_factory.mktemp("lab-home"),
                       kernel_threads=1 if PARALLEL > 1 else 2)
    server.start()
    yield server
    try:
        server.shutdown_kernels()
    except OSError:
        pass
    server.stop()


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        yield browser
        browser.close()


def new_page(browser, errors: list[str]):
    """A page in a fresh context that records uncaught page errors into ``errors``."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.on("pageerror", lambda err: errors.append(f"{err.name}: {err.message}"))
    return page


@dataclass
class LectureRun:
    name: str
    rel_path: str
    page: object = None
    page_errors: list[str] = field(default_factory=list)
    started: float = 0.0
    seconds: float | None = None
    prompts: list[str] = field(default_factory=list)
    closed: bool = False
    reruns: int = 0


class LectureRunner:
    """Runs the selected lectures (Run All) ``parallel`` at a time, in test order."""

    def __init__(self, server: LabServer, browser, order: list[str], parallel: int):
        self.server, self.browser, self.order, self.parallel = server, browser, order, parallel
        self.runs: dict[str, LectureRun] = {}
        self.failed_starts: dict[str, str] = {}

    def _start(self, name: str) -> LectureRun:
        run = LectureRun(name, f"lectures/{name}")
        run.page = new_page(self.browser, run.page_errors)
        try:
            open_notebook(run.page, self.server, run.rel_path)
            run.started = time.monotonic()
            start_run_all(run.page)
        except Exception:
            run.page.screenshot(path=str(screenshot_path(f"FAILED_START__{name}.png")))
            run.page.context.close()
            self.server.shutdown_kernels(run.rel_path)
            raise
        self.runs[name] = run
        return run

    def _in_flight(self) -> int:
        return sum(1 for r in self.runs.values() if not r.closed)

    def _prefetch(self, name: str) -> None:
        position = self.order.index(name) if name in self.order else len(self.order)
        for other in self.order[position + 1:]:
            if self._in_flight() >= self.parallel:
                break
            if other not in self.runs and other not in self.failed_starts:
                try:
                    self._start(other)
                except Exception as err:  # its own test starts it again and reports
                    self.failed_starts[other] = repr(err)

    def _poll(self, run: LectureRun) -> bool:
        if run.seconds is None:
            done, run.prompts = run_all_state(run.page)
            unrun = [p for p in run.prompts if not re.search(r"\d", p)]
            if done and unrun and run.reruns < 1:
                # Run All ended with cells never run. Seen once on a loaded machine: JupyterLab
                # replaced the kernel it had just started, which dropped the queued cells. Run
                # All once more; a cell that really fails fails again and is reported then.
                run.reruns += 1
                print(f"{run.name}: Run All stopped early ({len(unrun)} cells not run); again")
                start_run_all(run.page)
                return False
            if done:
                run.seconds = time.monotonic() - run.started
        return run.seconds is not None

    def run(self, name: str) -> LectureRun:
        run = self.runs.get(name) or self._start(name)
        self._prefetch(name)
        deadline = run.started + RUN_ALL_TIMEOUT_S
        while not self._poll(run):
            for other in self.runs.values():  # note finish times of the others too
                if other is not run and not other.closed:
                    self._poll(other)
            if time.monotonic() > deadline:
                raise AssertionError(f"{name}: Run All did not finish in {RUN_ALL_TIMEOUT_S} s; "
                                     f"prompts: {run.prompts}")
            time.sleep(0.5)
        return run

    def finish(self, name: str) -> None:
        run = self.runs.get(name)
        if run is None or run.closed:
            return
        run.closed = True
        try:
            run.page.context.close()
        finally:
            self.server.shutdown_kernels(run.rel_path)
        self._prefetch(name)


@pytest.fixture(scope="session")
def lecture_runner(request, lab_server, chromium):
    order = [item.callspec.params["lecture"] for item in request.session.items
             if hasattr(item, "callspec") and "lecture" in item.callspec.params]
    runner = LectureRunner(lab_server, chromium, order, PARALLEL)
    yield runner
    for name in list(runner.runs):
        runner.finish(name)


@pytest.fixture()
def page_for(lab_server, chromium):
    """Factory of pages (closed after the test) that collect page errors."""
    pages = []

    def make():
        errors: list[str] = []
        page = new_page(chromium, errors)
        pages.append(page)
        return page, errors

    yield make
    for page in pages:
        page.context.close()


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / name
