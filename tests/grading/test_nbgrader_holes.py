"""The course's nbgrader config closes the five holes of stock nbgrader 0.9.6.

A tiny demo assignment is released, submitted by several students, autograded, given
feedback and exported with plain ``nbgrader`` commands run from a course root. The same
class is also graded with stock settings (only the folder layout) to show that each test
would fail without the fixes.
"""

from __future__ import annotations

import copy
import csv
import shutil
from pathlib import Path

import nbformat
import pytest
from course import (
    course_notebook,
    feedback_html,
    grade_test_cell,
    run_nbgrader,
    scores,
    solution_cell,
    submit,
    written_cell,
)
from nbformat.v4 import new_markdown_cell

SECRET = "1234321"
STOCK_CONFIG = """
c = get_config()
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = "autograder/submitted"
c.CourseDirectory.autograded_directory = "autograder/autograded"
c.CourseDirectory.feedback_directory = "autograder/feedback"
c.ZipCollectApp.downloaded_directory = "autograder/downloaded"
c.CourseDirectory.db_url = "sqlite:///autograder/gradebook.db"
c.Autograde.create_student = True
c.FileNameCollectorPlugin.named_regexp = (
    r".*/(?P<student_id>[a-z]+)_(?P<timestamp>[0-9-]+)_(?P<file_id>\\w+\\.ipynb)")
"""


def demo_source() -> nbformat.NotebookNode:
    return course_notebook([
        new_markdown_cell("# Demo assignment\nWrite `square(x)`."),
        solution_cell("square", (
            "import warnings\n\n"
            "def square(x):\n"
            "    ### BEGIN SOLUTION\n"
            "    warnings.warn('squares are fun', UserWarning)\n"
            "    return x * x\n"
            "    ### END SOLUTION")),
        grade_test_cell("test_square_visible", 'assert square(3) == 9, "square(3) should be 9"', 1),
        grade_test_cell("test_square_hidden", (
            'assert square(4) == 16, "square(4) should be 16"\n'
            "### BEGIN HIDDEN TESTS\n"
            f"# SECRET_EXPECTED = {SECRET} = square(1111): solutions/demo/checks.py\n"
            "### END HIDDEN TESTS"), 2),
        written_cell("explain", "Why is a square never negative?\n\n"
                                "=== BEGIN MARK SCHEME ===\nAny real number.\n"
                                "=== END MARK SCHEME ===\n\nYOUR ANSWER HERE", 1),
    ])


#: solutions/demo/checks.py: the grader calls square (the visible asserts' calls, then 1111).
CHECKS = """
from autograder.verdict import Case, FunctionCheck, exact_int


def ref_square(x):
    return x * x


CHECKS = {
    "test_square_visible": FunctionCheck("square", lambda rng: [Case((3,))], ref_square, exact_int),
    "test_square_hidden": FunctionCheck(
        "square", lambda rng: [Case((4,)), Case((1111,))], ref_square, exact_int),
}
"""


def answer(release: nbformat.NotebookNode, body: str) -> nbformat.NotebookNode:
    notebook = copy.deepcopy(release)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "square":
            cell.source = "import warnings\n\ndef square(x):\n" + body
    return notebook


CORRECT = "    warnings.warn('squares are fun', UserWarning)\n    return x * x\n"
WRONG = "    return x + x\n"


