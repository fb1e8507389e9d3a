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

from devtools import system

pytestmark = pytest.mark.needs("postgres")
START_ATTEMPTS = 5
READY_TIMEOUT_S = 30.0


def _as_postgres(*cmd: str, **kw) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *cmd], capture_output=True, text=True, **kw)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(pg_bin: Path, data: Path, log: Path) -> tuple[subprocess.Popen, int]:
    """Start the server on a free port of 127.0.0.1; a port taken meanwhile is retried.

    Returns the running server and its port once it accepts connections; fails with the
    server's log when it never does.
    """
    import psycopg2

    for _ in range(START_ATTEMPTS):
        port = _free_port()
        server = subprocess.Popen(
            ["runuser", "-u", "postgres", "--"] * (os.geteuid() == 0) + [
                str(pg_bin / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
                "-k", str(data)], stdout=log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while server.poll() is None and time.monotonic() < deadline:
            try:
                psycopg2.connect(host="127.0.0.1", port=port, user="grader", dbname="postgres").close()
                return server, port
            except psycopg2.OperationalError:
                time.sleep(0.2)
        if server.poll() is None:
            server.kill()
            server.wait()
        if "could not bind" not in log.read_text(errors="replace"):
            break
    pytest.fail(f"PostgreSQL did not come up from {pg_bin}:\n{log.read_text(errors='replace')[-2000:]}")


@pytest.fixture
def postgres(tmp_path):
    pg_bin = system.postgres_bin()
    assert pg_bin is not None, "the needs('postgres') mark checks this before the test"
    data = Path(f"/tmp/pg-{os.getpid()}-{time.time_ns()}")
    data.mkdir(mode=0o700)
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    init = _as_postgres(str(pg_bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "grader")
    assert init.returncode == 0, init.stderr
    server, port = _start(pg_bin, data, tmp_path / "postgres.log")
    yield f"postgresql+psycopg2://grader@127.0.0.1:{port}/postgres"
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
