"""Confusion-cell explorer: pick a (true, predicted) cell, see both networks' matrices and examples.

Lecture 17 trains a CNN and an MLP on the same images; this widget puts their confusion matrices
side by side, highlights the chosen cell in both, and shows the test images that fall into it
for each network (the diagonal cells hold correct answers, the others its mistakes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.patches import Rectangle

from .plotting import confusion_matrix
from .widgets import FigureView, Visualizer

EXAMPLES = 6


def cell_indices(y_true, y_pred, true_class: int, pred_class: int) -> np.ndarray:
    """Indices (ascending) of the examples of class ``true_class`` predicted as ``pred_class``.

    y_true, y_pred: (N,) integer labels (arrays or tensors). Returns an int64 array (M,), where M
    is the confusion matrix's entry [true_class, pred_class].
    """
    y_true = np.asarray(torch.as_tensor(y_true).cpu()).astype(np.int64)
    y_pred = np.asarray(torch.as_tensor(y_pred).cpu()).astype(np.int64)
    return np.flatnonzero((y_true == true_class) & (y_pred == pred_class)).astype(np.int64)


def display_image(image) -> np.ndarray:
    """One image (C, H, W) with C = 1 or 3, any range -> (H, W) or (H, W, 3) in [0, 1] for imshow."""
    array = np.asarray(torch.as_tensor(image, dtype=torch.float32).cpu())
    low, high = float(array.min()), float(array.max())
    array = (array - low) / (high - low) if high > low else np.zeros_like(array)
    return array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)


def _demo():
    """Random images, labels and two predictors (one better than the other), for the benchmark."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 300)
    good = np.where(rng.random(300) < 0.8, labels, rng.integers(0, 10, 300))
    bad = np.where(rng.random(300) < 0.5, labels, rng.integers(0, 10, 300))
    images = torch.from_numpy(rng.standard_normal((300, 1, 32, 32)).astype(np.float32))
    return images, labels, {"CNN": good, "MLP": bad}, [f"class {k}" for k in range(10)]


