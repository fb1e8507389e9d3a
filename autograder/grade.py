"""Autograde a whole class in parallel, resumably, with a status for every student.

The main process lists the submissions, checks each one's files (invalid JSON, missing or
renamed notebook: a status at once, no kernel), and hands the rest to worker processes. Each
worker loads the course config once and runs nbgrader's own autograde (``NbGraderAPI``) for
one student at a time, with ``OMP_NUM_THREADS=1``; the kernel is the sandbox kernel set in
``nbgrader_config.py``. After nbgrader has committed the grades, the worker writes the
student's status row (see ``autograder/status.py``): killed mid-way, a rerun grades exactly
the submissions without a row; nbgrader's ``force`` regrade replaces grades, never adds.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

import nbformat

from . import sandbox, status
from .course import Course, enable_wal, load_course, safe_id, setup_lock
from .status import State, Status

THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


# --- what is there to grade ----------------------------------------------------------------

def submitted_students(course: Course, assignment: str) -> list[str]:
    """Students with a folder ``submitted/<student>/<assignment>/``."""
    if not course.submitted.is_dir():
        return []
    return sorted(p.name for p in course.submitted.iterdir()
                  if (p / assignment).is_dir() and safe_id(p.name))


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> ``(K, N)`` with 1 <= K <= N; anything else is refused in words."""
    parts = text.split("/")
    if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
        raise ValueError(f"--shard {text!r}: expected K/N, e.g. 2/4 (the 2nd of 4 hosts)")
    index, count = int(parts[0]), int(parts[1])
    if not 1 <= index <= count:
        raise ValueError(f"--shard {text!r}: K must be between 1 and N={count}")
    return index, count


def shard_from_environment(environ: Mapping[str, str]) -> tuple[int, int] | None:
    """The ``(K, N)`` a job scheduler gives this task, or None outside a job array.

    Slurm job arrays: ``SLURM_ARRAY_TASK_ID`` counted from ``SLURM_ARRAY_TASK_MIN`` (0 when
    absent) and ``SLURM_ARRAY_TASK_COUNT`` tasks, e.g. ``--array=0-3`` gives 1/4 ... 4/4; the
    array must have step 1. Kubernetes Indexed Jobs: ``JOB_COMPLETION_INDEX`` (from 0) and
    ``JOB_COMPLETIONS``, which the Job's manifest sets to ``spec.completions``
    (``deploy/kubernetes/grade-job.yaml``). Refuses in words what does not add up.
    """
    def number(name: str) -> int:
        value = environ[name].strip()
        if not value.isdigit():
            raise ValueError(f"{name}={environ[name]!r} is not a whole number")
        return int(value)

    if "SLURM_ARRAY_TASK_ID" in environ:
        if "SLURM_ARRAY_TASK_COUNT" not in environ:
            raise ValueError("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: "
                             "run under sbatch --array (Slurm 17.11 or newer)")
        if environ.get("SLURM_ARRAY_TASK_STEP", "1").strip() != "1":
            raise ValueError(f"the job array has step {environ['SLURM_ARRAY_TASK_STEP']}: use a "
                             "contiguous array such as --array=0-3 (step 1), or pass --shard K/N")
        index = number("SLURM_ARRAY_TASK_ID") - (number("SLURM_ARRAY_TASK_MIN")
                                                 if "SLURM_ARRAY_TASK_MIN" in environ else 0)
        count, source = number("SLURM_ARRAY_TASK_COUNT"), "SLURM_ARRAY_TASK_ID"
    elif "JOB_COMPLETION_INDEX" in environ:
        if "JOB_COMPLETIONS" not in environ:
            raise ValueError("JOB_COMPLETION_INDEX is set but JOB_COMPLETIONS is not: set it in the "
                             "Job's container env to spec.completions (see deploy/kubernetes/)")
        index, count = number("JOB_COMPLETION_INDEX"), number("JOB_COMPLETIONS")
        source = "JOB_COMPLETION_INDEX"
    else:
        return None
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"{source} gives task {index} (from 0) of {count}: out of range; "
                         "resubmit the whole array, or pass --shard K/N")
    return index + 1, count


def in_shard(student: str, shard: tuple[int, int]) -> bool:
    """Whether shard ``(K, N)`` grades ``student``: a stable hash of the id picks one of N."""
    index, count = shard
    return int(hashlib.sha1(student.encode()).hexdigest(), 16) % count == index - 1


