"""Several workers grade into a real PostgreSQL gradebook; every grade lands exactly once."""

from __future__ import annotations

import pytest
from fixtures_grading import NP_CORRECT, NP_WRONG, answer, make_course, postgres_grades, put, release, run_cli

pytestmark = pytest.mark.needs("postgres")


def test_parallel_workers_into_postgres(tmp_path, postgres):
    root = make_course(tmp_path)
    nb = release(root)
    students = [f"p{i}" for i in range(6)]
    for i, student in enumerate(students):
        put(root, student, answer(nb, NP_CORRECT if i % 2 else NP_WRONG))
    run_cli(root, "grade", "np_demo", "-j", "2", "--db-url", postgres, "--no-progress")
    run_cli(root, "grade", "np_demo", "-j", "2", "--db-url", postgres, "--no-progress")
    rows, counts = postgres_grades(postgres)
    assert rows == {s: ("ok", 4.0 if i % 2 else 0.0) for i, s in enumerate(students)}
    assert len(counts) == 3 * len(students) and {n for *_, n in counts} == {1}
