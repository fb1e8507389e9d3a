"""Plotting helpers shared by several notebooks. Each returns the matplotlib ``Figure``."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def _as_numpy(array) -> np.ndarray:
    if hasattr(array, "detach"):
        array = array.detach().cpu().numpy()
    return np.asarray(array)


def show_images(
    images,
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    cmap: str = "gray",
    size: float = 1.4,
) -> Figure:
    """A grid of images: ``images`` (N, H, W), (N, 1, H, W) or (N, H, W, 3); ``titles`` N strings."""
    images = _as_numpy(images)
    if images.ndim == 4 and images.shape[1] in (1, 3) and images.shape[-1] not in (1, 3):
        images = np.moveaxis(images, 1, -1)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    count = len(images)
    ncols = max(1, min(ncols, count))
    nrows = int(np.ceil(count / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3 * bool(titles)),
                             squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < count:
            ax.imshow(images[index], cmap=cmap if images[index].ndim == 2 else None)
            if titles is not None:
                ax.set_title(titles[index], fontsize=8)
    fig.tight_layout()
    return fig


def plot_feature_maps(maps, title: str = "", ncols: int = 8, cmap: str = "viridis") -> Figure:
    """Every channel of one activation tensor ``maps`` (C, H, W), each with its own colour scale."""
    maps = _as_numpy(maps)
    if maps.ndim == 4:
        maps = maps[0]
    fig = show_images(maps, titles=[f"ch {c}" for c in range(len(maps))], ncols=ncols, cmap=cmap)
    if title:
        fig.suptitle(title)
        fig.tight_layout()
    return fig


def plot_training_curves(history: dict[str, Sequence[float]], title: str = "") -> Figure:
    """Loss and accuracy per epoch from a ``history`` dict such as ``utils.training.fit`` returns.

    Keys ending in ``loss`` go to the left panel, keys ending in ``acc`` to the right one.
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5))
    for key, values in history.items():
        epochs = np.arange(1, len(values) + 1)
        if key.endswith("loss"):
            ax_loss.plot(epochs, values, marker="o", label=key)
        elif key.endswith("acc"):
            ax_acc.plot(epochs, np.asarray(values) * 100, marker="o", label=key)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts (num_classes, num_classes): row = true class, column = predicted class."""
    y_true, y_pred = _as_numpy(y_true).astype(int), _as_numpy(y_pred).astype(int)
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def plot_confusion_matrix(matrix, class_names: Sequence[str], normalize: bool = True) -> Figure:
    """Heat map of a confusion matrix with class names; rows normalised to recall when asked."""
    matrix = _as_numpy(matrix).astype(float)
    shown = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1) if normalize else matrix
    fig, ax = plt.subplots(figsize=(7, 6))
    image = ax.imshow(shown, cmap="Blues")
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set(xlabel="predicted", ylabel="true")
    for (row, col), value in np.ndenumerate(shown):
        text = f"{value:.2f}" if normalize else f"{int(value)}"
        ax.text(col, row, text, ha="center", va="center", fontsize=7,
                color="white" if value > shown.max() / 2 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig
