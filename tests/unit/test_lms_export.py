"""Canvas's and Moodle's grade import files (autograder/lms.py, written by ``export``), checked
against each format's rules as their importers read them (see docs/grading.md for the sources):
header, Points Possible row, ids, rounding, empty cells, flagged students left out."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder import export as export_module
from autograder import lms
from autograder.cli import build_parser

ITEMS = [("test_corr1d", 4.0), ("test_layer", 3.5)]
GRADED = ("ok", "cell-timeout", "memory")


def row(student: str, state: str, total: float, corr="", layer="", reason="") -> dict:
    """A row of grades.csv as ``export`` builds it."""
    return {"student_id": student, "status": state, "reason": reason, "total": total,
            "max_total": 7.5, "test_corr1d": corr, "test_layer": layer}


ROWS = [
    row("ann", "ok", 6.675, 4.0, 2.675),
    row("bob", "memory", 4.0, 4.0, 0.0, "MemoryError in test_layer"),
    row("cat", "no-submission", 0.0, reason="no submission for this assignment"),
    row("dan", "kernel-died", 0.0, 0.0, 0.0, "kernel exited with code 3"),
    row("eve", "unverified", 7.5, 4.0, 3.5, "graded outside `python -m autograder grade`"),
    row("fay", "ok", 1 / 3, 1 / 3, 0.0),
]


def read(path: Path) -> list[list[str]]:
    """The rows of a CSV file, as lists of strings."""
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


@pytest.mark.parametrize("value, text", [(6.675, "6.68"), (2.675, "2.68"), (4.0, "4"), (11.5, "11.5"),
                                         (0.0, "0"), (1 / 3, "0.33"), (0.005, "0.01"), ("", ""),
                                         (7, "7"), (10.0, "10")])
def test_points_round_half_up_to_two_decimals_plain(value, text):
    assert lms.points(value) == text


def canvas_header_ok(header: list[str]) -> bool:
    """What Canvas's gradebook importer requires of the header row."""
    return (len(header) > 3 and re.search("Student", header[0]) and re.search("ID", header[1])
            and re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3])
            and re.search("Section", header[4])) is not None


def test_canvas_file(tmp_path):
    path = tmp_path / "canvas.csv"
    flagged = lms.write_canvas(path, ROWS, ITEMS, "Assignment 1", GRADED, canvas_id="4711")
    table = read(path)
    header, possible, *students = table
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Assignment 1 (4711)"]
    assert canvas_header_ok(header)
    assert re.fullmatch(r"(.*)\s\((\d+)\)", header[5]).groups() == ("Assignment 1", "4711")
    assert re.search("Points Possible", possible[0]) and possible[1:] == ["", "", "", "", "7.5"]
    by_id = {r[3]: r for r in students}
    assert set(by_id) == {"ann", "bob", "cat", "fay"}, "flagged dan and eve are left out"
    assert by_id["ann"] == ["ann", "", "", "ann", "", "6.68"]
    assert by_id["bob"][5] == "4" and by_id["fay"][5] == "0.33"
    assert by_id["cat"][5] == "", "no submission: an empty cell, not 0"
    assert [r["student_id"] for r in flagged] == ["dan", "eve"]
    assert all(len(r) == len(header) for r in table)


def test_canvas_per_question_and_id_column(tmp_path):
    path = tmp_path / "canvas.csv"
    lms.write_canvas(path, ROWS, ITEMS, "a1_conv1d", GRADED, id_column="ID", per_question=True)
    header, possible, *students = read(path)
    assert header[5:] == ["a1_conv1d", "a1_conv1d test_corr1d", "a1_conv1d test_layer"]
    assert possible[5:] == ["7.5", "4", "3.5"]
    ann = next(r for r in students if r[0] == "ann")
    assert ann[1:5] == ["ann", "", "", ""], "the collected id in the ID column only"
    assert ann[5:] == ["6.68", "4", "2.68"]
    cat = next(r for r in students if r[0] == "cat")
    assert cat[5:] == ["", "", ""]
    with pytest.raises(ValueError, match="SIS Login ID"):
        lms.write_canvas(path, ROWS, ITEMS, "a1", GRADED, id_column="Email")


