"""Every lecture and every solution notebook runs top to bottom in a fresh kernel.

A failure names the notebook, the cell and its source. Each run's wall time is recorded
(``record_property``) and the slowest are printed at the end of the session (conftest).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from course import REPO

from devtools.notebooks import execute_notebook

NOTEBOOKS = sorted(REPO.glob("lectures/*.ipynb")) + sorted(REPO.glob("solutions/*/*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_notebook_runs_in_fresh_kernel(path: Path, record_property):
    run = execute_notebook(path, timeout=600)
    record_property("notebook_seconds", round(run.seconds, 1))
    errors = [out for cell in run.notebook.cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors, f"{path}: error outputs {errors}"


def test_there_are_notebooks_to_run():
    assert (REPO / "lectures" / "00_start_here.ipynb") in NOTEBOOKS