def submission_hash(folder: Path) -> str:
    """SHA-256 over the relative paths and bytes of every file in a submission folder."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def precheck(course: Course, assignment: str, student: str) -> tuple[State | None, str]:
    """``(state, reason)`` from the files alone: ``(None, notes)`` when nbgrader should grade it."""
    folder = course.submission_dir(student, assignment)
    expected = set(course.assignment_notebooks(assignment))
    present = {p.stem: p for p in folder.glob("*.ipynb")}
    notes = []
    for name in sorted(expected & set(present)):
        try:
            notebook = json.loads(present[name].read_text(encoding="utf-8", errors="strict"))
            if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
                raise ValueError("no 'cells' list")
            nbformat.reads(json.dumps(notebook), as_version=4)
        except Exception as error:  # noqa: BLE001  (any unreadable file gets the same status)
            return State.INVALID_NOTEBOOK, f"{name}.ipynb is not a valid notebook ({str(error)[:120]})"
        graded = [c for c in notebook["cells"]
                  if isinstance(c, dict) and "nbgrader" in (c.get("metadata") or {})]
        if not graded:
            notes.append(f"{name}.ipynb has no nbgrader metadata: its test cells were restored "
                         "from the gradebook")
    missing = sorted(expected - set(present))
    if missing:
        extra = sorted(f"{n}.ipynb" for n in set(present) - expected)
        hint = f"; found {', '.join(extra)} instead (renamed? rename it back)" if extra else ""
        if len(missing) == len(expected):
            return State.MISSING_NOTEBOOK, f"no {', '.join(m + '.ipynb' for m in missing)}{hint}"
        notes.append(f"missing {', '.join(m + '.ipynb' for m in missing)} (0 points){hint}")
    return None, "; ".join(notes)


# --- grading one submission ----------------------------------------------------------------

def _read_report(path: str) -> list[dict]:
    try:
        with open(path) as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except (OSError, ValueError):
        return []


def cell_problems(autograded: Path) -> tuple[State, list[str]]:
    """Scan one submission's executed notebooks: per-cell timeouts and memory errors.

    autograded: ``autograded/<student>/<assignment>/``. Returns the graded state and notes.
    """
    found, notes = State.OK, []
    for path in sorted(autograded.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") != "error":
                    continue
                name = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {cell.get('id')}")
                if output.get("ename") == "CellTimeoutError":
                    found = State.CELL_TIMEOUT
                    notes.append(f"{name}: cell timeout")
                elif output.get("ename") == "MemoryError":
                    found = State.MEMORY if found == State.OK else found
                    notes.append(f"{name}: memory limit")
    return found, notes


def failure_state(text: str, exits: list[str]) -> tuple[State, str]:
    """Why nbgrader's autograde failed, from its log and the sandbox's exit reasons."""
    if exits or "DeadKernelError" in text or "Kernel died" in text:
        return State.KERNEL_DIED, "; ".join(exits) or "the kernel died (os._exit or killed)"
    if "UnresponsiveKernelError" in text or "became unresponsive" in text:
        return State.UNRESPONSIVE, "the kernel did not respond to an interrupt"
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return State.ERROR, lines[-1][:300] if lines else "nbgrader autograde failed"


def zero_grades(db_url: str, assignment: str, student: str) -> None:
    """A zeroed submission keeps no stale points: every auto grade becomes 0 (and is flagged)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.auto_score is not None or grade.cell.cell_type == "code":
                    grade.auto_score = 0
                    grade.manual_score = None
                    grade.needs_manual_grade = False
        gradebook.db.commit()


def _scores(db_url: str, assignment: str, student: str) -> tuple[float | None, float | None]:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return None, None
        return float(submission.score), float(submission.max_score)


