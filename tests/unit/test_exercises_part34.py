"""Your-turn checks of lectures 12, 13, 18 and 19: each fails on a typical wrong answer (naming the
mistake), reports None as not attempted, and passes on the Solution block of its own notebook."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

import utils
from utils.exercises import NOT_ATTEMPTED, lecture_12, lecture_13, lecture_18, lecture_19

LECTURES = Path(__file__).resolve().parents[2] / "lectures"


def solution_namespace(stem: str) -> dict:
    """Run the notebook's exercise cell (after "## Your turn") and then its Solution block; return
    the namespace. The exercise cell's own check call runs on the placeholder None."""
    cells = nbformat.read(LECTURES / f"{stem}.ipynb", as_version=4).cells
    start = next(i for i, c in enumerate(cells) if c.cell_type == "markdown" and "## Your turn" in c.source)
    exercise = next(c for c in cells[start:] if c.cell_type == "code")
    solution = next(c for c in cells[start:] if c.cell_type == "markdown" and "<summary>Solution" in c.source)
    (code,) = re.findall(r"```python\n(.*?)```", solution.source, re.DOTALL)
    namespace = {"np": np, "torch": torch, "utils": utils}
    exec(exercise.source, namespace)
    assert namespace["answer"] is None, "the exercise cell starts from the placeholder"
    exec(code, namespace)
    return namespace


def run(check, answer, capsys, **kwargs) -> tuple[bool, str]:
    result = check(answer, **kwargs)
    return result, capsys.readouterr().out


@pytest.mark.parametrize("check", [lecture_12.check_lenet_sizes, lecture_13.check_backward_step,
                                   lecture_19.check_iou])
def test_none_is_not_attempted(check, capsys):
    ok, out = run(check, None, capsys)
    assert not ok and NOT_ATTEMPTED in out


def test_lecture_12_solution_passes_and_slips_are_named(capsys):
    ns = solution_namespace("12_lenet5")
    capsys.readouterr()
    assert run(lecture_12.check_lenet_sizes, ns["answer"], capsys, channels=3, size=36)[0]
    ok, out = run(lecture_12.check_lenet_sizes, {"conv1_params": 156, "fc1_inputs": 400}, capsys)
    assert not ok and "all 3 input channels" in out and "400 is for 28x28" in out
    ok, out = run(lecture_12.check_lenet_sizes, {"conv1_params": 450, "fc1_inputs": 576}, capsys)
    assert not ok and "one bias per filter" in out and "fc1_inputs" not in out
    ok, out = run(lecture_12.check_lenet_sizes, [456, 576], capsys)
    assert not ok and "must be a dict" in out


def test_lecture_13_solution_passes_and_slips_are_named(capsys):
    ns = solution_namespace("13_backprop_conv")
    capsys.readouterr()
    assert run(lecture_13.check_backward_step, ns["answer"], capsys)[0]
    x, w, g = ns["x_ex"], ns["w_ex"], ns["g_ex"]
    unflipped = np.convolve(g, w[::-1])          # correlation with the kernel not flipped
    wrong = {"dx": unflipped, "dw": ns["answer"]["dw"], "db": g.mean()}
    ok, out = run(lecture_13.check_backward_step, wrong, capsys)
    assert not ok and "must be flipped" in out and "db = sum_i g[i]" in out and "dw:" not in out
    swapped = {"dx": ns["answer"]["dx"], "dw": np.correlate(g, x, mode="valid"), "db": g.sum()}
    ok, out = run(lecture_13.check_backward_step, swapped, capsys)
    assert not ok and "dw[j] = sum_i g[i] x[i + j]" in out
    ok, out = run(lecture_13.check_backward_step, {"dx": [0.0] * 3, "dw": [0.0] * 3, "db": 0}, capsys)
    assert not ok and "shape" in out


def test_lecture_19_solution_passes_and_slips_are_named(capsys):
    ns = solution_namespace("19_architectures")
    capsys.readouterr()
    assert run(lecture_19.check_iou, ns["answer"], capsys)[0]
    a, b = lecture_19.BOX_A, lecture_19.BOX_B
    inter = (min(a[2], b[2]) - max(a[0], b[0])) * (min(a[3], b[3]) - max(a[1], b[1]))
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    assert inter / (area_a + area_b - inter) == pytest.approx(16 / 96)  # worked by hand: 4 x 4 overlap
    ok, out = run(lecture_19.check_iou, inter / (area_a + area_b), capsys)
    assert not ok and "counts the overlap once" in out
    ok, out = run(lecture_19.check_iou, inter / area_a, capsys)
    assert not ok and "not by one box's area" in out
    ok, out = run(lecture_19.check_iou, "a lot", capsys)
    assert not ok and "not a number" in out


def test_lecture_18_solution_passes_and_slips_are_named(capsys):
    ns = solution_namespace("18_transfer_learning")
    capsys.readouterr()
    features, labels = ns["toy_features"], ns["toy_labels"]
    assert run(lecture_18.check_class_means, ns["answer"], capsys, features=features, labels=labels,
               num_classes=3)[0]
    kwargs = {"features": features, "labels": labels, "num_classes": 3}
    ok, out = run(lecture_18.check_class_means, features.mean(0).expand(3, -1), capsys, **kwargs)
    assert not ok and "mean of all images" in out
    sums = torch.stack([features[labels == c].sum(0) for c in range(3)])
    ok, out = run(lecture_18.check_class_means, sums, capsys, **kwargs)
    assert not ok and "these are sums" in out
    ok, out = run(lecture_18.check_class_means, features.mean(1), capsys, **kwargs)
    assert not ok and "shape" in out
