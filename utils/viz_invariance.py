"""Shift equivariance of a convolution and shift invariance of a globally pooled score.

The feature map is ``F.conv1d`` with *circular* padding, so a circular shift of the input
shifts the feature map by exactly the same amount (no border effects). The "classifier score"
is the global maximum of the ReLU'd feature map: it ignores where the pattern is, so it does
not change. A fully-connected readout of the same feature map (fixed random weights) does
change: that is what a network without pooling would see.

Widget (one line in a notebook)::

    utils.viz_invariance.ShiftEquivarianceExplorer()
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch
import torch.nn.functional as F

from .device import single_thread
from .widgets import FigureView, Visualizer

SIGNAL_LENGTH = 96
KERNELS = {
    "bump detector": np.array([-1.0, 1.0, 2.0, 1.0, -1.0], dtype=np.float32),
    "edge [-1, 0, 1]": np.array([-1.0, 0.0, 1.0], dtype=np.float32),
    "blur [1, 2, 1]/4": np.array([0.25, 0.5, 0.25], dtype=np.float32),
}


def pattern_signal(length: int = SIGNAL_LENGTH, seed: int = 0) -> np.ndarray:
    """A synthetic 1D "image row" (length,): small noise, one bump and one step, float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float32)
    bump = np.exp(-0.5 * ((t - length * 0.3) / 1.5) ** 2)
    step = (t > length * 0.6) & (t < length * 0.75)
    return (bump + 0.6 * step + 0.05 * rng.standard_normal(length)).astype(np.float32)


def photo_row(length: int = SIGNAL_LENGTH) -> np.ndarray:
    """One row of the grey photo (``utils.load_sample_image``), resampled to (length,), in [0, 1]."""
    from .data import load_sample_image

    image = load_sample_image(gray=True)
    row = image[int(image.shape[0] * 0.42)]
    positions = np.linspace(0, len(row) - 1, length)
    return np.interp(positions, np.arange(len(row)), row).astype(np.float32)


def shift(signal, amount: int) -> np.ndarray:
    """Circular shift of ``signal`` (N,) by ``amount`` samples to the right (torch.roll)."""
    return torch.roll(torch.as_tensor(np.asarray(signal, dtype=np.float32)), amount).numpy()


def feature_map(signal, kernel) -> np.ndarray:
    """``F.conv1d`` of ``signal`` (N,) with ``kernel`` (K,), circular padding: shape (N,).

    Output i is centred on input i (K odd), and the ends wrap around, so the map is exactly
    equivariant to circular shifts.
    """
    x = torch.as_tensor(np.asarray(signal, dtype=np.float32)).view(1, 1, -1)
    w = torch.as_tensor(np.asarray(kernel, dtype=np.float32)).view(1, 1, -1)
    half = w.shape[-1] // 2
    with torch.no_grad(), single_thread():
        padded = F.pad(x, (half, w.shape[-1] - 1 - half), mode="circular")
        return F.conv1d(padded, w)[0, 0].numpy()


def pooled_score(fmap) -> float:
    """Global max pooling of ReLU(``fmap``) (N,): one number that ignores position."""
    return float(np.maximum(np.asarray(fmap), 0).max())


def dense_score(fmap, weights) -> float:
    """A fully-connected readout: ``weights`` (N,) dot ReLU(``fmap``) (N,); depends on position."""
    return float(np.dot(np.asarray(weights), np.maximum(np.asarray(fmap), 0)))


