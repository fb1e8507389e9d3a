"""The "Your turn" checks of lectures 00-09: each passes on the solution printed in its lecture's
Solution block and fails, naming the mistake, on a typical wrong answer."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

LECTURES = Path(__file__).resolve().parents[2] / "lectures"
NUMBERS = [f"{n:02d}" for n in range(10)]
CALL = re.compile(r"^(utils\.exercises\.lecture_(\d\d)\.(check_\w+)\((\w+).*\));?$", re.MULTILINE)
FENCE = re.compile(r"<details><summary>Solution</summary>.*?```python\n(.*?)```", re.DOTALL)


def exercises(number: str) -> list[tuple[str, str, str, str, str]]:
    """(check module, check name, answer variable, call expression, solution code) per exercise."""
    (path,) = LECTURES.glob(f"{number}_*.ipynb")
    cells = nbformat.read(path, as_version=4).cells
    found = []
    for index, cell in enumerate(cells):
        match = CALL.search(cell.source) if cell.cell_type == "code" else None
        if match is None:
            continue
        solution = next(FENCE.search(c.source) for c in cells[index + 1:]
                        if c.cell_type == "markdown" and FENCE.search(c.source))
        found.append((match.group(2), match.group(3), match.group(4), match.group(1),
                      solution.group(1)))
    return found


@pytest.mark.parametrize("number", NUMBERS)
def test_every_lecture_has_an_exercise_whose_solution_passes(number, capsys):
    found = exercises(number)
    assert found, f"lecture {number} has no exercise"
    for module, _check, variable, call, solution in found:
        assert module == number, "a lecture calls its own exercise module"
        namespace: dict = {"utils": importlib.import_module("utils")}
        importlib.import_module(f"utils.exercises.lecture_{module}")
        exec(solution, namespace)                                  # the Solution block, as printed
        assert variable in namespace, f"the solution defines {variable}"
        assert eval(call, namespace) is True
        assert capsys.readouterr().out.startswith("Correct")
        namespace[variable] = None                                 # the placeholder: not attempted
        assert eval(call, namespace) is False
        assert "Not attempted" in capsys.readouterr().out


def _wrong(check, answer, capsys, **kwargs) -> str:
    assert check(answer, **kwargs) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet:")
    return out


def test_typical_mistakes_are_named(capsys):
    import utils.viz_multichannel as mc
    from utils.exercises import (
        lecture_00,
        lecture_01,
        lecture_02,
        lecture_03,
        lecture_04,
        lecture_05,
        lecture_06,
        lecture_07,
        lecture_08,
        lecture_09,
    )

    assert "add up to 1" in _wrong(lecture_00.check_box_kernel, [1] * 5, capsys)
    assert "same weight" in _wrong(lecture_00.check_box_kernel, [0.1, 0.2, 0.4, 0.2, 0.1], capsys)
    dims = dict(height=128, width=128, channels=3, units=256)
    assert "bias" in _wrong(lecture_01.check_dense_parameters, 128 * 128 * 3 * 256, capsys, **dims)
    assert "channels" in _wrong(lecture_01.check_dense_parameters, 128 * 128 * 256 + 256, capsys, **dims)
    stride1 = [[-2, 1, 0, 0, 0, 0], [1, -2, 1, 0, 0, 0], [0, 1, -2, 1, 0, 0], [0, 0, 1, -2, 1, 0],
               [0, 0, 0, 1, -2, 1], [0, 0, 0, 0, 1, -2]]
    assert "stride-1 matrix" in _wrong(lecture_02.check_stride2_matrix, stride1, capsys)
    shifted = [[1, -2, 1, 0, 0, 0], [0, 0, 1, -2, 1, 0], [0, 0, 0, 0, 1, -2]]   # padding forgotten
    out = _wrong(lecture_02.check_stride2_matrix, shifted, capsys)
    assert "row 1" in out and "[[" not in out and "-2, 1, 0" not in out      # never the matrix itself
    assert "cross-correlation" in _wrong(lecture_03.check_convolution_kernel, [0.2, 0.5, -1.0, 3.0], capsys)
    out = _wrong(lecture_04.check_output_lengths, [4.5, 6, 2, 34], capsys)
    assert "W=10, K=3, P=1, S=2" in out and "round down" in out and "W=7" not in out
    assert "span" in _wrong(lecture_04.check_output_lengths, [5, 8, 2, 34], capsys)
    diagonal = [[1, -1, -1], [-1, 1, -1], [-1, -1, 1]]
    assert "(0, 0), (3, 0)" in _wrong(lecture_05.check_antidiagonal_kernel, diagonal, capsys)
    assert "between -1 and 1" in _wrong(lecture_05.check_antidiagonal_kernel,
                                        np.array([[-1, -1, 1], [-1, 1, -1], [1, -1, -1]]) * 2, capsys)
    assert "bias is missing" in _wrong(lecture_06.check_rgb_output, (465, 465), capsys)
    no_pad = mc.conv_output(mc.RGB_IMAGE, mc.RGB_FILTER, 1.0, 0, 1)[0, 1]
    assert "without padding" in _wrong(lecture_06.check_rgb_output, (no_pad, max(no_pad, 0)), capsys)
    conv = dict(c_in=16, c_out=32, k=5)
    assert "biases are missing" in _wrong(lecture_07.check_conv_parameters, 16 * 32 * 25, capsys, **conv)
    assert "input channels" in _wrong(lecture_07.check_conv_parameters, 32 * 25 + 32, capsys, **conv)
    assert "average pooling" in _wrong(lecture_08.check_max_pool, [[2, 2, 3], [3, 2.5, 2]], capsys)
    out = _wrong(lecture_08.check_max_pool, [[5, 7, 3], [4, 7, 6]], capsys)
    assert "cell (1, 1)" in out and "cell (0, 0)" not in out
    assert "shape" in _wrong(lecture_08.check_max_pool, [[5, 7], [4, 8]], capsys)
    out = _wrong(lecture_09.check_receptive_fields, {"conv5 pool2 conv3 conv3": 10, "conv3s2 conv3d2": 11},
                 capsys)
    assert "without the jump" in out and "conv3s2" not in out
