"""The first widget a student meets (lecture 00): smoothing a noisy signal with a box filter."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from .widgets import FigureView, Visualizer


def noisy_signal(length: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A sine wave plus Gaussian noise: positions t (length,) and values (length,)."""
    t = np.linspace(0, 4 * np.pi, length)
    rng = np.random.default_rng(seed)
    return t, np.sin(t) + 0.4 * rng.standard_normal(length)


def box_smooth(values: np.ndarray, width: int) -> np.ndarray:
    """Moving average of ``values`` (L,) over ``width`` samples, same length, edges renormalised."""
    kernel = np.ones(width)
    return np.convolve(values, kernel, mode="same") / np.convolve(np.ones_like(values), kernel,
                                                                  mode="same")


class SmoothingDemo(Visualizer):
    """A slider sets the width of a moving average; the smoothed curve follows."""

    def __init__(self, length: int = 200) -> None:
        super().__init__()
        self.t, self.values = noisy_signal(length)
        self.width = widgets.IntSlider(value=1, min=1, max=41, step=2, description="width",
                                       continuous_update=False)
        self.controls = [self.width]
        self.view = FigureView(7, 2.6)
        ax = self.view.fig.add_subplot()
        ax.plot(self.t, self.values, color="0.75", lw=1, label="noisy input")
        (self.line,) = ax.plot(self.t, self.values, color="C0", lw=2, label="moving average")
        ax.set(xlabel="t", ylim=(-2.5, 2.5))
        ax.legend(loc="upper right")
        self.title = ax.set_title("")
        self.view.fig.tight_layout()
        self.observe_all()
        self.update()

    def update(self) -> None:
        smoothed = box_smooth(self.values, self.width.value)
        self.line.set_ydata(smoothed)
        self.title.set_text(f"moving average over {self.width.value} samples")
        self.view.render()