class ShiftEquivarianceExplorer(Visualizer):
    """A slider shifts the input; the feature map shifts with it, the pooled score stays put.

    Panels: input x and the shifted input t[x]; feature maps f[x] (grey), f[t[x]] (blue) and
    t[f[x]] (dashed); scores: global-max-pooled (invariant) and a dense readout (not).
    """

    def __init__(self, signal: str = "pattern", kernel: str = "bump detector", amount: int = 0):
        super().__init__()
        self.signals = {"pattern": pattern_signal(), "photo row": photo_row()}
        rng = np.random.default_rng(1)
        self.dense_weights = rng.standard_normal(SIGNAL_LENGTH).astype(np.float32) / 4
        self.amount = widgets.IntSlider(value=amount, min=-SIGNAL_LENGTH // 2,
                                        max=SIGNAL_LENGTH // 2, description="shift",
                                        continuous_update=False,
                                        layout=widgets.Layout(width="360px"))
        self.signal = widgets.ToggleButtons(options=list(self.signals), value=signal,
                                            description="input",
                                            style={"button_width": "90px"})
        self.kernel = widgets.Dropdown(options=list(KERNELS), value=kernel,
                                       description="kernel",
                                       layout=widgets.Layout(width="230px"))
        self.controls = [self.amount, self.signal, self.kernel]
        self._build_figure()
        self.observe_all()
        self.update()

    def _build_figure(self) -> None:
        self.view = FigureView(width=8.0, height=5.2, dpi=80)
        fig = self.view.fig
        n = np.arange(SIGNAL_LENGTH)
        self.ax_x = fig.add_axes((0.07, 0.70, 0.60, 0.24))
        self.ax_f = fig.add_axes((0.07, 0.10, 0.60, 0.48))
        self.ax_s = fig.add_axes((0.76, 0.10, 0.21, 0.84))
        zeros = np.zeros(SIGNAL_LENGTH)
        (self.line_x,) = self.ax_x.plot(n, zeros, color="#aaa", lw=1.5, label="x")
        (self.line_tx,) = self.ax_x.plot(n, zeros, color="#4e79a7", lw=1.5, label="t[x]")
        (self.line_fx,) = self.ax_f.plot(n, zeros, color="#aaa", lw=2, label="f[x]")
        (self.line_ftx,) = self.ax_f.plot(n, zeros, color="#4e79a7", lw=2, label="f[t[x]]")
        (self.line_tfx,) = self.ax_f.plot(n, zeros, color="#e15759", lw=1.2, ls="--",
                                          label="t[f[x]]")
        self.ax_x.legend(loc="upper right", fontsize=8, ncol=2)
        self.ax_f.legend(loc="upper right", fontsize=8, ncol=3)
        self.ax_x.set_title("input and shifted input", fontsize=10, loc="left")
        self.f_title = self.ax_f.set_title("", fontsize=10, loc="left")
        self.ax_f.tick_params(labelsize=8)
        self.ax_f.set_xlabel("position", fontsize=9)
        # tick labels are most of the redraw time: keep only the position axis
        for ax in (self.ax_x, self.ax_f):
            ax.set_xlim(0, SIGNAL_LENGTH - 1)
            ax.set_xticks(range(0, SIGNAL_LENGTH, 24), [str(t) for t in range(0, SIGNAL_LENGTH, 24)])
            ax.set_yticks([])
        self.ax_x.set_xticks([])
        self._limits_key: tuple[str, str] | None = None
        self.score_bars = self.ax_s.bar([0, 1, 2.5, 3.5], [0, 0, 0, 0],
                                        color=["#aaa", "#4e79a7", "#aaa", "#4e79a7"])
        self.ax_s.set_xticks([0.5, 3.0], ["max-pooled\n(invariant)", "dense\nreadout"],
                             fontsize=8)
        self.ax_s.axhline(0, color="black", lw=0.6)
        self.ax_s.set_yticks([])  # the values are in the message above the figure
        self.score_title = self.ax_s.set_title("scores: x (grey), t[x] (blue)", fontsize=9)

    @staticmethod
    def _set_limits(ax, low: float, high: float, headroom: float) -> None:
        """Y range with room for the legend, and three fixed ticks (few texts = fast redraw)."""
        span = high - low
        ax.set_ylim(low - 0.1, high + headroom * span + 0.1)

    def update(self) -> None:
        x = self.signals[self.signal.value]
        w = KERNELS[self.kernel.value]
        s = self.amount.value
        tx = shift(x, s)
        fx, ftx = feature_map(x, w), feature_map(tx, w)
        tfx = shift(fx, s)
        self.line_x.set_ydata(x)
        self.line_tx.set_ydata(tx)
        self.line_fx.set_ydata(fx)
        self.line_ftx.set_ydata(ftx)
        self.line_tfx.set_ydata(tfx)
        if (self.signal.value, self.kernel.value) != self._limits_key:
            # a circular shift keeps the values, so limits and ticks depend on x and w only
            self._limits_key = (self.signal.value, self.kernel.value)
            self._set_limits(self.ax_x, float(min(x.min(), 0)), float(x.max()), 0.35)
            self._set_limits(self.ax_f, float(fx.min()), float(fx.max()), 0.3)
        gap = float(np.abs(ftx - tfx).max())
        self.f_title.set_text(f"feature maps, shift {s:+d}:  max |f[t[x]] - t[f[x]]| = {gap:.1e}")
        scores = [pooled_score(fx), pooled_score(ftx),
                  dense_score(fx, self.dense_weights), dense_score(ftx, self.dense_weights)]
        for bar, value in zip(self.score_bars, scores, strict=True):
            bar.set_height(value)
        top = max(1e-3, max(abs(v) for v in scores))
        low_score = min(0.0, min(scores))
        limits = (round(low_score * 1.15 - 0.02 * top, 1) - 0.1, round(top * 1.15, 1) + 0.1)
        if limits != self.ax_s.get_ylim():
            self.ax_s.set_ylim(*limits)
        self.message.value = (
            f"shift {s:+d}: the feature map moved by {s:+d} too (equivariance, error {gap:.1e}); "
            f"max-pooled score {scores[0]:.3f} &rarr; {scores[1]:.3f} (invariant); "
            f"dense readout {scores[2]:+.3f} &rarr; {scores[3]:+.3f} (not invariant)")
        self.view.render()


