"""Plain-data records between the grader and the student's kernel, and the kernel-side runner.

The grader never trusts the kernel (docs/grading.md, "Verdicts outside the kernel"). It writes
each check's *inputs* into a folder, the kernel runs the check's *probe* (code that only calls
the student's functions on those inputs) and writes what they returned, and the grader decides
pass or fail in its own process. Both directions use this one format:

- ``data.json``: JSON (numbers, strings, booleans, null, lists, objects with string keys), in
  which ``{"__npy__": "a3"}`` stands for the array ``a3`` of ``arrays.npz`` in the same folder,
  ``{"__tuple__": [...]}`` for a tuple and ``{"__type__": "Foo"}`` for an object that is not data;
- ``arrays.npz``: NumPy arrays of booleans or numbers (``np.savez``), read with
  ``allow_pickle=False``, each member's size checked before it is decompressed.

No pickle, nothing the reader executes. :func:`load` refuses links, special files, oversized
files and object arrays. This module is self-contained (standard library and NumPy, imported
lazily): the grader imports it, and sends its source into the kernel, where it runs without any
file of the course (``run_probe``). Tensors returned by student code become NumPy arrays there.
"""

import json
import os
import re
import stat

DATA = "data.json"
ARRAYS = "arrays.npz"
MAX_JSON_BYTES = 4 << 20
MAX_TOTAL_BYTES = 256 << 20
MAX_ARRAYS = 20000
_ARRAY_NAME = re.compile(r"^a[0-9]{1,6}$")
_NUMERIC_KINDS = "biufc"


class RecordError(ValueError):
    """A record that is missing, malformed, too large, or not plain data."""


