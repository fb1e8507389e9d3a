"""Lecture 17: the "your turn" check (fails on typical wrong answers, passes on the notebook's
solution) and the confusion-cell explorer (logic against torch, widget headless)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import torch

import utils.exercises.lecture_17 as lecture_17
from utils import viz_confusion

LECTURE = Path(__file__).resolve().parents[2] / "lectures" / "17_cnn_vs_mlp.ipynb"


def solution_source() -> str:
    """The ```python block of the notebook's Solution details."""
    for cell in nbformat.read(LECTURE, as_version=4).cells:
        if cell.cell_type == "markdown" and "<summary>Solution</summary>" in cell.source:
            return re.search(r"```python\n(.*?)```", cell.source, re.DOTALL).group(1)
    raise AssertionError("no Solution block in lecture 17")


def test_solution_from_the_notebook_passes(capsys):
    namespace = {"torch": torch}
    exec(solution_source(), namespace)
    assert lecture_17.check_shuffle_pixels(namespace["shuffle_pixels"]) is True
    assert capsys.readouterr().out.startswith("Correct")


def test_placeholder_is_not_attempted(capsys):
    assert lecture_17.check_shuffle_pixels(lambda x, perm: None) is False
    assert "Not attempted" in capsys.readouterr().out


def test_wrong_answers_fail_and_name_the_mistake(capsys):
    wrong = {
        "whole tensor was flattened": lambda x, perm: x.reshape(-1)[perm],
        "reshape the result back": lambda x, perm: x.flatten(2)[:, :, perm],
        "inverse permutation": lambda x, perm: x.flatten(2)[:, :, perm.argsort()].reshape(x.shape),
        "positions counted row by row":
            lambda x, perm: x.transpose(2, 3).flatten(2)[:, :, perm].reshape(x.shape),
        "raised IndexError": lambda x, perm: x[perm],
    }
    for message, answer in wrong.items():
        assert lecture_17.check_shuffle_pixels(answer) is False, message
        out = capsys.readouterr().out
        assert out.startswith("Not yet") and message in out, (message, out)


def test_cell_indices_match_the_confusion_matrix():
    generator = torch.Generator().manual_seed(0)
    y_true = torch.randint(0, 4, (200,), generator=generator)
    y_pred = torch.randint(0, 4, (200,), generator=generator)
    counts = torch.bincount(y_true * 4 + y_pred, minlength=16).view(4, 4)
    for t in range(4):
        for p in range(4):
            indices = viz_confusion.cell_indices(y_true, y_pred, t, p)
            assert len(indices) == counts[t, p]
            assert bool((y_true[indices] == t).all()) and bool((y_pred[indices] == p).all())
            assert np.all(np.diff(indices) > 0)


def test_display_image_scales_to_unit_range_and_orders_channels():
    image = torch.arange(3 * 2 * 2, dtype=torch.float32).view(3, 2, 2) - 5
    shown = viz_confusion.display_image(image)
    assert shown.shape == (2, 2, 3) and shown.min() == 0 and shown.max() == 1
    assert shown[0, 1, 0] == (image[0, 0, 1] + 5) / 11
    assert viz_confusion.display_image(torch.ones(1, 4, 4)).shape == (4, 4)


def test_explorer_redraws_and_reports_an_empty_cell():
    labels = np.array([0, 0, 1, 1, 2, 2])
    predictions = {"CNN": np.array([0, 0, 1, 1, 2, 2]), "MLP": np.array([0, 1, 1, 0, 2, 2])}
    images = torch.randn(6, 3, 32, 32)
    explorer = viz_confusion.ConfusionExplorer(images, labels, predictions, ["a", "b", "c"])
    assert not explorer.showing_problem  # (true a, predicted b): the MLP has one
    before = explorer.view.image.value
    explorer.true_class.value = 1
    explorer.pred_class.value = 1
    assert explorer.view.image.value != before and not explorer.showing_problem
    width = 32 + 2  # each example's slot in the strip: the image and a 2-pixel gap
    mlp, cnn = explorer.thumbs["MLP"].get_array(), explorer.thumbs["CNN"].get_array()
    assert mlp.shape == (32, viz_confusion.EXAMPLES * width, 3)
    np.testing.assert_allclose(mlp[:, :32], viz_confusion.display_image(images[2]), atol=1e-6)
    assert np.all(mlp[:, width:] == 1)  # one MLP example (image 2), the rest blank
    np.testing.assert_allclose(cnn[:, width:width + 32], viz_confusion.display_image(images[3]), atol=1e-6)
    assert np.all(cnn[:, 2 * width:] == 1)  # two CNN examples (images 2 and 3)
    explorer.true_class.value = 2
    explorer.pred_class.value = 0
    assert explorer.showing_problem and "neither network" in explorer.message.value


def test_explorer_builds_without_arguments_for_the_benchmark():
    explorer = viz_confusion.ConfusionExplorer()
    assert explorer.view.image.value and not explorer.showing_problem
