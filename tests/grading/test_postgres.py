"""Several workers grade into a real PostgreSQL gradebook; every grade lands exactly once."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from fixtures_grading import NP_CORRECT, NP_WRONG, answer, make_course, put, release, run_cli

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(*cmd: str, **kw) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *cmd], capture_output=True, text=True, **kw)


@pytest.fixture
def postgres(tmp_path):
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL server binaries not installed")
    data = Path(f"/tmp/pg-{os.getpid()}-{time.time_ns()}")
    data.mkdir(mode=0o700)
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    init = _as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "grader")
    assert init.returncode == 0, init.stderr
    server = subprocess.Popen(
        ["runuser", "-u", "postgres", "--"] * (os.geteuid() == 0) + [
            str(PG_BIN / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
            "-k", str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"postgresql+psycopg2://grader@127.0.0.1:{port}/postgres"
    import psycopg2

    for _ in range(100):
        try:
            psycopg2.connect(url.replace("+psycopg2", "")).close()
            break
        except psycopg2.OperationalError:
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=30)
    shutil.rmtree(data, ignore_errors=True)


def test_parallel_workers_into_postgres(tmp_path, postgres):
    import psycopg2

    root = make_course(tmp_path)
    nb = release(root)
    students = [f"p{i}" for i in range(6)]
    for i, student in enumerate(students):
        put(root, student, answer(nb, NP_CORRECT if i % 2 else NP_WRONG))
    run_cli(root, "grade", "np_demo", "-j", "2", "--db-url", postgres, "--no-progress")
    run_cli(root, "grade", "np_demo", "-j", "2", "--db-url", postgres, "--no-progress")
    with psycopg2.connect(postgres.replace("+psycopg2", "")) as conn, conn.cursor() as cur:
        cur.execute("SELECT student_id, status, score FROM autograder_status")
        rows = {s: (st, sc) for s, st, sc in cur.fetchall()}
        cur.execute(
            "SELECT sa.student_id, g.cell_id, COUNT(*) FROM grade g "
            "JOIN submitted_notebook sn ON g.notebook_id = sn.id "
            "JOIN submitted_assignment sa ON sn.assignment_id = sa.id "
            "GROUP BY sa.student_id, g.cell_id")
        counts = cur.fetchall()
    assert rows == {s: ("ok", 4.0 if i % 2 else 0.0) for i, s in enumerate(students)}
    assert len(counts) == 3 * len(students) and {n for *_, n in counts} == {1}
