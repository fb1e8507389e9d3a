"""The autograder discriminates: every graded assignment is run through the real nbgrader.

For each ``tests/variants/<assignment_id>.py`` (format in ``tests/variants/__init__.py``) a
throw-away course is released with ``nbgrader generate_assignment`` and a class is submitted:

* ``solution`` — the release with every solution cell replaced by the instructor's solution
  (``### BEGIN/END SOLUTION`` lines removed): full marks on every autograded item;
* ``blank`` — the release untouched: 0 on every autograded item;
* one student per ``Mistake`` — the solution submission with ``Mistake.cells`` replaced: 0 on
  exactly ``Mistake.loses``, full marks on every other autograded item, and ``Mistake.feedback``
  in the feedback it gets.

The class is graded by one ``nbgrader autograde`` and one ``generate_feedback`` per assignment
(module-scoped fixture). Neither the release nor any feedback may contain a solution, hidden
test or mark scheme marker, or any line of the hidden tests.

Assignments are graded in background threads, two at a time (each in its own course root and
gradebook, one BLAS/torch thread per kernel), as soon as the first test needs one: grading is
mostly kernel start-up and ``import torch``, and two workers on two cores nearly halve the
wall time. Only the assignments whose tests were selected are graded.
"""

from __future__ import annotations

import copy
import html
import importlib.util
import re
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import nbformat
import pytest
from course import course_copy, run_nbgrader, submit

VARIANTS_DIR = Path(__file__).parent / "variants"
VARIANT_FILES = sorted(p for p in VARIANTS_DIR.glob("*.py") if p.name != "__init__.py")
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
SECRET_MARKERS = ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "BEGIN MARK SCHEME")
RESERVED_STUDENTS = ("solution", "blank")
#: hidden-test lines shorter than this are too generic to prove a leak (``continue``, ``else:``)
MIN_SECRET_LINE = 16
WORKERS = 2
#: one thread per library in each kernel: two graders share two cores
GRADING_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def load_variants(path: Path) -> ModuleType:
    """Import a variants module by file path (``tests/`` is on sys.path, see conftest)."""
    spec = importlib.util.spec_from_file_location(f"variants_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def grading(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def is_autograded(cell) -> bool:
    """A test cell: graded, not a solution (written answers are graded by hand)."""
    return bool(grading(cell).get("grade")) and not grading(cell).get("solution")


def strip_solution_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if line.strip() not in SOLUTION_MARKERS)


def hidden_test_lines(source_nb) -> set[str]:
    """Stripped lines that occur only inside hidden-test blocks of the source notebook.

    A leak is such a line appearing as a whole line of the release or of a feedback page's text.
    """
    hidden, elsewhere = set(), set()
    for cell in source_nb.cells:
        inside = False
        for line in cell.source.splitlines():
            text = line.strip()
            if text == HIDDEN_BEGIN:
                inside = True
            elif text == HIDDEN_END:
                inside = False
            elif text:
                (hidden if inside else elsewhere).add(text)
    return {line for line in hidden - elsewhere if len(line) >= MIN_SECRET_LINE}


