"""nbgrader in real JupyterLab: the student's Validate button and the instructor's formgrader.

- A blank release (solution cells still ``raise NotImplementedError``) must report failures.
- The same release with the instructor's solution cells filled in must pass.
- The formgrader's gradebook, opened as the instructor, lists every assignment of the course.

Everything runs on the suite's temporary copy of the course, so the repository's
``autograder/gradebook.db`` is never touched.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import pytest
from conftest import screenshot_path
from lab_driver import open_notebook

pytestmark = pytest.mark.browser

PREFERRED_ASSIGNMENT = "a1_conv1d"
VALIDATE_TIMEOUT_MS = 240_000
MARKER = re.compile(r"^\s*###\s*(BEGIN|END)\s+SOLUTION\s*$")


def assignment_ids(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "solutions").iterdir()
                  if p.is_dir() and any(p.glob("*.ipynb")))


@pytest.fixture(scope="session")
def assignment(course_root, lab_server) -> tuple[str, list[str]]:
    """(assignment id, release notebook paths relative to the server root) to validate.

    ``a1_conv1d`` if present, else the first assignment. Every assignment of the course is
    registered in the copy's gradebook (as ``make release`` would) for the formgrader.
    """
    from nbgrader.api import Gradebook

    ids = assignment_ids(course_root) if (course_root / "solutions").is_dir() else []
    assert ids, "solutions/ holds no assignment to release"
    with Gradebook(f"sqlite:///{course_root / 'autograder' / 'gradebook.db'}",
                   course_id="cnn-course") as gradebook:
        for assignment_id in ids:
            gradebook.update_or_create_assignment(assignment_id)
    chosen = PREFERRED_ASSIGNMENT if PREFERRED_ASSIGNMENT in ids else ids[0]
    release = course_root / "assignments" / chosen
    if not any(release.glob("*.ipynb")):
        # not committed yet: generate it in the copy exactly as `make release` does
        warnings.warn(f"assignments/{chosen} is missing; generated in the test copy",
                      stacklevel=1)
        result = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", chosen,
                                 "--force"], cwd=course_root, capture_output=True, text=True,
                                env=lab_server.environment(), timeout=300)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    notebooks = sorted(release.glob("*.ipynb"))
    assert notebooks, f"assignments/{chosen}/ holds no release notebook"
    return chosen, [str(p.relative_to(course_root)) for p in notebooks]


def solved_copy(course_root: Path, release_rel: str) -> str:
    """The release notebook with every solution cell replaced by the instructor's solution
    (markers removed), written next to it; returns its path relative to the root."""
    release_path = course_root / release_rel
    source_path = course_root / "solutions" / release_path.parent.name / release_path.name
    release = nbformat.read(release_path, as_version=4)
    source = nbformat.read(source_path, as_version=4)
    solutions = {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in source.cells
                 if cell.metadata.get("nbgrader", {}).get("solution")}
    filled = 0
    for cell in release.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") in solutions:
            lines = solutions[meta["grade_id"]].splitlines()
            cell.source = "\n".join(line for line in lines if not MARKER.match(line))
            filled += 1
    assert filled, f"{release_rel}: no solution cell matched the instructor's notebook"
    target = release_path.with_name(release_path.stem + "_solved.ipynb")
    nbformat.write(release, target)
    return str(target.relative_to(course_root))


def press_validate(page, server, rel_path: str, shot: str) -> tuple[str, str]:
    """Open ``rel_path``, press the toolbar's Validate button; returns (outcome, dialog text)
    with outcome ``failed``, ``success`` or ``error``."""
    open_notebook(page, server, rel_path)
    try:
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .validate-button").first.click()
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for(timeout=VALIDATE_TIMEOUT_MS)
        page.wait_for_function(
            """() => { const d = document.querySelector('.jp-Dialog');
                       return d && !/Validating|Saving/.test(d.innerText); }""",
            timeout=VALIDATE_TIMEOUT_MS)
        dialog.locator(".jp-Dialog-content").screenshot(path=str(screenshot_path(shot)))
        text = dialog.inner_text()
        if dialog.locator(".validation-failed").count():
            return "failed", text
        if dialog.locator(".validation-success").count():
            return "success", text
        return "error", text
    finally:
        server.shutdown_kernels(rel_path)


def test_validate_blank_release_reports_failures(assignment, lab_server, page_for,
                                                 browser_report):
    assignment_id, notebooks = assignment
    page, errors = page_for()
    outcome, text = press_validate(page, lab_server, notebooks[0],
                                   f"validate_blank_{assignment_id}.png")
    browser_report["nbgrader"]["validate_blank"] = {"notebook": notebooks[0], "outcome": outcome}
    assert outcome == "failed", f"Validate on the blank release said {outcome}:\n{text[:3000]}"
    assert "NotImplementedError" in text or "failed" in text.lower(), text[:3000]
    assert not errors, f"page errors: {errors}"


def test_validate_solution_passes(assignment, course_root, lab_server, page_for, browser_report):
    assignment_id, notebooks = assignment
    for release_rel in notebooks:
        solved = solved_copy(course_root, release_rel)
        page, errors = page_for()
        outcome, text = press_validate(page, lab_server, solved,
                                       f"validate_solution_{Path(solved).stem}.png")
        browser_report["nbgrader"].setdefault("validate_solution", {})[solved] = outcome
        assert outcome == "success", f"Validate on {solved} said {outcome}:\n{text[:3000]}"
        assert "passes all the tests" in text
        assert not errors, f"page errors: {errors}"


def test_formgrader_gradebook_lists_assignments(assignment, course_root, lab_server, page_for):
    page, errors = page_for()
    page.goto(lab_server.url("/formgrader/gradebook"), wait_until="domcontentloaded")
    page.wait_for_function(
        """() => { const b = document.querySelector('table tbody');
                   return b && !/Loading, please wait/.test(b.innerText); }""", timeout=60_000)
    table = page.locator("table").first
    headers = table.locator("th").all_inner_texts()
    assert any("Assignment ID" in h for h in headers), f"no gradebook table: {headers}"
    rows = table.locator("tbody").inner_text()
    missing = [a for a in assignment_ids(course_root) if a not in rows]
    page.screenshot(path=str(screenshot_path("formgrader_gradebook.png")), full_page=True)
    assert not missing, f"the gradebook does not list {missing}; it shows:\n{rows}"
    assert not errors, f"page errors: {errors}"
