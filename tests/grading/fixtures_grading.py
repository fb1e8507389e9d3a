"""Small fixture assignments and a class of (partly hostile) submissions for the grading CLI.

``np_demo`` (numpy, 4 points: two functions, a visible and a hidden test) and ``torch_demo``
(torch, 3 points) are built here so that the CLI tests never depend on the real assignments.
Each has its grader-side ``checks.py`` (``CHECKS_NP_DEMO``, ``CHECKS_TORCH_DEMO``, see
autograder/verdict.py): the verdict of every graded cell is taken outside the student's kernel,
so a visible test's checks re-run its calls and a hidden cell holds only a comment.
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
            "# Hidden test: the grader calls mean_abs on a large signal, outside your kernel.\n"
            "### BEGIN HIDDEN TESTS\n"
            f"# mean_abs(np.arange(-5.0, 6.0) * {SECRET}) must be a float: solutions/np_demo/checks.py\n"
            "### END HIDDEN TESTS"), 2),
        solution_cell("clip01", NP_SOLUTION["clip01"]),
        grade_test_cell("test_clip01", (
            "_c = clip01(np.array([-2.0, 0.5, 7.0]))\n"
            "np.testing.assert_allclose(_c, [0.0, 0.5, 1.0])\n"
            "assert float(abs(_c - np.array([0.0, 0.5, 1.0])).max()) == 0.0, 'clip01 is wrong'"), 1),
    ])


#: solutions/np_demo/checks.py: the visible tests' calls, and the hidden rule (a float).
CHECKS_NP_DEMO = """
import numpy as np

from autograder.verdict import Case, FunctionCheck, close, describe_value


def fixed(*cases):
    return lambda rng: list(cases)


def ref_mean_abs(x):
    return float(np.mean(np.abs(x)))


def ref_clip01(x):
    return np.clip(x, 0, 1)


def float_close(got, expected):  # a NumPy float64 is a float too (the record cannot tell)
    if not isinstance(got, float):
        return f"returned {describe_value(got)}: mean_abs must return a float"
    return close(rtol=1e-6)(got, expected)


CHECKS = {
    "test_mean_abs": FunctionCheck(
        "mean_abs", fixed(Case((np.array([-1.0, 1.0, 3.0]),))), ref_mean_abs),
    "test_mean_abs_hidden": FunctionCheck(
        "mean_abs", fixed(Case((np.arange(-5.0, 6.0) * SECRET,))), ref_mean_abs, float_close),
    "test_clip01": FunctionCheck(
        "clip01", fixed(Case((np.array([-2.0, 0.5, 7.0]),))), ref_clip01, close(rtol=0, atol=0)),
}
""".replace("SECRET", SECRET)


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
            "# smooth on random float32 signals: solutions/torch_demo/checks.py\n"
            "### END HIDDEN TESTS"), 2),
    ])


#: solutions/torch_demo/checks.py: arrays reach ``smooth`` as float32 tensors (probe ``as_tensors``).
CHECKS_TORCH_DEMO = """
import numpy as np

from autograder.verdict import Case, FunctionCheck, close


def as_tensors(ns, inputs):
    import torch

    function, results = ns.get(inputs["function"]), []
    for case in inputs["cases"]:
        try:
            if not callable(function):
                raise NameError(f"{inputs['function']} is not defined")
            results.append({"value": function(*map(torch.from_numpy, case["args"]))})
        except Exception as error:
            results.append({"error": f"{type(error).__name__}: {error}"[:400]})
    return results


class TensorCheck(FunctionCheck):
    probe = staticmethod(as_tensors)


def ref_smooth(x):
    padded = np.pad(np.asarray(x, dtype=np.float64), 1)
    return (padded[:-2] + padded[1:-1] + padded[2:]) / 3


def random_signals(rng):
    return [Case((rng.standard_normal(n).astype(np.float32),)) for n in rng.integers(1, 60, size=5)]


CHECKS = {
    "test_smooth": TensorCheck(
        "smooth", lambda rng: [Case((np.ones(5, dtype=np.float32),))], ref_smooth, close(atol=1e-6)),
    "test_smooth_hidden": TensorCheck("smooth", random_signals, ref_smooth, close(atol=1e-5)),
}
"""

ASSIGNMENTS = {"np_demo": (np_source, CHECKS_NP_DEMO), "torch_demo": (torch_source, CHECKS_TORCH_DEMO)}


def run_cli(root: Path, *args: str, timeout: int = 600, check: bool = True,
            env: dict | None = None, expect: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
    """Run ``python -m autograder ARGS`` in ``root``; fail with its output unless it exits with
    one of ``expect`` (``grade`` exits 3 when it flagged a submission)."""
    return run_in_course(root, [*CLI, *args], f"autograder {' '.join(args)}", timeout, check, env,
                         expect)


def make_course(tmp_path: Path, assignments=("np_demo",)) -> Path:
    """A course root with the fixture assignments in solutions/ and released (in the gradebook)."""
    root = course_copy(tmp_path)
    for assignment in assignments:
        source, checks = ASSIGNMENTS[assignment]
        folder = root / "solutions" / assignment
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(source(), folder / f"{assignment}.ipynb")
        (folder / "checks.py").write_text(checks)
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
for _name, _pattern in [("notebook_on_disk", "*.ipynb"), ("checks_on_disk", "checks.py"),
                        ("solutions", _root + "/solutions/*/*.ipynb"),
                        ("checks", _root + "/solutions/*/checks.py"),
                        ("gradebook", _root + "/autograder/gradebook.db"),
                        ("source_with_tests", _root + "/autograder/source_with_tests/*/*.ipynb"),
                        ("other_students", _root + "/autograder/submitted/*/*/*.ipynb"),
                        ("repo_solutions", "REPO/solutions/*/*.ipynb"),
                        ("repo_checks", "REPO/solutions/*/checks.py")]:
    _hits = []
    for _p in glob.glob(_pattern):
        try:
            with open(_p, "rb") as _h:
                _hits.append(_p if b"HIDDEN" in _h.read() or not _p.endswith(".ipynb") else "")
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
        glob.glob(_root + "/solutions/*/*") + [_root + "/autograder/gradebook.db",
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
                              "clip01": NP_CORRECT["clip01"]}), "cell-timeout", 1)
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
                                  "autograder/reports", "autograder/gradebook.db",
                                  "autograder/.gradebook-setup.lock")) -> dict:
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


def postgres_grades(url: str) -> tuple[dict[str, tuple[str, float]], list[tuple[str, str, int]]]:
    """From a PostgreSQL gradebook: student -> (status, score) of the status table, and
    ``(student, cell, number of grade rows)`` for every graded cell."""
    import psycopg2

    with psycopg2.connect(url.replace("+psycopg2", "")) as conn, conn.cursor() as cur:
        cur.execute("SELECT student_id, status, score FROM autograder_status")
        rows = {s: (st, sc) for s, st, sc in cur.fetchall()}
        cur.execute(
            "SELECT sa.student_id, g.cell_id, COUNT(*) FROM grade g "
            "JOIN submitted_notebook sn ON g.notebook_id = sn.id "
            "JOIN submitted_assignment sa ON sn.assignment_id = sa.id "
            "GROUP BY sa.student_id, g.cell_id")
        counts = cur.fetchall()
    return rows, counts
