"""Fast unit tests of the grader's integrity parts: records, verdicts, sandbox policy, protocol, files.

No kernel, no nbgrader run: each rule is checked directly against what a hostile kernel could
leave behind (links, FIFOs, pickles, huge files, forged values).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder import probe_runtime, sandbox
from autograder.feedback import unsafe_files
from autograder.outside import sweep_links
from autograder.sandbox.inside import protocol
from autograder.verdict import Case, FunctionCheck, close, exact_int

# --- records ---------------------------------------------------------------------------------


def test_records_round_trip_plain_data(tmp_path):
    value = {"a": [1, 2.5, True, None, "s"], "t": (1, 2), "x": np.arange(6.0).reshape(2, 3),
             "nan": float("nan"), "i": np.int64(7)}
    probe_runtime.save(value, str(tmp_path / "r"))
    back = probe_runtime.load(str(tmp_path / "r"))
    assert back["a"] == [1, 2.5, True, None, "s"] and back["t"] == (1, 2)
    assert np.array_equal(back["x"], value["x"]) and back["x"].dtype == np.float64
    assert np.isnan(back["nan"]) and back["i"].dtype.kind == "i" and int(back["i"]) == 7


def test_objects_are_recorded_by_type_name_only(tmp_path):
    class Anything:
        def __eq__(self, other):
            return True

    probe_runtime.save({"v": Anything()}, str(tmp_path / "r"))
    assert probe_runtime.load(str(tmp_path / "r")) == {"v": {"__type__": "Anything"}}


@pytest.mark.parametrize("plant", ["link_json", "link_array", "fifo", "pickle", "huge", "escape",
                                   "folder_link", "deep", "zip_bomb", "odd_member", "missing"])
def test_load_refuses_what_is_not_plain_data(tmp_path, plant):
    folder = tmp_path / "r"
    probe_runtime.save({"x": np.zeros(3)}, str(folder))
    data, arrays = folder / probe_runtime.DATA, folder / probe_runtime.ARRAYS
    if plant == "link_json":
        data.unlink()
        os.symlink("/etc/passwd", data)
    elif plant == "link_array":
        np.savez(tmp_path / "elsewhere.npz", a0=np.zeros(3))
        arrays.unlink()
        os.symlink(tmp_path / "elsewhere.npz", arrays)
    elif plant == "fifo":
        arrays.unlink()
        os.mkfifo(arrays)
    elif plant == "pickle":
        np.savez(arrays, a0=np.array([{"a": 1}], dtype=object))
    elif plant == "zip_bomb":
        np.savez_compressed(arrays, a0=np.zeros(probe_runtime.MAX_TOTAL_BYTES + 1, np.uint8))
    elif plant == "odd_member":
        np.savez(arrays, a0=np.zeros(3), **{"../x": np.zeros(1)})
    elif plant == "huge":
        data.write_text(json.dumps({"x": "y" * (probe_runtime.MAX_JSON_BYTES + 1)}))
    elif plant == "escape":
        data.write_text(json.dumps({"x": {"__npy__": "../../etc/passwd"}}))
    elif plant == "missing":
        arrays.unlink()
    elif plant == "folder_link":
        os.symlink(folder, tmp_path / "link")
        folder = tmp_path / "link"
    elif plant == "deep":
        data.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(probe_runtime.RecordError):
        probe_runtime.load(str(folder))


# --- verdicts --------------------------------------------------------------------------------

def _square_check() -> FunctionCheck:
    return FunctionCheck("square", lambda rng: [Case((rng.standard_normal(4),)) for _ in range(3)],
                         lambda x: x * x)


def _verdict(check, outputs):
    inputs = check.inputs(np.random.default_rng(0))
    return check.verdict(inputs, outputs(inputs), 0.1)


def test_function_check_passes_correct_results_and_names_the_failing_case():
    check = _square_check()
    assert _verdict(check, lambda i: [{"value": c["args"][0] ** 2} for c in i["cases"]]) is None
    message = _verdict(check, lambda i: [{"value": c["args"][0] ** 3} for c in i["cases"]])
    assert message == "square(array (4,)) wrong values"
    message = _verdict(check, lambda i: [{"error": "TypeError: nope"}] * 3)
    assert "raised TypeError: nope" in message


@pytest.mark.parametrize("forged", [None, [], "all good", [{"value": {"__type__": "Anything"}}] * 3,
                                    [{"value": np.full(4, np.nan)}] * 3, [{"value": True}] * 3,
                                    [{"value": np.zeros(5)}] * 3, [{}] * 3])
def test_forged_or_missing_records_fail(forged):
    assert _verdict(_square_check(), lambda i: forged) is not None


def test_expected_values_never_appear_in_messages():
    check = FunctionCheck("f", lambda rng: [Case((3,))], lambda n: np.full(n, 123456.0))
    message = check.verdict(check.inputs(None), [{"value": np.zeros(3)}], 0.0)
    assert message and "123456" not in message


def test_time_limit_is_taken_from_the_grader_clock():
    check = FunctionCheck("f", lambda rng: [Case((1,))], lambda n: n, max_seconds=2)
    assert "took 3.0 s" in check.verdict(check.inputs(None), [{"value": 1}], 3.0)


def test_comparisons():
    assert close()(np.ones(3), np.ones(3)) is None
    assert close()(np.ones(3), np.ones((3, 1))).startswith("returned shape")
    assert exact_int(3, 3) is None and exact_int(np.array(3), 3) is None
    assert exact_int(True, 1) and exact_int(3.0, 3) and exact_int(4, 3) == "wrong value"


# --- kernel policy ---------------------------------------------------------------------------

NUMPY_ONLY = {"hidden_modules": ["torch", "scipy"],
              "forbidden": ["numpy.convolve", "numpy.correlate", "numpy._core.multiarray.correlate2"],
              "rule": "NumPy only"}


def test_bwrap_command_hides_the_policy_modules_and_passes_the_policy(tmp_path):
    own = tmp_path / "own"
    own.mkdir()
    cmd = sandbox.bwrap_command("bwrap", own, tmp_path / "k/kernel.json", ["python"], NUMPY_ONLY)
    import torch

    torch_dir = str(Path(torch.__file__).parent.resolve())
    assert ["--tmpfs", torch_dir] == cmd[cmd.index(torch_dir) - 1:cmd.index(torch_dir) + 1]
    env = cmd[cmd.index(sandbox.KERNEL_POLICY_ENV) + 1]
    assert json.loads(env) == NUMPY_ONLY
    plain = sandbox.bwrap_command("bwrap", own, tmp_path / "k/kernel.json", ["python"], {})
    assert torch_dir not in plain
    assert str(sandbox.INSIDE) in plain  # the guard is run by path from a read-only bind


def test_guard_policy_removes_forbidden_functions_under_every_name():
    guard = Path(sandbox.INSIDE / "guard.py")
    program = f"""