# --- two dimensions: shift, rotate or scale the photo -----------------------------------------

KERNELS_2D = {
    "Sobel x (vertical edges)": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32),
    "Sobel y (horizontal edges)": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float32),
    "Laplacian (all directions)": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32),
    "blur 3x3": np.full((3, 3), 1 / 9, dtype=np.float32),
}
TRANSFORMS = {  # name -> (min, max, step, default, unit)
    "shift": (-24.0, 24.0, 1.0, 8.0, "pixels to the right (circular)"),
    "rotate": (-180.0, 180.0, 15.0, 90.0, "degrees counter-clockwise"),
    "scale": (0.5, 2.0, 0.1, 0.5, "x zoom about the centre"),
}
PHOTO_SIZE_2D = 96


def photo_square(size: int = PHOTO_SIZE_2D) -> np.ndarray:
    """A centred ``size`` x ``size`` crop of the grey photo at 1/4 resolution, (size, size) in [0, 1]."""
    from .data import load_sample_image

    image = load_sample_image(gray=True, size=128)
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return np.ascontiguousarray(image[top:top + size, left:left + size])


def transform_image(image, kind: str, amount: float) -> np.ndarray:
    """Apply one transformation to ``image`` (H, W); returns (H, W) float32.

    kind ``"shift"``: circular shift by ``round(amount)`` columns (torch.roll); ``"rotate"``:
    ``amount`` degrees counter-clockwise about the centre, bilinear, zeros outside (exact
    ``torch.rot90`` for multiples of 90 on a square image); ``"scale"``: zoom by ``amount``.
    """
    from .transforms import rotate, scale

    x = torch.as_tensor(np.ascontiguousarray(image, dtype=np.float32))[None, None]
    with torch.no_grad(), single_thread():
        if kind == "shift":
            out = torch.roll(x, int(round(amount)), dims=-1)
        elif kind == "rotate":
            quarter = amount / 90.0
            if x.shape[-1] == x.shape[-2] and quarter == int(quarter):
                out = torch.rot90(x, int(quarter) % 4, dims=(-2, -1))
            else:
                out = rotate(x, float(amount))
        elif kind == "scale":
            out = scale(x, float(amount))
        else:
            raise ValueError(f"kind must be one of {list(TRANSFORMS)}, got {kind!r}")
    return out[0, 0].numpy()


def filter_map(image, kernel) -> np.ndarray:
    """``F.conv2d`` of ``image`` (H, W) with ``kernel`` (K, K), K odd, circular padding: (H, W)."""
    x = torch.as_tensor(np.ascontiguousarray(image, dtype=np.float32))[None, None]
    w = torch.as_tensor(np.ascontiguousarray(kernel, dtype=np.float32))[None, None]
    half = w.shape[-1] // 2
    with torch.no_grad(), single_thread():
        return F.conv2d(F.pad(x, (half,) * 4, mode="circular"), w)[0, 0].numpy()