class Grader:
    """nbgrader's autograde for one submission at a time, with the course config loaded once.

    root: the course root; db_url: the gradebook ('' = the config's); cell_timeout: seconds per
    cell (None = the config's); prewarm: fork kernels from a zygote with ``assignment``'s kernel
    policy when the sandbox kernel is configured. ``check`` builds one in the student's own
    process; class grading builds one per worker process (``_worker_start``).
    """

    def __init__(self, root: Path, db_url: str = "", cell_timeout: int | None = None,
                 prewarm: bool = False, assignment: str = "") -> None:
        from traitlets.config import Config

        from .course import make_api, quiet_nbgrader_warnings

        quiet_nbgrader_warnings()
        self.api, self.course = make_api(Path(root), db_url or None)
        if cell_timeout:
            self.api.update_config(Config({"Execute": {"timeout": cell_timeout}}))
        self.zygote = self._start_zygote(assignment) if prewarm else None

    def _policy(self, assignment: str) -> dict:
        """The kernel policy in ``<checks_directory>/<assignment>/checks.py`` ({} when none)."""
        from .outside import ChecksError, load_checks, policy_env

        config = self.api.config
        folder = config.ExecuteWithChecks.get("checks_directory") if "ExecuteWithChecks" in config else ""
        if not (assignment and folder):
            return {}
        try:
            return json.loads(policy_env(load_checks(Path(folder) / assignment / "checks.py")) or "{}")
        except ChecksError:
            return {}

    def _start_zygote(self, assignment: str):
        """Pre-warmed kernels (autograder/sandbox/zygote.py) when nbgrader runs the sandbox kernel."""
        from .sandbox.zygote import Zygote

        config = self.api.config
        kernel = config.Execute.get("kernel_name") if "Execute" in config else None
        connection_file = config.KernelManager.get("connection_file") if "KernelManager" in config else None
        if (kernel != sandbox.KERNEL_NAME or not connection_file
                or os.environ.get(sandbox.ENV_MODE) == "off" or sandbox.bwrap_path() is None):
            return None
        zygote = Zygote(Path(connection_file).parent, self._policy(assignment))
        try:
            zygote.start()
        except RuntimeError as error:
            print(f"[autograder] pre-warmed kernels unavailable ({error}): a fresh sandbox per "
                  "submission", file=sys.stderr)
            return None
        import atexit

        atexit.register(zygote.stop)
        return zygote

    def _zygote_ready(self) -> None:
        """Before a submission: a zygote that died or hangs (a hostile kernel?) is replaced."""
        if self.zygote is not None and not self.zygote.ping():
            try:
                self.zygote.restart()
            except RuntimeError:
                self.zygote = None

    def _autograde(self, assignment: str, student: str) -> tuple[dict, list[dict]]:
        """nbgrader's autograde (retried while SQLite is locked) and the sandbox's events."""
        fd, report = tempfile.mkstemp(prefix="cnn-sandbox-report-")
        os.close(fd)
        os.environ[sandbox.ENV_REPORT] = report
        try:
            for attempt in range(5):
                result = self.api.autograde(assignment, student, force=True, create=True)
                text = (result.get("log") or "") + (result.get("error") or "")
                if result["success"] or "database is locked" not in text:
                    break
                time.sleep(0.5 + random.random() * 2 ** attempt)
            return result, _read_report(report)
        finally:
            os.environ.pop(sandbox.ENV_REPORT, None)
            os.unlink(report)

    def grade_one(self, assignment: str, student: str, digest: str, notes: str) -> Status:
        """Autograde one submission and record its status (after nbgrader committed the grades)."""
        started = time.monotonic()
        self._zygote_ready()
        result, events = self._autograde(assignment, student)
        exits = [e["reason"] for e in events if e.get("event") == "exit" and e.get("reason")]
        if result["success"]:
            state, problems = cell_problems(self.course.autograded / student / assignment)
            reason = "; ".join(filter(None, [notes, *problems, *exits]))
            if any("sandbox ended" in text for text in exits):  # its results never came back
                state = State.KERNEL_DIED
        else:
            state, reason = failure_state((result.get("log") or "") + (result.get("error") or ""), exits)
        if state.zeroed:
            zero_grades(self.course.db_url, assignment, student)
        if self.zygote is not None and (state != State.OK or exits):
            self.zygote.restart()  # hygiene: after a kernel that ended badly, a brand-new sandbox
        score, max_score = _scores(self.course.db_url, assignment, student)
        record = Status(assignment, student, state, reason, score, max_score, digest,
                        round(time.monotonic() - started, 2))
        status.write(self.course.db_url, record)
        return record


#: the Grader of a worker process (the pool's initializer builds it; a worker grades one
#: submission at a time with it)
_worker: Grader | None = None


def _worker_start(root: str, db_url: str, cell_timeout: int | None, prewarm: bool,
                  assignment: str) -> None:
    """Pool initializer: dies with the parent, one thread per library, one Grader."""
    global _worker
    sandbox.die_with_parent()
    os.environ.update(THREAD_ENV)
    _worker = Grader(Path(root), db_url, cell_timeout, prewarm, assignment)


def _worker_grade(assignment: str, student: str, digest: str, notes: str) -> Status:
    return _worker.grade_one(assignment, student, digest, notes)


# --- the main process ----------------------------------------------------------------------

