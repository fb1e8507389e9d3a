"""``check``: a student or self-learner grades their own notebook locally, offline.

- With the instructor sources present (``solutions/<assignment>/``, as in the public repository
  a self-learner cloned), the notebook is autograded exactly like the class is — visible *and*
  hidden tests, sandbox kernel — in a throw-away course folder; nothing in the repository
  changes.
- Without them (only the release in ``assignments/``), the visible tests are run and the report
  says that the hidden tests were not run. Hidden tests are not shipped in any form in the
  release: anything a student's machine can run, the student can read (see docs/grading.md).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .nbgrader_plugins import HIDDEN_BEGIN


@dataclass
class Item:
    name: str
    points: float
    max_points: float
    passed: bool
    hidden: bool
    message: str = ""


def _first_error(cell) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue', '')}"[:200]
    return ""


def _items_from_autograded(path: Path, scores: dict[str, float]) -> list[Item]:
    notebook = nbformat.read(path, as_version=4)
    items = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade") or cell.cell_type != "code":
            continue
        name = meta["grade_id"]
        hidden = HIDDEN_BEGIN in cell.source
        message = _first_error(cell)
        if hidden and message:
            message = "a hidden test failed (" + message.split(":")[0] + ")"
        points = scores.get(name, 0.0)
        items.append(Item(name, points, float(meta.get("points", 0)), points >= float(
            meta.get("points", 0)) - 1e-9, hidden, message))
    return items


def check_full(repo: Path, assignment: str, notebook: Path, cell_timeout: int) -> tuple[str, list]:
    """Autograde ``notebook`` against ``repo/solutions/<assignment>`` in a temporary course."""
    from nbgrader.api import Gradebook

    from . import grade as grading
    from .course import make_api

    with tempfile.TemporaryDirectory(prefix="cnn-check-") as scratch:
        root = Path(scratch) / "course"
        (root / "autograder").mkdir(parents=True)
        shutil.copy(repo / "nbgrader_config.py", root)
        shutil.copytree(repo / "solutions" / assignment, root / "solutions" / assignment)
        api, course = make_api(root)
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise SystemExit("could not build the assignment:\n" + result.get("error", ""))
        names = course.assignment_notebooks(assignment)
        name = notebook.stem if notebook.stem in names or len(names) != 1 else names[0]
        dest = course.submission_dir("you", assignment) / f"{name}.ipynb"
        dest.parent.mkdir(parents=True)
        shutil.copy(notebook, dest)
        state, notes = grading.precheck(course, assignment, "you")
        if state is not None:
            return f"{state.value}: {notes}", []
        grader = grading.Grader(root, course.db_url, cell_timeout)
        record = grader.grade_one(assignment, "you", "", notes)
        graded = course.autograded / "you" / assignment / f"{name}.ipynb"
        if not graded.exists():
            return f"{record.status}: {record.reason}", []
        with Gradebook(course.db_url) as gradebook:
            submission = gradebook.find_submission_notebook(name, assignment, "you")
            scores = {g.name: float(g.score) for g in submission.grades}
        line = record.status + (f" ({record.reason})" if record.reason else "")
        return line, _items_from_autograded(graded, scores)


def check_visible(notebook: Path, cell_timeout: int) -> tuple[str, list]:
    """Run the notebook (a release copy: visible tests only) and score its test cells."""
    from nbclient import NotebookClient

    from . import sandbox

    source = nbformat.read(notebook, as_version=4)
    with tempfile.TemporaryDirectory(prefix="cnn-check-") as scratch:
        work = Path(scratch) / notebook.parent.name
        shutil.copytree(notebook.parent, work, ignore=shutil.ignore_patterns("*.ipynb"))
        from traitlets.config import Config

        config = Config()
        kernel = "cnn-course"
        if sandbox.kernelspec_installed():
            os.environ.setdefault(sandbox.ENV_ROOT, str(notebook.parent.resolve()))
            kernel = sandbox.KERNEL_NAME
            config.KernelManager.transport = "ipc"
            config.KernelManager.connection_file = sandbox.private_connection_file()
        for cell in source.cells:
            cell.metadata.pop("tags", None)
        client = NotebookClient(source, timeout=cell_timeout, allow_errors=True,
                                kernel_name=kernel, config=config,
                                resources={"metadata": {"path": str(work)}})
        client.execute()
    items = []
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade") or cell.cell_type != "code":
            continue
        message = _first_error(cell)
        max_points = float(meta.get("points", 0))
        code = [ln for ln in cell.source.splitlines() if ln.strip() and not ln.strip().startswith("#")]
        if not code:  # the release keeps a hidden-tests-only cell empty
            items.append(Item(meta["grade_id"], 0.0, max_points, False, True,
                              "hidden tests: not run here (not in the release)"))
            continue
        items.append(Item(meta["grade_id"], 0.0 if message else max_points, max_points,
                          not message, False, message))
    return "visible tests only", items


@contextmanager
def caller_left_as_found() -> Iterator[None]:
    """Restore the caller's environment, ``sys.path`` and folder (nbgrader's config and app
    change the first two; a student may call ``check`` from their own Python process)."""
    environ, path, folder = dict(os.environ), sys.path[:], os.getcwd()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(environ)
        sys.path[:] = path
        os.chdir(folder)


def check(notebook: Path, assignment: str | None = None, repo: Path | None = None,
          cell_timeout: int = 60) -> tuple[str, str, list[Item]]:
    """``(mode, status line, items)`` for one notebook; the caller's process is left as found."""
    with caller_left_as_found():
        return _check(notebook, assignment, repo, cell_timeout)


def _check(notebook: Path, assignment: str | None, repo: Path | None,
           cell_timeout: int) -> tuple[str, str, list[Item]]:
    notebook = Path(notebook).resolve()
    assignment = assignment or notebook.parent.name
    repo = Path(repo or Path.cwd()).resolve()
    if (repo / "solutions" / assignment).is_dir() and (repo / "nbgrader_config.py").is_file():
        line, items = check_full(repo, assignment, notebook, cell_timeout)
        return "full: visible and hidden tests (instructor sources found in solutions/)", \
            line, items
    line, items = check_visible(notebook, cell_timeout)
    return ("visible tests only: the hidden tests are not in the release; your grade may be "
            "lower than this report"), line, items


def format_report(mode: str, line: str, items: list[Item]) -> str:
    lines = [f"mode:   {mode}", f"status: {line}", ""]
    for item in items:
        mark = "PASS" if item.passed else ("SKIP" if item.message.startswith("hidden tests:")
                                            else "FAIL")
        kind = " (hidden)" if item.hidden else ""
        lines.append(f"{mark}  {item.name}{kind}: {item.points:g}/{item.max_points:g}"
                     + (f"  - {item.message}" if item.message and not item.passed else ""))
    total = sum(i.points for i in items)
    lines.append(f"\ntotal (auto-graded items): {total:g}/{sum(i.max_points for i in items):g}")
    return "\n".join(lines)
