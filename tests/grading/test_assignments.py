"""The autograder discriminates: every graded assignment is run through the real grader.

For each ``variants/<assignment_id>.py`` (format in ``variants/__init__.py``) the class of
``graded_classes.py`` holds, next to the attackers of ``test_integrity.py``:

* ``solution`` — the release with every solution cell replaced by the instructor's solution
  (``### BEGIN/END SOLUTION`` lines removed): full marks on every autograded item;
* ``blank`` — the release untouched: 0 on every autograded item;
* one student per ``Mistake`` — the solution submission with ``Mistake.cells`` replaced: 0 on
  exactly ``Mistake.loses``, full marks on every other autograded item, and ``Mistake.feedback``
  in the feedback it gets.

The class is graded as an instructor grades it (``python -m autograder grade`` with sandboxed,
pre-warmed kernels, then ``feedback``). Neither the release nor any feedback may contain a
solution, hidden test or mark scheme marker, or any line of the hidden tests.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from course import SECRET_MARKERS, hidden_test_lines, html_text
from graded_classes import RESERVED_STUDENTS, VARIANTS_DIR, GradedClass

ASSIGNMENTS = sorted(p.stem for p in VARIANTS_DIR.glob("*.py") if p.name != "__init__.py")

pytestmark = pytest.mark.needs("sandbox")


def _table(graded: GradedClass, students: list[str]) -> str:
    """Per-student scores on the autograded items, for assertion messages."""
    items = list(graded.test_sources)
    rows = [f"{'student':32s} " + " ".join(f"{item[:24]:>24s}" for item in items)]
    rows.append(f"{'(max)':32s} " + " ".join(f"{graded.max_scores[i]:24g}" for i in items))
    for student in students:
        points = graded.scores[student]
        rows.append(f"{student:32s} " + " ".join(f"{points.get(i, float('nan')):24g}" for i in items))
    return "\n".join(rows)


class Variants:
    """What the tests below read: the variant students of one graded class."""

    def __init__(self, graded: GradedClass) -> None:
        self.graded = graded
        self.assignment = graded.assignment
        self.mistakes = list(graded.variants.MISTAKES)
        self.students = [*RESERVED_STUDENTS, *(m.name for m in self.mistakes)]
        self.solution_cells = graded.solution_cells
        self.test_sources = graded.test_sources
        self.autograded = list(graded.test_sources)
        self.max_scores = graded.max_scores
        self.scores = {s: graded.scores[s] for s in self.students}
        self.feedback = {s: graded.feedback[s] for s in self.students}
        root, notebook = graded.root, graded.notebook
        release_path = root / "assignments" / self.assignment / f"{notebook}.ipynb"
        self.release_text = release_path.read_text()
        self.release_sources = "\n".join(c.source for c in nbformat.read(release_path, as_version=4).cells)
        self.hidden_lines = hidden_test_lines(
            nbformat.read(root / "solutions" / self.assignment / f"{notebook}.ipynb", as_version=4))
        self.seconds = graded.seconds

    def table(self) -> str:
        return _table(self.graded, self.students)


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, class_of) -> Variants:
    return Variants(class_of(request.param))


def test_variants_are_well_formed(graded: Variants):
    names = [m.name for m in graded.mistakes]
    assert len(names) == len(set(names)), f"duplicate mistake names: {names}"
    for mistake in graded.mistakes:
        assert re.fullmatch(r"[A-Za-z0-9_]+", mistake.name), mistake.name
        assert mistake.name not in RESERVED_STUDENTS, mistake.name
        assert mistake.cells, f"{mistake.name} changes no cell"
        unknown = set(mistake.cells) - set(graded.solution_cells)
        assert not unknown, f"{mistake.name}: {unknown} are not solution cells"
        unknown = set(mistake.loses) - set(graded.autograded)
        assert not unknown, f"{mistake.name}: {unknown} are not autograded items"
        assert mistake.loses, f"{mistake.name} loses nothing: it is not a mistake"


def test_three_mistakes_per_graded_function(graded: Variants):
    """A solution code cell is a graded function when an autograded test cell names it."""
    tests = "\n".join(graded.test_sources.values())
    functions = [gid for gid in graded.solution_cells if re.search(rf"\b{gid}\b", tests)]
    count = {gid: sum(gid in m.cells for m in graded.mistakes) for gid in functions}
    assert functions, "no graded function found"
    assert all(n >= 3 for n in count.values()), f"mistakes per graded function: {count}"


def test_solution_scores_full_marks(graded: Variants):
    points = graded.scores["solution"]
    short = {item: points.get(item) for item in graded.autograded
             if points.get(item) != graded.max_scores[item]}
    assert not short, (f"{graded.assignment}: the instructor's solution lost points on {short}\n"
                       f"{graded.table()}\n{html_text(graded.feedback['solution'])[-3000:]}")


def test_release_scores_zero(graded: Variants):
    points = graded.scores["blank"]
    earned = {item: points.get(item) for item in graded.autograded if points.get(item) != 0.0}
    assert not earned, f"{graded.assignment}: the untouched release earned {earned}\n{graded.table()}"


def test_each_mistake_loses_exactly_its_items(graded: Variants):
    wrong = []
    for mistake in graded.mistakes:
        points = graded.scores[mistake.name]
        for item in graded.autograded:
            expected = 0.0 if item in mistake.loses else graded.max_scores[item]
            if points.get(item) != expected:
                wrong.append(f"{mistake.name}: {item} scored {points.get(item)}, expected {expected}")
    assert not wrong, f"{graded.assignment}:\n" + "\n".join(wrong) + f"\n\n{graded.table()}"


def test_feedback_names_each_mistake(graded: Variants):
    missing = [f"{m.name}: {m.feedback!r}" for m in graded.mistakes
               if m.feedback and m.feedback not in html_text(graded.feedback[m.name])]
    assert not missing, f"{graded.assignment}: feedback does not name the mistake:\n" + "\n".join(missing)


def test_every_student_got_feedback(graded: Variants):
    missing = [student for student, page in graded.feedback.items() if not page]
    assert not missing, f"{graded.assignment}: no feedback for {missing}"


def test_release_and_feedback_hide_solutions_and_hidden_tests(graded: Variants):
    assert graded.hidden_lines, f"{graded.assignment} has no hidden tests"
    documents = {"release": graded.release_text + "\n" + graded.release_sources}
    documents.update({f"feedback of {s}": html_text(page) for s, page in graded.feedback.items()})
    leaks = []
    for name, text in documents.items():
        leaks += [f"{name}: {marker}" for marker in SECRET_MARKERS if marker in text]
        lines = {line.strip() for line in text.splitlines()}
        leaks += [f"{name}: hidden line {line!r}" for line in sorted(graded.hidden_lines & lines)]
    assert not leaks, f"{graded.assignment}:\n" + "\n".join(leaks[:20])


def test_grading_time_is_reported(graded: Variants, record_property):
    record_property(f"{graded.assignment}_grading_seconds", round(graded.seconds, 1))
    students = len(graded.graded.scores)
    print(f"{graded.assignment}: {students} submissions graded in {graded.seconds:.0f} s")
    assert len(graded.scores) == len(graded.mistakes) + len(RESERVED_STUDENTS)
