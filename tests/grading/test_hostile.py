"""The real CLI grades a class with hostile and broken submissions (see fixtures_grading.py).

Each gets a clear status and at most the points it honestly earned, the rest of the class is
graded, nothing outside the grading outputs changes, and no submission reads hidden tests.
"""

from __future__ import annotations

import ast

import pytest
from fixtures_grading import SECRET, hostile_class, make_course, run_cli, statuses, tree_hashes

pytestmark = pytest.mark.needs("sandbox")
#: long enough for an honest cell on a loaded 2-core machine; the looper still hits it
CELL_TIMEOUT_S = 12


@pytest.fixture(scope="module", params=["pre-warmed", "fresh-kernels"])
def graded(tmp_path_factory, request):
    """The class graded with kernels forked by the zygote, and with a fresh sandbox each."""
    root = make_course(tmp_path_factory.mktemp("hostile"))
    expected = hostile_class(root)
    before = tree_hashes(root)
    mode = ["--fresh-kernels"] if request.param == "fresh-kernels" else []
    result = run_cli(root, "grade", "np_demo", "-j", "2", "--timeout", str(CELL_TIMEOUT_S),
                     "--memory-mb", "2048", "--no-progress", "--require-sandbox", *mode,
                     expect=(3,))  # the class has flagged submissions: exit 3
    return root, expected, before, result


def test_every_submission_gets_its_status_and_honest_points(graded):
    root, expected, _, _ = graded
    rows = statuses(root)
    got = {s: (rows[s]["status"], float(rows[s]["total"])) for s in expected}
    assert got == {s: (status, float(points)) for s, (status, points) in expected.items()}
    for student, (status, _) in expected.items():
        if status != "ok":
            assert rows[student]["reason"], f"{student} is flagged without a reason"


def test_nothing_outside_the_grading_outputs_changed(graded):
    root, _, before, _ = graded
    assert tree_hashes(root) == before
    vandal = (root / "autograder/autograded/vandal/np_demo/vandal.txt").read_text()
    assert "denied" in vandal  # writes went nowhere (read-only or a throw-away tmpfs)


def test_no_submission_could_read_hidden_tests(graded):
    root = graded[0]
    found = ast.literal_eval((root / "autograder/autograded/reader/np_demo/probe.txt").read_text())
    assert found == {k: [] for k in found} and len(found) == 9


def test_rerun_grades_nothing_and_feedback_redacts(graded):
    root = graded[0]
    again = run_cli(root, "grade", "np_demo", "--no-progress")
    assert "graded 0 submission(s)" in again.stdout
    run_cli(root, "feedback", "np_demo")
    pages = list((root / "autograder/feedback").rglob("*.html"))
    assert len(pages) >= 10
    for page in pages:
        text = page.read_text()
        assert SECRET not in text and "BEGIN HIDDEN TESTS" not in text
        assert "test_mean_abs_hidden" in text
