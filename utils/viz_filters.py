"""Step through gradient descent that learns a 3x3 kernel from (photo, filtered photo).

Widget (one line in a notebook)::

    utils.viz_filters.KernelFitExplorer()

Without arguments it fits the Sobel-x kernel on the standardised photo crop itself
(``utils.filters.fit_kernel``); a lecture can pass its own run (``kernels``, ``losses``,
``target``). The iteration slider shows the kernel at that step, the target, their
difference, and the loss curve with the step marked.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch
import torch.nn.functional as F

from .filters import SOBEL_X, fit_kernel, training_image
from .widgets import FigureView, Visualizer


def default_run(steps: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kernels (steps + 1, 3, 3), losses (steps + 1,) and the target (3, 3): Sobel x on the photo."""
    image = training_image(48)
    target = F.conv2d(torch.as_tensor(image)[None, None], torch.as_tensor(SOBEL_X)[None, None])
    kernels, losses = fit_kernel(image, target[0, 0].numpy(), steps=steps)
    return kernels, losses, SOBEL_X


class KernelFitExplorer(Visualizer):
    """An iteration slider over a recorded gradient-descent run of a k x k kernel."""

    def __init__(self, kernels=None, losses=None, target=None, step: int = 0):
        super().__init__()
        if kernels is None or losses is None or target is None:
            kernels, losses, target = default_run()
        self.kernels = np.asarray(kernels, dtype=np.float32)
        self.losses = np.asarray(losses, dtype=np.float64)
        self.target = np.asarray(target, dtype=np.float32)
        last = len(self.kernels) - 1
        self.step = widgets.IntSlider(value=min(step, last), min=0, max=last, description="iteration",
                                      continuous_update=False, layout=widgets.Layout(width="420px"))
        self.controls = [self.step]
        self._build_figure()
        self.observe_all()
        self.refresh()

    def _build_figure(self) -> None:
        self.view = FigureView(width=9.6, height=3.0, dpi=80)
        fig = self.view.fig
        limit = float(np.abs(self.target).max())
        k = self.target.shape[0]
        self.panels, self.numbers = [], []
        for i, title in enumerate(["learned kernel", "hand-made target", "learned - target"]):
            ax = fig.add_axes((0.01 + 0.2 * i, 0.05, 0.18, 0.75))
            self.panels.append(ax.imshow(np.zeros((k, k)), cmap="RdBu_r", vmin=-limit, vmax=limit))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(title, fontsize=9)
            if i < 2:  # numbers on the two kernels; the difference panel is colour only (fast redraw)
                self.numbers.append([ax.text(c, r, "", ha="center", va="center", fontsize=8)
                                     for r in range(k) for c in range(k)])
        self.panels[1].set_data(self.target)
        self.ax_loss = fig.add_axes((0.68, 0.17, 0.30, 0.65))
        steps = np.arange(len(self.losses))
        self.ax_loss.semilogy(steps, np.maximum(self.losses, 1e-12), color="#4e79a7")
        (self.marker,) = self.ax_loss.plot([0], [self.losses[0]], "o", color="#e15759")
        self.ax_loss.set_xlabel("iteration", fontsize=8)
        self.ax_loss.set_title("mean squared error", fontsize=9)
        self.ax_loss.tick_params(labelsize=7)

    def update(self) -> None:
        t = self.step.value
        learned = self.kernels[t]
        self.panels[0].set_data(learned)
        self.panels[2].set_data(learned - self.target)
        for texts, data in zip(self.numbers, [learned, self.target], strict=True):
            for text, value in zip(texts, data.ravel(), strict=True):
                text.set_text(f"{value:.2f}")
        self.marker.set_data([t], [max(self.losses[t], 1e-12)])
        error = float(np.abs(learned - self.target).max())
        self.message.value = (f"iteration {t}: loss {self.losses[t]:.2e}, largest difference from "
                              f"the hand-made kernel {error:.3f}")
        self.view.render()
