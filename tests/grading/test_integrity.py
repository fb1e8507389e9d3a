"""No submission scores a point its code did not earn, and feedback never carries a file it should not.

For every assignment, a class of hostile submissions (``tests/attacks.py``: tests rewritten by
input/AST transformers, exception and display hooks, trace functions; references stolen from the
tests' frames, globals or gc; helpers patched; forbidden libraries through helpers and aliases;
planted links) is graded by plain ``nbgrader autograde`` (fresh sandbox per kernel) and the course
CLI with pre-warmed kernels; a1 and a4 also by the CLI with ``--fresh-kernels``. Each attack must score no
more than the honest wrong submission it is built on, no link may survive into the autograded or
feedback folders, and no feedback file may hold bytes of the gradebook, the solutions or the config.
"""

from __future__ import annotations

import os
import shutil
import stat

import nbformat
import pytest
from attacks import TARGETS, attack_sources, submission
from course import course_copy, run_nbgrader, scores, submit
from fixtures_grading import run_cli

WAYS = ("nbgrader", "cli-prewarmed", "cli-fresh")
#: ``--fresh-kernels`` starts each kernel exactly as plain nbgrader does (same launcher, a fresh
#: sandbox); only the CLI's orchestration differs, so two assignments suffice to prove it (CI time).
FRESH = ("a1_conv1d", "a4_lenet5")
CLASSES = [(a, w) for a in TARGETS for w in WAYS if w != "cli-fresh" or a in FRESH]


def _grade(root, assignment: str, way: str) -> None:
    if way == "nbgrader":
        run_nbgrader(root, "autograde", assignment, "--force", timeout=1800)
    else:
        extra = ["--fresh-kernels"] if way == "cli-fresh" else []
        run_cli(root, "grade", assignment, "-j", "2", "--no-progress", "--require-sandbox",
                *extra, timeout=1800)


def _modes(root) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mode
            for p in (root / "solutions").rglob("*") if p.is_file()}


@pytest.fixture(scope="module", params=CLASSES,
                ids=lambda p: f"{p[0]}-{p[1]}")
def graded(tmp_path_factory, request):
    """One assignment's hostile class, graded one way; then feedback for everyone."""
    assignment, way = request.param
    target = TARGETS[assignment]
    root = course_copy(tmp_path_factory.mktemp(f"integrity-{assignment}-{way}"), [assignment])
    run_nbgrader(root, "generate_assignment", assignment, "--force")
    release = nbformat.read(root / "assignments" / assignment / f"{target.notebook}.ipynb",
                            as_version=4)
    attacks = attack_sources(target, str(root))
    for student, (answer, extra) in attacks.items():
        submit(root, assignment, student, submission(target, release, answer, extra),
               target.notebook)
    modes = _modes(root)
    _grade(root, assignment, way)
    if way == "nbgrader":  # feedback as plain nbgrader makes it (the CLI's file check is not run)
        feedback = run_nbgrader(root, "generate_feedback", assignment, "--force", check=False)
    else:
        feedback = run_cli(root, "feedback", assignment, check=False)
    totals = {s: sum(scores(root, assignment, s, target.notebook).values()) for s in attacks}
    return root, target, totals, modes, feedback


def test_no_attack_scores_more_than_the_honest_wrong_answer(graded):
    _, target, totals, _, _ = graded
    baseline = totals["honest_wrong"]
    winners = {s: t for s, t in totals.items() if t > baseline}
    assert not winners, f"{target.assignment}: attacks beat the honest wrong {baseline}: {winners}"


def test_no_link_survives_grading_or_feedback(graded):
    root = graded[0]
    for folder in ("autograder/autograded", "autograder/feedback"):
        for here, dirs, files in os.walk(root / folder):
            for name in dirs + files:
                mode = os.lstat(os.path.join(here, name)).st_mode
                assert stat.S_ISDIR(mode) or stat.S_ISREG(mode), f"{here}/{name} is not a plain file"


def test_feedback_holds_no_byte_of_gradebook_solutions_or_config(graded):
    root, target, _, _, feedback = graded
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
    root, _, _, modes, _ = graded
    assert _modes(root) == modes


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
