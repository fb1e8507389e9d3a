"""The verdict of every graded cell is taken in the grading process, never in the student's kernel.

``ExecuteWithChecks`` replaces nbgrader's ``Execute`` in ``Autograde.autograde_preprocessors``
(``nbgrader_config.py``), so plain ``nbgrader autograde``, the formgrader, ``python -m autograder
grade`` and ``check`` all take this path. For one notebook it

1. loads ``<checks_directory>/<assignment>/checks.py`` (``CHECKS``, ``POLICY``; see
   ``autograder/verdict.py``) in the grader;
2. draws every check's inputs from a fresh seed, writes them as plain data into
   ``.grading/<grade_id>/inputs`` in the notebook's folder, and inserts after each graded cell a
   *probe cell* that calls the student's functions on them and writes what they returned;
3. executes the notebook (nbgrader's ``Execute``; the kernel is the sandbox kernel, with the
   assignment's ``POLICY`` passed in ``CNN_SANDBOX_POLICY``), timing each probe cell here;
4. removes the probe cells, reads each record as plain data (``probe_runtime.load``) and sets
   each graded cell's outcome: full points only when the cell raised nothing in the kernel
   **and** the check's verdict, computed here on the grader's own copy of the inputs, passes.
   A failed verdict adds an error output ``CheckFailed`` with its message; a kernel's
   ``execute_result`` (nbgrader would read it as partial credit) is dropped;
5. deletes ``.grading`` and every link or special file the kernel left in the folder, before
   nbgrader writes, chmods or copies anything there.

A missing, malformed or forged record fails its check; a graded code cell without a check fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import stat
import sys
import time
from pathlib import Path

import numpy as np
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer, Unicode

from . import probe_runtime
from .nbgrader_plugins import CHECK_FAILED

GRADING_FOLDER = ".grading"
ENV_POLICY = "CNN_SANDBOX_POLICY"
PROBE_KEY = "cnn_grading_probe"
_RUNTIME = Path(probe_runtime.__file__).read_text()
_KEPT_PROBE_ERRORS = ("CellTimeoutError", "MemoryError", "DeadKernelError")


class ChecksError(RuntimeError):
    """An assignment's checks.py is missing or broken (a course error, not the student's)."""


_suites: dict = {}


def load_checks(path: Path):
    """The module ``path`` (an assignment's ``checks.py``), loaded once per modification."""
    try:
        key = (str(path), path.stat().st_mtime_ns)
    except OSError:
        raise ChecksError(f"no checks file {path}") from None
    if key not in _suites:
        spec = importlib.util.spec_from_file_location(f"_checks_{path.parent.name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if not isinstance(getattr(module, "CHECKS", None), dict):
            raise ChecksError(f"{path} defines no CHECKS dict")
        _suites[key] = module
    return _suites[key]


def policy_env(suite) -> str:
    """The JSON value of ``CNN_SANDBOX_POLICY`` for an assignment's checks module ('' if none)."""
    policy = getattr(suite, "POLICY", None)
    return json.dumps(policy.as_env(), sort_keys=True) if policy is not None else ""


def is_graded_code(cell) -> bool:
    """An autograded test cell: graded, code, not a (manually graded) answer cell."""
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def probe_source(grade_id: str, probe: tuple[str, str]) -> str:
    """The source of the probe cell for ``grade_id``: the runtime, then one ``run_probe`` call."""
    folder = f"{GRADING_FOLDER}/{grade_id}"
    return (f"_cnn_grading = {{'__name__': '_cnn_grading'}}\n"
            f"exec({_RUNTIME!r}, _cnn_grading)\n"
            f"_cnn_grading['run_probe']({folder!r}, {probe[0]!r}, {probe[1]!r}, globals())\n"
            f"del _cnn_grading\n")


def failure(message: str, ename: str = CHECK_FAILED) -> NotebookNode:
    """An error output carrying a verdict's message."""
    return NotebookNode(output_type="error", ename=ename, evalue=message,
                        traceback=[f"{ename}: {message}"])


def remove_tree(path: Path) -> None:
    """Delete ``path`` (file, link or folder) without following any link inside it."""
    try:
        info = os.lstat(path)
    except OSError:
        return
    if stat.S_ISDIR(info.st_mode):
        shutil.rmtree(path, ignore_errors=True)
    else:
        os.unlink(path)


def sweep_links(folder: Path) -> list[str]:
    """Remove every symlink, FIFO, socket or device under ``folder``; return their paths."""
    removed = []
    for here, dirs, files in os.walk(folder, followlinks=False):
        real_dirs = []
        for name in dirs + files:
            path = os.path.join(here, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISDIR(mode):
                real_dirs.append(name)
            elif not stat.S_ISREG(mode):
                os.unlink(path)
                removed.append(os.path.relpath(path, folder))
        dirs[:] = real_dirs
    return removed


def drop_links(assignment: str = "", student: str = "", notebooks: list | None = None) -> None:
    """nbgrader ``pre_convert_hook``: remove links and special files from the folders of the
    notebooks about to be converted (a submission, or an autograded folder before feedback).

    nbgrader copies every other file of those folders with ``shutil.copy``, which follows links
    on the host: a submitted ``notes.txt -> .../gradebook.db`` would carry the gradebook along.
    """
    for folder in sorted({Path(n).parent for n in notebooks or []}):
        removed = sweep_links(folder)
        if removed:
            print(f"[autograder] {folder}: removed links or special files {removed}",
                  file=sys.stderr)


class ExecuteWithChecks(Execute):
    """nbgrader's ``Execute``, with the verdicts of graded cells taken outside the kernel."""

    checks_directory = Unicode(
        "", help="Folder holding <assignment_id>/checks.py (the course's solutions/)."
    ).tag(config=True)
    seed = Integer(
        None, allow_none=True, help="Seed of the checks' inputs (default: fresh for every notebook)."
    ).tag(config=True)

    def preprocess(self, nb, resources, retries=None):
        workdir = Path(resources["metadata"]["path"]).resolve()
        assignment = resources["nbgrader"]["assignment"]
        scratch = workdir / GRADING_FOLDER
        remove_tree(scratch)
        try:
            suite = load_checks(Path(self.checks_directory) / assignment / "checks.py")
        except ChecksError as error:
            self.log.error("%s: every graded cell fails", error)
            suite = None
        rng = np.random.default_rng(self.seed if self.seed is not None else secrets.randbits(63))
        plan = self._plan(nb, suite, rng, scratch)
        self._probe_seconds: dict[str, float] = {}
        previous = os.environ.get(ENV_POLICY)
        os.environ[ENV_POLICY] = policy_env(suite) if suite else ""
        try:
            nb, resources = super().preprocess(nb, resources, retries)
            self._decide(nb, plan, scratch)
        finally:
            if previous is None:
                os.environ.pop(ENV_POLICY, None)
            else:
                os.environ[ENV_POLICY] = previous
            nb.cells = [c for c in nb.cells if PROBE_KEY not in c.metadata]
            remove_tree(scratch)
            removed = sweep_links(workdir)
            if removed:
                self.log.warning("removed links or special files left by the kernel: %s", removed)
        return nb, resources

    def _plan(self, nb, suite, rng, scratch: Path) -> list:
        """Write each check's inputs, insert its probe cell; ``[(cell, check, inputs, probe)]``."""
        plan, cells = [], []
        for cell in nb.cells:
            cells.append(cell)
            if not is_graded_code(cell):
                continue
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            check = suite.CHECKS.get(grade_id) if suite else None
            if check is None:
                plan.append((cell, None, None, None))
                continue
            inputs = check.inputs(rng)
            probe_runtime.save(inputs, str(scratch / grade_id / "inputs"))
            probe = NotebookNode(cell_type="code", execution_count=None, outputs=[],
                                 id=f"probe-{grade_id}"[:64], metadata={PROBE_KEY: grade_id},
                                 source=probe_source(grade_id, check.probe_source()))
            cells.append(probe)
            plan.append((cell, check, inputs, probe))
        nb.cells = cells
        return plan

    def preprocess_cell(self, cell, resources, index):
        grade_id = cell.metadata.get(PROBE_KEY)
        started = time.monotonic()
        result = super().preprocess_cell(cell, resources, index)
        if grade_id:
            self._probe_seconds[grade_id] = time.monotonic() - started
        return result

    def _decide(self, nb, plan: list, scratch: Path) -> None:
        for cell, check, inputs, probe in plan:
            cell.outputs = [o for o in cell.outputs if o.get("output_type") != "execute_result"]
            if check is None:
                cell.outputs.append(failure("no grader check is defined for this cell "
                                            "(a course error: tell your instructor)"))
                continue
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            kept = [o for o in probe.outputs
                    if o.get("output_type") == "error" and o.get("ename") in _KEPT_PROBE_ERRORS]
            cell.outputs.extend(kept)
            message = self._verdict(check, inputs, scratch / grade_id / "out",
                                    self._probe_seconds.get(grade_id, 0.0), bool(kept))
            if message:
                cell.outputs.append(failure(message))

    def _verdict(self, check, inputs, folder: Path, seconds: float, probe_failed: bool) -> str | None:
        try:
            record = probe_runtime.load(str(folder))
        except probe_runtime.RecordError as error:
            if probe_failed:
                return "the grader's calls of your code did not finish (time or memory limit)"
            return f"the grader found no valid result of its calls of your code ({error})"
        if not isinstance(record, dict) or set(record) not in ({"value"}, {"error"}):
            return "the grader's record of your code's results is malformed"
        if "error" in record:
            return f"the grader could not run its calls of your code: {str(record['error'])[:300]}"
        try:
            return check.verdict(inputs, record["value"], seconds)
        except Exception as error:  # noqa: BLE001  (forged or odd data must fail, never crash)
            self.log.warning("verdict raised %r (odd record, or a bug in checks.py)", error,
                             exc_info=True)
            return f"the results of your code could not be checked ({type(error).__name__})"
