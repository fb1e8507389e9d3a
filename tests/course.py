"""Test helpers: a throw-away copy of the course to run real nbgrader commands in.

Each test gets its own course root (a temp folder holding ``nbgrader_config.py`` and the
assignments it needs), so grading never touches the repository's ``autograder/`` folder.
"""

from __future__ import annotations

import concurrent.futures
import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
NBGRADER = [sys.executable, "-m", "nbgrader"]


def course_copy(tmp_path: Path, assignment_ids: list[str] = ()) -> Path:
    """A fresh course root in ``tmp_path`` with the config and the given real assignments."""
    root = tmp_path / "course"
    (root / "autograder").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", root)
    for assignment_id in assignment_ids:
        shutil.copytree(REPO / "solutions" / assignment_id, root / "solutions" / assignment_id)
    return root


def run_in_course(root: Path, command: list[str], label: str, timeout: int = 900,
                  check: bool = True, env: dict[str, str] | None = None,
                  expect: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
    """Run ``command`` in the course root ``root``; unless ``check`` is False, fail with its
    output when its exit status is not one of ``expect``."""
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=timeout,
                            env=full_env)
    if check and result.returncode not in expect:
        raise AssertionError(f"{label} failed ({result.returncode}):\n"
                             f"{result.stdout[-4000:]}\n{result.stderr[-8000:]}")
    return result


def run_nbgrader(root: Path, *args: str, timeout: int = 900, check: bool = True,
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in ``root`` like an instructor would; fail with its log if it fails."""
    return run_in_course(root, [*NBGRADER, *args], f"nbgrader {' '.join(args)}", timeout, check, env)


def submit(root: Path, assignment_id: str, student: str, notebook: nbformat.NotebookNode | Path,
           name: str) -> Path:
    """Place a submission where nbgrader expects it: autograder/submitted/<student>/<id>/<name>.ipynb."""
    dest = root / "autograder" / "submitted" / student / assignment_id / f"{name}.ipynb"
    dest.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook, Path):
        shutil.copy(notebook, dest)
    else:
        nbformat.write(notebook, dest)
    return dest


def scores(root: Path, assignment_id: str, student: str, notebook: str) -> dict[str, float]:
    """Points per graded item (grade id -> score) of one student's autograded notebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'autograder' / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission_notebook(notebook, assignment_id, student)
        return {grade.name: float(grade.score) for grade in submission.grades}


def max_scores(root: Path, assignment_id: str, notebook: str) -> dict[str, float]:
    """Maximum points per graded item of a notebook in the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'autograder' / 'gradebook.db'}") as gradebook:
        nb = gradebook.find_notebook(notebook, assignment_id)
        return {cell.name: float(cell.max_score) for cell in nb.grade_cells}


def feedback_html(root: Path, assignment_id: str, student: str, notebook: str) -> str:
    path = root / "autograder" / "feedback" / student / assignment_id / f"{notebook}.html"
    return path.read_text()


# --- building nbgrader notebooks in tests ---------------------------------------------------

def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float = 0) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def solution_cell(grade_id: str, source: str):
    return new_code_cell(source, metadata=_meta(grade_id, grade=False, solution=True, locked=False))


def grade_test_cell(grade_id: str, source: str, points: float):
    return new_code_cell(source, metadata=_meta(grade_id, grade=True, solution=False, locked=True,
                                                points=points))


def written_cell(grade_id: str, source: str, points: float):
    return new_markdown_cell(source, metadata=_meta(grade_id, grade=True, solution=True,
                                                    locked=False, points=points))


def course_notebook(cells: list) -> nbformat.NotebookNode:
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "cnn-course", "display_name": "Python (cnn-course)",
                                       "language": "python"}
    return notebook


HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
SECRET_MARKERS = ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "BEGIN MARK SCHEME")
#: hidden-test lines shorter than this are too generic to prove a leak (``continue``, ``else:``)
MIN_SECRET_LINE = 16


def block_lines(source_nb, begin: str, end: str) -> set[str]:
    """Stripped lines (of ``MIN_SECRET_LINE`` characters or more) that occur only between the
    ``begin`` and ``end`` marker lines of the source notebook's cells."""
    inner, elsewhere = set(), set()
    for cell in source_nb.cells:
        inside = False
        for line in cell.source.splitlines():
            text = line.strip()
            if text == begin:
                inside = True
            elif text == end:
                inside = False
            elif text:
                (inner if inside else elsewhere).add(text)
    return {line for line in inner - elsewhere if len(line) >= MIN_SECRET_LINE}


def hidden_test_lines(source_nb) -> set[str]:
    """Lines found only in hidden-test blocks: such a line appearing as a whole line of the
    release or of a feedback page's text is a leak."""
    return block_lines(source_nb, HIDDEN_BEGIN, HIDDEN_END)


def in_own_thread(function, *args):
    """``function(*args)`` in a new thread; its result, or its exception raised here.

    Playwright's sync API refuses to start in a thread whose asyncio loop is running, which the
    browser tier's session-wide Playwright leaves on the main thread in a full run.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


def html_text(page: str) -> str:
    """Visible text of an HTML page: no style/script blocks, no tags, entities decoded."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.DOTALL | re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]+>", "", page))