@pytest.mark.parametrize("field, column", [("idnumber", "ID number"), ("email", "Email address"),
                                           ("username", "Username")])
def test_moodle_file(tmp_path, field, column):
    path = tmp_path / "moodle.csv"
    flagged = lms.write_moodle(path, ROWS, ITEMS, "A1 conv1d", GRADED, field, per_question=True)
    header, *students = read(path)
    assert header == [column, "A1 conv1d", "A1 conv1d test_corr1d", "A1 conv1d test_layer"]
    by_id = {r[0]: r[1:] for r in students}
    assert by_id == {"ann": ["6.68", "4", "2.68"], "bob": ["4", "4", "0"], "cat": ["", "", ""],
                     "fay": ["0.33", "0.33", "0"]}
    number = re.compile(r"^\d+(\.\d{1,2})?$")
    assert all(number.match(v) for values in by_id.values() for v in values if v), "plain numbers"
    assert [r["student_id"] for r in flagged] == ["dan", "eve"]
    lms.write_moodle(path, ROWS, ITEMS, "A1", GRADED, field)
    assert read(path)[0] == [column, "A1"]
    with pytest.raises(ValueError, match="idnumber"):
        lms.write_moodle(path, ROWS, ITEMS, "A1", GRADED, "ID number")


def test_export_writes_the_lms_files_and_the_flagged_list(tmp_path, monkeypatch):
    """``export`` end to end with the gradebook and statuses replaced by fixed data."""
    scores = {"ann": {"test_corr1d": 4.0, "test_layer": 2.675},
              "bob": {"test_corr1d": 4.0, "test_layer": 0.0},
              "dan": {"test_corr1d": 0.0, "test_layer": 0.0}}
    statuses = {"ann": SimpleNamespace(status="ok", reason=""),
                "bob": SimpleNamespace(status="memory", reason="MemoryError"),
                "dan": SimpleNamespace(status="kernel-died", reason="kernel exited with code 3")}
    monkeypatch.setattr(export_module, "load_course",
                        lambda root, db_url=None: SimpleNamespace(db_url="sqlite://", reports=tmp_path))
    monkeypatch.setattr(export_module, "_gradebook_rows",
                        lambda db_url, assignment: (ITEMS, scores, ["ann", "bob", "cat", "dan"]))
    monkeypatch.setattr(export_module.status, "read_all", lambda db_url, assignment: statuses)
    monkeypatch.setattr(export_module, "_plot", lambda *args: None)
    result = export_module.export(tmp_path, "a1_conv1d", lms_options={"canvas_id": "12",
                                                                       "per_question": True})
    assert result.canvas_csv == tmp_path / "a1_conv1d" / "canvas.csv"
    canvas = {r[3]: r[5:] for r in read(result.canvas_csv)[2:]}
    assert canvas == {"ann": ["6.68", "4", "2.68"], "bob": ["4", "4", "0"], "cat": ["", "", ""]}
    assert read(result.canvas_csv)[0][5] == "a1_conv1d (12)"
    moodle = {r[0]: r[1] for r in read(result.moodle_csv)[1:]}
    assert moodle == {"ann": "6.68", "bob": "4", "cat": ""}
    flagged = read(tmp_path / "a1_conv1d" / "lms_flagged.csv")
    assert flagged == [["student_id", "status", "reason", "total"],
                       ["dan", "kernel-died", "kernel exited with code 3", "0"]]


def test_cli_options_reach_export_and_similarity():
    args = build_parser().parse_args(["export", "a1", "--per-question", "--canvas-id-column", "ID",
                                      "--canvas-assignment-id", "9", "--moodle-id-field", "email",
                                      "--lms-title", "Assignment 1"])
    assert (args.per_question, args.canvas_id_column, args.canvas_assignment_id,
            args.moodle_id_field, args.lms_title) == (True, "ID", "9", "email", "Assignment 1")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["export", "a1", "--moodle-id-field", "fullname"])
    args = build_parser().parse_args(["similarity", "a1", "--top", "5", "--common", "0.2"])
    assert (args.assignment, args.top, args.common, args.func.__name__) == ("a1", 5, 0.2, "cmd_similarity")