def ensure_in_gradebook(course: Course, assignment: str) -> None:
    """``generate_assignment`` if the gradebook does not know the assignment yet."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url, course.course_id) as gradebook:
        try:
            gradebook.find_assignment(assignment)
            return
        except MissingEntry:
            pass
    from .course import make_api

    print(f"[autograder] {assignment} is not in the gradebook yet: generating it", file=sys.stderr)
    api, _ = make_api(course.root, course.db_url)
    result = api.generate_assignment(assignment, force=True, create=True)
    if not result["success"]:
        raise SystemExit(f"generate_assignment {assignment} failed:\n{result.get('error', '')}")


def plan(course: Course, assignment: str, students: list[str] | None, force: bool,
         retry_failed: bool, shard: tuple[int, int] | None) -> tuple[list, list[Status], int]:
    """``(to_grade, immediate_statuses, n_skipped)``: what a run of ``grade`` has to do."""
    known = status.read_all(course.db_url, assignment)
    everyone = submitted_students(course, assignment)
    chosen = [s for s in everyone if students is None or s in students]
    if shard:
        chosen = [s for s in chosen if in_shard(s, shard)]
    todo, immediate, skipped = [], [], 0
    for student in chosen:
        state, notes = precheck(course, assignment, student)
        digest = submission_hash(course.submission_dir(student, assignment))
        old = known.get(student)
        redo = (force or old is None or old.submission_hash != digest
                or (retry_failed and old.state != State.OK))
        if not redo:
            skipped += 1
        elif state is not None:
            immediate.append(Status(assignment, student, state, notes, 0.0, None, digest, 0.0))
        else:
            todo.append((student, digest, notes))
    return todo, immediate, skipped


def grade(root: Path, assignment: str, *, workers: int = 0, students: list[str] | None = None,
          force: bool = False, retry_failed: bool = False, cell_timeout: int | None = None,
          memory_mb: int | None = None, cpu_seconds: int | None = None,
          wall_seconds: int | None = None, sandbox_mode: str | None = None,
          db_url: str | None = None, shard: tuple[int, int] | None = None,
          progress: bool = True, prewarm: bool = True) -> list[Status]:
    """Grade every submission of ``assignment`` that is not graded yet; return the statuses."""
    for name, value in ((sandbox.ENV_MEMORY, memory_mb), (sandbox.ENV_CPU, cpu_seconds),
                        (sandbox.ENV_WALL, wall_seconds), (sandbox.ENV_MODE, sandbox_mode)):
        if value is not None:
            os.environ[name] = str(value)
    os.environ.update(THREAD_ENV)
    course = load_course(Path(root), db_url)
    if not safe_id(assignment):
        raise SystemExit(f"invalid assignment id {assignment!r}")
    with setup_lock(course):
        ensure_in_gradebook(course, assignment)
        status.engine_for(course.db_url)  # creates the status table
    enable_wal(course.db_url)
    todo, immediate, skipped = plan(course, assignment, students, force, retry_failed, shard)
    for record in immediate:
        zero_grades(course.db_url, assignment, record.student_id)
        status.write(course.db_url, record)
    status.dispose()
    if skipped:
        print(f"[autograder] {skipped} submission(s) already graded: skipped "
              "(--force to regrade)", file=sys.stderr)
    if os.environ.get(sandbox.ENV_MODE) != "off" and sandbox.bwrap_path() is None:
        print("[autograder] WARNING: no working bubblewrap: student code runs UNSANDBOXED",
              file=sys.stderr)
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
    results = list(immediate)
    if todo:
        results += _run_pool(course, assignment, todo, workers, cell_timeout, progress, prewarm)
    return results


def _run_pool(course: Course, assignment: str, todo: list, workers: int,
              cell_timeout: int | None, progress: bool, prewarm: bool) -> list[Status]:
    from tqdm import tqdm

    results: list[Status] = []
    context = multiprocessing.get_context("spawn")
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                   initializer=_worker_start,
                                   initargs=(str(course.root), course.db_url, cell_timeout,
                                             prewarm, assignment))
    bar = tqdm(total=len(todo), unit="sub", desc=f"grading {assignment} ({workers} workers)",
               disable=not progress, file=sys.stderr)
    try:
        pending = {executor.submit(_worker_grade, assignment, student, digest, notes): student
                   for student, digest, notes in todo}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                student = pending.pop(future)
                try:
                    record = future.result()
                except Exception as error:  # noqa: BLE001  (a crashed worker: flag, go on)
                    record = Status(assignment, student, State.ERROR, f"grader crashed: {error}")
                    status.write(course.db_url, record)
                results.append(record)
                bar.update(1)
                if record.state != State.OK:
                    bar.write(f"  {student}: {record.status} ({record.reason})")
    except KeyboardInterrupt:
        bar.close()
        executor.shutdown(wait=False, cancel_futures=True)
        print("\n[autograder] interrupted: finished grades are saved; rerun to grade the rest",
              file=sys.stderr)
        raise
    bar.close()
    executor.shutdown(wait=True)
    return results
