"""The development notebook runner: a failing cell is named with its source; strip removes outputs."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from devtools import notebooks


def _write(tmp_path, sources):
    notebook = new_notebook(cells=[new_code_cell(s) for s in sources])
    notebook.metadata["kernelspec"] = {"name": "cnn-course", "display_name": "x", "language": "python"}
    path = tmp_path / "nb.ipynb"
    nbformat.write(notebook, path)
    return path


def test_execute_notebook_reports_the_failing_cell_and_its_source(tmp_path):
    path = _write(tmp_path, ["x = 1", "y = x / 0  # the broken cell", "z = 3"])
    with pytest.raises(notebooks.NotebookError) as err:
        notebooks.execute_notebook(path, timeout=60)
    message = str(err.value)
    assert "cell #1" in message and "the broken cell" in message and "ZeroDivisionError" in message


def test_strip_removes_outputs_after_execution(tmp_path):
    path = _write(tmp_path, ["print('hello')"])
    run = notebooks.execute_notebook(path, timeout=60)
    nbformat.write(run.notebook, path)
    assert notebooks.has_outputs(nbformat.read(path, as_version=4))
    assert notebooks.strip_notebook(path) is True
    assert not notebooks.has_outputs(nbformat.read(path, as_version=4))
    assert notebooks.strip_notebook(path) is False
