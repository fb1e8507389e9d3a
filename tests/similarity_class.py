"""A class of a1_conv1d submissions for the similarity report: four independent authors who
each wrote their own correct answers, three planted copies, and a student who handed in the
release unchanged.

Independent authors: ``ana`` (index arrays, einsum), ``ben`` (loops over kernel taps, basis
vectors), ``cai`` (sliding windows, tensordot), ``dee`` (plain loops, FFT, matrices per channel).
Planted copies: ``ana_copy`` (every local variable renamed), ``ben_copy`` (answer cells in
another order, comments changed), ``cai_copy`` (renamed, re-commented, re-spaced, reordered).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
RELEASE = REPO / "assignments" / "a1_conv1d" / "conv1d.ipynb"
PLACEHOLDER = "    # YOUR CODE HERE\n    raise NotImplementedError()"
FUNCTIONS = ("conv_output_length", "corr1d", "convolve1d", "conv1d_matrix", "conv1d_layer")

BODIES = {
    "ana": {
        "conv_output_length": ("    return (length + 2 * padding - dilation * (kernel_size - 1) - 1)"
                               " // stride + 1"),
        "corr1d": """\
    xp = np.pad(np.asarray(x, dtype=float), padding)
    k = len(w)
    n_out = conv_output_length(len(x), k, stride, padding, dilation)
    idx = np.arange(n_out)[:, None] * stride + np.arange(k)[None, :] * dilation
    return xp[idx] @ np.asarray(w, dtype=float)""",
        "convolve1d": "    return corr1d(x, np.asarray(w)[::-1], padding=padding)",
        "conv1d_matrix": """\
    k = len(w)
    n_out = conv_output_length(length, k, stride, padding, dilation)
    m = np.zeros((n_out, length + 2 * padding))
    rows = np.repeat(np.arange(n_out), k)
    cols = (np.arange(n_out)[:, None] * stride + np.arange(k) * dilation).ravel()
    m[rows, cols] = np.tile(w, n_out)
    return m[:, padding:padding + length]""",
        "conv1d_layer": """\
    n, c_in, length = x.shape
    c_out, _, k = weight.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    n_out = conv_output_length(length, k, stride, padding, dilation)
    idx = np.arange(n_out)[:, None] * stride + np.arange(k) * dilation
    patches = xp[:, :, idx]  # (n, c_in, n_out, k)
    return np.einsum("ncok,dck->ndo", patches, weight) + bias[None, :, None]""",
    },
    "ben": {
        "conv_output_length": """\
    span = dilation * (kernel_size - 1) + 1
    padded = length + 2 * padding
    if padded < span:
        return 0
    return 1 + (padded - span) // stride""",
        "corr1d": """\
    signal = np.concatenate([np.zeros(padding), x, np.zeros(padding)])
    count = conv_output_length(len(x), len(w), stride, padding, dilation)
    result = np.zeros(count)
    # one shifted, strided slice of the signal per kernel tap
    for tap, weight in enumerate(w):
        begin = tap * dilation
        result += weight * signal[begin:begin + stride * (count - 1) + 1:stride]
    return result""",
        "convolve1d": """\
    flipped = w[::-1]
    return corr1d(x, flipped, stride=1, padding=padding, dilation=1)""",
        "conv1d_matrix": """\
    basis = np.eye(length)
    # column j is the response to the j-th unit impulse
    columns = [corr1d(basis[j], w, stride, padding, dilation) for j in range(length)]
    return np.stack(columns, axis=1)""",
        "conv1d_layer": """\
    batch, channels, _ = x.shape
    out_channels = weight.shape[0]
    result = []
    for n in range(batch):
        maps = []
        for o in range(out_channels):
            acc = sum(corr1d(x[n, c], weight[o, c], stride, padding, dilation) for c in range(channels))
            maps.append(acc + bias[o])
        result.append(maps)
    return np.array(result)""",
    },
    "cai": {
        "conv_output_length": """\
    effective = (kernel_size - 1) * dilation + 1
    return max(0, (length + 2 * padding - effective) // stride + 1)""",
        "corr1d": """\
    from numpy.lib.stride_tricks import sliding_window_view
    xp = np.pad(x, (padding, padding))
    windows = sliding_window_view(xp, (len(w) - 1) * dilation + 1)[::stride, ::dilation]
    return windows.dot(w)""",
        "convolve1d": """\
    K = len(w)
    xp = np.pad(x, padding)
    L_out = len(xp) - K + 1
    out = np.empty(L_out)
    for i in range(L_out):
        out[i] = np.sum(xp[i:i + K] * w[::-1])
    return out""",
        "conv1d_matrix": """\
    K = len(w)
    L_out = conv_output_length(length, K, stride, padding, dilation)
    M = np.zeros((L_out, length))
    for i in range(L_out):
        for k in range(K):
            j = i * stride + k * dilation - padding
            if 0 <= j < length:
                M[i, j] += w[k]
    return M""",
        "conv1d_layer": """\
    from numpy.lib.stride_tricks import sliding_window_view
    K = weight.shape[-1]
    xp = np.pad(x, [(0, 0), (0, 0), (padding, padding)])
    win = sliding_window_view(xp, (K - 1) * dilation + 1, axis=-1)[:, :, ::stride, ::dilation]
    out = np.tensordot(win, weight, axes=([1, 3], [1, 2]))  # (N, L_out, C_out)
    return out.transpose(0, 2, 1) + bias[:, None]""",
    },
    "dee": {
        "conv_output_length": """\
    n = 0
    start = 0
    last = length + 2 * padding - 1 - dilation * (kernel_size - 1)
    while start <= last:
        n += 1
        start += stride
    return n""",
        "corr1d": """\
    padded = [0.0] * padding + list(x) + [0.0] * padding
    size = conv_output_length(len(x), len(w), stride, padding, dilation)
    out = []
    for i in range(size):
        total = 0.0
        for k in range(len(w)):
            total += padded[i * stride + k * dilation] * w[k]
        out.append(total)
    return np.array(out, dtype=float)""",
        "convolve1d": """\
    full_len = len(x) + len(w) - 1
    spectrum = np.fft.rfft(x, full_len) * np.fft.rfft(w, full_len)
    full = np.fft.irfft(spectrum, full_len)
    trim = len(w) - 1 - padding
    return full[trim:full_len - trim] if trim > 0 else np.pad(full, -trim)""",
        "conv1d_matrix": """\
    out_len = conv_output_length(length, len(w), stride, padding, dilation)
    rows = []
    for i in range(out_len):
        row = np.zeros(length)
        for k, tap in enumerate(w):
            col = i * stride + k * dilation - padding
            if 0 <= col < length:
                row[col] = tap
        rows.append(row)
    return np.array(rows).reshape(out_len, length)""",
        "conv1d_layer": """\
    n_batch, c_in, length = x.shape
    c_out = weight.shape[0]
    mats = np.array([[conv1d_matrix(length, weight[o, c], stride, padding, dilation)
                      for c in range(c_in)] for o in range(c_out)])  # (C_out, C_in, L_out, L)
    return np.einsum("ocjl,ncl->noj", mats, x) + bias.reshape(1, -1, 1)""",
    },
}

