"""Pre-warmed grading kernels (autograder/sandbox/zygote.py): fast, and each student starts clean.

One worker (``-j 1``) grades the students in name order, so every kernel below is forked by the
same zygote, right after the previous student's. A planter leaves processes and files behind;
the observer that follows must see none of it. A kernel that kills or stops the zygote costs
only its own points.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fixtures_grading import NP_CORRECT, answer, make_course, put, release, run_cli, statuses

pytestmark = pytest.mark.needs("sandbox")

PLANT = r'''
import os, subprocess, sys
subprocess.Popen(["sleep", "600"], start_new_session=True)
if os.fork() == 0:  # a daemon: double fork, own session, keeps writing
    os.setsid()
    if os.fork() == 0:
        import time
        while True:
            with open("/tmp/daemon-alive", "a") as _h:
                _h.write("x")
            time.sleep(0.05)
    os._exit(0)
startup = os.path.expanduser("~/.ipython/profile_default/startup")
os.makedirs(startup, exist_ok=True)
with open(os.path.join(startup, "00-evil.py"), "w") as _h:
    _h.write("import numpy as np\nnp.allclose = lambda *a, **k: True\n"
             "open('/tmp/startup-ran', 'w').close()\n")
for _path in ("/tmp/planted", "/dev/shm/planted", "planted.txt", "../next-to-slot"):
    with open(_path, "w") as _h:
        _h.write("planted")
'''

OBSERVE = r'''
import os
_me, _parent = os.getpid(), os.getppid()
_ancestors = {1, _me, _parent}
_others = []
for _pid in os.listdir("/proc"):
    if _pid.isdigit() and int(_pid) not in _ancestors:
        try:
            with open(f"/proc/{_pid}/cmdline", "rb") as _h:
                _others.append(_h.read().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            pass
_seen = {
    "processes": _others,
    "files": [p for p in ("/tmp/planted", "/dev/shm/planted", "planted.txt", "../next-to-slot",
                          "/tmp/daemon-alive", "/tmp/startup-ran",
                          os.path.expanduser("~/.ipython/profile_default/startup/00-evil.py"))
              if os.path.exists(p)],
    "cwd_files": sorted(os.listdir(".")),
    "forked_by_zygote": b"/inside/zygote.py" in open(f"/proc/{_parent}/cmdline", "rb").read(),
}
with open("observed.txt", "w") as _h:
    _h.write(repr(_seen))
'''


def _submit(root: Path, student: str, mean_abs_prefix: str) -> None:
    notebook = answer(release(root), {"mean_abs": mean_abs_prefix + NP_CORRECT["mean_abs"],
                                      "clip01": NP_CORRECT["clip01"]})
    put(root, student, notebook)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("zygote"))
    _submit(root, "a_planter", PLANT)
    _submit(root, "b_observer", OBSERVE)
    _submit(root, "c_zygote_killer", "import os\nos.kill(os.getppid(), 9)\n")
    _submit(root, "d_after_killer", OBSERVE)
    _submit(root, "e_zygote_stopper", "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\n")
    _submit(root, "f_after_stopper", "")
    (root / "autograder/submitted/b_observer/np_demo/data.txt").write_text("the student's file")
    result = run_cli(root, "grade", "np_demo", "-j", "1", "--no-progress", "--require-sandbox",
                     expect=(3,))  # the killer and the stopper are flagged
    return root, statuses(root), result


def _observed(root: Path, student: str) -> dict:
    path = root / "autograder/autograded" / student / "np_demo" / "observed.txt"
    return ast.literal_eval(path.read_text())


def test_kernels_were_forked_by_the_zygote(graded):
    root, rows, result = graded
    assert "pre-warmed kernels unavailable" not in result.stderr
    assert _observed(root, "b_observer")["forked_by_zygote"]
    assert rows["a_planter"]["status"] == "ok" and float(rows["a_planter"]["total"]) == 4


def test_the_next_student_sees_nothing_the_previous_one_left(graded):
    root, rows, _ = graded
    seen = _observed(root, "b_observer")
    assert seen["processes"] == [], seen
    assert seen["files"] == [], seen
    assert float(rows["b_observer"]["total"]) == 4  # the planted startup file did not run


def test_the_kernel_works_in_a_copy_of_its_own_folder(graded):
    root = graded[0]
    seen = _observed(root, "b_observer")
    assert "data.txt" in seen["cwd_files"]  # the submission's files are there ...
    assert not any(name.endswith(".ipynb") for name in seen["cwd_files"])  # ... not the notebook
    own = root / "autograder/autograded/a_planter/np_demo/planted.txt"
    assert own.read_text() == "planted"  # what a kernel writes lands in its autograded folder
    assert not (root / "autograder/autograded/b_observer/np_demo/planted.txt").exists()


def test_a_kernel_that_kills_or_stops_the_zygote_costs_only_its_own_points(graded):
    root, rows, _ = graded
    assert rows["c_zygote_killer"]["status"] == "kernel-died"
    assert float(rows["c_zygote_killer"]["total"]) == 0
    assert "sandbox ended" in rows["c_zygote_killer"]["reason"]
    assert (rows["d_after_killer"]["status"], float(rows["d_after_killer"]["total"])) == ("ok", 4)
    assert _observed(root, "d_after_killer")["processes"] == []
    # Its code is otherwise correct, but what its kernel wrote (the records of the grader's calls)
    # is copied back only when the zygote reports the kernel's end: a stopped zygote never does.
    # its records stay in the stopped sandbox: 0 points, flagged with the reason
    assert float(rows["e_zygote_stopper"]["total"]) == 0
    assert rows["e_zygote_stopper"]["status"] == "kernel-died"
    assert "sandbox ended" in rows["e_zygote_stopper"]["reason"]
    assert (rows["f_after_stopper"]["status"], float(rows["f_after_stopper"]["total"])) == ("ok", 4)
