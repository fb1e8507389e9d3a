"""A whole assignment through the course's JupyterHub, over HTTP, as the browsers would.

The Hub of ``deploy/jupyterhub/`` runs on 127.0.0.1 with dummy authentication and the local
process spawner, real Unix users (an instructor, three students) and a fresh nbgrader exchange.
The instructor releases ``a1_conv1d`` from the formgrader; the students fetch it from their
Assignments endpoint, fill it (one correct, one partly, one hostile), validate and submit; the
instructor collects from the formgrader, grades with the course's CLI (sandboxed), writes the
feedback and releases it; each student fetches their own feedback and nobody else's, and can read
neither the gradebook nor the exchange's feedback folder.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import nbformat
import pytest
from attacks import TARGETS, attack_sources, submission
from course import REPO, in_own_thread
from hub_driver import CONFIG, VENV, HubCourse, runnable_by_everyone
from variants import SolutionEditor

from devtools.ports import free_port

pytestmark = pytest.mark.needs("hub", "sandbox", "browser")
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
ASSIGNMENT, NOTEBOOK, COURSE = "a1_conv1d", "conv1d", "cnn-course"
PATH = f"{ASSIGNMENT}/{NOTEBOOK}.ipynb"


@contextmanager
def running(course: HubCourse) -> Iterator[HubCourse]:
    with runnable_by_everyone(VENV / "bin" / "python"):
        try:
            yield course.start()
        finally:
            course.stop()


@pytest.fixture
def hub():
    with running(HubCourse(["correct", "partly", "hostile"])) as course:
        yield course


@pytest.fixture
def watched_hub():
    watch = {"CNN_COURSE_WATCH": ASSIGNMENT, "CNN_COURSE_WATCH_INTERVAL": "3"}
    with running(HubCourse(["early"], env=watch)) as course:
        yield course


def release(hub: HubCourse):
    """The instructor logs in and releases the assignment from the formgrader."""
    instructor = hub.login(hub.instructor)
    for action in ("assign", "release"):
        answer = instructor.post(f"formgrader/api/assignment/{ASSIGNMENT}/{action}")
        assert answer.ok and answer.json().get("success"), f"{action}: {answer.text[:2000]}\n{hub.logs()}"
    return instructor


def answers(hub: HubCourse, release: dict) -> dict[str, dict]:
    """The three students' notebooks, made from the release they fetched."""
    target = TARGETS[ASSIGNMENT]
    editor = SolutionEditor(ASSIGNMENT, NOTEBOOK)
    notebook = nbformat.from_dict(release)
    hostile_answer, hostile_extra = attack_sources(target, str(hub.root))["rewrite_input_transformer"]
    made = {"correct": submission(target, notebook, editor.solution(target.cell), ""),
            "partly": submission(target, notebook, target.wrong, ""),
            "hostile": submission(target, notebook, hostile_answer, hostile_extra)}
    return {role: nbformat.from_dict(nb) for role, nb in made.items()}


def assignments_tab_in_chromium(hub: HubCourse, user: str) -> tuple[str, str]:
    """As ``user`` in Chromium: log in with the form, open Nbgrader > Assignment List, then the
    fetched notebook. Returns the panel's text and the notebook's kernel name (screenshots of both
    in test-artifacts/screenshots/)."""
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{hub.url}/hub/login")
            page.fill("input[name=username]", user)
            page.fill("input[name=password]", "any")
            page.locator("form [type=submit]").first.click()
            page.wait_for_selector(".lm-MenuBar-itemLabel", timeout=150_000)
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Nbgrader$")).first.click()
            page.locator('.lm-Menu-item[data-command="nbgrader:open-assignment-list"]').first.click()
            panel = page.locator("#fetched_assignments_list")
            panel.get_by_text(ASSIGNMENT).first.wait_for(timeout=60_000)
            text = panel.first.inner_text()
            page.screenshot(path=str(SCREENSHOTS / "hub_assignments_tab.png"))
            page.goto(f"{hub.url}/user/{user}/lab/tree/{PATH}")
            kernel = page.locator(".jp-NotebookPanel-toolbar .jp-Toolbar-kernelName")
            page.wait_for_function("() => (document.querySelector('.jp-NotebookPanel-toolbar "
                                   ".jp-Toolbar-kernelName') || {}).innerText?.includes('cnn-course')",
                                   timeout=120_000)
            page.screenshot(path=str(SCREENSHOTS / "hub_fetched_notebook.png"))
            return text, kernel.first.inner_text()
        finally:
            browser.close()


def failing_tests(validation: dict) -> list[dict]:
    """The failing code cells of a Validate result (written answers left empty are not tests)."""
    assert validation.get("success"), validation
    return [cell for cell in validation["value"].get("failed", [])
            if cell.get("error") != "You did not provide a response."]


def total(feedback_html: str) -> float:
    match = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", re.sub(r"<[^>]+>", " ", feedback_html))
    assert match, "no score in the feedback"
    return float(match.group(1))


