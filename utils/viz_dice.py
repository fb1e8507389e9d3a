"""The distribution of the sum of two dice is the convolution of their distributions.

``P(A + B = z) = sum_x P_A(x) P_B(z - x)``: the exact probabilities come from torch
(``F.conv1d`` with the second pmf flipped, i.e. a true convolution) and are compared with a
seeded simulation.

Widget (one line in a notebook)::

    utils.viz_dice.DiceSumExplorer()
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch
import torch.nn.functional as F

from .device import single_thread
from .widgets import FigureView, Visualizer

MAX_FACES = 12
ROLL_CHOICES = (100, 1_000, 10_000, 100_000, 200_000)


def die_pmf(faces: int) -> np.ndarray:
    """Probabilities of a fair die with ``faces`` sides, indexed by face value: shape (faces + 1,).

    Entry 0 is P(face = 0) = 0, so that index = value and convolving two of these gives an
    array indexed by the value of the sum.
    """
    pmf = np.full(faces + 1, 1.0 / faces)
    pmf[0] = 0.0
    return pmf


def dice_sum_pmf(faces_a: int, faces_b: int) -> np.ndarray:
    """P(A + B = z) for z = 0 .. faces_a + faces_b, shape (faces_a + faces_b + 1,), by torch.

    ``F.conv1d`` computes a cross-correlation; flipping one pmf turns it into the convolution
    ``sum_x P_A(x) P_B(z - x)``. Padding len(P_B) - 1 on both sides gives every overlap.
    """
    a = torch.as_tensor(die_pmf(faces_a)).view(1, 1, -1)
    b = torch.as_tensor(die_pmf(faces_b)).view(1, 1, -1)
    with torch.no_grad(), single_thread():
        return F.conv1d(a, b.flip(-1), padding=b.shape[-1] - 1)[0, 0].numpy()


def simulate_dice_sums(faces_a: int, faces_b: int, rolls: int, seed: int = 0) -> np.ndarray:
    """Relative frequency of each sum in ``rolls`` seeded throws: shape (faces_a + faces_b + 1,)."""
    rng = np.random.default_rng(seed)
    sums = rng.integers(1, faces_a + 1, rolls) + rng.integers(1, faces_b + 1, rolls)
    return np.bincount(sums, minlength=faces_a + faces_b + 1) / rolls


class DiceSumExplorer(Visualizer):
    """Faces of die A and die B, number of simulated rolls, and one sum z to explain.

    Bars: exact P(A + B = z) from the convolution; dots: frequencies in the simulation; the
    message lists the pairs (x, z - x) whose products add up to the highlighted bar.
    """

    def __init__(self, faces_a: int = 6, faces_b: int = 6, rolls: int = 200_000, total: int = 7):
        super().__init__()
        self._simulations: dict[tuple[int, int, int], np.ndarray] = {}
        common = dict(min=2, max=MAX_FACES, continuous_update=False,
                      layout=widgets.Layout(width="230px"))
        self.faces_a = widgets.IntSlider(value=faces_a, description="faces of A", **common)
        self.faces_b = widgets.IntSlider(value=faces_b, description="faces of B", **common)
        self.rolls = widgets.SelectionSlider(options=list(ROLL_CHOICES), value=rolls,
                                             description="rolls", continuous_update=False,
                                             layout=widgets.Layout(width="260px"))
        self.total = widgets.IntSlider(value=total, min=2, max=faces_a + faces_b,
                                       description="sum z", continuous_update=False,
                                       layout=widgets.Layout(width="260px"))
        self.controls = [self.faces_a, self.faces_b, self.rolls, self.total]
        self._build_figure()
        self.observe_all()
        self.update()

    def _build_figure(self) -> None:
        self.view = FigureView(width=8.0, height=4.2, dpi=80)
        self.ax = self.view.fig.add_axes((0.08, 0.13, 0.90, 0.78))
        values = np.arange(2 * MAX_FACES + 1)
        self.bars = self.ax.bar(values, np.zeros(len(values)), color="#4e79a7", width=0.8,
                                label="exact: P_A * P_B (convolution)")
        (self.dots,) = self.ax.plot(values, np.full(len(values), np.nan), "o", color="#e15759",
                                    ms=5, label="simulation")
        self.ax.legend(loc="upper right", fontsize=8)
        self.ax.set_xlabel("sum z = A + B", fontsize=9)
        self.ax.set_ylabel("probability", fontsize=9)
        self.ax.tick_params(labelsize=8)
        self.title = self.ax.set_title("", fontsize=10, loc="left")

    def update(self) -> None:
        a, b = self.faces_a.value, self.faces_b.value
        with self.holding():
            self.total.max = a + b
        z = self.total.value
        exact = dice_sum_pmf(a, b)
        key = (a, b, self.rolls.value)
        if key not in self._simulations:  # moving only the sum z re-uses the simulation
            self._simulations[key] = simulate_dice_sums(*key)
        simulated = self._simulations[key]
        for value, bar in enumerate(self.bars):
            bar.set_height(exact[value] if value < len(exact) else 0.0)
            bar.set_color("#f28e2b" if value == z else "#4e79a7")
        dots = np.full(len(self.bars), np.nan)
        dots[2:a + b + 1] = simulated[2:]
        self.dots.set_ydata(dots)
        self.ax.set_xlim(1.2, a + b + 0.8)
        self.ax.set_ylim(0, max(exact.max(), simulated.max()) * 1.25)
        gap = float(np.abs(exact - simulated).max())
        self.title.set_text(f"{a}-sided + {b}-sided die, {self.rolls.value:,} rolls: "
                            f"max |exact - simulated| = {gap:.4f}")
        pairs = [(x, z - x) for x in range(1, a + 1) if 1 <= z - x <= b]
        terms = " + ".join(f"P_A({x})P_B({y})" for x, y in pairs[:6])
        if len(pairs) > 6:
            terms += f" + ... ({len(pairs)} terms)"
        self.message.value = (f"P(A+B={z}) = {terms} = {len(pairs)}/{a * b} = "
                              f"{exact[z]:.4f}; simulated {simulated[z]:.4f}. Note P_B is read "
                              f"at z - x: one distribution runs backwards (the flip).")
        self.view.render()
