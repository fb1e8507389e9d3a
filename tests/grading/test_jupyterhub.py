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

import re

import nbformat
import pytest
from attacks import TARGETS, attack_sources, submission
from hub_driver import VENV, HubCourse, runnable_by_everyone
from variants import SolutionEditor

pytestmark = pytest.mark.needs("hub", "sandbox")
ASSIGNMENT, NOTEBOOK, COURSE = "a1_conv1d", "conv1d", "cnn-course"
PATH = f"{ASSIGNMENT}/{NOTEBOOK}.ipynb"


@pytest.fixture(scope="module")
def hub():
    course = HubCourse(["correct", "partly", "hostile"])
    with runnable_by_everyone(VENV / "bin" / "python"):
        try:
            yield course.start()
        finally:
            course.stop()


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
    instructor = hub.login(hub.instructor)
    for action in ("assign", "release"):
        answer = instructor.post(f"formgrader/api/assignment/{ASSIGNMENT}/{action}")
        assert answer.ok and answer.json().get("success"), f"{action}: {answer.text[:2000]}\n{hub.logs()}"

    students = {role: hub.login(user) for role, user in hub.students.items()}
    ids = {"course_id": COURSE, "assignment_id": ASSIGNMENT}
    for student in students.values():
        listed = student.get("assignments", course_id=COURSE).json()["value"]
        assert any(a["assignment_id"] == ASSIGNMENT and a["status"] == "released" for a in listed), listed
        fetched = student.post("assignments/fetch", data=ids)
        assert fetched.ok, fetched.text
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
    cli = [str(hub.venv / "bin" / "python"), "-m", "autograder"]
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
