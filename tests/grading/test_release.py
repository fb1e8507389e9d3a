"""The student release in assignments/ is exactly what nbgrader generates from solutions/."""

from __future__ import annotations

from pathlib import Path

import nbformat
from course import REPO, course_copy, run_nbgrader

ASSIGNMENT_IDS = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())


def _normalised(path: Path) -> list[tuple]:
    """What matters in a release notebook: each cell's type, source and nbgrader metadata."""
    notebook = nbformat.read(path, as_version=4)
    cells = []
    for cell in notebook.cells:
        grading = dict(cell.metadata.get("nbgrader", {}))
        grading.pop("checksum", None)
        cells.append((cell.cell_type, cell.source, sorted(grading.items())))
    return cells


def test_release_is_what_nbgrader_generates_from_solutions(tmp_path):
    assert ASSIGNMENT_IDS, "solutions/ holds no assignment"
    root = course_copy(tmp_path, ASSIGNMENT_IDS)
    for assignment_id in ASSIGNMENT_IDS:
        run_nbgrader(root, "generate_assignment", assignment_id, "--force")
    generated = sorted(p.relative_to(root) for p in (root / "assignments").rglob("*")
                       if p.is_file())
    committed = sorted(p.relative_to(REPO) for p in (REPO / "assignments").rglob("*")
                       if p.is_file() and ".ipynb_checkpoints" not in p.parts)
    assert generated == committed, "assignments/ and nbgrader's release list different files"
    stale = [str(rel) for rel in generated if rel.suffix == ".ipynb"
             and _normalised(root / rel) != _normalised(REPO / rel)]
    stale += [str(rel) for rel in generated if rel.suffix != ".ipynb"
              and (root / rel).read_bytes() != (REPO / rel).read_bytes()]
    assert not stale, f"out of date, run `make release`: {stale}"
