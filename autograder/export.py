"""Grades CSV (one row per student, one column per graded item) and a per-item summary.

Every student of the gradebook or with a status gets a row; ``status`` and ``reason`` say when
the grade is not a normal one (kernel died, invalid notebook, timeout, no submission, ...), so a
failure never reads as a silent 0. The summary gives, per item, the mean points and the failure
rate (share of graded students without full points) and draws them with a histogram of totals.
The same rows also go to Canvas's and Moodle's grade import formats (``autograder/lms.py``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from . import lms, status
from .course import load_course

GRADED = tuple(state.value for state in status.State if not state.zeroed)


@dataclass
class Export:
    grades_csv: Path
    summary_csv: Path
    plot: Path
    rows: list[dict]
    items: list[tuple[str, float]]
    summary: list[dict]
    canvas_csv: Path | None = None
    moodle_csv: Path | None = None
    lms_flagged: list[dict] = field(default_factory=list)


def _gradebook_rows(db_url: str, assignment: str):
    """(items [(column, max)], {student: {column: score}}) from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gradebook:
        record = gradebook.find_assignment(assignment)
        notebooks = sorted(record.notebooks, key=lambda n: n.name)
        several = len(notebooks) > 1
        items, columns = [], {}
        for notebook in notebooks:
            for cell in sorted(notebook.grade_cells, key=lambda c: c.id):
                column = f"{notebook.name}:{cell.name}" if several else cell.name
                columns[(notebook.name, cell.name)] = column
                items.append((column, float(cell.max_score)))
        scores: dict[str, dict[str, float]] = {}
        for student in gradebook.students:
            try:
                submission = gradebook.find_submission(assignment, student.id)
            except MissingEntry:
                continue
            row = scores.setdefault(student.id, {})
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    row[columns[(notebook.name, grade.name)]] = float(grade.score)
        everyone = sorted(s.id for s in gradebook.students)
    return items, scores, everyone


def export(root: Path, assignment: str, out_dir: Path | None = None,
           db_url: str | None = None, lms_options: dict | None = None) -> Export:
    """Write ``grades.csv``, ``summary.csv``, ``summary.png``, ``canvas.csv``, ``moodle.csv``
    (and ``lms_flagged.csv``) for one assignment.

    lms_options: keyword arguments of ``write_lms`` (title, canvas_id_column, canvas_id,
    moodle_id_field, per_question); defaults when None.
    """
    course = load_course(Path(root), db_url)
    items, scores, everyone = _gradebook_rows(course.db_url, assignment)
    statuses = status.read_all(course.db_url, assignment)
    out = Path(out_dir or course.reports / assignment)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for student in sorted(set(everyone) | set(scores) | set(statuses)):
        record = statuses.get(student)
        if record is not None:
            state, reason = record.status, record.reason
        elif student in scores:
            state, reason = "unverified", "graded outside `python -m autograder grade`"
        else:
            state, reason = "no-submission", "no submission for this assignment"
        points = scores.get(student, {})
        row = {"student_id": student, "status": state, "reason": reason,
               "total": round(sum(points.values()), 4) if points else 0.0,
               "max_total": sum(m for _, m in items)}
        row.update({name: points.get(name, "") for name, _ in items})
        rows.append(row)
    header = ["student_id", "status", "reason", "total", "max_total", *(n for n, _ in items)]
    grades_csv = out / "grades.csv"
    with open(grades_csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    graded = [r for r in rows if r["status"] in GRADED]
    summary = []
    for name, max_points in items:
        values = [float(r[name] or 0) for r in graded]
        mean = sum(values) / len(values) if values else 0.0
        failed = sum(1 for v in values if v < max_points - 1e-9)
        summary.append({"item": name, "max_points": max_points, "mean": round(mean, 3),
                        "mean_fraction": round(mean / max_points, 3) if max_points else 0.0,
                        "failure_rate": round(failed / len(values), 3) if values else 0.0,
                        "graded_students": len(values)})
    summary_csv = out / "summary.csv"
    with open(summary_csv, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(summary[0]) if summary else ["item"])
        writer.writeheader()
        writer.writerows(summary)
    plot = out / "summary.png"
    _plot(summary, [float(r["total"]) for r in graded], sum(m for _, m in items), plot,
          assignment, len(rows) - len(graded))
    result = Export(grades_csv, summary_csv, plot, rows, items, summary)
    write_lms(result, out, assignment, **(lms_options or {}))
    return result


def write_lms(result: Export, out: Path, assignment: str, title: str | None = None,
              canvas_id_column: str = "SIS Login ID", canvas_id: str | None = None,
              moodle_id_field: str = "idnumber", per_question: bool = False) -> None:
    """``canvas.csv``, ``moodle.csv`` and ``lms_flagged.csv`` from the rows of ``result``.

    title: the LMS column name (default: the assignment id); canvas_id: the Canvas assignment's
    id (its column becomes "title (id)"); per_question: one more column per graded item.
    """
    title = title or assignment
    result.canvas_csv = out / "canvas.csv"
    result.lms_flagged = lms.write_canvas(result.canvas_csv, result.rows, result.items, title, GRADED,
                                          canvas_id_column, canvas_id, per_question)
    result.moodle_csv = out / "moodle.csv"
    lms.write_moodle(result.moodle_csv, result.rows, result.items, title, GRADED, moodle_id_field,
                     per_question)
    lms.write_flagged(out / "lms_flagged.csv", result.lms_flagged)


def _plot(summary: list[dict], totals: list[float], max_total: float, path: Path,
          assignment: str, n_flagged: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    names = [s["item"] for s in summary]
    rates = [100 * s["failure_rate"] for s in summary]
    left.barh(names, rates, color=["tab:red" if r >= 50 else "tab:blue" for r in rates])
    left.invert_yaxis()
    left.set_xlim(0, 100)
    left.set_xlabel("students without full points (%)")
    left.set_title(f"{assignment}: which item was hard")
    right.hist(totals, bins=min(20, max(5, len(set(totals)))), range=(0, max_total or 1),
               color="tab:green")
    right.set_xlabel(f"total points (of {max_total:g})")
    right.set_ylabel("students")
    right.set_title(f"{len(totals)} graded, {n_flagged} flagged (see grades.csv)")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def format_summary(result: Export) -> str:
    """The summary as a text table (printed by the CLI)."""
    lines = [f"{'item':32s} {'max':>5s} {'mean':>6s} {'fail%':>6s}"]
    for s in result.summary:
        lines.append(f"{s['item'][:32]:32s} {s['max_points']:5g} {s['mean']:6.2f} "
                     f"{100 * s['failure_rate']:5.0f}%")
    flagged = [r for r in result.rows if r["status"] not in GRADED]
    partial = [r for r in result.rows if r["status"] in GRADED and r["status"] != status.OK]
    for row in flagged + partial:
        lines.append(f"FLAG {row['student_id']}: {row['status']} - {row['reason']}")
    return "\n".join(lines)