class ConfusionExplorer(Visualizer):
    """Both networks' confusion matrices side by side and the test images of a chosen cell.

    images: (N, C, H, W) test images; labels: (N,) true classes; predictions: network name ->
    (N,) predicted classes (two networks); class_names: one name per class. Without arguments it
    shows random demo data.
    """

    def __init__(self, images=None, labels=None, predictions: Mapping[str, Sequence[int]] | None = None,
                 class_names: Sequence[str] | None = None):
        super().__init__()
        if images is None:
            images, labels, predictions, class_names = _demo()
        self.images, self.class_names = images, list(class_names)
        self.labels = np.asarray(torch.as_tensor(labels).cpu()).astype(np.int64)
        self.predictions = {name: np.asarray(torch.as_tensor(p).cpu()).astype(np.int64)
                            for name, p in predictions.items()}
        k = len(self.class_names)
        self.true_class = widgets.Dropdown(options=[(n, i) for i, n in enumerate(self.class_names)],
                                           value=0, description="true")
        self.pred_class = widgets.Dropdown(options=[(n, i) for i, n in enumerate(self.class_names)],
                                           value=min(1, k - 1), description="predicted")
        self.controls = [self.true_class, self.pred_class]
        self._build(k)
        self.observe_all()
        self.refresh()

    def _build(self, k: int) -> None:
        self.view = FigureView(9.0, 6.0, dpi=80)
        fig = self.view.fig
        grid = fig.add_gridspec(3, 2, height_ratios=(3.2, 1, 1), hspace=0.45, wspace=0.15,
                                left=0.06, right=0.98, top=0.94, bottom=0.02)
        self.highlights, self.thumbs = [], {}
        for column, (name, predicted) in enumerate(self.predictions.items()):
            ax = fig.add_subplot(grid[0, column])
            matrix = confusion_matrix(self.labels, predicted, k)
            ax.imshow(np.log1p(matrix), cmap="Blues")
            accuracy = np.trace(matrix) / max(matrix.sum(), 1)
            ax.set_title(f"{name}: accuracy {accuracy:.1%}", fontsize=10)
            ax.set_xticks([])  # tick labels cost most of a redraw; the class order is the dropdowns'
            ax.set_yticks([])
            ax.set_xlabel(f"predicted class (0 to {k - 1}, as in the lists)", fontsize=8)
            ax.set_ylabel("true class", fontsize=8)
            self.highlights.append(ax.add_patch(Rectangle((-0.5, -0.5), 1, 1, fill=False, lw=2.5,
                                                          color="#d62728")))
            strip = fig.add_subplot(grid[1 + column, :])
            strip.set_axis_off()
            self.thumbs[name] = strip.imshow(self._mosaic([]), vmin=0, vmax=1, interpolation="nearest")

    def _mosaic(self, indices) -> np.ndarray:
        """Up to EXAMPLES images side by side, RGB (H, EXAMPLES * (W + 2), 3), white where empty."""
        height, width = self.images.shape[-2:]
        mosaic = np.ones((height, EXAMPLES * (width + 2), 3), dtype=np.float32)
        for slot, index in enumerate(indices):
            image = display_image(self.images[int(index)])
            image = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image
            mosaic[:, slot * (width + 2):slot * (width + 2) + width] = image
        return mosaic

    def update(self) -> None:
        t, p = self.true_class.value, self.pred_class.value
        found = {name: cell_indices(self.labels, pred, t, p) for name, pred in self.predictions.items()}
        for patch in self.highlights:
            patch.set_xy((p - 0.5, t - 0.5))
        for name, indices in found.items():
            what = "correct" if t == p else f"predicted '{self.class_names[p]}'"
            self.thumbs[name].axes.set_title(
                f"{name}: {len(indices)} test images of '{self.class_names[t]}' {what}",
                fontsize=9, loc="left")
            self.thumbs[name].set_data(self._mosaic(indices[:EXAMPLES]))
        if not any(len(indices) for indices in found.values()):
            self.show_problem(f"neither network predicted '{self.class_names[p]}' for a test image "
                              f"of '{self.class_names[t]}': pick a cell whose colour is not white")
            return
        self.message.value = ""
        self.view.render()


def plot_confusion_pair(matrices: Mapping[str, np.ndarray], class_names: Sequence[str]):
    """Row-normalised confusion matrices (k, k) of several networks side by side; returns the Figure.

    Each cell shows the share of the true class (row) given the predicted class (column).
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(matrices), figsize=(6.2 * len(matrices), 5.6))
    for ax, (name, matrix) in zip(np.atleast_1d(axes), matrices.items(), strict=True):
        matrix = np.asarray(matrix, dtype=float)
        shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        for (row, col), value in np.ndenumerate(shares):
            ax.text(col, row, f"{value:.2f}"[1:] if value < 1 else "1", ha="center", va="center",
                    fontsize=6.5, color="white" if value > 0.5 else "black")
        ax.set_xticks(range(len(class_names)), class_names, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(class_names)), class_names, fontsize=8)
        ax.set(xlabel="predicted", ylabel="true",
               title=f"{name}: accuracy {np.trace(matrix) / max(matrix.sum(), 1):.1%}")
    fig.tight_layout()
    return fig


def plot_filters(weight, title: str = "", ncols: int = 8):
    """The filters (F, C, k, k) of a convolution, C = 1 (grey) or 3 (RGB), each scaled to [0, 1]."""
    import matplotlib.pyplot as plt

    weight = torch.as_tensor(weight).detach().cpu()
    nrows = -(-len(weight) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 0.8, nrows * 0.85))
    for ax in np.ravel(axes):
        ax.set_axis_off()
    for ax, kernel in zip(np.ravel(axes), weight, strict=False):
        ax.imshow(display_image(kernel), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
