"""One class per assignment, graded once by the course CLI, read by two test modules.

The class of an assignment holds the submissions ``test_assignments.py`` needs (the instructor's
solution, the untouched release, one student per common mistake of ``variants/<id>.py``) and
those ``test_integrity.py`` needs (one student per attack of ``attacks.py``, and the honest
wrong answer each attack is built on). Grading them together, as an instructor grades a class
(``python -m autograder grade ID -j 2`` with pre-warmed sandboxed kernels, then ``feedback``),
costs one kernel start-up per student instead of one class per test module.
"""

from __future__ import annotations

import copy
import importlib.util
import time
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess
from types import ModuleType

import nbformat
from attacks import TARGETS, attack_sources, submission
from course import course_copy, run_nbgrader, submit
from fixtures_grading import run_cli

from devtools.solutions import strip_solution_markers

VARIANTS_DIR = Path(__file__).parent / "variants"
RESERVED_STUDENTS = ("solution", "blank")
ATTACKER_PREFIX = "atk_"


def load_variants(assignment: str) -> ModuleType:
    """The mistake variants of an assignment (``variants/<assignment>.py``)."""
    path = VARIANTS_DIR / f"{assignment}.py"
    spec = importlib.util.spec_from_file_location(f"variants_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def grading(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def is_autograded(cell) -> bool:
    """A test cell: graded, not a solution (written answers are graded by hand)."""
    return bool(grading(cell).get("grade")) and not grading(cell).get("solution")


def solution_modes(root: Path) -> dict[str, int]:
    """Mode bits of every file under ``solutions/`` (grading must chmod none of them)."""
    return {str(p.relative_to(root)): p.stat().st_mode
            for p in (root / "solutions").rglob("*") if p.is_file()}


@dataclass
class GradedClass:
    """One assignment's class after ``grade`` and ``feedback``."""

    assignment: str
    notebook: str
    root: Path
    variants: ModuleType | None
    attackers: dict[str, str]          # attack name -> student id
    solution_cells: dict[str, str]     # grade_id -> the instructor's solution source
    test_sources: dict[str, str]       # grade_id -> source of each autograded test cell
    max_scores: dict[str, float]
    scores: dict[str, dict[str, float]]  # student -> grade_id -> points
    feedback: dict[str, str]           # student -> feedback HTML ('' when none)
    modes_before: dict[str, int]
    grade_run: CompletedProcess
    feedback_run: CompletedProcess
    seconds: float

    def total(self, student: str) -> float:
        return sum(self.scores[student].values())


def _release_and_sources(root: Path, assignment: str, notebook: str):
    run_nbgrader(root, "generate_assignment", assignment, "--force")
    source = nbformat.read(root / "solutions" / assignment / f"{notebook}.ipynb", as_version=4)
    release = nbformat.read(root / "assignments" / assignment / f"{notebook}.ipynb", as_version=4)
    return source, release


def _submit_variants(root: Path, module: ModuleType, source, release) -> dict[str, str]:
    """Solution, blank and one student per mistake; returns the solution cells."""
    assignment, notebook = module.ASSIGNMENT, module.NOTEBOOK
    solutions = {grading(c)["grade_id"]: strip_solution_markers(c.source)
                 for c in source.cells if grading(c).get("solution")}

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
    return solutions


def _submit_attacks(root: Path, assignment: str, release) -> dict[str, str]:
    target = TARGETS[assignment]
    attackers = {}
    for name, (answer, extra) in attack_sources(target, str(root)).items():
        student = ATTACKER_PREFIX + name
        submit(root, assignment, student, submission(target, release, answer, extra), target.notebook)
        attackers[name] = student
    return attackers


def _read_scores(root: Path, assignment: str, notebook: str, students: list[str]):
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{root / 'autograder' / 'gradebook.db'}") as gradebook:
        max_scores = {cell.name: float(cell.max_score)
                      for cell in gradebook.find_notebook(notebook, assignment).grade_cells}
        for student in students:
            graded = gradebook.find_submission_notebook(notebook, assignment, student)
            scores[student] = {g.name: float(g.score) for g in graded.grades}
    return max_scores, scores


def grade_class(assignment: str, tmp: Path) -> GradedClass:
    """Release ``assignment``, submit its variants and attacks, grade and give feedback."""
    start = time.perf_counter()
    has_variants = (VARIANTS_DIR / f"{assignment}.py").exists()
    module = load_variants(assignment) if has_variants else None
    notebook = module.NOTEBOOK if module else TARGETS[assignment].notebook
    root = course_copy(tmp, [assignment])
    source, release = _release_and_sources(root, assignment, notebook)
    solutions = _submit_variants(root, module, source, release) if module else {}
    attackers = _submit_attacks(root, assignment, release) if assignment in TARGETS else {}
    modes = solution_modes(root)
    grade_run = run_cli(root, "grade", assignment, "-j", "2", "--no-progress", "--require-sandbox",
                        timeout=1800, expect=(0, 3))
    feedback_run = run_cli(root, "feedback", assignment, check=False)
    students = sorted(p.name for p in (root / "autograder" / "submitted").iterdir())
    max_scores, scores = _read_scores(root, assignment, notebook, students)
    feedback = {}
    for student in students:
        page = root / "autograder" / "feedback" / student / assignment / f"{notebook}.html"
        feedback[student] = page.read_text() if page.exists() else ""
    tests = {grading(c)["grade_id"]: c.source for c in source.cells if is_autograded(c)}
    return GradedClass(assignment, notebook, root, module, attackers, solutions, tests, max_scores,
                       scores, feedback, modes, grade_run, feedback_run, time.perf_counter() - start)


class ClassCache:
    """Grades each assignment's class the first time a test asks for it (one per session)."""

    def __init__(self, tmp_path_factory) -> None:
        self._factory = tmp_path_factory
        self._graded: dict[str, GradedClass] = {}

    def __call__(self, assignment: str) -> GradedClass:
        if assignment not in self._graded:
            self._graded[assignment] = grade_class(assignment, self._factory.mktemp(assignment))
        return self._graded[assignment]
