"""A class graded as a real Slurm job array (``deploy/slurm/grade.sbatch``) into PostgreSQL.

A single-node Slurm (Debian's slurm-wlm and munge, controller and node on 127.0.0.1, started
and stopped here by ``devtools.slurm``) runs the course's own batch script with 2 array tasks;
each task grades its share (from ``SLURM_ARRAY_TASK_ID``) into one PostgreSQL gradebook.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from course import REPO
from fixtures_grading import NP_CORRECT, NP_WRONG, answer, make_course, postgres_grades, put, release

from autograder.grade import in_shard
from devtools.slurm import LocalSlurm

pytestmark = pytest.mark.needs("slurm", "postgres", "sandbox")
SCRIPT = REPO / "deploy" / "slurm" / "grade.sbatch"


@pytest.fixture
def slurm(tmp_path):
    with LocalSlurm(tmp_path / "slurm") as cluster:
        yield cluster


def make_class(tmp_path: Path, size: int) -> tuple[Path, dict[str, tuple[str, float]]]:
    """A course with ``size`` submissions, every other one correct; the expected statuses."""
    root = make_course(tmp_path)
    notebook = release(root)
    expected = {}
    for i in range(size):
        student = f"s{i:02d}"
        put(root, student, answer(notebook, NP_CORRECT if i % 2 else NP_WRONG))
        expected[student] = ("ok", 4.0 if i % 2 else 0.0)
    assert all(any(in_shard(s, (k, 2)) for s in expected) for k in (1, 2)), "a share is empty"
    return root, expected


def submit(slurm: LocalSlurm, root: Path, url: str, logs: Path) -> str:
    env = {"COURSE_ROOT": str(root), "GRADEBOOK_URL": url, "COURSE_PYTHON": sys.executable}
    return slurm.sbatch(["--array=0-1", "--cpus-per-task=1", f"--output={logs}/grade-%A_%a.log",
                         str(SCRIPT), "np_demo"], env)


def task_logs(logs: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}"
                     for p in sorted(logs.glob("grade-*.log")))


def assert_graded_once(url: str, expected: dict, logs: Path) -> None:
    rows, counts = postgres_grades(url)
    assert rows == expected, task_logs(logs)
    assert len(counts) == 3 * len(expected), "a graded cell is missing"
    assert {n for *_, n in counts} == {1}, f"a cell was graded twice: {counts}"


def test_a_two_task_array_grades_every_submission_exactly_once(tmp_path, slurm, postgres):
    root, expected = make_class(tmp_path, 8)
    job = submit(slurm, root, postgres, tmp_path)
    slurm.wait(job, timeout=600)
    assert_graded_once(postgres, expected, tmp_path)
    text = task_logs(tmp_path)
    assert "grading share 1/2" in text and "grading share 2/2" in text, text


def test_a_task_killed_mid_run_then_resubmitted_loses_and_doubles_nothing(tmp_path, slurm, postgres):
    root, expected = make_class(tmp_path, 10)
    second_share = {s for s in expected if in_shard(s, (2, 2))}
    job = submit(slurm, root, postgres, tmp_path)

    def second_share_started() -> bool:
        try:
            rows, _ = postgres_grades(postgres)
        except Exception:  # noqa: BLE001  (the tables do not exist before the first grade)
            return False
        return any(s in rows for s in second_share)

    slurm.until(second_share_started, "task 2 graded nothing", timeout=300)
    slurm.cancel(f"{job}_1")
    slurm.wait(job, timeout=600)
    rows, _ = postgres_grades(postgres)
    assert not second_share <= set(rows), "task 2 finished before it was killed: the test proves nothing"

    again = submit(slurm, root, postgres, tmp_path)
    slurm.wait(again, timeout=600)
    assert_graded_once(postgres, expected, tmp_path)


def test_an_unreachable_gradebook_fails_the_task_in_words_and_writes_nothing(tmp_path, slurm):
    root, _ = make_class(tmp_path, 4)
    job = submit(slurm, root, "postgresql+psycopg2://grader@127.0.0.1:9/course", tmp_path)
    slurm.wait(job, timeout=300)
    text = task_logs(tmp_path)
    assert "cannot reach the gradebook" in text and "Traceback" not in text, text
    assert not (root / "autograder" / "autograded").exists() or \
        not any((root / "autograder" / "autograded").iterdir())
