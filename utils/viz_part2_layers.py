"""Visualizers for lectures 07 (channels, 1x1 convolutions) and 08 (pooling).

- ``ChannelMixer()``: a 1x1 convolution from RGB to one channel; three weights and a bias
  mix the photo's colour channels pixel by pixel.
- ``PoolingExplorer()``: shift the photo by a few pixels and compare its edge map before and
  after pooling: the larger the pooling window, the less the pooled map changes.

All numbers come from torch (``F.conv2d``, ``F.max_pool2d``, ``F.avg_pool2d``).
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch
import torch.nn.functional as F

from .data import load_sample_image
from .device import single_thread
from .viz_2d import PRESET_KERNELS
from .widgets import FigureView, Visualizer

CUSTOM = "custom"

#: 1x1 mixes of (red, green, blue) plus a bias.
PRESET_MIXES: dict[str, tuple[float, float, float, float]] = {
    "luminance (0.299 R + 0.587 G + 0.114 B)": (0.299, 0.587, 0.114, 0.0),
    "red only": (1.0, 0.0, 0.0, 0.0),
    "green only": (0.0, 1.0, 0.0, 0.0),
    "blue only": (0.0, 0.0, 1.0, 0.0),
    "red minus green": (1.0, -1.0, 0.0, 0.0),
    "blue minus mean(red, green)": (-0.5, -0.5, 1.0, 0.0),
    "negative (1 - mean)": (-1 / 3, -1 / 3, -1 / 3, 1.0),
}


def conv1x1(image: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """A 1x1 convolution with ``F.conv2d``: image (H, W, C_in), weights (C_out, C_in),
    bias (C_out,) -> (C_out, H, W)."""
    x = torch.as_tensor(np.asarray(image, dtype=np.float32)).permute(2, 0, 1)[None]
    w = torch.as_tensor(np.asarray(weights, dtype=np.float32))[:, :, None, None]
    b = torch.as_tensor(np.asarray(bias, dtype=np.float32))
    return F.conv2d(x, w, b)[0].numpy()


class ChannelMixer(Visualizer):
    """Mix the photo's red, green and blue channels with a 1x1 convolution.

    Controls: ``preset`` (Dropdown), ``weights`` (three FloatSliders for R, G, B) and
    ``bias`` (FloatSlider). The figure shows the three input channels and the output channel.
    """

    def __init__(self, preset: str = "red minus green", size: int = 96) -> None:
        super().__init__()
        self.image = load_sample_image(size=size)[..., :3]
        r, g, b, bias = PRESET_MIXES[preset]
        self.preset = widgets.Dropdown(options=[*PRESET_MIXES, CUSTOM], value=preset,
                                       description="preset", layout=widgets.Layout(width="380px"))
        self.weights = [widgets.FloatSlider(value=v, min=-2, max=2, step=0.05, description=name,
                                            continuous_update=False)
                        for name, v in zip(("w red", "w green", "w blue"), (r, g, b), strict=True)]
        self.bias = widgets.FloatSlider(value=bias, min=-1, max=1, step=0.05, description="bias",
                                        continuous_update=False)
        self.controls = [self.preset, *self.weights, self.bias]
        self.view = FigureView(width=9.0, height=3.0)
        fig = self.view.fig
        axes = fig.subplots(1, 4)
        fig.subplots_adjust(left=0.01, right=0.99, top=0.86, bottom=0.02, wspace=0.05)
        for ax, channel, name in zip(axes[:3], range(3), ("red", "green", "blue"), strict=True):
            ax.imshow(self.image[..., channel], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(f"input: {name}", fontsize=10)
        self.out_image = axes[3].imshow(self.image[..., 0], cmap="gray", interpolation="nearest")
        self.out_title = axes[3].set_title("", fontsize=10)
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
        self.observe_all()
        self.update()

    def observe_all(self) -> None:
        """A preset writes the four sliders then redraws once; each slider redraws once."""
        sliders = [*self.weights, self.bias]
        self.link_preset(self.preset, PRESET_MIXES, sliders,
                         lambda: [s.value for s in sliders], self._write_sliders,
                         custom=CUSTOM, atol=0.03)

    def mix(self) -> tuple[np.ndarray, np.ndarray]:
        """The 1x1 kernel the sliders hold: weights (1, 3) and bias (1,)."""
        return (np.array([[s.value for s in self.weights]], dtype=np.float32),
                np.array([self.bias.value], dtype=np.float32))

    def _write_sliders(self, values: tuple[float, ...]) -> None:
        for slider, value in zip((*self.weights, self.bias), values, strict=True):
            slider.value = value

    def update(self) -> None:
        weights, bias = self.mix()
        with single_thread():
            out = conv1x1(self.image, weights, bias)[0]
        low, high = float(out.min()), float(out.max())
        self.out_image.set_data(out)
        self.out_image.set_clim(low, high if high > low + 1e-6 else low + 1)
        w = weights[0]
        self.out_title.set_text(f"{w[0]:.2f}R {w[1]:+.2f}G {w[2]:+.2f}B {bias[0]:+.2f}")
        self.message.value = (f"output range {low:.2f} to {high:.2f} (grey scale stretched); "
                              "parameters: 3 weights + 1 bias = 4")
        self.view.render()


def edge_features(image: np.ndarray) -> np.ndarray:
    """ReLU of the Sobel-x response of a grey image (H, W) -> (H - 2, W - 2), by ``F.conv2d``."""
    x = torch.as_tensor(np.asarray(image, dtype=np.float32))[None, None]
    w = torch.as_tensor(PRESET_KERNELS["Sobel x (vertical edges)"], dtype=torch.float32)
    return F.relu(F.conv2d(x, w[None, None]))[0, 0].numpy()


def pool(features: np.ndarray, size: int, mode: str) -> np.ndarray:
    """``F.max_pool2d`` or ``F.avg_pool2d`` (``mode`` "max"/"average") with window = stride =
    ``size`` of a map (H, W) -> (H // size, W // size)."""
    x = torch.as_tensor(features)[None, None]
    op = {"max": F.max_pool2d, "average": F.avg_pool2d}[mode]
    return op(x, size)[0, 0].numpy()


def relative_change(before: np.ndarray, after: np.ndarray) -> float:
    """mean |after - before| / mean |before| of two maps of the same shape."""
    return float(np.abs(after - before).mean() / max(np.abs(before).mean(), 1e-12))


class PoolingExplorer(Visualizer):
    """How much does a pooled edge map change when the photo moves by a few pixels?

    Controls: ``mode`` (max / average), ``size`` (pooling window = stride; 1 = no pooling)
    and ``shift`` (pixels to the left). Panels: the pooled map of the photo, of the shifted
    photo, and their absolute difference; the relative change is printed.
    """

    def __init__(self, crop: int = 96) -> None:
        super().__init__()
        self.photo = load_sample_image(gray=True, size=128)
        self.crop = crop
        self.mode = widgets.Dropdown(options=["max", "average"], value="max", description="pool")
        self.size = widgets.IntSlider(value=2, min=1, max=8, description="window",
                                      continuous_update=False)
        self.shift = widgets.IntSlider(value=1, min=0, max=4, description="shift (px)",
                                       continuous_update=False)
        self.controls = [self.mode, self.size, self.shift]
        self.view = FigureView(width=9.0, height=3.4)
        fig = self.view.fig
        self.axes = fig.subplots(1, 3)
        fig.subplots_adjust(left=0.01, right=0.99, top=0.86, bottom=0.02, wspace=0.05)
        blank = np.zeros((crop, crop))
        self.images = [ax.imshow(blank, cmap=cmap, interpolation="nearest")
                       for ax, cmap in zip(self.axes, ("magma", "magma", "viridis"), strict=True)]
        self.titles = [ax.set_title("", fontsize=10) for ax in self.axes]
        for ax in self.axes:
            ax.set_xticks([])
            ax.set_yticks([])
        self.observe_all()
        self.update()

    def maps(self) -> tuple[np.ndarray, np.ndarray]:
        """Pooled edge maps of the crop and of the crop moved ``shift`` pixels (same shape)."""
        top, left, side = 20, 16, self.crop
        before = self.photo[top:top + side, left:left + side]
        moved = self.photo[top:top + side, left + self.shift.value:left + self.shift.value + side]
        return (pool(edge_features(before), self.size.value, self.mode.value),
                pool(edge_features(moved), self.size.value, self.mode.value))

    def update(self) -> None:
        with single_thread():
            before, after = self.maps()
        diff = np.abs(after - before)
        high = float(max(before.max(), after.max(), 1e-6))
        extent = (-0.5, before.shape[1] - 0.5, before.shape[0] - 0.5, -0.5)
        for image, data in zip(self.images, (before, after, diff), strict=True):
            image.set_data(data)
            image.set_clim(0, high)
            image.set_extent(extent)
        for ax in self.axes:
            ax.set_xlim(extent[0], extent[1])
            ax.set_ylim(extent[2], extent[3])
        size, shift = self.size.value, self.shift.value
        label = "no pooling" if size == 1 else f"{self.mode.value} pool {size}x{size}"
        self.titles[0].set_text(f"{label}: {before.shape[0]}x{before.shape[1]}")
        self.titles[1].set_text(f"photo moved {shift} px left")
        change = relative_change(before, after)
        self.titles[2].set_text(f"|difference|: {100 * change:.0f}% change")
        self.message.value = (f"relative change mean|after - before| / mean|before| = "
                              f"<b>{change:.2f}</b>")
        self.view.render()
