"""Per-student HTML feedback (nbgrader ``generate_feedback``), checked file by file before release.

Redaction is done by ``RedactHiddenTests`` (wired in ``nbgrader_config.py``): hidden tests keep
their name and points; their code, printed output and traceback are replaced. This module drives
nbgrader for the students whose grading finished and checks **every** file it is about to release
(nbgrader's feedback step copies every non-notebook file of the autograded folder):

- before nbgrader copies anything, links and special files in the autograded folder are removed
  (nbgrader's copy would follow them on the host);
- after, every file in the student's feedback folder must be a regular file holding no hidden-test
  or solution marker, no SQLite database (the gradebook), and no copy of a course file
  (``solutions/<id>/*``, ``nbgrader_config.py``, the gradebook).

What is removed is reported; ``python -m autograder feedback`` then exits with status 1.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from pathlib import Path

from . import status
from .course import make_api
from .nbgrader_plugins import HIDDEN_BEGIN
from .outside import sweep_links

#: Bytes no released file may contain.
FORBIDDEN_BYTES = (HIDDEN_BEGIN.encode(), b"### BEGIN SOLUTION", b"SQLite format 3\x00")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def protected_digests(course, assignment: str) -> set[str]:
    """SHA-256 of the course files no student may receive (solutions, config, gradebook), but
    those the release gives every student anyway (e.g. a5's pretrained weights)."""
    paths = [course.root / "nbgrader_config.py"]
    paths += [p for p in (course.source / assignment).rglob("*") if p.is_file()]
    if course.db_url.startswith("sqlite:///"):
        paths.append(Path(course.db_url[len("sqlite:///"):].split("?", 1)[0]))
    released = {_digest(p) for p in (course.release / assignment).rglob("*") if p.is_file()}
    return {_digest(p) for p in paths if p.is_file() and not p.is_symlink()} - released


def unsafe_files(folder: Path, protected: set[str]) -> list[str]:
    """Files under ``folder`` that must not be released (relative paths); nothing is followed."""
    found = []
    for here, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(here) / name
            mode = os.lstat(path).st_mode
            if stat.S_ISDIR(mode):
                continue
            if not stat.S_ISREG(mode):
                found.append(str(path.relative_to(folder)))
                continue
            data = path.read_bytes()
            if any(marker in data for marker in FORBIDDEN_BYTES) or _digest(path) in protected:
                found.append(str(path.relative_to(folder)))
    return found


def _remove(folder: Path, names: list[str]) -> None:
    for name in names:
        path = folder / name
        if os.path.lexists(path):
            os.unlink(path)


def generate(root: Path, assignment: str, students: list[str] | None = None,
             db_url: str | None = None) -> dict[str, str]:
    """Write ``feedback/<student>/<assignment>/*.html``; return student -> 'ok' or the problem.

    An outcome that starts with ``removed`` means files were withheld (see the module docstring).
    """
    api, course = make_api(root, db_url)
    known = status.read_all(course.db_url, assignment)
    protected = protected_digests(course, assignment)
    results = {}
    for student in sorted(students or known):
        record = known.get(student)
        graded = course.autograded / student / assignment
        if record is None or not graded.is_dir():
            results[student] = "not graded: no feedback"
            continue
        removed = [f"autograded/{name}" for name in sweep_links(graded)]
        outcome = api.generate_feedback(assignment, student, force=True)
        if not outcome["success"]:
            text = f"{outcome.get('log') or ''}\n{outcome.get('error') or ''}".strip()
            print(f"--- nbgrader generate_feedback for {student} failed:\n{text}", file=sys.stderr)
            lines = text.splitlines()
            results[student] = "feedback failed: " + (lines[-1] if lines else "?")
            continue
        released = course.feedback / student / assignment
        unsafe = unsafe_files(released, protected)
        _remove(released, unsafe)
        removed += unsafe
        results[student] = f"removed {removed} (not released)" if removed else "ok"
    return results