def equivariance_gap(image, kernel, kind: str, amount: float) -> tuple[float, np.ndarray, np.ndarray]:
    """How far f[t[x]] is from t[f[x]] in the central half of the picture.

    image (H, W), kernel (K, K). Returns ``(gap, f_tx, t_fx)`` with both maps (H, W) and
    gap = ||f[t[x]] - t[f[x]]|| / ||t[f[x]]|| over the central (H/2, W/2) window (0 = equivariant).
    """
    f_tx = filter_map(transform_image(image, kind, amount), kernel)
    t_fx = transform_image(filter_map(image, kernel), kind, amount)
    h, w = f_tx.shape
    window = (slice(h // 4, h - h // 4), slice(w // 4, w - w // 4))
    norm = float(np.linalg.norm(t_fx[window]))
    gap = float(np.linalg.norm(f_tx[window] - t_fx[window])) / max(norm, 1e-12)
    return gap, f_tx, t_fx


class TransformEquivarianceExplorer(Visualizer):
    """Shift, rotate or scale the photo: does the filtered picture follow (f[t[x]] = t[f[x]])?

    Panels: t[x]; f[t[x]] (filter the transformed photo); t[f[x]] (transform the filtered photo);
    their difference, with the relative gap in the central half in the title.
    """

    def __init__(self, transform: str = "rotate", kernel: str = "Sobel x (vertical edges)",
                 amount: float | None = None):
        super().__init__()
        self.image = photo_square()
        low, high, step, default, _ = TRANSFORMS[transform]
        self.transform = widgets.ToggleButtons(options=list(TRANSFORMS), value=transform,
                                               description="transform",
                                               style={"button_width": "70px"})
        self.kernel = widgets.Dropdown(options=list(KERNELS_2D), value=kernel,
                                       description="kernel", layout=widgets.Layout(width="300px"))
        self.amount = widgets.FloatSlider(value=default if amount is None else amount, min=low,
                                          max=high, step=step, description="amount",
                                          continuous_update=False,
                                          layout=widgets.Layout(width="360px"))
        self.controls = [self.transform, self.kernel, self.amount]
        self._build_figure()
        self.transform.observe(self._on_transform, names="value")
        self.kernel.observe(lambda _change: self.refresh(), names="value")
        self.amount.observe(lambda _change: self.refresh(), names="value")
        self.refresh()

    def _on_transform(self, change: dict) -> None:
        low, high, step, default, _ = TRANSFORMS[change["new"]]
        with self.holding():
            self.amount.min, self.amount.max = -1e9, 1e9  # widen first so no clamp fires midway
            self.amount.min, self.amount.max, self.amount.step = low, high, step
            self.amount.value = default
        self.refresh()

    def _build_figure(self) -> None:
        self.view = FigureView(width=9.6, height=2.9, dpi=80)
        fig = self.view.fig
        blank = np.zeros_like(self.image)
        self.axes = [fig.add_axes((0.01 + 0.248 * i, 0.04, 0.235, 0.78)) for i in range(4)]
        titles = ["t[x]", "f[t[x]]: filter the transformed", "t[f[x]]: transform the filtered",
                  "difference"]
        self.panels = []
        for ax, title in zip(self.axes, titles, strict=True):
            cmap = "gray" if title == "t[x]" else "RdBu_r"
            self.panels.append(ax.imshow(blank, cmap=cmap, vmin=-1, vmax=1))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(title, fontsize=9)
        self.panels[0].set_clim(0, 1)
        self.diff_title = self.axes[3].title

    def update(self) -> None:
        kind, amount = self.transform.value, float(self.amount.value)
        kernel = KERNELS_2D[self.kernel.value]
        gap, f_tx, t_fx = equivariance_gap(self.image, kernel, kind, amount)
        limit = float(max(np.abs(t_fx).max(), np.abs(f_tx).max(), 1e-6))
        self.panels[0].set_data(transform_image(self.image, kind, amount))
        for panel, data in zip(self.panels[1:], (f_tx, t_fx, f_tx - t_fx), strict=True):
            panel.set_data(data)
            panel.set_clim(-limit, limit)
        self.diff_title.set_text(f"difference (gap {gap:.2f})")
        unit = TRANSFORMS[kind][4]
        verdict = "equivariant" if gap < 1e-3 else "NOT equivariant"
        self.message.value = (f"{kind} by {amount:g} {unit}, kernel {self.kernel.value}: "
                              f"relative gap ||f[t[x]] - t[f[x]]|| / ||t[f[x]]|| = {gap:.3f} "
                              f"in the central half ({verdict})")
        self.view.render()