def html_text(page: str) -> str:
    """Visible text of an HTML page: no style/script blocks, no tags, entities decoded."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.DOTALL | re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@dataclass
class GradedClass:
    """Everything the tests read about one graded assignment."""

    assignment: str
    notebook: str
    mistakes: list
    solution_cells: dict[str, str]
    test_sources: dict[str, str]
    max_scores: dict[str, float]
    scores: dict[str, dict[str, float]]
    feedback: dict[str, str]
    release_text: str
    release_sources: str
    hidden_lines: set[str]
    seconds: float
    log: str = ""

    @property
    def autograded(self) -> list[str]:
        return list(self.test_sources)

    def table(self) -> str:
        """Per-student scores on the autograded items, for assertion messages."""
        rows = [f"{'student':32s} " + " ".join(f"{item[:24]:>24s}" for item in self.autograded)]
        rows.append(f"{'(max)':32s} " + " ".join(f"{self.max_scores[i]:24g}" for i in self.autograded))
        for student, points in self.scores.items():
            rows.append(f"{student:32s} " + " ".join(f"{points.get(i, float('nan')):24g}"
                                                     for i in self.autograded))
        return "\n".join(rows)


def build_class(root: Path, module: ModuleType) -> tuple[dict, dict]:
    """Release the assignment and place the class's submissions; return (solutions, tests)."""
    assignment, notebook = module.ASSIGNMENT, module.NOTEBOOK
    run_nbgrader(root, "generate_assignment", assignment, "--force")
    source = nbformat.read(root / "solutions" / assignment / f"{notebook}.ipynb", as_version=4)
    release = nbformat.read(root / "assignments" / assignment / f"{notebook}.ipynb", as_version=4)
    solutions = {grading(c)["grade_id"]: strip_solution_markers(c.source)
                 for c in source.cells if grading(c).get("solution")}
    tests = {grading(c)["grade_id"]: c.source for c in source.cells if is_autograded(c)}

    def answered(replacements: dict[str, str]) -> nbformat.NotebookNode:
        notebook_copy = copy.deepcopy(release)
        for cell in notebook_copy.cells:
            grade_id = grading(cell).get("grade_id")
            if grade_id in solutions:
                cell.source = replacements.get(grade_id, solutions[grade_id])
        return notebook_copy

    submit(root, assignment, "solution", answered({}), notebook)
    submit(root, assignment, "blank", release, notebook)
    for mistake in module.MISTAKES:
        submit(root, assignment, mistake.name, answered(mistake.cells), notebook)
    return solutions, tests


def grade(path: Path, tmp: Path) -> GradedClass:
    """Release, submit, autograde and give feedback to one assignment's class."""
    start = time.perf_counter()
    module = load_variants(path)
    assignment, notebook = module.ASSIGNMENT, module.NOTEBOOK
    root = course_copy(tmp, [assignment])
    solutions, tests = build_class(root, module)
    result = run_nbgrader(root, "autograde", assignment, "--force", env=GRADING_ENV)
    run_nbgrader(root, "generate_feedback", assignment, "--force")

    from nbgrader.api import Gradebook

    students = [*RESERVED_STUDENTS, *(m.name for m in module.MISTAKES)]
    scores, feedback = {}, {}
    with Gradebook(f"sqlite:///{root / 'autograder' / 'gradebook.db'}") as gradebook:
        nb = gradebook.find_notebook(notebook, assignment)
        max_scores = {cell.name: float(cell.max_score) for cell in nb.grade_cells}
        for student in students:
            submission = gradebook.find_submission_notebook(notebook, assignment, student)
            scores[student] = {g.name: float(g.score) for g in submission.grades}
    for student in students:
        page = root / "autograder" / "feedback" / student / assignment / f"{notebook}.html"
        feedback[student] = page.read_text() if page.exists() else ""

    release_path = root / "assignments" / assignment / f"{notebook}.ipynb"
    release = nbformat.read(release_path, as_version=4)
    source = nbformat.read(root / "solutions" / assignment / f"{notebook}.ipynb", as_version=4)
    return GradedClass(
        assignment=assignment, notebook=notebook, mistakes=list(module.MISTAKES),
        solution_cells=solutions, test_sources=tests, max_scores=max_scores, scores=scores,
        feedback=feedback, release_text=release_path.read_text(),
        release_sources="\n".join(cell.source for cell in release.cells),
        hidden_lines=hidden_test_lines(source), seconds=time.perf_counter() - start,
        log=result.stderr[-3000:])


