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
