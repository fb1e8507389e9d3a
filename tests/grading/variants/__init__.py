"""Common-mistake submissions, kept as data and fed through the real ``nbgrader autograde``.

One module per assignment (``tests/variants/<assignment_id>.py``) defines::

    ASSIGNMENT = "a1_conv1d"      # folder in solutions/ and assignments/
    NOTEBOOK = "conv1d"           # notebook name without .ipynb
    MISTAKES = [Mistake(...), ...]

A submission is built from the release: every solution cell gets the instructor's solution
(markers removed), then each ``Mistake`` replaces the source of the cells it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devtools.solutions import nbgrader_cells

SOLUTIONS = Path(__file__).resolve().parents[3] / "solutions"


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer and what grading must make of it.

    Attributes:
        name: short id, used as the student id (letters, digits, underscores).
        cells: grade_id of a solution cell -> its full new source.
        loses: grade ids of the test cells that must score 0; every other autograded
            item must keep full marks.
        feedback: text the student's feedback HTML must contain (the visible test's message
            that names the mistake); empty if only hidden tests catch it.
    """

    name: str
    cells: dict[str, str]
    loses: tuple[str, ...]
    feedback: str = ""


class SolutionEditor:
    """Builds wrong answers from the instructor's solution cells of one assignment notebook."""

    def __init__(self, assignment: str, notebook: str) -> None:
        self.assignment = assignment
        self.source = SOLUTIONS / assignment / f"{notebook}.ipynb"

    def solution(self, grade_id: str) -> str:
        """The source of solution cell ``grade_id`` without its ``### BEGIN/END SOLUTION`` lines."""
        cells = nbgrader_cells(self.source)
        if grade_id not in cells:
            raise KeyError(f"{self.source.name} has no cell {grade_id!r}")
        return cells[grade_id]

    def edit(self, grade_id: str, *replacements: tuple[str, str]) -> dict[str, str]:
        """{grade_id: solution source with each (old, new) applied}; each old text must occur once."""
        source = self.solution(grade_id)
        for old, new in replacements:
            assert source.count(old) == 1, \
                f"{self.assignment}/{grade_id}: {old!r} is not in the solution once"
            source = source.replace(old, new)
        return {grade_id: source}
