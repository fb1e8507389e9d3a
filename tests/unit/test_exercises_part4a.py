"""The "your turn" checks of lectures 14-16: each fails on a typical wrong answer (naming the
mistake) and passes on the solution printed in the lecture's own Solution block."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import torch
import torch.nn.functional as F

import utils.exercises.lecture_14 as ex14

LECTURES = Path(__file__).resolve().parents[2] / "lectures"


def solution_namespace(notebook: str) -> dict:
    """Execute the ```python block of the lecture's Solution cell; return its namespace."""
    nb = nbformat.read(LECTURES / notebook, as_version=4)
    blocks = [cell.source for cell in nb.cells if cell.cell_type == "markdown"
              and "<summary>Solution</summary>" in cell.source]
    assert len(blocks) == 1, f"{notebook}: expected one Solution block"
    source = re.search(r"```python\n(.*?)```", blocks[0], re.DOTALL).group(1)
    namespace = {"torch": torch, "F": F, "np": __import__("numpy")}
    exec(source, namespace)
    return namespace


# lecture 14 -----------------------------------------------------------------------------------

def test_14_solution_passes(capsys):
    assert ex14.check_conv_transpose(solution_namespace("14_upsampling.ipynb")["my_conv_transpose2d"])
    assert capsys.readouterr().out.startswith("Correct")


def test_14_unflipped_kernel_is_named(capsys):
    def unflipped(y, w, stride):
        h, width = y.shape[-2:]
        k = w.shape[-1]
        spread = y.new_zeros(1, 1, (h - 1) * stride + 1, (width - 1) * stride + 1)
        spread[..., ::stride, ::stride] = y
        return F.conv2d(F.pad(spread, (k - 1,) * 4), w)

    assert not ex14.check_conv_transpose(unflipped)
    assert "not flipped" in capsys.readouterr().out


def test_14_no_zero_insertion_is_a_shape_problem(capsys):
    def no_spread(y, w, stride):
        k = w.shape[-1]
        return F.conv2d(F.pad(y, (k - 1,) * 4), w.flip(-2, -1))

    assert not ex14.check_conv_transpose(no_spread)
    assert "zeros between" in capsys.readouterr().out


def test_14_placeholder_and_crash_are_reported_not_raised(capsys):
    assert not ex14.check_conv_transpose(lambda y, w, stride: None)
    assert "Not attempted" in capsys.readouterr().out
    assert not ex14.check_conv_transpose(None)
    assert not ex14.check_conv_transpose(lambda y, w, stride: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out
