"""Static checks of the part-2 lectures (05-09): structure, and that the seeds' numbers are asserted.

Executing the notebooks is the generic notebook test's job; these checks take milliseconds.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

LECTURES = Path(__file__).resolve().parents[2] / "lectures"
PART2 = {
    "05": ("a2_conv2d", ["[[4, 3, 4], [2, 4, 3], [2, 3, 4]]",
                         "[[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]]",
                         "[[-1, -1, -1, -1], [-1, -1, -2, 1], [-1, -1, -2, 1], [-1, 0, -4, 3]]",
                         "[308, -498, 164]", "-25"]),
    "06": ("a2_conv2d", ["[[4, 3, 4], [2, 4, 3], [2, 3, 4]]", "== 148"]),
    "07": ("a2_conv2d", ["== 760", "== 17", "== 1728"]),
    "08": ("a2_conv2d", ["(1, 16, 75, 75)", ">= 0.5"]),
    "09": ("a3_receptive_fields", ["[3, 5, 7, 9]", "[3, 7, 15, 31]"]),
}


def _notebook(number: str) -> nbformat.NotebookNode:
    paths = sorted(LECTURES.glob(f"{number}_*.ipynb"))
    assert len(paths) == 1, f"expected one lectures/{number}_*.ipynb, found {paths}"
    return nbformat.read(paths[0], as_version=4)


@pytest.mark.parametrize("number", sorted(PART2))
def test_part2_lecture_structure(number):
    notebook = _notebook(number)
    assignment, seed_numbers = PART2[number]
    assert notebook.metadata["kernelspec"] == {
        "name": "cnn-course", "display_name": "Python (cnn-course)", "language": "python"}
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    markdown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    assert "import utils" in code[0].source
    widget_cells = [cell for cell in code if re.fullmatch(r"utils\.viz_\w+\.\w+\(\)", cell.source)]
    assert len(widget_cells) == 1, "one widget cell, written as one line"
    assert "$$" in markdown, "the math in LaTeX"
    assert markdown.count("<details>") >= 3, "self-check questions with answers"
    assert f"assignments/{assignment}/" in markdown
    asserts = "\n".join(line for cell in code for line in cell.source.splitlines()
                        if line.lstrip().startswith("assert"))
    for number_text in seed_numbers:
        assert number_text in asserts, f"lecture {number} must assert {number_text}"
