"""Lecture 11's widget: how batch normalization's running statistics follow the batches.

``running_stats_trace`` applies PyTorch's update rule in NumPy; the tests compare it with the
``running_mean`` / ``running_var`` buffers of ``nn.BatchNorm1d`` fed the same batches.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import MaxNLocator

from .widgets import FigureView, Visualizer

TRUE_MEAN, TRUE_STD = 3.0, 2.0


def running_stats_trace(momentum: float, batch_size: int, steps: int, seed: int = 0,
                        mean: float = TRUE_MEAN, std: float = TRUE_STD) -> dict[str, np.ndarray]:
    """Running mean and variance of one channel after each of ``steps`` training batches.

    Batches: ``steps`` arrays of ``batch_size`` values drawn from N(mean, std^2) (returned as
    "batches", shape (steps, batch_size)). Start: running mean 0, running variance 1. Update after
    each batch: r <- (1 - momentum) r + momentum * s, with s the batch mean, and for the variance the
    batch's *unbiased* variance (divided by batch_size - 1), as ``nn.BatchNorm*d`` does.
    Returns arrays of shape (steps,): "batch_mean", "running_mean", "running_var".
    """
    if batch_size < 2:
        raise ValueError("batch_size must be at least 2: the variance of one value is undefined")
    if not 0 < momentum <= 1:
        raise ValueError(f"momentum must be in (0, 1], got {momentum}")
    batches = np.random.default_rng(seed).normal(mean, std, size=(steps, batch_size))
    running_mean, running_var = np.zeros(steps), np.zeros(steps)
    r_mean, r_var = 0.0, 1.0
    for step, batch in enumerate(batches):
        r_mean = (1 - momentum) * r_mean + momentum * batch.mean()
        r_var = (1 - momentum) * r_var + momentum * batch.var(ddof=1)
        running_mean[step], running_var[step] = r_mean, r_var
    return {"batches": batches, "batch_mean": batches.mean(axis=1),
            "running_mean": running_mean, "running_var": running_var}


class RunningStatsExplorer(Visualizer):
    """Momentum and batch size against the running statistics that ``model.eval()`` uses.

    Controls: ``momentum`` (PyTorch's default is 0.1), ``batch_size`` (1 is invalid in training
    mode and is reported in words), ``steps``. Left: the batch means (dots) and the running mean
    (line) against the true mean; right: the running variance against the true variance.
    """

    def __init__(self) -> None:
        super().__init__()
        self.momentum = widgets.FloatSlider(value=0.1, min=0.01, max=1.0, step=0.01, description="momentum",
                                            continuous_update=False)
        self.batch_size = widgets.IntSlider(value=16, min=1, max=256, description="batch size",
                                            continuous_update=False)
        self.steps = widgets.IntSlider(value=100, min=10, max=300, step=10, description="steps",
                                       continuous_update=False)
        self.controls = [self.momentum, self.batch_size, self.steps]
        self.view = FigureView(width=9.0, height=3.4)
        self.ax_mean, self.ax_var = self.view.fig.subplots(1, 2)
        self.view.fig.subplots_adjust(left=0.07, right=0.98, top=0.87, bottom=0.15, wspace=0.25)
        self.dots = self.ax_mean.plot([], [], ".", color="0.6", markersize=4, label="batch mean")[0]
        self.mean_line = self.ax_mean.plot([], [], color="tab:blue", lw=2, label="running mean")[0]
        self.var_line = self.ax_var.plot([], [], color="tab:orange", lw=2, label="running var")[0]
        self.ax_mean.axhline(TRUE_MEAN, color="k", ls="--", lw=1, label="true mean")
        self.ax_var.axhline(TRUE_STD ** 2, color="k", ls="--", lw=1, label="true variance")
        self.ax_mean.set_ylim(-0.5, 6.5)
        self.ax_var.set_ylim(0, 9)
        for ax in (self.ax_mean, self.ax_var):
            ax.set_xlabel("training step")
            ax.grid(alpha=0.3)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))  # few texts: a fast redraw
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        self.ax_mean.legend(loc="lower right", fontsize=8)
        self.title_mean = self.ax_mean.set_title("")
        self.title_var = self.ax_var.set_title("")
        self.trace: dict[str, np.ndarray] | None = None
        self.observe_all()
        self.update()

    def update(self) -> None:
        if self.batch_size.value < 2:
            self.trace = None
            for line in (self.dots, self.mean_line, self.var_line):
                line.set_data([], [])
            self.title_mean.set_text("batch size 1: nothing to normalise")
            self.title_var.set_text("")
            self.message.value = ("<b>Batch size 1 is invalid in training mode:</b> the variance of a single "
                                  "value is undefined (PyTorch raises an error). Choose 2 or more.")
            self.view.render()
            return
        self.trace = running_stats_trace(self.momentum.value, self.batch_size.value, self.steps.value)
        steps = np.arange(1, self.steps.value + 1)
        self.dots.set_data(steps, self.trace["batch_mean"])
        self.mean_line.set_data(steps, self.trace["running_mean"])
        self.var_line.set_data(steps, self.trace["running_var"])
        for ax in (self.ax_mean, self.ax_var):
            ax.set_xlim(0, self.steps.value + 1)
        last_mean, last_var = self.trace["running_mean"][-1], self.trace["running_var"][-1]
        self.title_mean.set_text(f"running mean after {self.steps.value} steps: {last_mean:.2f}")
        self.title_var.set_text(f"running variance: {last_var:.2f} (true: {TRUE_STD ** 2:g}, dashed)")
        memory = 1 / self.momentum.value
        self.message.value = (f"momentum {self.momentum.value:.2f}: the running statistics average roughly "
                              f"the last <b>{memory:.0f}</b> batches; eval mode uses these numbers.")
        self.view.render()
