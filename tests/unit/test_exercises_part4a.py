"""The "your turn" checks of lectures 14-16: each fails on a typical wrong answer (naming the
mistake) and passes on the solution printed in the lecture's own Solution block."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import torch
import torch.nn.functional as F

import utils.exercises.lecture_14 as ex14
import utils.exercises.lecture_15 as ex15
import utils.exercises.lecture_16 as ex16

LECTURES = Path(__file__).resolve().parents[2] / "lectures"


def solution_namespace(notebook: str) -> dict:
    """Execute the ```python block of the lecture's Solution cell; return its namespace."""
    nb = nbformat.read(LECTURES / notebook, as_version=4)
    blocks = [cell.source for cell in nb.cells if cell.cell_type == "markdown"
              and "<summary>Solution</summary>" in cell.source]
    assert len(blocks) == 1, f"{notebook}: expected one Solution block"
    source = re.search(r"```python\n(.*?)```", blocks[0], re.DOTALL).group(1)
    namespace = {"torch": torch, "F": F, "np": np}
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


# lecture 15 -----------------------------------------------------------------------------------

def test_15_solution_passes(capsys):
    assert ex15.check_rotation_kernel(solution_namespace("15_invariance.ipynb")["my_kernel"])
    assert capsys.readouterr().out.startswith("Correct")


def test_15_sobel_is_not_rotation_equivariant(capsys):
    assert not ex15.check_rotation_kernel([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    assert "rotating the image by 90 degrees" in capsys.readouterr().out


def test_15_blur_is_equivariant_but_not_an_edge_detector(capsys):
    assert not ex15.check_rotation_kernel(np.full((3, 3), 1 / 9))
    out = capsys.readouterr().out
    assert "sum to 1" in out and "rotating" not in out


def test_15_placeholder_and_bad_shapes(capsys):
    assert not ex15.check_rotation_kernel(None)
    assert "Not attempted" in capsys.readouterr().out
    assert not ex15.check_rotation_kernel(np.zeros((5, 5)))
    assert "3x3" in capsys.readouterr().out
    assert not ex15.check_rotation_kernel(np.zeros((3, 3)))
    assert "all zeros" in capsys.readouterr().out


# lecture 16 -----------------------------------------------------------------------------------

def _solution_16() -> object:
    image_m, target_m = ex16.mystery_pair()
    nb = nbformat.read(LECTURES / "16_learned_filters.ipynb", as_version=4)
    block = next(c.source for c in nb.cells
                 if c.cell_type == "markdown" and "<summary>Solution</summary>" in c.source)
    namespace = {"torch": torch, "F": F, "image_m": image_m, "target_m": target_m}
    exec(re.search(r"```python\n(.*?)```", block, re.DOTALL).group(1), namespace)
    return namespace["answer"]


def test_16_solution_passes(capsys):
    assert ex16.check_recovered_kernel(_solution_16())
    assert capsys.readouterr().out.startswith("Correct")


def test_16_flipped_kernel_is_named(capsys):
    flipped = torch.as_tensor(_solution_16()).flip(0, 1)
    assert not ex16.check_recovered_kernel(flipped)
    assert "rotated by 180 degrees" in capsys.readouterr().out


def test_16_too_few_steps_and_placeholder(capsys):
    assert not ex16.check_recovered_kernel(np.zeros((3, 3)))
    assert "still (almost) zero" in capsys.readouterr().out
    assert not ex16.check_recovered_kernel(0.5 * torch.as_tensor(_solution_16()))
    assert "largest entry error" in capsys.readouterr().out
    assert not ex16.check_recovered_kernel(None)
    assert "Not attempted" in capsys.readouterr().out


def test_16_mystery_pair_is_the_hidden_filter_applied():
    image, target = ex16.mystery_pair()
    assert image.shape == (1, 1, 48, 48) and target.shape == (1, 1, 46, 46)
    hidden = torch.as_tensor(ex16._HIDDEN, dtype=image.dtype)[None, None]
    assert torch.allclose(target, F.conv2d(image, hidden))
    assert not torch.allclose(target, F.conv2d(image, hidden.flip(-2, -1)))