def _plain(value, arrays: list, depth: int = 0):
    """``value`` as JSON-able data; arrays are appended to ``arrays`` and referenced by name."""
    import numpy as np

    if depth > 50:
        raise RecordError("data nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2 ** 63 else float(value)
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else {"__float__": repr(value)}
    if isinstance(value, list):
        return [_plain(item, arrays, depth + 1) for item in value]
    if isinstance(value, tuple):
        return {"__tuple__": [_plain(item, arrays, depth + 1) for item in value]}
    if isinstance(value, dict):
        return {str(key): _plain(item, arrays, depth + 1) for key, item in value.items()}
    if hasattr(value, "detach") and hasattr(value, "cpu") and hasattr(value, "numpy"):
        value = value.detach().cpu().numpy()  # a torch tensor
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.kind not in _NUMERIC_KINDS:
            return {"__type__": f"array of {array.dtype}"}
        arrays.append(np.array(array, order="C", copy=True))
        return {"__npy__": f"a{len(arrays) - 1}"}
    return {"__type__": type(value).__name__}


def save(value, folder: str) -> None:
    """Write ``value`` (plain data, arrays, tensors) into ``folder`` (created if needed)."""
    import numpy as np

    os.makedirs(folder, exist_ok=True)
    arrays: list = []
    data = _plain(value, arrays)
    if arrays:
        np.savez(os.path.join(folder, ARRAYS), **{f"a{i}": a for i, a in enumerate(arrays)})
    with open(os.path.join(folder, DATA), "w") as handle:
        json.dump(data, handle)


def _read_regular(path: str, limit: int) -> bytes:
    """The bytes of ``path`` if it is a regular file (not a link, FIFO, device) under ``limit``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise RecordError(f"cannot open {os.path.basename(path)} ({error.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RecordError(f"{os.path.basename(path)} is not a regular file")
        if info.st_size > limit:
            raise RecordError(f"{os.path.basename(path)} is larger than {limit} bytes")
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise RecordError(f"{os.path.basename(path)} is larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def load(folder: str, max_bytes: int = MAX_TOTAL_BYTES):
    """The value saved by :func:`save` in ``folder``; :class:`RecordError` if it is not plain data."""
    try:
        info = os.lstat(folder)
    except OSError:
        raise RecordError("no record") from None
    if not stat.S_ISDIR(info.st_mode):
        raise RecordError("the record is not a folder")
    try:
        data = json.loads(_read_regular(os.path.join(folder, DATA), MAX_JSON_BYTES))
    except (ValueError, RecursionError) as error:
        raise RecordError(f"unreadable {DATA} ({str(error)[:80]})") from None
    archive = None

    def array(name: str):
        nonlocal archive
        if archive is None:
            archive = _open_arrays(os.path.join(folder, ARRAYS), max_bytes)
        if name not in archive:
            raise RecordError(f"no array {name}")
        return archive[name].copy()

    def resolve(value, depth: int = 0):
        if depth > 60:
            raise RecordError("data nested too deeply")
        if isinstance(value, list):
            return [resolve(item, depth + 1) for item in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"__npy__"}:
            name = value["__npy__"]
            if not isinstance(name, str) or not _ARRAY_NAME.match(name):
                raise RecordError("bad array reference")
            return array(name)
        if set(value) == {"__tuple__"} and isinstance(value["__tuple__"], list):
            return tuple(resolve(item, depth + 1) for item in value["__tuple__"])
        if set(value) == {"__float__"} and value["__float__"] in ("nan", "inf", "-inf"):
            return float(value["__float__"])
        return {key: resolve(item, depth + 1) for key, item in value.items()}

    return resolve(data)


def _open_arrays(path: str, max_bytes: int) -> dict:
    """Every array of the ``.npz`` at ``path`` (no link, no pickle, no member over the budget)."""
    import io
    import zipfile

    import numpy as np

    raw = _read_regular(path, max_bytes)
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = archive.infolist()
            if len(members) > MAX_ARRAYS or sum(m.file_size for m in members) > max_bytes:
                raise RecordError(f"{ARRAYS} holds too much data")
            arrays = {}
            for member in members:
                name = member.filename[:-4] if member.filename.endswith(".npy") else ""
                if not _ARRAY_NAME.match(name):
                    raise RecordError(f"unexpected member {member.filename[:40]!r} in {ARRAYS}")
                value = np.load(io.BytesIO(archive.read(member)), allow_pickle=False)
                if not isinstance(value, np.ndarray) or value.dtype.kind not in _NUMERIC_KINDS:
                    raise RecordError(f"{name} is not an array of numbers")
                arrays[name] = value
            return arrays
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        if isinstance(error, RecordError):
            raise
        raise RecordError(f"unreadable {ARRAYS} ({str(error)[:80]})") from None


# --- in the kernel --------------------------------------------------------------------------

def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:400]


def call_each(namespace: dict, inputs: dict) -> list:
    """The generic probe: ``namespace[inputs["function"]](*args, **kwargs)`` for every case.

    One entry per case: ``{"value": <what it returned>}`` or ``{"error": "<Type>: <message>"}``.
    """
    function = namespace.get(inputs["function"])
    results = []
    for case in inputs["cases"]:
        if not callable(function):
            results.append({"error": f"NameError: {inputs['function']} is not defined"})
            continue
        try:
            value = function(*case.get("args", []), **case.get("kwargs", {}))
            results.append({"value": value})
        except Exception as error:  # noqa: BLE001  (the student's code: any error is a result)
            results.append({"error": _error_text(error)})
    return results


def run_probe(folder: str, probe_source: str, probe_name: str, namespace: dict) -> None:
    """Run one check's probe in the kernel: inputs from ``folder/inputs``, record in ``folder/out``.

    ``probe_source`` defines ``probe_name(namespace, inputs)`` (or is empty for :func:`call_each`).
    The namespace is the notebook's, so the probe finds the student's functions by name.
    """
    inputs = load(os.path.join(folder, "inputs"))
    if probe_source:
        scope = {"__name__": "_grading_probe"}
        exec(compile(probe_source, "<grading probe>", "exec"), scope)  # noqa: S102
        probe = scope[probe_name]
    else:
        probe = call_each
    try:
        record = {"value": probe(namespace, inputs)}
    except Exception as error:  # noqa: BLE001
        record = {"error": _error_text(error)}
    save(record, os.path.join(folder, "out"))
