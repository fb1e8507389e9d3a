"""Lecture 10's widget: how the gradient's size changes layer by layer for a chosen activation.

The numbers come from ``utils.activations.chain_grad_norms`` (the chain rule written out in NumPy;
the tests compare it with PyTorch's autograd).
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import LogLocator, MaxNLocator, NullLocator

from .activations import INITS, NAMES, chain_grad_norms, chain_weights
from .widgets import FigureView, Visualizer

MAX_DEPTH = 40
COLOURS = {"sigmoid": "tab:red", "tanh": "tab:orange", "relu": "tab:blue", "leaky_relu": "tab:green"}


def gradient_profiles(depth: int, init: str, width: int = 64, batch: int = 64,
                      seed: int = 0) -> dict[str, np.ndarray]:
    """Gradient norm per layer for every activation in ``NAMES`` on the same weights and inputs.

    A chain of ``depth`` fully connected layers ``width -> width`` initialised by ``init``, inputs
    x ~ N(0, 1) of shape (batch, width). Returns {activation: array (depth,)}, layer 1 first.
    """
    if not 1 <= depth <= MAX_DEPTH:
        raise ValueError(f"depth must be between 1 and {MAX_DEPTH}, got {depth}")
    rng = np.random.default_rng(seed)
    x, r = rng.normal(size=(batch, width)), rng.normal(size=(batch, width))
    weights = chain_weights(depth, width, init, seed)
    return {name: chain_grad_norms(name, weights, x, r) for name in NAMES}


class GradientFlowExplorer(Visualizer):
    """Pick an activation, a depth and an initialisation; see ||dL/dW|| for every layer.

    Controls: ``activation`` (highlighted curve; the other three stay faint for comparison),
    ``depth`` (number of 64 -> 64 fully connected layers), ``init`` (weight initialisation).
    The picture has a logarithmic y axis: a straight falling line is an exponential decay.
    """

    def __init__(self, depth: int = 10) -> None:
        super().__init__()
        self.activation = widgets.Dropdown(options=list(NAMES), value="sigmoid", description="activation")
        self.depth = widgets.IntSlider(value=depth, min=1, max=MAX_DEPTH, description="depth",
                                       continuous_update=False)
        self.init = widgets.Dropdown(options=list(INITS), value=INITS[0], description="init")
        self.controls = [self.activation, self.depth, self.init]
        self.view = FigureView(width=8.0, height=3.6)
        self.ax = self.view.fig.subplots()
        self.view.fig.subplots_adjust(left=0.1, right=0.98, top=0.88, bottom=0.15)
        self.lines = {name: self.ax.plot([], [], marker="o", markersize=3, color=COLOURS[name],
                                         label=name)[0] for name in NAMES}
        self.ax.set_yscale("log")
        self.ax.yaxis.set_major_locator(LogLocator(numticks=5))   # few ticks: a fast redraw
        self.ax.yaxis.set_minor_locator(NullLocator())
        self.ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        self.ax.set_xlabel("layer (1 = next to the input)")
        self.ax.set_ylabel("||dL/dW|| (log scale)")
        self.ax.grid(alpha=0.3)
        self.ax.legend(loc="lower right", fontsize=8)
        self.title = self.ax.set_title("")
        self.profiles: dict[str, np.ndarray] = {}
        self.observe_all()
        self.update()

    def update(self) -> None:
        self.profiles = gradient_profiles(self.depth.value, self.init.value)
        chosen = self.activation.value
        layers = np.arange(1, self.depth.value + 1)
        for name, line in self.lines.items():
            line.set_data(layers, self.profiles[name])
            line.set_alpha(1.0 if name == chosen else 0.2)
            line.set_linewidth(2.5 if name == chosen else 1.0)
        values = np.concatenate(list(self.profiles.values()))
        positive = values[values > 0]
        low = positive.min() if positive.size else 1e-12
        self.ax.set_ylim(low / 3, values.max() * 3)
        self.ax.set_xlim(0.5, self.depth.value + 0.5)
        first, last = self.profiles[chosen][0], self.profiles[chosen][-1]
        self.title.set_text(f"{chosen}, {self.depth.value} layers, {self.init.value} init")
        if first == 0:
            self.message.value = f"{chosen}: layer 1 gets no gradient at all (every unit is inactive)."
        else:
            self.message.value = (f"{chosen}: the last layer's gradient is <b>{last / first:.3g}</b> times "
                                  f"the first layer's ({last:.2e} vs {first:.2e}).")
        self.view.render()
