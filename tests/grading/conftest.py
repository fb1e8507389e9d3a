"""Fixtures shared by the grading tier."""

from __future__ import annotations

import pytest
from graded_classes import ClassCache


@pytest.fixture(scope="session")
def class_of(tmp_path_factory) -> ClassCache:
    """``class_of(assignment)``: that assignment's class, graded once per session."""
    return ClassCache(tmp_path_factory)


@pytest.fixture
def postgres(tmp_path):
    """A fresh PostgreSQL server on 127.0.0.1 for one test; its SQLAlchemy URL."""
    from devtools.postgres import LocalPostgres

    server = LocalPostgres(log=tmp_path / "postgres.log")
    try:
        yield server.start()
    finally:
        server.stop()
