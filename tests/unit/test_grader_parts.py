"""The grader's pure parts, without nbgrader or a kernel: each in milliseconds.

LMS file names, submission prechecks, shard planning, hidden-test redaction, the status
vocabulary and failure decoding, the sandbox's exit reasons and command line, link-free mirroring,
and the system-part checks of ``devtools/system.py``.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder import sandbox
from autograder.course import Course
from autograder.grade import (
    cell_problems,
    failure_state,
    in_shard,
    parse_shard,
    precheck,
    shard_from_environment,
)
from autograder.nbgrader_plugins import (
    HIDDEN_BEGIN,
    HIDDEN_END,
    REDACTED_SOURCE,
    RedactHiddenTests,
    parse_lms_timestamp,
    redact_source,
)
from autograder.sandbox.launcher import exit_reason
from autograder.sandbox.zygote import mirror_plain_files
from autograder.status import State, Status
from devtools import system


def _course(tmp_path: Path, notebooks=("conv1d",)) -> Course:
    """A course whose source has assignment ``a1`` with ``notebooks`` (no nbgrader needed)."""
    source = tmp_path / "solutions"
    (source / "a1").mkdir(parents=True)
    for name in notebooks:
        nbformat.write(new_notebook(), source / "a1" / f"{name}.ipynb")
    submitted = tmp_path / "submitted"
    return Course(tmp_path, source, tmp_path / "release", submitted, tmp_path / "autograded",
                  tmp_path / "feedback", "", "c", tmp_path / "reports")


def _put(course: Course, student: str, name: str, text: str) -> None:
    folder = course.submission_dir(student, "a1")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.ipynb").write_text(text)


def _graded_notebook_text() -> str:
    cell = new_code_cell("x = 1")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1}
    return nbformat.writes(new_notebook(cells=[cell]))


@pytest.mark.parametrize("name, expected", [
    ("ann_12345_67890_conv1d-2026-03-01-23-59-07.ipynb", "2026-03-01 23:59:07"),
    ("Jo Doe - 2026-12-01-08-00-00 - conv1d.ipynb", "2026-12-01 08:00:00"),
    ("conv1d.ipynb", None),
    ("x-2026-13-01-00-00-00.ipynb", None),   # month 13 matches the shape, not the calendar
])
def test_lms_timestamps(name, expected):
    assert parse_lms_timestamp(name) == expected


def test_precheck_names_invalid_missing_and_renamed_notebooks(tmp_path):
    course = _course(tmp_path)
    _put(course, "good", "conv1d", _graded_notebook_text())
    _put(course, "json", "conv1d", "{ not json")
    _put(course, "nocells", "conv1d", json.dumps({"metadata": {}}))
    _put(course, "renamed", "Copy of conv1d", _graded_notebook_text())
    _put(course, "stripped", "conv1d", nbformat.writes(new_notebook(cells=[new_code_cell("x")])))
    assert precheck(course, "a1", "good") == (None, "")
    state, reason = precheck(course, "a1", "json")
    assert state == State.INVALID_NOTEBOOK and "conv1d.ipynb is not a valid notebook" in reason
    assert precheck(course, "a1", "nocells")[0] == State.INVALID_NOTEBOOK
    state, reason = precheck(course, "a1", "renamed")
    assert state == State.MISSING_NOTEBOOK and "Copy of conv1d.ipynb instead" in reason
    state, reason = precheck(course, "a1", "stripped")
    assert state is None and "no nbgrader metadata" in reason


def test_precheck_with_one_of_two_notebooks_grades_and_says_what_is_missing(tmp_path):
    course = _course(tmp_path, ("part1", "part2"))
    _put(course, "half", "part1", _graded_notebook_text())
    state, reason = precheck(course, "a1", "half")
    assert state is None and "missing part2.ipynb (0 points)" in reason


def test_shards_split_a_class_exactly_once_and_stably():
    students = [f"s{i:03d}" for i in range(300)]
    for count in (1, 2, 3, 7):
        owners = {s: [k for k in range(1, count + 1) if in_shard(s, (k, count))] for s in students}
        assert all(len(found) == 1 for found in owners.values()), "each student in exactly one shard"
        sizes = [sum(found == [k] for found in owners.values()) for k in range(1, count + 1)]
        assert min(sizes) > 0.5 * len(students) / count, sizes
    assert [in_shard("ann", (k, 4)) for k in range(1, 5)] == [in_shard("ann", (k, 4)) for k in range(1, 5)]


@pytest.mark.parametrize("text", ["0/2", "3/2", "2", "a/b", "1/2/3", "-1/2", ""])
def test_bad_shards_are_refused_in_words(text):
    with pytest.raises(ValueError, match="--shard"):
        parse_shard(text)


def test_parse_shard_accepts_k_of_n():
    assert parse_shard("2/4") == (2, 4) and parse_shard("1/1") == (1, 1)


@pytest.mark.parametrize(("environ", "shard"), [
    ({}, None),
    ({"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_MIN": "0"}, (1, 2)),
    ({"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"}, (4, 4)),
    ({"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2"}, (2, 2)),
    ({"JOB_COMPLETION_INDEX": "2", "JOB_COMPLETIONS": "3"}, (3, 3)),
])
def test_shard_from_the_job_scheduler(environ, shard):
    assert shard_from_environment(environ) == shard


@pytest.mark.parametrize(("environ", "message"), [
    ({"SLURM_ARRAY_TASK_ID": "0"}, "SLURM_ARRAY_TASK_COUNT is not"),
    ({"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "2"}, "out of range"),
    ({"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_STEP": "2"}, "step 2"),
    ({"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "2"}, "not a whole number"),
    ({"JOB_COMPLETION_INDEX": "0"}, "JOB_COMPLETIONS is not"),
    ({"JOB_COMPLETION_INDEX": "3", "JOB_COMPLETIONS": "3"}, "out of range"),
])
def test_shard_from_a_scheduler_that_does_not_add_up_is_refused(environ, message):
    with pytest.raises(ValueError, match=message):
        shard_from_environment(environ)


def test_redaction_replaces_every_hidden_block_and_an_unclosed_one():
    source = f"visible = 1\n{HIDDEN_BEGIN}\nsecret = 2\n{HIDDEN_END}\nshown = 3\n{HIDDEN_BEGIN}\nlast = 4"
    redacted = redact_source(source)
    assert "secret" not in redacted and "last" not in redacted
    assert "visible = 1" in redacted and "shown = 3" in redacted
    assert redacted.count(REDACTED_SOURCE) == 2


def test_redact_preprocessor_hides_hidden_cells_but_keeps_check_messages():
    cell = new_code_cell(f"{HIDDEN_BEGIN}\nassert secret()\n{HIDDEN_END}")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "hidden", "points": 1}
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="secret() == 42",
                                           traceback=["assert secret() == 42"]),
                    nbformat.v4.new_output("error", ename="CheckFailed",
                                           evalue="corr1d: wrong for stride 2", traceback=[])]
    notebook, _ = RedactHiddenTests(enabled=True).preprocess(new_notebook(cells=[cell]), {})
    text = json.dumps(notebook)
    assert "assert secret()" not in text and "42" not in text
    assert "corr1d: wrong for stride 2" in text


def test_graded_and_zeroed_states():
    assert {s for s in State if not s.zeroed} == {State.OK, State.CELL_TIMEOUT, State.MEMORY}
    assert Status("a", "s", State.KERNEL_DIED).status == "kernel-died"
    with pytest.raises(ValueError):
        Status("a", "s", "timeout")  # the old, ambiguous word is not written any more


@pytest.mark.parametrize("log, exits, state", [
    ("nbconvert.DeadKernelError: Kernel died", [], State.KERNEL_DIED),
    ("", ["kernel killed by signal SIGKILL"], State.KERNEL_DIED),
    ("UnresponsiveKernelError", [], State.UNRESPONSIVE),
    ("Traceback\nValueError: bad config\n", [], State.ERROR),
])
def test_failed_autograde_is_decoded(log, exits, state):
    found, reason = failure_state(log, exits)
    assert found == state and reason
    if state == State.ERROR:
        assert reason == "ValueError: bad config"


def test_cell_problems_find_timeouts_and_memory(tmp_path):
    def cell(grade_id, ename):
        c = new_code_cell("x")
        c.metadata["nbgrader"] = {"grade_id": grade_id}
        c.outputs = [nbformat.v4.new_output("error", ename=ename, evalue="", traceback=[])]
        return c
    nbformat.write(new_notebook(cells=[cell("a", "MemoryError"), cell("b", "AssertionError")]),
                   tmp_path / "one.ipynb")
    assert cell_problems(tmp_path) == (State.MEMORY, ["a: memory limit"])
    nbformat.write(new_notebook(cells=[cell("c", "CellTimeoutError")]), tmp_path / "two.ipynb")
    assert cell_problems(tmp_path) == (State.CELL_TIMEOUT, ["a: memory limit", "c: cell timeout"])


@pytest.mark.parametrize("args, words", [
    ((-signal.SIGKILL, 0.0, 10, False, 60), "signal SIGKILL"),
    ((128 + signal.SIGSEGV, 0.0, 10, False, 60), "signal SIGSEGV"),
    ((3, 0.0, 10, False, 60), "exited with code 3"),
    ((-signal.SIGKILL, 9.5, 10, False, 60), "CPU-time limit (10 s)"),
    ((-signal.SIGKILL, 1.0, 10, True, 60), "wall-clock limit (60 s"),
])
def test_exit_reasons_say_what_ended_the_kernel(args, words):
    assert words in exit_reason(*args)


def test_unsandboxed_fallback_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on PATH
    monkeypatch.setattr(sandbox, "_bwrap_ok", None)
    assert sandbox.bwrap_path() is None


def test_bwrap_command_hides_the_course(tmp_path, monkeypatch):
    root = tmp_path / "course"
    own = root / "autograder/autograded/s/a"
    own.mkdir(parents=True)
    (own / "a.ipynb").write_text("{}")
    monkeypatch.setenv(sandbox.ENV_ROOT, str(root))
    cmd = sandbox.bwrap_command("bwrap", own, tmp_path / "k/kernel.json", ["python"])
    text = " ".join(cmd)
    assert f"--tmpfs {root}" in text and f"--bind {own} {own}" in text
    assert f"--ro-bind /dev/null {own / 'a.ipynb'}" in text
    assert "--unshare-net" in cmd and "--clearenv" in cmd


def test_copying_back_never_follows_or_copies_a_link(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    slot, workdir = tmp_path / "slot", tmp_path / "work"
    slot.mkdir()
    workdir.mkdir()
    os.symlink(outside, workdir / "out.txt")  # a link in the destination ...
    (slot / "out.txt").write_text("student bytes")  # ... is replaced, not written through
    os.symlink("/etc/hostname", slot / "link")  # a link in the source is dropped
    os.symlink("/etc", slot / "dirlink")  # also a link to a folder
    os.mkfifo(slot / "fifo")  # and a FIFO
    (slot / "sub").mkdir()
    (slot / "sub" / "f.txt").write_text("f")
    (slot / "answer.ipynb").write_text("{}")  # notebooks never travel
    dropped = mirror_plain_files(slot, workdir)
    assert sorted(dropped) == ["dirlink", "fifo", "link"]
    assert outside.read_text() == "precious"
    assert (workdir / "out.txt").read_text() == "student bytes"
    assert not (workdir / "out.txt").is_symlink()
    assert not any(os.path.lexists(workdir / n) for n in ("link", "dirlink", "fifo"))
    assert (workdir / "sub" / "f.txt").read_text() == "f"
    assert not (workdir / "answer.ipynb").exists()


def test_system_parts_left_out_are_parsed_and_unknown_ones_refused(monkeypatch):
    monkeypatch.setenv("SKIP", "browser, postgres")
    assert system.skipped_parts() == {"browser", "postgres"}
    monkeypatch.setenv("SKIP", "browsr")
    with pytest.raises(SystemExit, match="unknown parts"):
        system.skipped_parts()
    monkeypatch.setenv("SKIP", "data")
    with pytest.raises(SystemExit, match="Fashion-MNIST"):
        system.skipped_parts()


def test_fashion_mnist_is_found_where_the_loader_looks(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("CNN_COURSE_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(system, "fashion_mnist_found", system.fashion_mnist_found)
    folder = tmp_path / "data" / "fashion-mnist"
    folder.mkdir(parents=True)
    for name in system.FASHION_MNIST_FILES[:-1]:
        (folder / f"{name}.gz").write_bytes(b"")
    debian_has_it = Path("/usr/share/datasets/fashion-mnist").is_dir()
    assert system.fashion_mnist_found() == debian_has_it  # one file short here
    (folder / system.FASHION_MNIST_FILES[-1]).write_bytes(b"")
    assert system.fashion_mnist_found()
