"""Grade files an LMS imports: Canvas's gradebook CSV and Moodle's grade import CSV.

Both are written from the rows of ``grades.csv`` (``autograder/export.py``), keyed by the student
ids that ``collect`` read from the LMS's download. The rules, decided once for both:

- graded (``ok``, or a cell that timed out / ran out of memory and scored 0 by itself): the
  points, rounded half up to 2 decimals, written as plain numbers (``11.5``, ``4``, ``0``);
- no submission: the student's row is written with empty grade cells: an empty cell is "no
  grade", never a 0 (Canvas shows ``-``; Moodle's CSV import reads ``''`` as no grade);
- flagged (grading failed: kernel died, invalid or missing notebook, error; or graded outside
  ``python -m autograder grade``): the student is left OUT of both files, so an import never
  writes a grade that nobody checked, and listed in ``lms_flagged.csv`` with the reason.
  Neither format has a place for a comment that the LMS would not import as a grade: Canvas
  turns every unknown column into a new assignment.

Sources: Canvas's importer (``app/models/gradebook_importer.rb`` in instructure/canvas-lms)
requires ``Student`` and ``ID`` as the first two columns and ``Section`` as the last student
column (``SIS User ID``, ``SIS Login ID`` between), reads the ``Points Possible`` row, matches a
student by ID, then SIS User ID, then SIS Login ID, then name, and an assignment by the id in
"Name (id)", creating a new assignment for a name without an id. Moodle's grade import
(docs.moodle.org "Grade import"; ``grade/import/csv/classes/load_data.php``) maps one column to
the user's id number, email address or username, the others to grade items; values are plain
numbers, ``''`` or ``-`` mean no grade.
"""

from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_ID_COLUMNS = ("ID", "SIS User ID", "SIS Login ID")
MOODLE_ID_FIELDS = {"idnumber": "ID number", "email": "Email address", "username": "Username"}
NO_SUBMISSION = "no-submission"


def points(value) -> str:
    """A score as the LMS wants it: rounded half up to 2 decimals, no trailing zeros ("" stays "")."""
    if value in ("", None):
        return ""
    rounded = Decimal(str(float(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = format(rounded.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def split_rows(rows: list[dict], graded: tuple[str, ...]) -> tuple[list[dict], list[dict]]:
    """grades.csv rows -> (rows for the LMS: graded or not submitted, flagged rows left out)."""
    keep = [r for r in rows if r["status"] in graded or r["status"] == NO_SUBMISSION]
    flagged = [r for r in rows if r not in keep]
    return keep, flagged


def _grade_cells(row: dict, items: list[tuple[str, float]], per_question: bool) -> list[str]:
    """The total (and each item's points) of a row; all empty for a student who did not submit."""
    if row["status"] == NO_SUBMISSION:
        return [""] * (1 + (len(items) if per_question else 0))
    cells = [points(row["total"])]
    if per_question:
        cells += [points(row.get(name, "")) for name, _ in items]
    return cells


def canvas_columns(title: str, items: list[tuple[str, float]], canvas_id: str | None,
                   per_question: bool) -> list[str]:
    """Assignment column names: "Title (id)" for an existing Canvas assignment, else "Title"."""
    total = f"{title} ({canvas_id})" if canvas_id else title
    return [total, *(f"{title} {name}" for name, _ in items)] if per_question else [total]


def write_canvas(path: Path, rows: list[dict], items: list[tuple[str, float]], title: str,
                 graded: tuple[str, ...], id_column: str = "SIS Login ID",
                 canvas_id: str | None = None, per_question: bool = False) -> list[dict]:
    """Canvas gradebook CSV: header, "Points Possible" row, one row per student; -> flagged rows.

    The collected student id goes into ``id_column`` (one of ID, SIS User ID, SIS Login ID) and
    into Student (the name column, Canvas's last resort for matching); Section stays empty.
    """
    if id_column not in CANVAS_ID_COLUMNS:
        raise ValueError(f"Canvas id column must be one of {CANVAS_ID_COLUMNS}, not {id_column!r}")
    keep, flagged = split_rows(rows, graded)
    maximum = [sum(m for _, m in items), *(m for _, m in items)][:1 + (len(items) if per_question else 0)]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*CANVAS_STUDENT_COLUMNS, *canvas_columns(title, items, canvas_id, per_question)])
        writer.writerow(["    Points Possible", "", "", "", "", *(points(m) for m in maximum)])
        for row in keep:
            ids = {column: (row["student_id"] if column == id_column else "") for column in CANVAS_ID_COLUMNS}
            writer.writerow([row["student_id"], ids["ID"], ids["SIS User ID"], ids["SIS Login ID"], "",
                             *_grade_cells(row, items, per_question)])
    return flagged


def write_moodle(path: Path, rows: list[dict], items: list[tuple[str, float]], title: str,
                 graded: tuple[str, ...], id_field: str = "idnumber",
                 per_question: bool = False) -> list[dict]:
    """Moodle grade import CSV: an identifier column, then the grade column(s); -> flagged rows."""
    if id_field not in MOODLE_ID_FIELDS:
        raise ValueError(f"Moodle id field must be one of {tuple(MOODLE_ID_FIELDS)}, not {id_field!r}")
    keep, flagged = split_rows(rows, graded)
    header = [MOODLE_ID_FIELDS[id_field], title]
    if per_question:
        header += [f"{title} {name}" for name, _ in items]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in keep:
            writer.writerow([row["student_id"], *_grade_cells(row, items, per_question)])
    return flagged


def write_flagged(path: Path, flagged: list[dict]) -> Path:
    """``lms_flagged.csv``: the students left out of the LMS files, with status and reason."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", "status", "reason", "total"])
        for row in flagged:
            writer.writerow([row["student_id"], row["status"], row["reason"], points(row["total"])])
    return path
