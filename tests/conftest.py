"""Shared pytest setup: tiers by folder, the venv's scripts on PATH (nbgrader calls ``alembic``).

The tier of a test is the folder it lives in, never a marker someone may forget:

    tests/unit/       fast: pure functions, widgets headless, repository hygiene (``make check``)
    tests/notebooks/  slow: every lecture and solution notebook in a fresh kernel
    tests/grading/    slow: nbgrader, the sandbox, the integrity attacks, PostgreSQL
    tests/browser/    browser: JupyterLab in headless Chromium
"""

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS))
_bin = str(Path(sys.executable).parent)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")

TIER_MARKS = {"unit": (), "notebooks": ("slow",), "grading": ("slow",), "browser": ("browser",)}


def tier_of(path: Path) -> str:
    """The tier folder of a test file, e.g. ``tests/grading/test_x.py`` -> ``"grading"``."""
    relative = path.resolve().relative_to(TESTS.resolve())
    if len(relative.parts) < 2 or relative.parts[0] not in TIER_MARKS:
        raise pytest.UsageError(f"{path}: every test lives in one of tests/{{{','.join(TIER_MARKS)}}}/")
    return relative.parts[0]


def pytest_collection_modifyitems(config, items):
    """Mark each test by its folder; a unit test that asks to be slow is a mistake, said so."""
    for item in items:
        tier = tier_of(Path(item.fspath))
        if tier == "unit" and item.get_closest_marker("slow"):
            raise pytest.UsageError(f"{item.nodeid}: marked slow but lives in tests/unit/; move it")
        for mark in TIER_MARKS[tier]:
            item.add_marker(mark)


def pytest_terminal_summary(terminalreporter):
    """Print the slowest notebooks (their fresh-kernel wall time) at the end of the run."""
    timings = []
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        for key, value in getattr(report, "user_properties", []):
            if key == "notebook_seconds" and report.when == "call":
                timings.append((value, report.nodeid.split("[")[-1].rstrip("]")))
    if timings:
        terminalreporter.section("notebook wall time (fresh kernel), slowest first")
        for seconds, name in sorted(timings, reverse=True)[:20]:
            terminalreporter.write_line(f"{seconds:7.1f} s  {name}")
