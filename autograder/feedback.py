"""Per-student HTML feedback (nbgrader ``generate_feedback``) with hidden tests redacted.

Redaction is done by ``RedactHiddenTests`` (wired in ``nbgrader_config.py``): hidden tests keep
their name and points; their code, printed output and traceback are replaced. This module only
drives nbgrader for the students whose grading finished, and double-checks that no hidden-test
block reached an HTML file.
"""

from __future__ import annotations

from pathlib import Path

from . import status
from .course import make_api
from .nbgrader_plugins import HIDDEN_BEGIN


def generate(root: Path, assignment: str, students: list[str] | None = None,
             db_url: str | None = None) -> dict[str, str]:
    """Write ``feedback/<student>/<assignment>/*.html``; return student -> 'ok' or the problem."""
    api, course = make_api(root, db_url)
    known = status.read_all(course.db_url, assignment)
    results = {}
    for student in sorted(students or known):
        record = known.get(student)
        if record is None or not (course.autograded / student / assignment).is_dir():
            results[student] = "not graded: no feedback"
            continue
        outcome = api.generate_feedback(assignment, student, force=True)
        if not outcome["success"]:
            lines = (outcome.get("error") or outcome.get("log") or "").strip().splitlines()
            results[student] = "feedback failed: " + (lines[-1] if lines else "?")
            continue
        leaks = [p.name for p in (course.feedback / student / assignment).glob("*.html")
                 if HIDDEN_BEGIN in p.read_text(errors="replace")]
        if leaks:
            for name in leaks:
                (course.feedback / student / assignment / name).unlink()
            results[student] = f"hidden tests found in {leaks}: removed (check the config)"
        else:
            results[student] = "ok"
    return results