PLANTED = {("ana", "ana_copy"), ("ben", "ben_copy"), ("cai", "cai_copy")}


def release() -> nbformat.NotebookNode:
    """The committed student release of a1_conv1d."""
    return nbformat.read(RELEASE, as_version=4)


def _rename(body: str, names: dict[str, str]) -> str:
    """``body`` with every whole-word occurrence of each old name replaced by the new one."""
    for old, new in names.items():
        body = re.sub(rf"\b{old}\b", new, body)
    return body


def _recomment(body: str, note: str) -> str:
    """Comments removed, and a different one added above every line that returns."""
    lines = [re.sub(r"\s+#.*$", "", line) for line in body.split("\n")]
    lines = [line for line in lines if not line.lstrip().startswith("#")]
    out = []
    for line in lines:
        if line.lstrip().startswith("return"):
            out.append(line[:len(line) - len(line.lstrip())] + f"# {note}")
        out.append(line)
    return "\n".join(out)


def _respace(body: str) -> str:
    """Other spacing: around operators and commas, blank lines between statements."""
    body = re.sub(r" \* ", "*", body)
    body = re.sub(r", ", " ,  ", body)
    return body.replace("\n", "\n\n")


def author_bodies(student: str) -> dict[str, str]:
    """The answer bodies (function name -> indented body) of a student of the class."""
    if student in BODIES:
        return BODIES[student]
    if student == "ana_copy":
        names = {"xp": "sig_padded", "k": "ksize", "n_out": "count", "idx": "where", "m": "mat",
                 "rows": "r", "cols": "c", "patches": "windows"}
        return {f: _rename(b, names) for f, b in BODIES["ana"].items()}
    if student == "ben_copy":
        return {f: _recomment(b, "works for any stride") for f, b in BODIES["ben"].items()}
    if student == "cai_copy":
        names = {"xp": "z", "windows": "views", "K": "taps", "L_out": "n", "out": "res", "M": "A",
                 "win": "blocks", "effective": "reach"}
        return {f: _respace(_recomment(_rename(b, names), "done")) for f, b in BODIES["cai"].items()}
    raise KeyError(student)


def submission(student: str) -> nbformat.NotebookNode:
    """The a1_conv1d notebook ``student`` hands in (``release_copy``: the release unchanged)."""
    notebook = copy.deepcopy(release())
    if student == "release_copy":
        return notebook
    bodies = author_bodies(student)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in bodies:
            assert PLACEHOLDER in cell.source, f"the release's {grade_id} cell changed"
            cell.source = cell.source.replace(PLACEHOLDER, bodies[grade_id])
    if student in ("ben_copy", "cai_copy"):  # the answer cells in another order
        answers = [i for i, c in enumerate(notebook.cells)
                   if c.metadata.get("nbgrader", {}).get("grade_id") in bodies]
        moved = [notebook.cells[i] for i in answers]
        for i, cell in zip(answers, moved[::-1], strict=True):
            notebook.cells[i] = cell
    return notebook


STUDENTS = ("ana", "ben", "cai", "dee", "ana_copy", "ben_copy", "cai_copy", "release_copy")


def write_class(submitted: Path, students=STUDENTS) -> None:
    """``submitted/<student>/a1_conv1d/conv1d.ipynb`` for every student of the class."""
    for student in students:
        folder = submitted / student / "a1_conv1d"
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(submission(student), folder / "conv1d.ipynb")
