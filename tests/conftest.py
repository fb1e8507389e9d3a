"""Shared pytest setup: tiers by folder, the venv's scripts on PATH (nbgrader calls ``alembic``).

The tier of a test is the folder it lives in, never a marker someone may forget:

    tests/unit/       fast: pure functions, widgets headless, repository hygiene (``make check``)
    tests/notebooks/  slow: every lecture and solution notebook in a fresh kernel
    tests/grading/    slow: nbgrader, the sandbox, the integrity attacks, PostgreSQL
    tests/browser/    browser: JupyterLab in headless Chromium
    tests/site/       slow: the static course site (``make site``) built and read in Chromium

System parts (``devtools/system.py``): a test that needs one says so with
``@pytest.mark.needs("postgres")`` (the browser folder needs "browser"). A missing part fails the
test with the reason; a part the user left out (``make test SKIP=browser``) deselects its tests,
and the run ends with one line per part left out.
"""

import os
import sys
from pathlib import Path

import pytest

from devtools import system

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS))
_bin = str(Path(sys.executable).parent)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")

#: no test downloads: a dataset that is missing fails at once (the loaders say what to install)
#: instead of being fetched; tests of the downloader serve their own files on 127.0.0.1
NO_DOWNLOADS = "http://127.0.0.1:9/no-downloads-in-tests/"
os.environ["CNN_COURSE_FASHION_MNIST_URL"] = NO_DOWNLOADS + "fashion-mnist/"
os.environ["CNN_COURSE_CIFAR10_URL"] = NO_DOWNLOADS + "cifar-10-python.tar.gz"

PARTS = {part.name: part for part in system.PARTS}
_present: dict[str, bool] = {}
_left_out: dict[str, int] = {}
_run_elsewhere: list[str] = []

TIER_MARKS = {"unit": (), "notebooks": ("slow",), "grading": ("slow",), "browser": ("browser",),
              "site": ("slow",)}


def tier_of(path: Path) -> str:
    """The tier folder of a test file, e.g. ``tests/grading/test_x.py`` -> ``"grading"``."""
    relative = path.resolve().relative_to(TESTS.resolve())
    if len(relative.parts) < 2 or relative.parts[0] not in TIER_MARKS:
        raise pytest.UsageError(f"{path}: every test lives in one of tests/{{{','.join(TIER_MARKS)}}}/")
    return relative.parts[0]


def pytest_configure(config):
    config.addinivalue_line("markers", "needs(part): the test needs a system part of devtools/system.py")


def needed_parts(item) -> set[str]:
    """System parts a test needs: its ``needs`` marks, and "browser" for the browser tier."""
    parts = {name for mark in item.iter_markers("needs") for name in mark.args}
    unknown = parts - set(PARTS)
    if unknown:
        raise pytest.UsageError(f"{item.nodeid}: needs unknown parts {sorted(unknown)}")
    if tier_of(Path(item.fspath)) == "browser":
        parts.add("browser")
    return parts


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark each test by its folder (before ``-m`` selects by those marks)."""
    for item in items:
        tier = tier_of(Path(item.fspath))
        if tier == "unit" and item.get_closest_marker("slow"):
            raise pytest.UsageError(f"{item.nodeid}: marked slow but lives in tests/unit/; move it")
        for mark in TIER_MARKS[tier]:
            item.add_marker(mark)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """After ``-m``/``-k``: leave out the parts the user skipped, and lectures run twice.

    A lecture that the browser suite runs in this session (Run All in JupyterLab, checked for
    error outputs and unexecuted cells) is not also run by ``tests/notebooks`` in a plain kernel.
    """
    items, left_out = session.items, system.skipped_parts()
    dropped = []
    for item in items:
        skipped_here = needed_parts(item) & left_out
        for part in skipped_here:
            _left_out[part] = _left_out.get(part, 0) + 1
        if skipped_here:
            dropped.append(item)
    in_browser = {item.callspec.params["lecture"] for item in items
                  if item not in dropped and item.originalname == "test_lecture_runs_and_widgets_respond"}
    for item in items:
        if (item.originalname == "test_notebook_runs_in_fresh_kernel"
                and item.callspec.params["path"].parent.name == "lectures"
                and item.callspec.params["path"].name in in_browser):
            dropped.append(item)
            _run_elsewhere.append(item.callspec.params["path"].name)
    if dropped:
        session.config.hook.pytest_deselected(items=dropped)
        session.items = [item for item in items if item not in dropped]


def pytest_runtest_setup(item):
    """A test whose system part is missing fails, naming the part and how to get it."""
    for name in sorted(needed_parts(item)):
        if name not in _present:
            _present[name] = PARTS[name].present()
        if not _present[name]:
            part = PARTS[name]
            pytest.fail(f"{name} is missing ({part.without}): apt-get install {part.package}, "
                        f"or leave it out with  make test SKIP={name}", pytrace=False)


def pytest_terminal_summary(terminalreporter):
    """Say which parts were left out, and print the slowest notebooks (fresh-kernel wall time)."""
    for name, count in sorted(_left_out.items()):
        terminalreporter.write_line(
            f"LEFT OUT: {name} (SKIP={name}): {count} tests not run; {PARTS[name].without}",
            yellow=True, bold=True)
    if _run_elsewhere:
        terminalreporter.write_line(
            f"{len(_run_elsewhere)} lectures are run by the browser suite (Run All in JupyterLab), "
            "not again by tests/notebooks")
    timings = []
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        for key, value in getattr(report, "user_properties", []):
            if key == "notebook_seconds" and report.when == "call":
                timings.append((value, report.nodeid.split("[")[-1].rstrip("]")))
    if timings:
        terminalreporter.section("notebook wall time (fresh kernel), slowest first")
        for seconds, name in sorted(timings, reverse=True)[:20]:
            terminalreporter.write_line(f"{seconds:7.1f} s  {name}")