import json, sys
sys.path.insert(0, {str(guard.parent)!r})
import numpy as np
import guard
guard.install(json.loads({json.dumps(NUMPY_ONLY)!r}))
out = {{}}
for name, call in [("np.correlate", lambda: np.correlate([1.0], [1.0])),
                   ("getattr", lambda: getattr(np, "corr" + "elate")([1.0], [1.0])),
                   ("core", lambda: np._core.multiarray.correlate2([1.0], [1.0], 0)),
                   ("np.core", lambda: np.core.multiarray.correlate2([1.0], [1.0], 0)),
                   ("polymul", lambda: np.polymul([1.0, 1.0], [1.0, 1.0])),
                   ("torch", lambda: __import__("torch"))]:
    try:
        call()
        out[name] = "ran"
    except Exception as error:
        out[name] = type(error).__name__ + ": " + str(error)
print(json.dumps(out))
"""
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            timeout=120)
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert all(v != "ran" for v in outcome.values()), outcome
    assert all("NumPy only" in v for v in outcome.values()), outcome


# --- protocol --------------------------------------------------------------------------------

def test_protocol_lines_skip_garbage_and_keep_order():
    left, right = socket.socketpair()
    with left, right:
        right.sendall(b'not json\n[1]\n{"a": 1}\n{"b": 2}\n{"c"')
        lines = protocol.Lines(left)
        assert lines.next() == {"a": 1} and lines.next() == {"b": 2}
        right.sendall(b': 3}\n')
        assert lines.next() == {"c": 3}
        right.close()
        assert lines.next() == {}


def test_protocol_refuses_an_endless_line():
    left, right = socket.socketpair()
    with left, right:
        right.sendall(b"x" * (protocol.MAX_LINE + 10))
        right.close()
        assert protocol.Lines(left).next() == {}


# --- files -----------------------------------------------------------------------------------

def test_sweep_links_removes_links_fifos_and_folder_links(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "keep.txt").write_text("k")
    os.symlink("/etc", tmp_path / "etc_link")
    os.symlink("/nonexistent", tmp_path / "sub" / "dangling")
    os.mkfifo(tmp_path / "fifo")
    assert sorted(sweep_links(tmp_path)) == ["etc_link", "fifo", "sub/dangling"]
    assert sorted(os.listdir(tmp_path)) == ["sub"] and os.listdir(tmp_path / "sub") == ["keep.txt"]


def test_unsafe_files_finds_links_markers_databases_and_copies(tmp_path):
    secret = tmp_path / "secret.py"
    secret.write_text("instructor only")
    out = tmp_path / "out"
    out.mkdir()
    (out / "ok.html").write_text("<p>fine</p>")
    (out / "copy.txt").write_bytes(secret.read_bytes())
    (out / "db").write_bytes(b"SQLite format 3\x00....")
    (out / "hidden.html").write_text("### BEGIN HIDDEN TESTS")
    os.symlink(secret, out / "link")
    import hashlib

    protected = {hashlib.sha256(secret.read_bytes()).hexdigest()}
    assert sorted(unsafe_files(out, protected)) == ["copy.txt", "db", "hidden.html", "link"]


# --- ids -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["..", "../solutions", "a/../../b", ".hidden", "", "a b", "x/y",
                                  "-rf", "~root", "a\nb", "a" * 101])
def test_path_like_student_ids_are_refused(name):
    from autograder.course import safe_id

    assert not safe_id(name)


def test_only_safe_student_folders_are_graded(tmp_path):
    from autograder.course import Course
    from autograder.grade import submitted_students

    submitted = tmp_path / "submitted"
    for name in ("ann", ".hidden", "b..c", "bob@uni.edu"):
        (submitted / name / "a1_conv1d").mkdir(parents=True)
    course = Course(tmp_path, tmp_path, tmp_path, submitted, tmp_path, tmp_path, "", "c", tmp_path)
    assert submitted_students(course, "a1_conv1d") == ["ann", "bob@uni.edu"]