@pytest.fixture(scope="session")
def grading_jobs(request, tmp_path_factory):
    """Start grading every selected assignment (two at a time) when the first one is needed."""
    selected = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        path = callspec.params.get("graded") if callspec else None
        # other modules may parametrize a fixture of the same name: only this module's count
        if isinstance(path, Path) and path in VARIANT_FILES and path not in selected:
            selected.append(path)
    executor = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="grade")
    jobs: dict[Path, Future] = {
        path: executor.submit(grade, path, tmp_path_factory.mktemp(path.stem))
        for path in selected}
    yield jobs
    executor.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module", params=VARIANT_FILES, ids=lambda p: p.stem)
def graded(request, grading_jobs) -> GradedClass:
    return grading_jobs[request.param].result()


def test_variants_are_well_formed(graded: GradedClass):
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


def test_three_mistakes_per_graded_function(graded: GradedClass):
    """A solution code cell is a graded function when an autograded test cell names it."""
    tests = "\n".join(graded.test_sources.values())
    functions = [gid for gid in graded.solution_cells if re.search(rf"\b{gid}\b", tests)]
    count = {gid: sum(gid in m.cells for m in graded.mistakes) for gid in functions}
    assert functions, "no graded function found"
    assert all(n >= 3 for n in count.values()), f"mistakes per graded function: {count}"


def test_solution_scores_full_marks(graded: GradedClass):
    points = graded.scores["solution"]
    short = {item: points.get(item) for item in graded.autograded
             if points.get(item) != graded.max_scores[item]}
    assert not short, (f"{graded.assignment}: the instructor's solution lost points on {short}\n"
                       f"{graded.table()}\n{html_text(graded.feedback['solution'])[-3000:]}")


def test_release_scores_zero(graded: GradedClass):
    points = graded.scores["blank"]
    earned = {item: points.get(item) for item in graded.autograded if points.get(item) != 0.0}
    assert not earned, f"{graded.assignment}: the untouched release earned {earned}\n{graded.table()}"


def test_each_mistake_loses_exactly_its_items(graded: GradedClass):
    wrong = []
    for mistake in graded.mistakes:
        points = graded.scores[mistake.name]
        for item in graded.autograded:
            expected = 0.0 if item in mistake.loses else graded.max_scores[item]
            if points.get(item) != expected:
                wrong.append(f"{mistake.name}: {item} scored {points.get(item)}, expected {expected}")
    assert not wrong, f"{graded.assignment}:\n" + "\n".join(wrong) + f"\n\n{graded.table()}"


def test_feedback_names_each_mistake(graded: GradedClass):
    missing = [f"{m.name}: {m.feedback!r}" for m in graded.mistakes
               if m.feedback and m.feedback not in html_text(graded.feedback[m.name])]
    assert not missing, f"{graded.assignment}: feedback does not name the mistake:\n" + "\n".join(missing)


def test_every_student_got_feedback(graded: GradedClass):
    missing = [student for student, page in graded.feedback.items() if not page]
    assert not missing, f"{graded.assignment}: no feedback for {missing}"


def test_release_and_feedback_hide_solutions_and_hidden_tests(graded: GradedClass):
    assert graded.hidden_lines, f"{graded.assignment} has no hidden tests"
    documents = {"release": graded.release_text + "\n" + graded.release_sources}
    documents.update({f"feedback of {s}": html_text(page) for s, page in graded.feedback.items()})
    leaks = []
    for name, text in documents.items():
        leaks += [f"{name}: {marker}" for marker in SECRET_MARKERS if marker in text]
        lines = {line.strip() for line in text.splitlines()}
        leaks += [f"{name}: hidden line {line!r}" for line in sorted(graded.hidden_lines & lines)]
    assert not leaks, f"{graded.assignment}:\n" + "\n".join(leaks[:20])


def test_grading_time_is_reported(graded: GradedClass, record_property):
    record_property(f"{graded.assignment}_grading_seconds", round(graded.seconds, 1))
    students = len(graded.scores)
    print(f"{graded.assignment}: {students} submissions graded in {graded.seconds:.0f} s")
    assert students == len(graded.mistakes) + len(RESERVED_STUDENTS)
