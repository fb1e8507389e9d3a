"""``python -m autograder watch ID``: feedback minutes after a student submits.

Every ``interval`` seconds, one round: nbgrader collects the latest submissions from the exchange
into ``autograder/submitted/``; ``grade`` grades what is new or changed (sandboxed, resumable: the
status table); then every graded submission whose feedback has not been released yet gets it,
written by ``feedback`` (hidden tests redacted) and released to the exchange by nbgrader. The
released submission's hash is recorded in the gradebook (``autograder_feedback_released``), so a
submission's feedback is released at most once, and a restarted watcher resumes where it stopped.
Run it as the instructor, in the course folder (a JupyterHub service: docs/jupyterhub.md).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from . import status
from .course import make_api
from .feedback import generate
from .grade import grade


class WatchError(RuntimeError):
    """A round could not run (the exchange or the gradebook); the message says which."""


def one_round(root: Path, assignment: str, db_url: str | None = None, workers: int = 1) -> list[str]:
    """Collect, grade, release feedback; returns the students whose feedback was released."""
    api, course = make_api(root, db_url)
    collected = api.collect(assignment, update=True)
    if not collected["success"]:
        raise WatchError(f"nbgrader collect {assignment} failed: {collected.get('error', '')[-2000:]}")
    grade(Path(root), assignment, workers=workers, db_url=db_url, progress=False)
    graded = status.read_all(course.db_url, assignment)
    released = status.read_released(course.db_url, assignment)
    done = []
    for student, record in sorted(graded.items()):
        if released.get(student) == record.submission_hash:
            continue
        outcome = generate(Path(root), assignment, [student], db_url)[student]
        if outcome != "ok":
            print(f"[watch] {student}: {outcome}; feedback not released", file=sys.stderr, flush=True)
            continue
        sent = api.release_feedback(assignment, student)
        if not sent["success"]:
            print(f"[watch] {student}: release_feedback failed: {sent.get('error', '')[-500:]}",
                  file=sys.stderr, flush=True)
            continue
        status.write_released(course.db_url, assignment, student, record.submission_hash)
        done.append(student)
    return done


def watch(root: Path, assignment: str, interval: float = 30.0, db_url: str | None = None,
          workers: int = 1, rounds: int | None = None) -> None:
    """Run rounds every ``interval`` seconds (``rounds``: stop after that many; None: forever).

    A round that fails is reported and retried at the next one: the watcher keeps running.
    """
    done_rounds = 0
    while rounds is None or done_rounds < rounds:
        started = time.monotonic()
        try:
            released = one_round(root, assignment, db_url, workers)
            if released:
                print(f"[watch] feedback released: {', '.join(released)}", flush=True)
        except Exception as error:  # noqa: BLE001  (the exchange, the gradebook, nbgrader: next round)
            print(f"[watch] round failed, retrying in {interval:.0f} s: {error}", file=sys.stderr, flush=True)
        done_rounds += 1
        if rounds is None or done_rounds < rounds:
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
