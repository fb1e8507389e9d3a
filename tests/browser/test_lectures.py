"""Every lecture in real JupyterLab: Run All, no error, every widget answers its controls.

For each lecture (found by glob when the tests are collected): open it in Chromium, run all
cells with the Run menu, save, and read the saved notebook: no error output, every non-empty
code cell executed, no uncaught page error. Then for every displayed widget that shows a
picture, move each of its controls once; the first control must change the picture (compared
by a hash of the image bytes the browser shows), and no control may put a "visualizer error"
into the widget. A screenshot of each widget after the interaction goes to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
import time

import nbformat
import pytest
from conftest import discover_lectures, screenshot_path
from lab_driver import (
    error_outputs,
    kernel_seconds,
    move_control,
    picture_hash,
    save_notebook,
    tag_controls,
    tag_widget_areas,
    wait_for_new_picture,
)

pytestmark = pytest.mark.browser

LECTURES = discover_lectures()
PICTURE_TIMEOUT_S = 20.0  # the first control must change the picture within this time
OTHER_CONTROL_TIMEOUT_S = 4.0  # the others are moved too, their outcome only reported
VISUALIZER_LINE = re.compile(r"^\s*(?:utils\.)?viz_\w+\.[A-Z]\w*\(.*\)\s*;?\s*$")


def expected_visualizers(notebook) -> int:
    """Code cells whose last line displays a visualizer (``utils.viz_x.SomeExplorer(...)``)."""
    count = 0
    for cell in notebook.cells:
        lines = [line for line in cell.source.splitlines() if line.strip()]
        if cell.cell_type == "code" and lines and VISUALIZER_LINE.match(lines[-1]):
            count += 1
    return count


def exercise_widget(page, lecture: str, index: int) -> dict:
    """Move every control of widget area ``index``; returns what happened."""
    area = page.locator(f'[data-cnn-area="{index}"]')
    area.scroll_into_view_if_needed()
    kinds = tag_controls(area)
    record = {"controls": kinds, "changed": [], "seconds": []}
    assert kinds, f"{lecture}: widget #{index} shows a picture but has no control to move"
    for position, kind in enumerate(kinds):
        before = picture_hash(area)
        start = time.perf_counter()
        move_control(area, position, kind, forward=True)
        timeout = PICTURE_TIMEOUT_S if position == 0 else OTHER_CONTROL_TIMEOUT_S
        after = wait_for_new_picture(area, before, timeout)
        if after == before:  # at the end of its range: go the other way
            move_control(area, position, kind, forward=False)
            after = wait_for_new_picture(area, before, timeout)
        changed = after != before
        record["changed"].append(changed)
        if changed:
            record["seconds"].append(round(time.perf_counter() - start, 3))
        if position == 0:
            assert changed, (f"{lecture}: widget #{index}: moving its first control ({kind}) "
                             f"did not change the picture within {PICTURE_TIMEOUT_S} s")
        text = area.inner_text()
        assert "visualizer error" not in text, f"{lecture}: widget #{index}: {text[:500]}"
    area.screenshot(path=str(screenshot_path(f"{lecture.removesuffix('.ipynb')}__w{index}.png")))
    return record


@pytest.mark.parametrize("lecture", LECTURES)
def test_lecture_runs_and_widgets_respond(lecture, lecture_runner, lab_server, course_root,
                                          browser_report):
    run = lecture_runner.run(lecture)
    page = run.page
    entry = browser_report["lectures"].setdefault(lecture, {})
    entry["run_all_seconds"] = round(run.seconds, 1)
    try:
        save_notebook(page)
        notebook = nbformat.read(course_root / run.rel_path, as_version=4)
        kernels = {s["kernel"]["name"] for s in lab_server.api("GET", "/api/sessions")
                   if s.get("path") == run.rel_path}
        wanted_kernel = notebook.metadata.get("kernelspec", {}).get("name")
        assert kernels == {wanted_kernel}, f"{lecture} ran in {kernels}, not {wanted_kernel}"
        entry["kernel_seconds"] = kernel_seconds(notebook)
        problems = error_outputs(notebook)
        assert not problems, f"{lecture}:\n" + "\n\n".join(problems)
        body = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").inner_text()
        assert "Error displaying widget" not in body, f"{lecture}: a widget failed to render"

        areas = tag_widget_areas(page)
        wanted = expected_visualizers(notebook)
        assert areas >= wanted, (f"{lecture}: {wanted} visualizer cells but only {areas} "
                                 "widgets with a picture rendered")
        start = time.perf_counter()
        entry["widgets"] = [exercise_widget(page, lecture, i) for i in range(areas)]
        entry["widget_seconds"] = round(time.perf_counter() - start, 1)
        assert not run.page_errors, f"{lecture}: page errors: {run.page_errors}"
    except BaseException:
        page.screenshot(path=str(screenshot_path(f"FAILED__{lecture.removesuffix('.ipynb')}.png")),
                        full_page=True)
        raise
    finally:
        lecture_runner.finish(lecture)


def test_lectures_exist():
    """The suite must not pass vacuously: the course has lectures, starting with 00."""
    assert LECTURES, "no lecture notebooks found in lectures/"
