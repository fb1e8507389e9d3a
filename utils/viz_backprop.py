"""Lecture 13's widget: what one cell of the upstream gradient adds to dL/dx and dL/dw.

Pick a cell (i, j) of the upstream gradient g = dL/dy of a 2D convolution. Its contribution to
dL/dx is the kernel, scaled by g[i, j], "stamped" onto the input window that made y[i, j]; its
contribution to dL/dw is that input window, scaled by g[i, j]. Every number comes from PyTorch's
autograd (a backward pass of ``F.conv2d`` with a one-hot upstream gradient), so the widget holds no
backward formula of its own; summing the contributions of all cells gives autograd's full gradients.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.patches import Rectangle

from .widgets import FigureView, Visualizer

#: The default example: a 6x6 input with small integers, the kernel 1..9 (a flip is easy to see)
#: and an upstream gradient of small integers for the 4x4 output.
EXAMPLE_X = np.array([[1, 0, 2, 1, 0, 1], [0, 1, 1, 0, 2, 0], [2, 1, 0, 1, 1, 1],
                      [1, 0, 1, 2, 0, 1], [0, 2, 1, 0, 1, 0], [1, 1, 0, 1, 0, 2]], dtype=np.float64)
EXAMPLE_W = np.arange(1.0, 10.0).reshape(3, 3)
EXAMPLE_G = np.array([[1, 0, -1, 2], [0, 2, 1, 0], [-1, 1, 0, 1], [2, 0, 1, -1]], dtype=np.float64)


def conv_gradients(x: np.ndarray, w: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Autograd's (dL/dx (H, W), dL/dw (K, K)) of y = F.conv2d(x, w), upstream gradient g (H-K+1, W-K+1)."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    y = F.conv2d(xt[None, None], wt[None, None])[0, 0]
    y.backward(torch.tensor(g, dtype=torch.float64))
    return xt.grad.numpy(), wt.grad.numpy()


def cell_contribution(x: np.ndarray, w: np.ndarray, g: np.ndarray, i: int,
                      j: int) -> tuple[np.ndarray, np.ndarray]:
    """What upstream cell (i, j) alone adds: autograd's gradients for g with every other cell zeroed.

    x (H, W), w (K, K), g (H-K+1, W-K+1) -> (dx part (H, W), dw part (K, K)).
    """
    one = np.zeros_like(g)
    one[i, j] = g[i, j]
    return conv_gradients(x, w, one)


def running_sum(x: np.ndarray, w: np.ndarray, g: np.ndarray, i: int,
                j: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum of the contributions of cells (0, 0) .. (i, j) in reading order: (dx (H, W), dw (K, K))."""
    upto = np.zeros_like(g)
    flat = i * g.shape[1] + j + 1
    upto.flat[:flat] = g.flat[:flat]
    return conv_gradients(x, w, upto)


class GradientStampExplorer(Visualizer):
    """Sliders pick an upstream-gradient cell; four panels show g, the input window, dL/dx and dL/dw.

    ``show`` = "this cell only" draws the cell's contribution; "sum up to this cell" adds the cells
    before it in reading order (at the last cell that is the full gradient). The arrays drawn are in
    ``self.dx`` and ``self.dw``.
    """

    def __init__(self, x: np.ndarray = EXAMPLE_X, w: np.ndarray = EXAMPLE_W, g: np.ndarray = EXAMPLE_G):
        super().__init__()
        self.x, self.w, self.g = (np.asarray(a, dtype=np.float64) for a in (x, w, g))
        k = self.w.shape[0]
        expected = (self.x.shape[0] - k + 1, self.x.shape[1] - k + 1)
        self.row = widgets.IntSlider(value=0, min=0, max=max(expected[0] - 1, 0), description="g row",
                                     continuous_update=False)
        self.col = widgets.IntSlider(value=0, min=0, max=max(expected[1] - 1, 0), description="g column",
                                     continuous_update=False)
        self.mode = widgets.ToggleButtons(options=["this cell only", "sum up to this cell"],
                                          description="show")
        self.controls = [self.row, self.col, self.mode]
        self.view = FigureView(width=11.5, height=3.4)
        fig = self.view.fig
        self.axes = fig.subplots(1, 4)
        self.problem = "" if self.g.shape == expected and k <= min(self.x.shape) else (
            f"g must have the output's shape {expected} for a {self.x.shape} input and a {k}x{k} kernel; "
            f"it has {self.g.shape}")
        panels = [self.g, self.x, np.zeros_like(self.x), np.zeros_like(self.w)]
        titles = ["upstream g = dL/dy", "input x (window used by y[i, j])", "dL/dx", "dL/dw"]
        self.artists, self.texts = [], []
        for ax, array, title in zip(self.axes, panels, titles, strict=True):
            self.artists.append(ax.imshow(array, cmap="RdBu_r", vmin=-1, vmax=1))
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            self.texts.append([[ax.text(c, r, "", ha="center", va="center", fontsize=8)
                                for c in range(array.shape[1])] for r in range(array.shape[0])])
        self.cell_box = self.axes[0].add_patch(Rectangle((-0.5, -0.5), 1, 1, fill=False, lw=2.5, ec="k"))
        self.window_boxes = [self.axes[a].add_patch(Rectangle((-0.5, -0.5), k, k, fill=False, lw=2.5, ec="k"))
                             for a in (1, 2)]
        self.dx, self.dw = np.zeros_like(self.x), np.zeros_like(self.w)
        fig.subplots_adjust(left=0.01, right=0.99, top=0.86, bottom=0.03, wspace=0.08)
        self.observe_all()
        self.update()

    def _fill(self, index: int, array: np.ndarray) -> None:
        limit = max(float(np.abs(array).max()), 1e-9)
        self.artists[index].set_data(array)
        self.artists[index].set_clim(-limit, limit)
        for (r, c), value in np.ndenumerate(array):
            self.texts[index][r][c].set_text(f"{value:g}" if value else "")

    def update(self) -> None:
        if self.problem:
            self.message.value = f"<b>Cannot draw:</b> {self.problem}."
            self.view.render()
            return
        i, j = self.row.value, self.col.value
        if self.mode.value == "this cell only":
            self.dx, self.dw = cell_contribution(self.x, self.w, self.g, i, j)
            self.message.value = (f"g[{i}, {j}] = {self.g[i, j]:g}: dL/dx gets g[{i}, {j}] &times; w on the "
                                  f"window at ({i}, {j}); dL/dw gets g[{i}, {j}] &times; that window of x.")
        else:
            self.dx, self.dw = running_sum(self.x, self.w, self.g, i, j)
            last = (i, j) == (self.g.shape[0] - 1, self.g.shape[1] - 1)
            self.message.value = ("sum over every cell: autograd's full gradients" if last else
                                  f"sum of the contributions of cells (0, 0) to ({i}, {j}) in reading order")
        for index, array in enumerate([self.g, self.x, self.dx, self.dw]):
            self._fill(index, array)
        self.cell_box.set_xy((j - 0.5, i - 0.5))
        for box in self.window_boxes:
            box.set_xy((j - 0.5, i - 0.5))
        self.view.render()
