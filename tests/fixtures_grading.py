"""Small fixture assignments and a class of (partly hostile) submissions for the grading CLI.

``np_demo`` (numpy, 4 points: two functions, a visible and a hidden test) and ``torch_demo``
(torch, 3 points) are built here so that the CLI tests never depend on the real assignments.
"""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import nbformat
from course import course_copy, course_notebook, grade_test_cell, run_in_course, solution_cell
from nbformat.v4 import new_markdown_cell

SECRET = "8675309"
CLI = [sys.executable, "-m", "autograder"]

NP_SOLUTION = {
    "mean_abs": ("import numpy as np\n\ndef mean_abs(x):\n"
                 "    ### BEGIN SOLUTION\n    return float(np.mean(np.abs(x)))\n"
                 "    ### END SOLUTION"),
    "clip01": ("def clip01(x):\n    ### BEGIN SOLUTION\n    return np.clip(x, 0, 1)\n"
               "    ### END SOLUTION"),
}
NP_CORRECT = {"mean_abs": "import numpy as np\n\ndef mean_abs(x):\n    return float(np.mean(np.abs(x)))\n",
              "clip01": "def clip01(x):\n    return np.clip(x, 0, 1)\n"}
NP_WRONG = {"mean_abs": "import numpy as np\n\ndef mean_abs(x):\n    return 0.0\n",
            "clip01": "def clip01(x):\n    return x\n"}


def np_source() -> nbformat.NotebookNode:
    """The instructor notebook of ``np_demo``: visible tests use np.allclose (rebind bait)."""
    return course_notebook([
        new_markdown_cell("# np_demo\nImplement `mean_abs` and `clip01`."),
        solution_cell("mean_abs", NP_SOLUTION["mean_abs"]),
        grade_test_cell("test_mean_abs", (
            "assert np.allclose(mean_abs(np.array([-1.0, 1.0, 3.0])), 5 / 3), "
            "'mean_abs([-1, 1, 3]) should be 5/3'"), 1),
        grade_test_cell("test_mean_abs_hidden", (
            "### BEGIN HIDDEN TESTS\n"
            "import numpy as _np\n"
            f"_SECRET = {SECRET}\n"
            "_x = _np.arange(-5.0, 6.0) * _SECRET\n"
            "_got = mean_abs(_x)\n"
            "assert type(_got) is float, 'mean_abs must return a float'\n"
            "assert abs(_got - 30 * _SECRET / 11) < 1e-6 * _SECRET, 'wrong value'\n"
            "### END HIDDEN TESTS"), 2),
        solution_cell("clip01", NP_SOLUTION["clip01"]),
        grade_test_cell("test_clip01", (
            "_c = clip01(np.array([-2.0, 0.5, 7.0]))\n"
            "np.testing.assert_allclose(_c, [0.0, 0.5, 1.0])\n"
            "assert float(abs(_c - np.array([0.0, 0.5, 1.0])).max()) == 0.0, 'clip01 is wrong'"), 1),
    ])


TORCH_SOLUTION = ("import torch\nimport torch.nn.functional as F\n\ndef smooth(x):\n"
                  "    ### BEGIN SOLUTION\n"
                  "    w = torch.ones(1, 1, 3) / 3\n"
                  "    return F.conv1d(x[None, None], w, padding=1)[0, 0]\n"
                  "    ### END SOLUTION")
TORCH_CORRECT = ("import torch\nimport torch.nn.functional as F\n\ndef smooth(x):\n"
                 "    w = torch.ones(1, 1, 3) / 3\n"
                 "    return F.conv1d(x[None, None], w, padding=1)[0, 0]\n")


