"""Shared pytest setup: the venv's scripts on PATH (nbgrader calls ``alembic`` by name)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
_bin = str(Path(sys.executable).parent)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")
