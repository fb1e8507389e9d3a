"""The course as nbgrader sees it from a course root: config, folders, gradebook URL, API."""

from __future__ import annotations

import fcntl
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: Student and assignment ids: safe as folder names (no '/', no '..', no leading dot).
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+\-]{0,99}$")


#: the PostgreSQL advisory lock taken by ``setup_lock`` (any fixed 64-bit number)
SETUP_LOCK_KEY = 0x636E6E2D636F7572


def safe_id(text: str) -> bool:
    """True when ``text`` can be used as a student/assignment folder name."""
    return bool(SAFE_ID.match(text)) and ".." not in text


@dataclass
class Course:
    """Folders and settings of a course root (read from its ``nbgrader_config.py``)."""

    root: Path
    source: Path
    release: Path
    submitted: Path
    autograded: Path
    feedback: Path
    db_url: str
    course_id: str
    reports: Path

    def submission_dir(self, student: str, assignment: str) -> Path:
        return self.submitted / student / assignment

    def assignment_notebooks(self, assignment: str) -> list[str]:
        """Notebook names (without ``.ipynb``) of an assignment, from its source or release."""
        for folder in (self.source / assignment, self.release / assignment):
            if folder.is_dir():
                return sorted(p.stem for p in folder.glob("*.ipynb"))
        return []

    def assignments(self) -> list[str]:
        return sorted(p.name for p in self.source.iterdir() if p.is_dir()) \
            if self.source.is_dir() else []


def quiet_nbgrader_warnings() -> None:
    """Hide SQLAlchemy's ``SAWarning`` about nbgrader's own session use (harmless, and noisy)."""
    import warnings

    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning, module=r"nbgrader\.")


def load_app(root: Path):
    """An initialized nbgrader app with the config of ``root/nbgrader_config.py`` only.

    The working directory is left alone: the config is read from ``root``, never from cwd.
    """
    from nbgrader.apps.baseapp import NbGrader

    NbGrader.clear_instance()
    app = NbGrader()
    app.load_cwd_config = False
    app.log_level = logging.WARNING
    app.initialize([], root=str(root))
    return app


def with_busy_timeout(db_url: str, seconds: int = 120) -> str:
    """SQLite URLs get a busy timeout so that parallel workers wait for each other's writes."""
    if db_url.startswith("sqlite") and "timeout=" not in db_url:
        return db_url + ("&" if "?" in db_url else "?") + f"timeout={seconds}"
    return db_url


def course_from_app(app, db_url: str | None = None) -> Course:
    """The course layout of a loaded app; ``db_url`` overrides the config's gradebook.

    A relative SQLite path is made absolute (from the course root) in the app's config too.
    """
    coursedir = app.coursedir
    root = Path(coursedir.root).resolve()
    url = db_url or coursedir.db_url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = "sqlite:///" + str(root / url[len("sqlite:///"):])
    coursedir.db_url = with_busy_timeout(url)

    def folder(name: str) -> Path:
        return (root / getattr(coursedir, name)).resolve()

    return Course(root=root, source=folder("source_directory"),
                  release=folder("release_directory"), submitted=folder("submitted_directory"),
                  autograded=folder("autograded_directory"), feedback=folder("feedback_directory"),
                  db_url=coursedir.db_url, course_id=coursedir.course_id,
                  reports=root / "autograder" / "reports")


def load_course(root: Path, db_url: str | None = None) -> Course:
    """Read the course layout from ``root/nbgrader_config.py`` (``db_url`` overrides the config)."""
    return course_from_app(load_app(Path(root).resolve()), db_url)


def make_api(root: Path, db_url: str | None = None):
    """``(NbGraderAPI, Course)`` for a course root, from one load of its config."""
    from nbgrader.apps import NbGraderAPI

    app = load_app(Path(root).resolve())
    course = course_from_app(app, db_url)
    api = NbGraderAPI(coursedir=app.coursedir, parent=app)
    return api, course


@contextmanager
def setup_lock(course: Course) -> Iterator[None]:
    """Held while one grading run creates the gradebook's tables and the assignment's entry.

    Several runs may start at once against one gradebook (the tasks of a job array): without
    the lock each creates the same tables and types, and all but one fail. PostgreSQL: an
    advisory lock, which holds across hosts; SQLite (one host): a lock file beside the course.
    """
    if course.db_url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        engine = create_engine(course.db_url, future=True)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SETUP_LOCK_KEY})
                try:
                    yield
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SETUP_LOCK_KEY})
        finally:
            engine.dispose()
        return
    lock_path = course.root / "autograder" / ".gradebook-setup.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def enable_wal(db_url: str) -> None:
    """Put a SQLite gradebook in WAL mode (persistent): readers never block the writer."""
    if not db_url.startswith("sqlite"):
        return
    import sqlite3

    path = db_url.split("sqlite:///", 1)[1].split("?", 1)[0]
    if not path or not os.path.exists(path):
        return
    with sqlite3.connect(path, timeout=120) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
