"""The sandbox holds for plain ``nbgrader autograde`` run from the root (set in the config)."""

from __future__ import annotations

import ast
import shutil

import pytest
from course import REPO, run_nbgrader, scores
from fixtures_grading import NP_CORRECT, PROBE, answer, make_course, put, release

from autograder import sandbox


@pytest.mark.skipif(sandbox.bwrap_path() is None, reason="bubblewrap does not work here")
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


def test_unsandboxed_fallback_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on PATH
    monkeypatch.setattr(sandbox, "_bwrap_ok", None)
    assert sandbox.bwrap_path() is None


def test_bwrap_command_hides_the_course(tmp_path, monkeypatch):
    if shutil.which("bwrap") is None:
        pytest.skip("no bwrap")
    root = tmp_path / "course"
    own = root / "autograder/autograded/s/a"
    own.mkdir(parents=True)
    (own / "a.ipynb").write_text("{}")
    monkeypatch.setenv(sandbox.ENV_ROOT, str(root))
    cmd = sandbox.bwrap_command("bwrap", own, tmp_path / "k/kernel.json", ["python"])
    text = " ".join(cmd)
    assert f"--tmpfs {root}" in text and f"--bind {own} {own}" in text
    assert f"--ro-bind /dev/null {own / 'a.ipynb'}" in text
    assert "--unshare-net" in cmd and "--clearenv" in cmd
