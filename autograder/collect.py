"""Bring submissions into nbgrader's ``submitted/<student>/<assignment>/`` folder.

Two sources:
- a folder laid out ``<student>/<assignment>/<notebook>.ipynb`` (e.g. a JupyterHub export);
- an LMS download: a zip (or folder) of files named ``<student>_<YYYY-MM-DD-HH-MM-SS>_<file>``
  (Canvas / Moodle style; the regexp is ``LmsFileNameCollector.named_regexp``). When a student
  uploaded several times, the latest timestamp wins, and it is written to ``timestamp.txt``.
Files that match no student are reported, never guessed.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .course import Course, safe_id


@dataclass
class CollectReport:
    collected: dict[str, list[str]] = field(default_factory=dict)  # student -> files
    unmatched: list[str] = field(default_factory=list)
    skipped_older: list[str] = field(default_factory=list)


def _write_submission(course: Course, assignment: str, student: str,
                      files: dict[str, Path], timestamp: str) -> Path:
    """Replace ``submitted/<student>/<assignment>/`` by ``files`` (name -> source path)."""
    dest = course.submission_dir(student, assignment)
    course.submitted.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".collect-", dir=course.submitted))
    for name, source in files.items():
        target = staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    (staging / "timestamp.txt").write_text(timestamp)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        shutil.rmtree(dest)
    shutil.move(str(staging), dest)
    return dest


def collect_folder(course: Course, assignment: str, folder: Path) -> CollectReport:
    """Copy ``folder/<student>/<assignment>/*`` into the submitted folder."""
    report = CollectReport()
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        source = student_dir / assignment
        if not source.is_dir():
            report.unmatched.append(str(student_dir.relative_to(folder)) + "/")
            continue
        if not safe_id(student_dir.name):
            report.unmatched.append(str(source.relative_to(folder)) + " (unsafe student id)")
            continue
        files = {str(p.relative_to(source)): p for p in source.rglob("*")
                 if p.is_file() and p.name != "timestamp.txt" and not p.is_symlink()}
        stamp_file = source / "timestamp.txt"
        if stamp_file.is_file():
            stamp = stamp_file.read_text().strip()
        else:
            newest = max((p.stat().st_mtime for p in files.values()), default=0)
            stamp = dt.datetime.fromtimestamp(newest).isoformat(sep=" ")
        _write_submission(course, assignment, student_dir.name, files, stamp)
        report.collected[student_dir.name] = sorted(files)
    for item in sorted(p for p in folder.iterdir() if p.is_file()):
        report.unmatched.append(item.name)
    return report


def _lms_regexp() -> str:
    from autograder.nbgrader_plugins import LmsFileNameCollector

    return LmsFileNameCollector.named_regexp.default_value


def collect_lms(course: Course, assignment: str, download: Path,
                regexp: str | None = None) -> CollectReport:
    """Collect an LMS download (a ``.zip`` or an unpacked folder) of timestamped files."""
    import re

    from autograder.nbgrader_plugins import parse_lms_timestamp

    pattern = re.compile(regexp or _lms_regexp())
    report = CollectReport()
    with tempfile.TemporaryDirectory() as scratch:
        if download.is_file():
            with zipfile.ZipFile(download) as archive:
                for member in archive.infolist():
                    target = (Path(scratch) / member.filename).resolve()
                    if member.is_dir() or not str(target).startswith(str(Path(scratch).resolve())):
                        if not member.is_dir():
                            report.unmatched.append(member.filename + " (unsafe path)")
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(member) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst)
            root = Path(scratch)
        else:
            root = download
        latest: dict[str, dict[str, tuple[str, Path]]] = {}
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            match = pattern.match(path.name)
            stamp = parse_lms_timestamp(match.group("timestamp")) if match else None
            student = match.group("student_id") if match else ""
            if not match or not stamp or not safe_id(student):
                report.unmatched.append(str(path.relative_to(root)))
                continue
            name = match.group("file_id")
            files = latest.setdefault(student, {})
            if name in files and files[name][0] >= stamp:
                report.skipped_older.append(str(path.relative_to(root)))
                continue
            if name in files:
                report.skipped_older.append(str(files[name][1].relative_to(root)))
            files[name] = (stamp, path)
        for student, files in sorted(latest.items()):
            stamp = max(s for s, _ in files.values())
            _write_submission(course, assignment, student, {n: p for n, (_, p) in files.items()},
                              stamp)
            report.collected[student] = sorted(files)
    return report