def build_class(root: Path) -> None:
    source = root / "solutions" / "demo" / "demo.ipynb"
    source.parent.mkdir(parents=True)
    nbformat.write(demo_source(), source)
    (source.parent / "checks.py").write_text(CHECKS)  # read by the course config, not by stock
    run_nbgrader(root, "generate_assignment", "demo", "--force")
    release = nbformat.read(root / "assignments" / "demo" / "demo.ipynb", as_version=4)
    submit(root, "demo", "correct", answer(release, CORRECT), "demo")
    submit(root, "demo", "blank", release, "demo")
    skipper = answer(release, WRONG)
    for cell in skipper.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.metadata["tags"] = ["skip-execution"]
    submit(root, "demo", "skipper", skipper, "demo")
    deleter = answer(release, WRONG)
    deleter.cells = [c for c in deleter.cells
                     if not c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_")]
    submit(root, "demo", "deleter", deleter, "demo")
    run_nbgrader(root, "autograde", "demo", "--force")
    run_nbgrader(root, "generate_feedback", "demo", "--force")
    run_nbgrader(root, "export")


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    from course import course_copy

    root = course_copy(tmp_path_factory.mktemp("holes"))
    build_class(root)
    return root


@pytest.fixture(scope="module")
def graded_stock(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("stock") / "course"
    (root / "autograder").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(STOCK_CONFIG)
    build_class(root)
    return root


def auto_total(root: Path, student: str) -> float:
    points = scores(root, "demo", student, "demo")
    return sum(v for k, v in points.items() if k != "explain")


def test_correct_submission_scores_full_and_blank_scores_zero(graded):
    assert scores(graded, "demo", "correct", "demo") == {
        "test_square_visible": 1.0, "test_square_hidden": 2.0, "explain": 0.0}
    assert auto_total(graded, "blank") == 0.0


def test_hole1_warning_on_stderr_does_not_fail_a_correct_answer(graded, graded_stock):
    assert auto_total(graded, "correct") == 3.0
    assert auto_total(graded_stock, "correct") == 0.0, "stock nbgrader fails cells with stderr"


def test_hole2_skip_execution_tag_cannot_skip_tests(graded, graded_stock):
    assert auto_total(graded, "skipper") == 0.0
    assert auto_total(graded_stock, "skipper") == 3.0, "stock nbgrader obeys the student's tag"


def test_hole3_feedback_redacts_hidden_tests(graded, graded_stock):
    for student in ("correct", "skipper", "deleter"):
        html = feedback_html(graded, "demo", student, "demo")
        assert "test_square_hidden" in html, "the hidden test's name stays in feedback"
        assert SECRET not in html and "SECRET_EXPECTED" not in html, student
        assert "square(3) should be 9" in html or student == "correct"
    assert "A hidden test failed" in feedback_html(graded, "demo", "skipper", "demo")
    assert SECRET in feedback_html(graded_stock, "demo", "correct", "demo")


def test_hole4_deleted_test_cells_are_restored_and_graded(graded, graded_stock):
    from nbgrader.api import Gradebook

    assert auto_total(graded, "deleter") == 0.0
    db = f"sqlite:///{graded / 'autograder' / 'gradebook.db'}"
    with Gradebook(db) as gradebook:
        submission = gradebook.find_submission_notebook("demo", "demo", "deleter")
        stuck = [g.name for g in submission.grades
                 if g.needs_manual_grade and g.name.startswith("test_")]
    assert stuck == []
    db = f"sqlite:///{graded_stock / 'autograder' / 'gradebook.db'}"
    with Gradebook(db) as gradebook:
        submission = gradebook.find_submission_notebook("demo", "demo", "deleter")
        assert any(g.needs_manual_grade for g in submission.grades if g.name.startswith("test_"))


def test_export_writes_one_row_per_student(graded):
    with open(graded / "grades.csv") as handle:
        rows = list(csv.DictReader(handle))
    by_student = {row["student_id"]: float(row["raw_score"]) for row in rows}
    assert by_student == {"correct": 3.0, "blank": 0.0, "skipper": 0.0, "deleter": 0.0}


def _zip_collect(root: Path) -> str:
    archive = root / "autograder" / "downloaded" / "demo" / "archive"
    archive.mkdir(parents=True)
    shutil.copy(root / "assignments" / "demo" / "demo.ipynb",
                archive / "zoe_2026-03-01-23-59-07_demo.ipynb")
    run_nbgrader(root, "zip_collect", "demo", "--force")
    return (root / "autograder" / "submitted" / "zoe" / "demo" / "timestamp.txt").read_text()


def test_hole5_zip_collect_reads_lms_timestamps(graded, graded_stock):
    assert _zip_collect(graded).startswith("2026-03-01 23:59:07")
    assert not _zip_collect(graded_stock).startswith("2026-03-01 23:59:07")
