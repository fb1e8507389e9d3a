"""nbgrader plugins that close the holes of stock nbgrader 0.9.6 (see docs/grading.md).

They are wired in ``nbgrader_config.py`` so that plain ``nbgrader`` commands, the formgrader
and the course CLI all get them:

1. stderr from warnings / progress bars no longer fails a test cell (``IgnorePattern``, enabled
   with ``WARNING_PATTERN``).
2. ``StripStudentTags``: a student cannot skip a test cell by tagging it ``skip-execution``
   (or change how it runs with any other tag): cell tags are removed before execution.
3. ``RedactHiddenTests``: feedback keeps each hidden test's name and points but not its code,
   its printed output or its traceback.
4. A deleted test cell is re-inserted and graded (``OverwriteCells.add_missing_cells``).
5. ``LmsFileNameCollector``: LMS zip downloads whose file names carry ``YYYY-MM-DD-HH-MM-SS``
   timestamps get the right timestamp.
"""

from __future__ import annotations

import re
from datetime import datetime

from nbconvert.preprocessors import Preprocessor
from nbformat.notebooknode import NotebookNode
from nbgrader.plugins import FileNameCollectorPlugin
from nbgrader.preprocessors import OverwriteCells
from traitlets import Bool, Unicode

#: stderr chunks that are warnings or tqdm progress bars, never signs of a failed test.
WARNING_PATTERN = r"\w*Warning: |^\s*\d+%\|"

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
REDACTED_SOURCE = "# Hidden tests: their code is not shown in feedback."
#: ename of the error output that carries a verdict taken outside the kernel (autograder/outside.py)
CHECK_FAILED = "CheckFailed"


class StripStudentTags(Preprocessor):
    """Remove every cell's ``tags`` (e.g. ``skip-execution``, ``raises-exception``) before grading.

    Runs in nbgrader's sanitize step, after ``OverwriteCells`` has restored the test cells'
    source: tags in a submission only come from the student, and nbclient obeys some of them.
    """

    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int):
        if "tags" in cell.metadata:
            del cell.metadata["tags"]
        cell.metadata.pop("jupyter", None)  # e.g. {"source_hidden": true}: not for grading
        return cell, resources


def _is_hidden_test_cell(cell: NotebookNode) -> bool:
    grading = cell.metadata.get("nbgrader", {})
    return bool(grading.get("grade") and not grading.get("solution")
                and HIDDEN_BEGIN in cell.source)


def redact_source(source: str) -> str:
    """Replace every ``### BEGIN HIDDEN TESTS ... ### END HIDDEN TESTS`` block by a placeholder."""
    pattern = re.compile(re.escape(HIDDEN_BEGIN) + r".*?(" + re.escape(HIDDEN_END) + r"|\Z)",
                         re.DOTALL)
    return pattern.sub(REDACTED_SOURCE, source)


class RedactHiddenTests(Preprocessor):
    """In feedback, hide the code, output and traceback of every cell holding hidden tests.

    The cell keeps its nbgrader metadata (name, points, score). Its outputs are replaced by one
    line: whether it passed; for a failure, the grader's own message (``CheckFailed``, written
    outside the kernel and never holding expected values), else only the exception's type.
    """

    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int):
        if cell.cell_type != "code" or not _is_hidden_test_cell(cell):
            return cell, resources
        cell.source = redact_source(cell.source)
        failed = [out for out in cell.outputs if out.get("output_type") == "error"]
        verdicts = [out for out in failed if out.get("ename") == CHECK_FAILED]
        if verdicts:
            text = f"A hidden test failed: {verdicts[0].get('evalue', '')}\n"
        elif failed:
            text = f"A hidden test failed ({failed[0].get('ename', 'Error')}).\n"
        else:
            text = "Hidden tests: no error.\n"
        cell.outputs = [NotebookNode(output_type="stream", name="stdout", text=text)]
        return cell, resources


_LMS_TIMESTAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})")


def parse_lms_timestamp(text: str) -> str | None:
    """``'2026-03-01-23-59-07'`` (Canvas / Moodle style) -> ``'2026-03-01 23:59:07'``; else None."""
    match = _LMS_TIMESTAMP.search(text or "")
    if not match:
        return None
    try:
        stamp = datetime(*(int(part) for part in match.groups()))
    except ValueError:  # the shape of a date, not a date (month 13): no timestamp
        return None
    return stamp.isoformat(sep=" ")


class LmsFileNameCollector(FileNameCollectorPlugin):
    """nbgrader ``zip_collect`` plugin that reads ``YYYY-MM-DD-HH-MM-SS`` timestamps correctly.

    The default ``named_regexp`` matches ``<student>_<YYYY-MM-DD-HH-MM-SS>_<notebook>.ipynb``;
    an instructor can set another regexp with the same named groups.
    """

    named_regexp = Unicode(
        r"(?P<student_id>[A-Za-z0-9][A-Za-z0-9.\-]*)_"
        r"(?P<timestamp>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})_"
        r"(?P<file_id>[^/]+\.ipynb)$"
    ).tag(config=True)

    def _match(self, filename: str) -> dict | None:
        import os

        match = re.match(self.named_regexp, os.path.basename(filename))
        return match.groupdict() if match else None

    def collect(self, submitted_file: str) -> dict | None:
        info = super().collect(submitted_file)
        if info and info.get("timestamp"):
            parsed = parse_lms_timestamp(info["timestamp"])
            if parsed is None:
                self.log.warning("Unreadable timestamp %r in %s", info["timestamp"], submitted_file)
            info["timestamp"] = parsed
        return info


class RestoreMissingCells(OverwriteCells):
    """``OverwriteCells`` whose re-insertion of deleted test cells survives stripped metadata.

    Stock nbgrader puts a missing test cell right after the previous graded cell and crashes
    (``KeyError``) when that one lost its metadata too (a notebook stripped of all nbgrader
    metadata). Here each missing test cell goes after the nearest earlier cell that is still
    there, or, when none is, at the end of the notebook: the tests then run after all the
    student's code, and grade it honestly.
    """

    def add_missing_grade_cells(self, nb: NotebookNode, resources: dict):
        from nbgrader import utils

        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_ids = [cell.name for cell in source_nb.source_cells]
        solution_ids = {cell.name for cell in source_nb.solution_cells}
        present = {cell.metadata.nbgrader["grade_id"] for cell in nb.cells
                   if utils.is_grade(cell) or utils.is_solution(cell)}
        for grade_cell in source_nb.grade_cells:
            if grade_cell.name in present:
                continue
            self.log.warning("Missing grade cell %s: adding it back", grade_cell.name)
            index = source_ids.index(grade_cell.name)
            new_cell = self.missing_cell_transform(source_nb.source_cells[index],
                                                   grade_cell.max_score,
                                                   is_solution=grade_cell.name in solution_ids)
            position = len(nb.cells)
            for previous in reversed(source_ids[:index]):
                if previous in present:
                    position = 1 + next(i for i, cell in enumerate(nb.cells)
                                        if cell.metadata.get("nbgrader", {}).get("grade_id")
                                        == previous)
                    break
            nb.cells.insert(position, new_cell)
            present.add(grade_cell.name)
        return nb, resources
