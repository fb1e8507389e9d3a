"""No submission scores a point its code did not earn, and feedback never carries a file it should not.

For every assignment, a class of hostile submissions (``attacks.py``: tests rewritten by
input/AST transformers, exception and display hooks, trace functions; references stolen from the
tests' frames, globals or gc; helpers patched; forbidden libraries through helpers and aliases;
planted links) is graded by the course CLI with pre-warmed sandboxed kernels (in the class of
``graded_classes.py``, next to the mistake variants); a1 (NumPy-only policy) and a4 (torch) are
also graded by plain ``nbgrader autograde`` and ``generate_feedback``, which start a fresh
sandboxed kernel per notebook exactly as ``grade --fresh-kernels`` does. Each attack must score
no more than the honest wrong submission it is built on, no link may survive into the autograded
or feedback folders, and no feedback file may hold bytes of the gradebook, the solutions or the
config.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess

import nbformat
import pytest
from attacks import TARGETS, Target, attack_sources, submission
from course import course_copy, run_nbgrader, scores, submit
from fixtures_grading import run_cli
from graded_classes import solution_modes

pytestmark = pytest.mark.needs("sandbox")
#: the plain-nbgrader path differs from the CLI's only in orchestration: one NumPy-only and one
#: torch assignment prove it
PLAIN_NBGRADER = ("a1_conv1d", "a4_lenet5")
CLASSES = [(a, "cli") for a in TARGETS] + [(a, "nbgrader") for a in PLAIN_NBGRADER]


@dataclass
class Attacked:
    """An assignment's attack class after grading and feedback, one way."""

    root: Path
    target: Target
    totals: dict[str, float]   # attack name -> total points
    modes: dict[str, int]      # solutions/ file modes before grading
    feedback: CompletedProcess


def _plain_nbgrader(tmp: Path, assignment: str) -> Attacked:
    target = TARGETS[assignment]
    root = course_copy(tmp, [assignment])
    run_nbgrader(root, "generate_assignment", assignment, "--force")
    release = nbformat.read(root / "assignments" / assignment / f"{target.notebook}.ipynb",
                            as_version=4)
    attacks = attack_sources(target, str(root))
    for student, (answer, extra) in attacks.items():
        submit(root, assignment, student, submission(target, release, answer, extra), target.notebook)
    modes = solution_modes(root)
    run_nbgrader(root, "autograde", assignment, "--force", timeout=1800)
    feedback = run_nbgrader(root, "generate_feedback", assignment, "--force", check=False)
    totals = {s: sum(scores(root, assignment, s, target.notebook).values()) for s in attacks}
    return Attacked(root, target, totals, modes, feedback)


@pytest.fixture(scope="module", params=CLASSES, ids=lambda p: f"{p[0]}-{p[1]}")
def graded(tmp_path_factory, request, class_of) -> Attacked:
    """One assignment's hostile class, graded one way; then feedback for everyone."""
    assignment, way = request.param
    if way == "nbgrader":
        return _plain_nbgrader(tmp_path_factory.mktemp(f"integrity-{assignment}"), assignment)
    graded_class = class_of(assignment)
    totals = {name: graded_class.total(student) for name, student in graded_class.attackers.items()}
    return Attacked(graded_class.root, TARGETS[assignment], totals, graded_class.modes_before,
                    graded_class.feedback_run)


def test_no_attack_scores_more_than_the_honest_wrong_answer(graded):
    baseline = graded.totals["honest_wrong"]
    winners = {s: t for s, t in graded.totals.items() if t > baseline}
    assert not winners, f"{graded.target.assignment}: attacks beat the honest wrong {baseline}: {winners}"


def test_no_link_survives_grading_or_feedback(graded):
    for folder in ("autograder/autograded", "autograder/feedback"):
        for here, dirs, files in os.walk(graded.root / folder):
            for name in dirs + files:
                mode = os.lstat(os.path.join(here, name)).st_mode
                assert stat.S_ISDIR(mode) or stat.S_ISREG(mode), f"{here}/{name} is not a plain file"


def test_feedback_holds_no_byte_of_gradebook_solutions_or_config(graded):
    root, target, feedback = graded.root, graded.target, graded.feedback
    assert feedback.returncode == 0, feedback.stdout + feedback.stderr
    secrets = [b"SQLite format 3", b"BEGIN HIDDEN TESTS", b"BEGIN SOLUTION",
               (root / "nbgrader_config.py").read_bytes()[:200],
               (root / "solutions" / target.assignment / "checks.py").read_bytes()[:200]]
    files = [p for p in (root / "autograder/feedback").rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in files)
    for path in files:
        data = path.read_bytes()
        assert not any(secret in data for secret in secrets), f"{path} leaks a protected file"


def test_grading_chmods_nothing_outside_its_folders(graded):
    assert solution_modes(graded.root) == graded.modes


def test_feedback_removes_and_reports_a_planted_file(tmp_path):
    """``feedback`` checks every file it releases: a link or a gradebook copy is removed, exit 1."""

    target = TARGETS["a3_receptive_fields"]
    root = course_copy(tmp_path, [target.assignment])
    run_nbgrader(root, "generate_assignment", target.assignment, "--force")
    release = nbformat.read(root / "assignments" / target.assignment / f"{target.notebook}.ipynb",
                            as_version=4)
    submit(root, target.assignment, "ann", submission(target, release, target.wrong, ""),
           target.notebook)
    run_cli(root, "grade", target.assignment, "--no-progress")
    graded_dir = root / "autograder/autograded/ann" / target.assignment
    os.symlink(root / "autograder/gradebook.db", graded_dir / "notes.txt")
    shutil.copy(root / "autograder/gradebook.db", graded_dir / "copy.db")
    result = run_cli(root, "feedback", target.assignment, check=False)
    assert result.returncode != 0
    assert "notes.txt" in result.stdout + result.stderr and "copy.db" in result.stdout + result.stderr
    released = root / "autograder/feedback/ann" / target.assignment
    assert not os.path.lexists(released / "notes.txt") and not (released / "copy.db").exists()
