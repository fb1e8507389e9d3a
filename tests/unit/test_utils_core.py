"""Device choice, seeding, plotting, the lecture training loop and the notebook runner."""

from __future__ import annotations

import random

import matplotlib
import nbformat
import numpy as np
import pytest
import torch
from nbformat.v4 import new_code_cell, new_notebook

import utils
from utils import training

matplotlib.use("Agg")


def test_device_defaults_to_cpu_here_and_env_var_overrides(monkeypatch):
    monkeypatch.delenv("CNN_COURSE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert utils.get_device().type == expected
    assert utils.device_report().startswith(f"device: {expected}")
    monkeypatch.setenv("CNN_COURSE_DEVICE", "cpu")
    assert utils.get_device() == torch.device("cpu")
    assert "set by CNN_COURSE_DEVICE=cpu" in utils.device_report()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown without a GPU")
def test_asking_for_a_missing_gpu_says_what_to_do(monkeypatch):
    monkeypatch.setenv("CNN_COURSE_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="no CUDA GPU.*Unset CNN_COURSE_DEVICE"):
        utils.get_device()


def test_seed_everything_makes_python_numpy_and_torch_repeat():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    utils.seed_everything(7)
    first = draw()
    utils.seed_everything(7)
    assert draw() == first
    utils.seed_everything(8)
    assert draw() != first
    with pytest.raises(ValueError):
        utils.seed_everything(-1)


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    matrix = utils.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_plot_helpers_draw_the_expected_panels():
    images = np.random.default_rng(0).random((10, 28, 28))
    fig = utils.show_images(images, titles=[str(i) for i in range(10)], ncols=5)
    assert len(fig.axes) == 10 and fig.axes[3].get_title() == "3"
    fig = utils.plot_feature_maps(torch.rand(1, 6, 8, 8))
    assert sum(bool(ax.images) for ax in fig.axes) == 6
    fig = utils.plot_training_curves({"train_loss": [1.0, 0.5], "test_acc": [0.5, 0.75]})
    assert fig.axes[1].lines[0].get_ydata().tolist() == [50.0, 75.0]
    fig = utils.plot_confusion_matrix(np.eye(3) * 5, ["a", "b", "c"])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b", "c"]


def test_fit_learns_a_separable_problem_and_is_reproducible():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(512, 2, generator=gen)
    y = (x[:, 0] + x[:, 1] > 0).long()

    def run():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
        history = training.fit(model, (x, y), (x, y), epochs=8, lr=0.05, batch_size=64,
                               device=torch.device("cpu"), progress=False)
        return history, model

    history, model = run()
    assert history["test_acc"][-1] > 0.95
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert training.accuracy(model, x, y) == history["test_acc"][-1]
    assert run()[0] == history, "same seed, same device: the same curve"


def _write(tmp_path, sources):
    notebook = new_notebook(cells=[new_code_cell(s) for s in sources])
    notebook.metadata["kernelspec"] = {"name": "cnn-course", "display_name": "x", "language": "python"}
    path = tmp_path / "nb.ipynb"
    nbformat.write(notebook, path)
    return path
