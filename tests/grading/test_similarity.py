"""``python -m autograder similarity ID`` end to end on a class of a1_conv1d submissions.

No kernel runs: the submitted/ folder is written directly (tests/similarity_class.py), with the
real release of a1_conv1d, plus a student whose answer holds HTML and a script.
"""

from __future__ import annotations

import csv
import shutil

import nbformat
import similarity_class as sc
from course import REPO, course_copy
from fixtures_grading import run_cli

HOSTILE = ("\n    # </pre><script>document.title='pwned'</script><img src=x onerror=alert(1)>\n"
           "    return '<script>alert(\"x\")</script>'")


def test_similarity_cli_ranks_planted_copies_first_and_escapes_html(tmp_path):
    root = course_copy(tmp_path)
    shutil.copytree(REPO / "assignments" / "a1_conv1d", root / "assignments" / "a1_conv1d")
    submitted = root / "autograder" / "submitted"
    sc.write_class(submitted)
    hostile = sc.submission("dee")
    for cell in hostile.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "convolve1d":
            cell.source = cell.source.split("\n")[0] + HOSTILE
    (submitted / "mallory" / "a1_conv1d").mkdir(parents=True)
    nbformat.write(hostile, submitted / "mallory" / "a1_conv1d" / "conv1d.ipynb")
    (submitted / "broken" / "a1_conv1d").mkdir(parents=True)
    (submitted / "broken" / "a1_conv1d" / "conv1d.ipynb").write_text("{ not json")

    out = run_cli(root, "similarity", "a1_conv1d", timeout=120).stdout
    report = root / "autograder" / "reports" / "a1_conv1d"
    assert "wrote" in out and (report / "similarity.html").is_file()
    with open(report / "similarity.csv") as handle:
        rows = list(csv.DictReader(handle))
    students = set(sc.STUDENTS) | {"mallory", "broken"}
    assert len(rows) == len(students) * (len(students) - 1) // 2
    assert [r["rank"] for r in rows] == [str(i) for i in range(1, len(rows) + 1)]
    top = {(r["student_a"], r["student_b"]) for r in rows[:3]}
    assert top == sc.PLANTED, rows[:5]
    planted = [float(r["score"]) for r in rows if (r["student_a"], r["student_b"]) in sc.PLANTED]
    others = [float(r["score"]) for r in rows[3:] if {r["student_a"], r["student_b"]} != {"dee", "mallory"}]
    assert min(planted) > max(others)
    for r in rows:
        if {"release_copy", "broken"} & {r["student_a"], r["student_b"]}:
            assert float(r["score"]) == 0.0, r
    dee_mallory = next(r for r in rows if {r["student_a"], r["student_b"]} == {"dee", "mallory"})
    assert float(dee_mallory["score"]) > 0.5, "mallory copied four of dee's five answers"

    page = (report / "similarity.html").read_text()
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in page
    assert "<mark>" in page and "ana_copy" in page
