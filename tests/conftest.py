"""Shared pytest setup: the venv's scripts on PATH (nbgrader calls ``alembic`` by name)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
_bin = str(Path(sys.executable).parent)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")


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
