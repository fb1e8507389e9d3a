"""Reading the instructor's nbgrader sources: one place for solution markers and cell lookup.

Used by tests and benchmarks only (never by students: ``utils/`` is what notebooks import).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

#: a line ``### BEGIN SOLUTION`` / ``### END SOLUTION`` (any indentation)
SOLUTION_MARKER = re.compile(r"^\s*###\s*(BEGIN|END)\s+SOLUTION\s*$")


def strip_solution_markers(source: str) -> str:
    """A solution cell's source without its ``### BEGIN/END SOLUTION`` lines."""
    return "\n".join(line for line in source.splitlines() if not SOLUTION_MARKER.match(line))


def nbgrader_cells(path: Path) -> dict[str, str]:
    """grade_id -> source (solution markers removed) of every nbgrader cell of a notebook."""
    notebook = nbformat.read(path, as_version=4)
    return {cell.metadata["nbgrader"]["grade_id"]: strip_solution_markers(cell.source)
            for cell in notebook.cells if "grade_id" in cell.metadata.get("nbgrader", {})}


def run_cells(path: Path, grade_ids: list[str]) -> dict:
    """Execute the given nbgrader cells of a notebook, in order, in one fresh namespace."""
    sources = nbgrader_cells(path)
    missing = [grade_id for grade_id in grade_ids if grade_id not in sources]
    if missing:
        raise KeyError(f"{path.name} has no cells {missing}")
    namespace: dict = {"__name__": "__notebook__"}
    for grade_id in grade_ids:
        exec(compile(sources[grade_id], f"{path.name}:{grade_id}", "exec"), namespace)
    return namespace
