"""Run and clean notebooks: used by the tests, the benchmarks and ``make strip``.

``python -m devtools.notebooks strip PATH...`` removes outputs and execution counts in place.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

KERNEL_NAME = "cnn-course"


class NotebookError(AssertionError):
    """A notebook cell failed; the message names the notebook, the cell and its source."""


@dataclass
class NotebookRun:
    path: Path
    notebook: nbformat.NotebookNode
    seconds: float


def execute_notebook(path: str | Path, timeout: int = 300, kernel_name: str | None = None,
                     env: dict[str, str] | None = None,
                     prepare: Callable[[nbformat.NotebookNode], None] | None = None) -> NotebookRun:
    """Execute ``path`` top to bottom in a fresh kernel started in the notebook's folder.

    Raises ``NotebookError`` naming the failing cell (its index and source) and the error.
    ``env`` entries are added to the kernel's environment; ``prepare`` may edit the notebook
    (in memory) before it runs. Returns the executed notebook.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    if prepare is not None:
        prepare(notebook)
    kernel_env = dict(os.environ)
    kernel_env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    kernel_env.update(env or {})
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name=kernel_name or KERNEL_NAME,
        resources={"metadata": {"path": str(path.parent)}}, allow_errors=False,
    )
    start = time.perf_counter()
    try:
        client.execute(env=kernel_env)
    except (CellExecutionError, CellTimeoutError) as err:
        index, source = _failing_cell(notebook)
        raise NotebookError(
            f"{path}: cell #{index} failed.\n--- cell source ---\n{source}\n--- error ---\n{err}"
        ) from None
    return NotebookRun(path, notebook, time.perf_counter() - start)


def _failing_cell(notebook: nbformat.NotebookNode) -> tuple[int, str]:
    last_run = (-1, "")
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
            return index, cell.source
        if cell.get("execution_count") is not None:
            last_run = (index, cell.source)
    return last_run


def has_outputs(notebook: nbformat.NotebookNode) -> bool:
    """True when any code cell holds outputs or an execution count."""
    return any(cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))
               for cell in notebook.cells)


def strip_notebook(path: str | Path) -> bool:
    """Remove outputs and execution counts from ``path`` in place; True if it changed."""
    notebook = nbformat.read(path, as_version=4)
    if not has_outputs(notebook):
        return False
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.write(notebook, path)
    return True


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "strip":
        print("usage: python -m devtools.notebooks strip PATH [PATH ...]", file=sys.stderr)
        return 2
    changed = 0
    for root in argv[1:]:
        for path in sorted(Path(root).rglob("*.ipynb")) if Path(root).is_dir() else [Path(root)]:
            if ".ipynb_checkpoints" not in path.parts and strip_notebook(path):
                print(f"stripped {path}")
                changed += 1
    print(f"{changed} notebook(s) stripped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
