"""Shared helpers of the benchmark scripts: thread pinning, timing, machine description,
and loading the course's reference implementations from the instructor notebooks.

Import this module *before* NumPy or torch (``set_threads`` must run before the BLAS and
OpenMP pools are created for the environment variables to take effect).
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def set_threads(threads: int) -> None:
    """Same thread count for NumPy's BLAS and torch (env vars + ``torch.set_num_threads``)."""
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def median_seconds(fn: Callable[[], object], repeat: int = 7, warmup: int = 1,
                   min_time: float = 0.0) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs (after ``warmup`` runs).

    With ``min_time`` > 0, each sample loops ``fn`` until it took at least that long and
    reports the time per call (for sub-millisecond functions).
    """
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        calls, start = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        samples.append(elapsed / calls)
    return statistics.median(samples)


def machine_description() -> str:
    """One line: CPU model, cores, Python, torch and NumPy versions, GPU if any."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    parts = [f"{cpu}, {os.cpu_count()} cores", f"Python {platform.python_version()}"]
    try:
        import numpy
        import torch

        parts.append(f"torch {torch.__version__}, NumPy {numpy.__version__}")
        if torch.cuda.is_available():
            parts.append(f"GPU {torch.cuda.get_device_name(0)}")
        else:
            parts.append("no GPU")
    except ImportError:
        pass
    return "; ".join(parts)


def load_solution_namespace(notebook_path: Path) -> dict:
    """Execute an instructor notebook's definitions and return its namespace.

    Runs, in order, every code cell that is an nbgrader solution cell (markers stripped) or
    a plain cell without nbgrader test role (setup: imports and helpers); test cells are
    skipped. IPython magics and shell lines are dropped. A plain cell that fails is skipped
    (it may plot or load data the benchmark does not need); a failing solution cell raises.
    """
    import nbformat

    from devtools.solutions import strip_solution_markers

    notebook = nbformat.read(notebook_path, as_version=4)
    namespace: dict = {"__name__": "course_solution"}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            continue
        lines = [line for line in strip_solution_markers(cell.source).splitlines()
                 if not line.lstrip().startswith(("%", "!"))]
        code = "\n".join(lines)
        try:
            exec(compile(code, f"{notebook_path.name}#cell{index}", "exec"), namespace)
        except Exception:
            if meta.get("solution"):
                raise
    return namespace


def verdict(value: float, target: float, higher_is_better: bool = False) -> str:
    ok = value >= target if higher_is_better else value <= target
    return "meets target" if ok else "MISSES target"
