"""A multi-channel convolution, one placement at a time (lecture 06).

A filter for an RGB image has one 3x3 kernel per channel. At one placement each kernel is
multiplied with the patch of its own channel, the three sums are added, the bias is added, and
a ReLU follows. ``multichannel_step`` returns every one of those numbers; the patches come from
torch's ``F.unfold`` and the output from ``F.conv2d``, so nothing here re-implements the
convolution. ``formula_text`` writes them out the way CNN Explainer's formula view does.
``MultiChannelStepThrough()`` is the widget.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.patches import Rectangle

from .device import single_thread
from .widgets import FigureView, Visualizer

#: The classic worked example: the top-left 5x5 pixels of a colour photo, channels R, G, B.
RGB_IMAGE = np.array([
    [[156, 155, 156, 158, 158], [153, 154, 157, 159, 159], [149, 151, 155, 158, 159],
     [146, 146, 149, 153, 158], [145, 143, 143, 148, 158]],
    [[167, 166, 167, 169, 169], [164, 165, 168, 170, 170], [160, 162, 166, 169, 170],
     [156, 156, 159, 163, 168], [155, 153, 153, 158, 168]],
    [[163, 162, 163, 165, 165], [160, 161, 164, 166, 166], [156, 158, 162, 165, 166],
     [155, 155, 158, 162, 167], [154, 152, 152, 157, 167]]], dtype=np.float64)
#: Its filter: one 3x3 kernel per input channel (R, G, B), and the bias.
RGB_FILTER = np.array([[[-1, -1, 1], [0, 1, -1], [0, 1, 1]],
                       [[1, 0, 0], [1, -1, -1], [1, 0, -1]],
                       [[0, 1, 1], [0, 1, 0], [1, -1, 1]]], dtype=np.float64)
RGB_BIAS = 1.0
CHANNELS = ("R", "G", "B")


@dataclass
class ChannelStep:
    """One placement of a multi-channel filter.

    Attributes:
        out_shape: (H_out, W_out) of the output map, from ``F.conv2d``.
        row, col: the output cell; top, left: the window's corner in the padded image.
        patches: (C, K, K) input values under the window (zeros on padding).
        products: (C, K, K) patches * kernels.
        channel_sums: (C,) one sum per input channel.
        bias: the filter's bias; total: sum of channel_sums plus bias (the output before ReLU);
        activation: ReLU(total).
    """

    out_shape: tuple[int, int]
    row: int
    col: int
    top: int
    left: int
    patches: np.ndarray
    products: np.ndarray
    channel_sums: np.ndarray
    bias: float
    total: float
    activation: float


def conv_output(image: np.ndarray, weight: np.ndarray, bias: float, padding: int,
                stride: int) -> np.ndarray:
    """``F.conv2d`` of image (C, H, W) with one filter weight (C, K, K) plus bias -> (H_out, W_out)."""
    x = torch.as_tensor(np.asarray(image, dtype=np.float64))[None]
    w = torch.as_tensor(np.asarray(weight, dtype=np.float64))[None]
    b = torch.tensor([float(bias)], dtype=torch.float64)
    return F.conv2d(x, w, b, padding=padding, stride=stride)[0, 0].numpy()


def multichannel_step(image: np.ndarray, weight: np.ndarray, bias: float, padding: int,
                      stride: int, step: int) -> ChannelStep:
    """The ``step``-th placement (row-major) of filter weight (C, K, K) on image (C, H, W).

    ``ValueError`` (in words) if the filter does not fit or ``step`` is out of range.
    """
    image = np.asarray(image, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    channels, size = weight.shape[0], weight.shape[-1]
    if image.shape[0] != channels:
        raise ValueError(f"the image has {image.shape[0]} channels, the filter {channels}")
    try:
        out_shape = conv_output(image, weight, bias, padding, stride).shape
    except RuntimeError:
        raise ValueError(f"a {size}x{size} filter does not fit this image with padding "
                         f"{padding}") from None
    count = out_shape[0] * out_shape[1]
    if not 0 <= step < count:
        raise ValueError(f"step {step} is outside 0..{count - 1}")
    columns = F.unfold(torch.as_tensor(image)[None], kernel_size=size, padding=padding,
                       stride=stride)
    patches = columns[0, :, step].reshape(channels, size, size).numpy()
    products = patches * weight
    sums = products.sum(axis=(1, 2))
    total = float(sums.sum() + bias)
    row, col = divmod(step, out_shape[1])
    return ChannelStep((int(out_shape[0]), int(out_shape[1])), row, col, row * stride,
                       col * stride, patches, products, sums, float(bias), total,
                       max(total, 0.0))


def formula_text(step: ChannelStep, weight: np.ndarray) -> str:
    """CNN Explainer's formula view with the real numbers: one line per channel, then the sum,
    the bias and the ReLU."""
    lines = []
    for name, patch, kernel, total in zip(CHANNELS, step.patches, np.asarray(weight),
                                          step.channel_sums, strict=True):
        terms = " + ".join(f"{p:g}·{k:g}" for p, k in zip(patch.ravel(), kernel.ravel(),
                                                           strict=True))
        lines.append(f"{name}: {terms} = {total:g}")
    sums = " + ".join(f"({s:g})" for s in step.channel_sums)
    lines.append(f"sum + bias: {sums} + ({step.bias:g}) = {step.total:g};   "
                 f"ReLU({step.total:g}) = {step.activation:g}")
    return "\n".join(lines)


class MultiChannelStepThrough(Visualizer):
    """Step an RGB filter (one 3x3 kernel per channel) over the worked-example image.

    Controls: ``padding`` and ``stride`` (IntSliders), ``bias`` (IntSlider), ``play`` (linked
    to ``step`` in the browser) and ``step``. The picture shows each channel with the window
    and its kernel, the output before the ReLU (numbers in every finished cell) and after it
    (colours, the current cell's number), filled up to the current step; the message above the
    picture holds the formula with the real numbers (``formula_text``).
    """

    site_control = "step"

    def __init__(self, padding: int = 1, stride: int = 1, bias: int = int(RGB_BIAS)) -> None:
        super().__init__()
        self.image, self.weight = RGB_IMAGE, RGB_FILTER
        self.padding = widgets.IntSlider(value=padding, min=0, max=1, description="padding",
                                         continuous_update=False)
        self.stride = widgets.IntSlider(value=stride, min=1, max=2, description="stride",
                                        continuous_update=False)
        self.bias = widgets.IntSlider(value=bias, min=-60, max=60, description="bias",
                                      continuous_update=False)
        self.step = widgets.IntSlider(value=0, min=0, max=24, description="step",
                                      continuous_update=False)
        self.play = widgets.Play(value=0, min=0, max=24, interval=900, description="play")
        widgets.jslink((self.play, "value"), (self.step, "value"))
        self.controls = [self.padding, self.stride, self.bias, self.play, self.step]
        self._build_figure()
        self.observe_all()
        self._sync_step_range()
        self.update()

    def _build_figure(self) -> None:
        self.view = FigureView(width=11.0, height=4.2)
        fig = self.view.fig
        grid = fig.add_gridspec(2, 5, height_ratios=[1, 0.6], left=0.01, right=0.99,
                                top=0.94, bottom=0.02, wspace=0.1, hspace=0.18)
        side = self.image.shape[1] + 2
        self.in_images, self.in_texts, self.windows, self.k_texts = [], [], [], []
        for c, (name, cmap) in enumerate(zip(CHANNELS, ("Reds", "Greens", "Blues"), strict=True)):
            ax = fig.add_subplot(grid[0, c])
            self.in_images.append(ax.imshow(np.zeros((side, side)), cmap=cmap, vmin=-80, vmax=260))
            self.in_texts.append([[ax.text(j, i, "", ha="center", va="center", fontsize=8,
                                           fontweight="bold")
                                   for j in range(3)] for i in range(3)])
            window = Rectangle((-0.5, -0.5), 3, 3, fill=False, ec="black", lw=2.2)
            ax.add_patch(window)
            self.windows.append(window)
            ax.set_title(f"input {name} (padded)", fontsize=9)
            ax_k = fig.add_subplot(grid[1, c])
            ax_k.imshow(self.weight[c], cmap="RdBu_r", vmin=-1.5, vmax=1.5)
            for (i, j), value in np.ndenumerate(self.weight[c]):
                ax_k.text(j, i, f"{value:g}", ha="center", va="center", fontsize=9)
            ax_k.set_title(f"kernel {name}", fontsize=9)
            self.k_texts.append(ax_k)
            for a in (ax, ax_k):
                a.set_xticks([])
                a.set_yticks([])
        self.in_axes = [image.axes for image in self.in_images]
        cmap = matplotlib.colormaps["PuOr_r"].with_extremes(bad="white")
        self.out_axes, self.out_images, self.out_texts, self.cursors = [], [], [], []
        for k, title in enumerate(("output before ReLU", "after ReLU")):
            ax = fig.add_subplot(grid[0, 3 + k])
            self.out_images.append(ax.imshow(np.full((5, 5), np.nan), cmap=cmap, vmin=-60, vmax=60))
            cells = 5 if k == 0 else 1  # after the ReLU only the current cell is labelled (speed)
            self.out_texts.append([[ax.text(j, i, "", ha="center", va="center", fontsize=8)
                                    for j in range(cells)] for i in range(cells)])
            cursor = Rectangle((-0.5, -0.5), 1, 1, fill=False, ec="#d62728", lw=2.5)
            ax.add_patch(cursor)
            self.cursors.append(cursor)
            ax.set_title(title, fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
            self.out_axes.append(ax)

    def observe_all(self) -> None:
        """Padding and stride re-size the step range; every control except ``play`` redraws."""
        for control in (self.padding, self.stride):
            control.observe(lambda _change: (self._sync_step_range(), self.refresh()), names="value")
        for control in (self.bias, self.step):
            control.observe(lambda _change: self.refresh(), names="value")

    def _sync_step_range(self) -> None:
        try:
            with single_thread():
                shape = conv_output(self.image, self.weight, 0.0, self.padding.value,
                                    self.stride.value).shape
            last = shape[0] * shape[1] - 1
        except RuntimeError:
            last = 0
        with self.holding():
            self.step.max = self.play.max = last
            self.step.value = min(self.step.value, last)

    def current(self) -> ChannelStep:
        """The placement the controls select."""
        return multichannel_step(self.image, self.weight, self.bias.value, self.padding.value,
                                 self.stride.value, self.step.value)

    def update(self) -> None:
        pad = self.padding.value
        try:
            with single_thread():
                step = self.current()
                out = conv_output(self.image, self.weight, self.bias.value, pad,
                                  self.stride.value)
        except ValueError as err:
            self.show_problem(str(err))
            return
        padded = np.pad(self.image, ((0, 0), (pad, pad), (pad, pad)))
        side = padded.shape[1]
        for c in range(3):
            ax = self.in_axes[c]
            self.in_images[c].set_data(padded[c])
            self.in_images[c].set_extent((-0.5, side - 0.5, side - 0.5, -0.5))
            ax.set_xlim(-0.5, side - 0.5)
            ax.set_ylim(side - 0.5, -0.5)
            self.windows[c].set_xy((step.left - 0.5, step.top - 0.5))
            for i, row in enumerate(self.in_texts[c]):  # numbers under the window only
                for j, text in enumerate(row):
                    text.set_position((step.left + j, step.top + i))
                    text.set_text(f"{step.patches[c, i, j]:g}")
        h_out, w_out = step.out_shape
        done = np.arange(h_out * w_out).reshape(h_out, w_out) <= self.step.value
        limit = max(float(np.abs(out).max()), 1.0)
        for k, values in enumerate((out, np.maximum(out, 0.0))):
            shown = np.where(done, values, np.nan)
            self.out_images[k].set_data(shown)
            self.out_images[k].set_clim(-limit, limit)
            self.out_images[k].set_extent((-0.5, w_out - 0.5, h_out - 0.5, -0.5))
            self.out_axes[k].set_xlim(-0.5, w_out - 0.5)
            self.out_axes[k].set_ylim(h_out - 0.5, -0.5)
            if k == 0:
                for i, row in enumerate(self.out_texts[k]):
                    for j, text in enumerate(row):
                        visible = i < h_out and j < w_out and bool(done[i, j])
                        text.set_visible(visible)
                        if visible:
                            text.set_text(f"{values[i, j]:g}")
            else:
                current = self.out_texts[k][0][0]
                current.set_position((step.col, step.row))
                current.set_text(f"{values[step.row, step.col]:g}")
            self.cursors[k].set_xy((step.col - 0.5, step.row - 0.5))
        formula = html.escape(formula_text(step, self.weight))
        self.message.value = (f"<b>step {self.step.value + 1} of {h_out * w_out}, output cell "
                              f"({step.row}, {step.col})</b> (output {h_out}x{w_out}; this filter "
                              f"has 3·3·3 weights + 1 bias)<pre style='font-size:11px;margin:2px 0'>"
                              f"{formula}</pre>")
        self.view.render()
