"""Your-turn check for lecture 02: a strided convolution written as a matrix."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import not_attempted, verdict


def _reference(kernel: list[float], length: int, stride: int, padding: int) -> np.ndarray:
    """(outputs, length): column j is F.conv1d applied to the j-th basis vector."""
    w = torch.tensor(kernel, dtype=torch.float64).view(1, 1, -1)
    basis = torch.eye(length, dtype=torch.float64).view(length, 1, length)
    return F.conv1d(basis, w, stride=stride, padding=padding)[:, 0, :].T.numpy()


def check_stride2_matrix(answer: object, kernel: tuple[float, ...] = (1.0, -2.0, 1.0),
                         length: int = 6, padding: int = 1) -> bool:
    """answer: the matrix M (outputs, length) with ``M @ x == F.conv1d(x, kernel, stride=2,
    padding=padding)`` for every x. Compared with a matrix built inside from ``F.conv1d`` on
    basis vectors; only what is wrong is printed, never that matrix."""
    if not_attempted(answer):
        return False
    matrix = np.asarray(answer, dtype=np.float64)
    expected = _reference(list(kernel), length, 2, padding)
    stride1 = _reference(list(kernel), length, 1, padding)
    problems = []
    if matrix.ndim != 2 or matrix.shape[1] != length:
        problems.append(f"the matrix must have one column per input: shape (outputs, {length}), "
                        f"yours is {matrix.shape}")
    elif matrix.shape == stride1.shape and np.allclose(matrix, stride1):
        problems.append("this is the stride-1 matrix: stride 2 keeps only every second output row")
    elif matrix.shape[0] != expected.shape[0]:
        problems.append(f"{matrix.shape[0]} rows: with {padding} zero each side and stride 2 there are "
                        "fewer outputs; count where the kernel starts: positions 0, 2, 4, ... of the "
                        "padded input while it still fits")
    else:
        for i, (mine, right) in enumerate(zip(matrix, expected, strict=True)):
            if not np.allclose(mine, right):
                problems.append(f"row {i + 1} (output h{i + 1}) is not right: which inputs does this "
                                "output read, and which weight multiplies each (the padding zeros "
                                "have no column)?")
    return verdict(problems, "M @ x equals F.conv1d(x, w, stride=2, padding=1) for every x.")
