"""A throw-away PostgreSQL server on 127.0.0.1, for the tests and the benchmark.

Debian's ``postgresql`` (``initdb`` and ``postgres`` of the newest installed major version),
a fresh cluster with trust authentication for the user ``grader``, on a free port:

    with LocalPostgres() as url:   # postgresql+psycopg2://grader@127.0.0.1:PORT/postgres
        ...
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from devtools import system
from devtools.ports import free_port

START_ATTEMPTS = 5
READY_TIMEOUT_S = 30.0


class PostgresError(RuntimeError):
    """The server cannot be set up or started; the message holds its log."""


def _as_postgres() -> list[str]:
    """As root, the server must run as the ``postgres`` user (it refuses root)."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class LocalPostgres:
    """``initdb`` in a new folder, then ``postgres`` on a free port until ``stop()``."""

    def __init__(self, log: Path | None = None) -> None:
        self.bin = system.postgres_bin()
        self.data = Path(tempfile.mkdtemp(prefix="cnn-course-pg-"))
        self.log = log or self.data.with_name(self.data.name + ".log")
        self.server: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> str:
        """Start the server; returns its SQLAlchemy URL once it accepts connections."""
        import psycopg2

        if self.bin is None:
            raise PostgresError("PostgreSQL is not installed (apt-get install postgresql)")
        self.data.chmod(0o700)
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        init = subprocess.run([*_as_postgres(), str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust",
                               "-U", "grader"], capture_output=True, text=True)
        if init.returncode != 0:
            raise PostgresError(f"initdb failed: {init.stderr}")
        for _ in range(START_ATTEMPTS):  # a port taken meanwhile is retried
            port = free_port()
            self.server = subprocess.Popen(
                [*_as_postgres(), str(self.bin / "postgres"), "-D", str(self.data), "-h", "127.0.0.1",
                 "-p", str(port), "-k", str(self.data)], stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
            deadline = time.monotonic() + READY_TIMEOUT_S
            while self.server.poll() is None and time.monotonic() < deadline:
                try:
                    psycopg2.connect(host="127.0.0.1", port=port, user="grader", dbname="postgres").close()
                    self.url = f"postgresql+psycopg2://grader@127.0.0.1:{port}/postgres"
                    return self.url
                except psycopg2.OperationalError:
                    time.sleep(0.2)
            self._kill()
            if "could not bind" not in self.log.read_text(errors="replace"):
                break
        raise PostgresError(f"PostgreSQL did not come up from {self.bin}:\n"
                            f"{self.log.read_text(errors='replace')[-2000:]}")

    def _kill(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()

    def stop(self) -> None:
        self._kill()
        shutil.rmtree(self.data, ignore_errors=True)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
