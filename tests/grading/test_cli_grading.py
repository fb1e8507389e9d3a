"""The instructor CLI end to end: collect, grade (parallel, resumable after kill -9), export,
and the students' ``check``."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile

import nbformat
from fixtures_grading import (
    CLI,
    NP_CORRECT,
    NP_WRONG,
    answer,
    make_course,
    put,
    release,
    run_cli,
    statuses,
)


def test_collect_folder_and_lms_zip(tmp_path):
    root = make_course(tmp_path)
    nb = release(root)
    layout = tmp_path / "hub"
    for student in ("ann", "bob"):
        (layout / student / "np_demo").mkdir(parents=True)
        nbformat.write(nb, layout / student / "np_demo" / "np_demo.ipynb")
    (layout / "stray.txt").write_text("?")
    out = run_cli(root, "collect", "np_demo", str(layout)).stdout
    assert "collected ann" in out and "UNMATCHED (no student found): stray.txt" in out
    download = tmp_path / "canvas.zip"
    with zipfile.ZipFile(download, "w") as archive:
        archive.writestr("cat_2026-03-01-23-59-07_np_demo.ipynb", nbformat.writes(nb))
        archive.writestr("cat_2026-03-02-08-00-00_np_demo.ipynb", nbformat.writes(nb))
        archive.writestr("README.txt", "no student here")
        archive.writestr("../evil_2026-03-01-23-59-07_np_demo.ipynb", "x")
    out = run_cli(root, "collect", "np_demo", str(download)).stdout
    stamp = (root / "autograder/submitted/cat/np_demo/timestamp.txt").read_text()
    assert stamp == "2026-03-02 08:00:00", "the latest upload wins, timestamp parsed"
    assert "UNMATCHED (no student found): README.txt" in out
    assert not (tmp_path / "evil_2026-03-01-23-59-07_np_demo.ipynb").exists()


def _count_grades(root) -> dict:
    with sqlite3.connect(root / "autograder/gradebook.db") as db:
        rows = db.execute(
            "SELECT sa.student_id, g.cell_id, COUNT(*) FROM grade g "
            "JOIN submitted_notebook sn ON g.notebook_id = sn.id "
            "JOIN submitted_assignment sa ON sn.assignment_id = sa.id "
            "GROUP BY sa.student_id, g.cell_id").fetchall()
    return {(s, c): n for s, c, n in rows}


def test_kill_9_then_rerun_loses_and_doubles_nothing(tmp_path):
    root = make_course(tmp_path)
    nb = release(root)
    students = [f"s{i:02d}" for i in range(8)]
    for i, student in enumerate(students):
        put(root, student, answer(nb, NP_CORRECT if i % 2 else NP_WRONG))
    process = subprocess.Popen([*CLI, "grade", "np_demo", "-j", "2", "--no-progress"], cwd=root,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    db = root / "autograder/gradebook.db"
    deadline = time.time() + 240
    while time.time() < deadline:
        time.sleep(0.5)
        try:
            with sqlite3.connect(db, timeout=30) as conn:
                done = conn.execute("SELECT COUNT(*) FROM autograder_status").fetchone()[0]
        except sqlite3.OperationalError:
            done = 0
        if done >= 2:
            break
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert 2 <= done < len(students), "the kill did not land mid-class"
    out = run_cli(root, "grade", "np_demo", "--no-progress").stdout
    # the rerun grades exactly those without a status row (the kill may land after one more)
    regraded = int(out.split("graded ", 1)[1].split(" ", 1)[0])
    assert 1 <= regraded <= len(students) - done, out
    rows = statuses(root)
    assert {s: (rows[s]["status"], float(rows[s]["total"])) for s in students} == {
        s: ("ok", 4.0 if i % 2 else 0.0) for i, s in enumerate(students)}
    counts = _count_grades(root)
    assert set(counts.values()) == {1} and len(counts) == 3 * len(students)  # 3 test cells


def test_export_summary_and_flags(tmp_path):
    root = make_course(tmp_path)
    nb = release(root)
    put(root, "good", answer(nb, NP_CORRECT))
    put(root, "half", answer(nb, {"mean_abs": NP_CORRECT["mean_abs"], "clip01": NP_WRONG["clip01"]}))
    put(root, "broken", "not json")
    graded = run_cli(root, "grade", "np_demo", "--no-progress", expect=(3,))
    assert "broken: invalid-notebook" in graded.stdout, "grade lists the flagged submission"
    out = run_cli(root, "export", "np_demo").stdout
    assert "FLAG broken: invalid-notebook" in out
    report = root / "autograder/reports/np_demo"
    summary = (report / "summary.csv").read_text()
    assert "test_clip01,1.0,0.5,0.5,0.5,2" in summary
    assert (report / "summary.png").stat().st_size > 1000


def test_check_full_and_visible_only(tmp_path):
    root = make_course(tmp_path)
    mine = tmp_path / "work" / "np_demo" / "np_demo.ipynb"
    mine.parent.mkdir(parents=True)
    nbformat.write(answer(release(root), {"mean_abs": NP_WRONG["mean_abs"],
                                           "clip01": NP_CORRECT["clip01"]}), mine)
    checked = run_cli(root, "check", str(mine))
    full = checked.stdout
    assert "full: visible and hidden tests" in full
    assert "Warning" not in checked.stderr, checked.stderr  # a student sees a report, not noise
    assert "FAIL  test_mean_abs_hidden (hidden): 0/2" in full and "PASS  test_clip01: 1/1" in full
    assert "8675309" not in full
    visible = run_cli(tmp_path, "check", str(mine), "--repo", str(tmp_path)).stdout
    assert "visible tests only" in visible
    assert "SKIP  test_mean_abs_hidden (hidden): 0/2  - hidden tests: not run here" in visible
    assert "PASS  test_clip01: 1/1" in visible and "FAIL  test_mean_abs: 0/1" in visible


CALLER = r'''
import json, os, signal, sys
from pathlib import Path
from autograder.check import check
before = (os.getcwd(), dict(os.environ), signal.getsignal(signal.SIGTERM), sys.path[:])
mode, line, items = check(Path(sys.argv[1]), "np_demo", Path(sys.argv[2]))
after = (os.getcwd(), dict(os.environ), signal.getsignal(signal.SIGTERM), sys.path[:])
names = ("cwd", "environ", "SIGTERM handler", "sys.path")
changed = [name for name, b, a in zip(names, before, after) if b != a]
print(json.dumps({"line": line, "items": len(items), "changed": changed}))
'''


def test_check_leaves_the_calling_process_as_it_found_it(tmp_path):
    """A student's own Python process calls ``check``: same folder, environment and handlers after."""
    root = make_course(tmp_path)
    mine = tmp_path / "work" / "np_demo" / "np_demo.ipynb"
    mine.parent.mkdir(parents=True)
    nbformat.write(answer(release(root), NP_CORRECT), mine)
    out = subprocess.run([sys.executable, "-c", CALLER, str(mine), str(root)], cwd=mine.parent,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["line"].startswith("ok") and result["items"] >= 3, result
    assert result["changed"] == [], f"check changed the caller's {result['changed']}"
