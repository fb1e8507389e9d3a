"""Fixtures shared by the grading tier."""

from __future__ import annotations

import pytest
from graded_classes import ClassCache


@pytest.fixture(scope="session")
def class_of(tmp_path_factory) -> ClassCache:
    """``class_of(assignment)``: that assignment's class, graded once per session."""
    return ClassCache(tmp_path_factory)
