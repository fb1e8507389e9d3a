"""The sandbox holds for plain ``nbgrader autograde`` run from the root (set in the config)."""

from __future__ import annotations

import ast

import pytest
from course import REPO, run_nbgrader, scores
from fixtures_grading import NP_CORRECT, PROBE, answer, make_course, put, release


@pytest.mark.needs("sandbox")
def test_plain_nbgrader_autograde_cannot_read_solutions_or_gradebook(tmp_path):
    root = make_course(tmp_path)
    probe = PROBE.replace("REPO", str(REPO)).replace("ROOT", str(root))
    put(root, "spy", answer(release(root), {"mean_abs": probe + NP_CORRECT["mean_abs"],
                                            "clip01": NP_CORRECT["clip01"]}))
    result = run_nbgrader(root, "autograde", "np_demo")
    found = ast.literal_eval((root / "autograder/autograded/spy/np_demo/probe.txt").read_text())
    assert found == {k: [] for k in found}, found
    assert sum(scores(root, "np_demo", "spy", "np_demo").values()) == 4  # checks.py was applied
    assert (root / "solutions/np_demo/np_demo.ipynb").exists()
    assert "UNSANDBOXED" not in result.stderr