def torch_source() -> nbformat.NotebookNode:
    """The instructor notebook of ``torch_demo`` (3 points; importing torch dominates its cost)."""
    return course_notebook([
        new_markdown_cell("# torch_demo\nA 3-tap moving average with `F.conv1d`."),
        solution_cell("smooth", TORCH_SOLUTION),
        grade_test_cell("test_smooth", (
            "assert torch.allclose(smooth(torch.ones(5)), torch.tensor([2/3, 1, 1, 1, 2/3])), "
            "'smooth(ones) is wrong'"), 1),
        grade_test_cell("test_smooth_hidden", (
            "### BEGIN HIDDEN TESTS\n"
            "import torch as _t\n"
            "_g = _t.Generator().manual_seed(0)\n"
            "_x = _t.randn(50, generator=_g)\n"
            "_ref = (_t.nn.functional.pad(_x, (1, 1))[:-2] + _x + "
            "_t.nn.functional.pad(_x, (1, 1))[2:]) / 3\n"
            "assert float((smooth(_x) - _ref).abs().max()) < 1e-5, 'wrong on random input'\n"
            "### END HIDDEN TESTS"), 2),
    ])


def run_cli(root: Path, *args: str, timeout: int = 600, check: bool = True,
            env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m autograder ARGS`` in ``root``; fail with its output if it fails."""
    return run_in_course(root, [*CLI, *args], f"autograder {' '.join(args)}", timeout, check, env)


def make_course(tmp_path: Path, assignments=("np_demo",)) -> Path:
    """A course root with the fixture assignments in solutions/ and released (in the gradebook)."""
    root = course_copy(tmp_path)
    sources = {"np_demo": np_source, "torch_demo": torch_source}
    for assignment in assignments:
        path = root / "solutions" / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(sources[assignment](), path)
    run_cli(root, "release", *assignments)
    return root


def release(root: Path, assignment: str = "np_demo") -> nbformat.NotebookNode:
    return nbformat.read(root / "assignments" / assignment / f"{assignment}.ipynb", as_version=4)


def answer(notebook: nbformat.NotebookNode, sources: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``notebook`` with the given solution cells' sources replaced."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in sources:
            cell.source = sources[grade_id]
    return notebook


def put(root: Path, student: str, notebook, name: str = "np_demo",
        assignment: str = "np_demo") -> Path:
    """Write a submission (a notebook, or raw text for broken files)."""
    dest = root / "autograder" / "submitted" / student / assignment / f"{name}.ipynb"
    dest.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook, str):
        dest.write_text(notebook)
    else:
        nbformat.write(notebook, dest)
    return dest


PROBE = r'''
import os, glob
_root = "ROOT"  # the course root, known to an attacker
_found = {}
for _name, _pattern in [("notebook_on_disk", "*.ipynb"),
                        ("solutions", _root + "/solutions/*/*.ipynb"),
                        ("gradebook", _root + "/autograder/gradebook.db"),
                        ("source_with_tests", _root + "/autograder/source_with_tests/*/*.ipynb"),
                        ("other_students", _root + "/autograder/submitted/*/*/*.ipynb"),
                        ("repo_solutions", "REPO/solutions/*/*.ipynb")]:
    _hits = []
    for _p in glob.glob(_pattern):
        try:
            with open(_p, "rb") as _h:
                _hits.append(_p if b"HIDDEN" in _h.read() or _p.endswith(".db") else "")
        except OSError:
            pass
    _found[_name] = [h for h in _hits if h]
with open("probe.txt", "w") as _h:
    _h.write(repr(_found))
'''

VANDAL = r'''
import os, glob
_root = "ROOT"  # the course root, known to an attacker
_results = []
for _target in glob.glob(_root + "/autograder/submitted/*/*/*.ipynb") + \
        glob.glob(_root + "/solutions/*/*.ipynb") + [_root + "/autograder/gradebook.db",
        _root + "/nbgrader_config.py", "../other_student_file.txt", "/tmp/../" + "x"]:
    try:
        with open(_target, "w") as _h:
            _h.write("vandalized")
        _results.append("WROTE " + _target)
    except OSError as _e:
        _results.append("denied " + type(_e).__name__)
try:
    os.remove(_root + "/nbgrader_config.py")
    _results.append("DELETED config")
except OSError:
    pass
with open("vandal.txt", "w") as _h:
    _h.write("\n".join(_results))
'''


def hostile_class(root: Path) -> dict[str, tuple[str, float]]:
    """Submit the class; return student -> (expected status, expected points)."""
    from course import REPO

    nb = release(root)
    expected = {}

    def add(student, notebook, status, points, name="np_demo"):
        put(root, student, notebook, name)
        expected[student] = (status, points)

    add("correct", answer(nb, NP_CORRECT), "ok", 4)
    add("partial", answer(nb, {"mean_abs": NP_CORRECT["mean_abs"], "clip01": NP_WRONG["clip01"]}),
        "ok", 3)
    add("blank", nb, "ok", 0)
    add("looper", answer(nb, {"mean_abs": "import numpy as np\n\ndef mean_abs(x):\n"
                                          "    while True:\n        pass\n",
                              "clip01": NP_CORRECT["clip01"]}), "timeout", 1)
    add("exiter", answer(nb, {"mean_abs": "import os\nos._exit(3)\n",
                              "clip01": NP_CORRECT["clip01"]}), "kernel-died", 0)
    add("sysexit", answer(nb, {"mean_abs": "import sys\nsys.exit(0)\n",
                               "clip01": NP_CORRECT["clip01"]}), "ok", 0)  # np died with it
    add("killer", answer(nb, {"mean_abs": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
                              "clip01": NP_CORRECT["clip01"]}), "kernel-died", 0)
    add("memhog", answer(nb, {"mean_abs": "import numpy as np\n_big = np.ones(4 * 10**9)\n"
                                          + NP_CORRECT["mean_abs"],
                              "clip01": NP_CORRECT["clip01"]}), "memory", 1)
    add("printer", answer(nb, {"mean_abs": "print('x' * 10**6 + '\\n', end='')\n" * 8
                                           + NP_CORRECT["mean_abs"],
                               "clip01": NP_CORRECT["clip01"]}), "ok", 4)
    rebind = ("import builtins, numpy as np\nnp.allclose = lambda *a, **k: True\n"
              "np.testing.assert_allclose = lambda *a, **k: None\n"
              "np.testing = type('T', (), {'assert_allclose': staticmethod(lambda *a, **k: None)})\n"
              "AssertionError = builtins.AssertionError = type('Fake', (Exception,), {})\n"
              "np.abs = lambda x: 0 * x\n")
    add("rebinder", answer(nb, {"mean_abs": rebind + NP_WRONG["mean_abs"],
                                "clip01": "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                                          + NP_WRONG["clip01"]}), "ok", 0)
    edited = answer(nb, NP_WRONG)
    for cell in edited.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = "pass"
    add("editor", edited, "ok", 0)
    deleted = answer(nb, NP_WRONG)
    deleted.cells = [c for c in deleted.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    add("deleter", deleted, "ok", 0)
    tagged = answer(nb, NP_WRONG)
    for cell in tagged.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.metadata["tags"] = ["skip-execution", "raises-exception"]
    add("tagger", tagged, "ok", 0)
    add("renamer", answer(nb, NP_CORRECT), "missing-notebook", 0, name="Copy of np_demo")
    stripped = answer(nb, NP_CORRECT)
    stripped.metadata = {}
    for cell in stripped.cells:
        cell.metadata = {}
    add("stripper", stripped, "ok", 4)
    add("invalid", "{ this is not json", "invalid-notebook", 0)
    probe = PROBE.replace("REPO", str(REPO)).replace("ROOT", str(root))
    add("reader", answer(nb, {"mean_abs": probe + NP_WRONG["mean_abs"],
                              "clip01": NP_WRONG["clip01"]}), "ok", 0)
    vandal = VANDAL.replace("ROOT", str(root))
    add("vandal", answer(nb, {"mean_abs": vandal + NP_CORRECT["mean_abs"],
                              "clip01": NP_CORRECT["clip01"]}), "ok", 4)
    return expected


def tree_hashes(root: Path, skip=("autograder/autograded", "autograder/feedback",
                                  "autograder/reports", "autograder/gradebook.db")) -> dict:
    """relative path -> sha256 of every file under root, except grading outputs."""
    hashes = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if any(rel.startswith(s) for s in skip) or "__pycache__" in rel:
            continue
        hashes[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def statuses(root: Path, assignment: str = "np_demo") -> dict[str, dict]:
    """student -> status row, read with the CLI's own export (grades.csv)."""
    import csv

    run_cli(root, "export", assignment)
    with open(root / "autograder" / "reports" / assignment / "grades.csv") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def dump(obj) -> str:
    return json.dumps(obj, indent=1, default=str)