def test_an_assignment_goes_round_the_hub(hub):
    instructor = release(hub)

    students = {role: hub.login(user) for role, user in hub.students.items()}
    ids = {"course_id": COURSE, "assignment_id": ASSIGNMENT}
    for student in students.values():
        listed = student.get("assignments", course_id=COURSE).json()["value"]
        assert any(a["assignment_id"] == ASSIGNMENT and a["status"] == "released" for a in listed), listed
        fetched = student.post("assignments/fetch", data=ids)
        assert fetched.ok, fetched.text
    panel, kernel = in_own_thread(assignments_tab_in_chromium, hub, hub.students["correct"])
    assert ASSIGNMENT in panel and "Python (cnn-course)" in kernel, (panel, kernel)
    filled = answers(hub, students["correct"].read_notebook(PATH))
    validation = {}
    for role, student in students.items():
        student.write_notebook(PATH, filled[role])
        validation[role] = student.post("assignments/validate", data={"path": PATH}).json()
        submitted = student.post("assignments/submit", data=ids)
        body = submitted.json()
        assert body.get("success") and any(isinstance(a, dict) and a.get("status") == "submitted"
                                           for a in body["value"]), f"{role}: {submitted.text[:3000]}"
    assert not failing_tests(validation["correct"]), validation["correct"]
    assert failing_tests(validation["partly"]), "Validate should show the partly correct student a failure"

    collected = instructor.post(f"formgrader/api/assignment/{ASSIGNMENT}/collect")
    assert collected.ok and collected.json().get("success"), collected.text
    cli = [str(hub.venv / "bin" / "python"), "-I", "-m", "autograder"]  # -I: see docs/grading.md
    graded = hub.run_as(hub.instructor, [*cli, "grade", ASSIGNMENT, "--require-sandbox", "--no-progress"])
    assert graded.returncode == 0 and "3 ok" in graded.stdout, graded.stdout + graded.stderr[-5000:]
    made = hub.run_as(hub.instructor, [*cli, "feedback", ASSIGNMENT])
    assert made.returncode == 0 and made.stdout.count(": ok") == 3, made.stdout + made.stderr[-5000:]
    released = instructor.post(f"formgrader/api/assignment/{ASSIGNMENT}/release_feedback")
    assert released.ok and released.json().get("success"), released.text
    in_exchange = sorted(p.name for p in (hub.exchange / COURSE / "feedback").glob("*.html"))
    assert len(in_exchange) == 3, f"feedback in the exchange: {in_exchange}\n{released.text[:3000]}"

    scores = {}
    for role, student in students.items():
        fetched = student.post("assignments/fetch_feedback", data=ids)
        listing = student.get(f"api/contents/{ASSIGNMENT}/feedback")
        assert listing.ok, f"{role}: no feedback folder after fetch_feedback: {fetched.text[:3000]}"
        folder = listing.json()["content"]
        assert len(folder) == 1, f"{role}: {len(folder)} feedback folders"
        pages = student.get(f"api/contents/{folder[0]['path']}").json()["content"]
        assert [p["name"] for p in pages] == [f"{NOTEBOOK}.html"], pages
        scores[role] = total(student.get(f"api/contents/{pages[0]['path']}").json()["content"])
    assert scores["correct"] > scores["partly"] >= scores["hostile"], scores

    # nobody reads another user's files, the gradebook, or the exchange's feedback folder
    other = students["correct"]
    assert other.get(f"../{hub.students['partly']}/api/contents/{ASSIGNMENT}").status_code in (403, 404)
    for user in hub.students.values():
        for path in (hub.root / "autograder" / "gradebook.db", hub.exchange / COURSE / "feedback"):
            seen = hub.run_as(user, ["ls", "-l", str(path)])
            assert seen.returncode != 0 and "Permission denied" in seen.stderr, f"{user} reads {path}"


def test_feedback_arrives_without_the_instructor_once_per_submission(watched_hub):
    hub = watched_hub
    release(hub)
    student = hub.login(hub.students["early"])
    ids = {"course_id": COURSE, "assignment_id": ASSIGNMENT}
    assert student.post("assignments/fetch", data=ids).ok
    student.write_notebook(PATH, answers(hub, student.read_notebook(PATH))["correct"])
    assert student.post("assignments/submit", data=ids).json().get("success")
    submitted = time.monotonic()
    while time.monotonic() - submitted < 300:
        student.post("assignments/fetch_feedback", data=ids)
        if student.get(f"api/contents/{ASSIGNMENT}/feedback").ok:
            break
        time.sleep(3)
    else:
        raise AssertionError(f"no feedback 300 s after submitting:\n{hub.logs()}")
    waited = time.monotonic() - submitted
    print(f"\nfeedback fetched {waited:.0f} s after submitting (watch interval 3 s)")

    # a second watcher (a restart) finds nothing to do; the feedback was released once
    again = hub.run_as(hub.instructor, [str(VENV / "bin" / "python"), "-I", "-m", "autograder", "watch",
                                        ASSIGNMENT, "--rounds", "1", "--interval", "0"],
                       env={"JUPYTER_CONFIG_DIR": str(hub.state / "config" / "instructor")})
    assert again.returncode == 0 and "released" not in again.stdout and "failed" not in again.stderr, \
        again.stdout + again.stderr[-3000:]
    with sqlite3.connect(hub.root / "autograder" / "gradebook.db") as db:
        rows = db.execute("SELECT student_id FROM autograder_feedback_released").fetchall()
    assert rows == [(hub.students["early"],)], rows


@pytest.mark.parametrize("problem", ["port taken", "proxy missing"])
def test_a_hub_that_cannot_start_says_why_and_what_to_do(tmp_path, problem):
    expected = {"port taken": "another program uses that port",
                "proxy missing": "configurable-http-proxy is not installed"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1] if problem == "port taken" else free_port()
        env = {**os.environ, "CNN_COURSE_HUB_STATE": str(tmp_path / "hub"), "CNN_COURSE_AUTH": "dummy",
               "CNN_COURSE_EXCHANGE": str(tmp_path / "exchange"), "CNN_COURSE_VENV": str(VENV),
               "CNN_COURSE_HUB_URL": f"http://127.0.0.1:{port}"}
        if problem == "proxy missing":
            env["PATH"] = str(VENV / "bin")
        done = subprocess.run([str(VENV / "bin" / "jupyterhub"), "-f", str(CONFIG)], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode != 0 and expected[problem] in output and "Traceback" not in output, output[-3000:]
