"""Receptive fields for lecture 09, measured with torch autograd (never by a formula).

A layer stack is written as text, layers separated by spaces or commas:

- ``conv3`` a 3x3 convolution, stride 1; ``conv3s2`` stride 2; ``conv3d2`` dilation 2
  (``conv5s2d3`` combines them). Padding keeps the size at stride 1: ``dilation * (k - 1) // 2``.
- ``pool2`` a 2x2 pooling with stride 2; ``pool3s2`` a 3x3 pooling with stride 2. No padding.

To find which input pixels one output unit sees, the stack is built with every convolution
weight set to 1 and every pooling as an average (max pooling can be influenced by the same
window, it only routes the gradient to the winner), and the gradient of that unit with
respect to the input is taken: the receptive field is where the gradient is non-zero.
``RFExplorer()`` draws it on the photo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.patches import Rectangle
from torch import nn

from .data import load_sample_image
from .device import single_thread
from .widgets import FigureView, Visualizer

_TOKEN = re.compile(r"^(conv|pool)(\d+)(?:s(\d+))?(?:d(\d+))?$")

#: Named stacks offered by the widget (name -> spec).
PRESET_STACKS: dict[str, str] = {
    "one 3x3 conv": "conv3",
    "two 3x3 convs": "conv3 conv3",
    "three 3x3 convs": "conv3 conv3 conv3",
    "four 3x3 convs": "conv3 conv3 conv3 conv3",
    "3x3 conv stride 2, then two 3x3": "conv3s2 conv3 conv3",
    "VGG-like: 2 conv, pool, 2 conv, pool, conv": "conv3 conv3 pool2 conv3 conv3 pool2 conv3",
    "dilation 1, 2, 4 (exponential)": "conv3 conv3d2 conv3d4",
    "dilation 1, 2, 4, 8 (exponential)": "conv3 conv3d2 conv3d4 conv3d8",
    "dilation 2, 2 (gridding)": "conv3d2 conv3d2",
    "dilation 2, 4 (gridding)": "conv3d2 conv3d4",
    "dilation 3, 3, 3 (gridding)": "conv3d3 conv3d3 conv3d3",
}
CUSTOM = "custom"

#: Limits that keep a typed stack computable in milliseconds (larger ones are refused in words).
MAX_LAYERS = 12
MAX_KERNEL = 15
MAX_STRIDE = 8
MAX_DILATION = 16
MAX_FIELD = 1025


@dataclass(frozen=True)
class Layer:
    """One layer of a stack: ``kind`` is ``"conv"`` or ``"pool"``; sizes in pixels."""

    kind: str
    kernel: int
    stride: int
    dilation: int = 1


def parse_stack(spec: str) -> list[Layer]:
    """Parse a stack such as ``"conv3 conv3d2, pool2"`` into layers; ``ValueError`` if malformed."""
    layers = []
    for token in re.split(r"[\s,;]+", spec.strip().lower()):
        if not token:
            continue
        match = _TOKEN.match(token)
        if match is None:
            raise ValueError(f"cannot read {token!r}: write e.g. conv3, conv3s2, conv3d2, pool2")
        kind, kernel, stride, dilation = match.groups()
        kernel = int(kernel)
        if kind == "pool" and dilation is not None:
            raise ValueError(f"{token!r}: pooling here has no dilation")
        stride_value = int(stride) if stride else (kernel if kind == "pool" else 1)
        layer = Layer(kind, kernel, stride_value, int(dilation) if dilation else 1)
        if min(layer.kernel, layer.stride, layer.dilation) < 1:
            raise ValueError(f"{token!r}: kernel, stride and dilation must be at least 1")
        if layer.kernel > MAX_KERNEL or layer.stride > MAX_STRIDE or layer.dilation > MAX_DILATION:
            raise ValueError(f"{token!r}: this explorer allows kernels up to {MAX_KERNEL}, strides "
                             f"up to {MAX_STRIDE} and dilations up to {MAX_DILATION}")
        layers.append(layer)
    if not layers:
        raise ValueError("the stack is empty: write e.g. 'conv3 conv3'")
    if len(layers) > MAX_LAYERS:
        raise ValueError(f"{len(layers)} layers: this explorer takes at most {MAX_LAYERS}")
    return layers


def build_stack(layers: list[Layer]) -> nn.Sequential:
    """One-channel torch modules for ``layers``: convolutions with all weights 1 and no bias
    (padding ``dilation * (k - 1) // 2``), poolings as ``AvgPool2d`` (no padding). float64."""
    modules: list[nn.Module] = []
    for layer in layers:
        if layer.kind == "conv":
            conv = nn.Conv2d(1, 1, layer.kernel, stride=layer.stride, dilation=layer.dilation,
                             padding=layer.dilation * (layer.kernel - 1) // 2, bias=False)
            nn.init.ones_(conv.weight)
            modules.append(conv)
        else:
            modules.append(nn.AvgPool2d(layer.kernel, stride=layer.stride))
    return nn.Sequential(*modules).double().requires_grad_(False)


def output_shape(layers: list[Layer], height: int, width: int) -> tuple[int, int]:
    """(H_out, W_out) of the stack on an input (height, width), read from a torch forward pass.

    ``ValueError`` when the input is too small for the stack.
    """
    with torch.no_grad():
        try:
            out = build_stack(layers)(torch.zeros(1, 1, height, width, dtype=torch.float64))
        except RuntimeError as err:
            raise ValueError(f"the input {height}x{width} is too small for this stack: "
                             f"{err}") from None
    return int(out.shape[-2]), int(out.shape[-1])


def input_gradient(layers: list[Layer], height: int, width: int, row: int,
                   col: int) -> np.ndarray:
    """Gradient (height, width) of output unit (row, col) w.r.t. the input, by autograd.

    Non-negative (all weights are positive); its non-zero support is the receptive field,
    and its values count the paths from each input pixel to the unit (times pooling weights).
    """
    x = torch.zeros(1, 1, height, width, dtype=torch.float64, requires_grad=True)
    out = build_stack(layers)(x)
    out[0, 0, row, col].backward()
    return x.grad[0, 0].numpy()


def support_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box (top, left, height, width) of the True cells of a 2D ``mask``."""
    rows, cols = np.nonzero(mask)
    if len(rows) == 0:
        return 0, 0, 0, 0
    return (int(rows.min()), int(cols.min()), int(rows.max() - rows.min() + 1),
            int(cols.max() - cols.min() + 1))


def receptive_field_size(layers: list[Layer]) -> int:
    """Side of the receptive field of a unit far from any border, measured by autograd.

    Uses an input large enough that no border clips it (grown until the field fits).
    ``ValueError`` (in words) when the field would exceed ``MAX_FIELD`` pixels.
    """
    size = 33
    while True:
        if size > 2 * MAX_FIELD + 1:
            raise ValueError(f"the receptive field of this stack is larger than {MAX_FIELD} "
                             "pixels: too large to measure here; use fewer or smaller layers")
        h_out, w_out = output_shape(layers, size, size)
        grad = input_gradient(layers, size, size, h_out // 2, w_out // 2)
        top, left, height, width = support_box(grad != 0)
        if top > 0 and left > 0 and top + height < size and left + width < size:
            return max(height, width)
        size = 2 * size + 1


class RFExplorer(Visualizer):
    """Choose a layer stack and an output unit; its receptive field is shaded on the photo.

    Controls: ``preset`` (Dropdown), ``spec`` (Text, the stack actually used), ``row`` and
    ``col`` (IntSliders over the output map). The shading's strength is the autograd gradient
    (how many paths reach that pixel); its support is the receptive field. ``mask`` holds the
    last highlighted region (bool, input shape).
    """

    site_control = "preset"

    def __init__(self, preset: str = "three 3x3 convs", size: int = 64) -> None:
        super().__init__()
        photo = load_sample_image(gray=True, size=size)
        top = (photo.shape[0] - size) // 2
        self.image = photo[top:top + size, :size]
        self._last_spec: str | None = None
        self.preset = widgets.Dropdown(options=[*PRESET_STACKS, CUSTOM], value=preset,
                                       description="stack", layout=widgets.Layout(width="380px"))
        self.spec = widgets.Text(value=PRESET_STACKS[preset], description="layers",
                                 continuous_update=False, layout=widgets.Layout(width="380px"))
        self.row = widgets.IntSlider(value=0, min=0, max=1, description="unit row",
                                     continuous_update=False)
        self.col = widgets.IntSlider(value=0, min=0, max=1, description="unit col",
                                     continuous_update=False)
        self.controls = [self.preset, self.spec, self.row, self.col]
        self.mask = np.zeros(self.image.shape, dtype=bool)
        self._build_figure()
        self.observe_all()
        self.update()

    def _build_figure(self) -> None:
        self.view = FigureView(width=8.0, height=4.2)
        fig = self.view.fig
        ax_in, ax_out = fig.subplots(1, 2)
        fig.subplots_adjust(left=0.02, right=0.98, top=0.88, bottom=0.03, wspace=0.1)
        self.axes = (ax_in, ax_out)
        size = self.image.shape[0]
        ax_in.imshow(self.image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        self.overlay = ax_in.imshow(np.zeros((*self.image.shape, 4)), interpolation="nearest")
        self.box = Rectangle((-0.5, -0.5), 1, 1, fill=False, ec="#ffbf00", lw=1.5)
        ax_in.add_patch(self.box)
        self.in_title = ax_in.set_title("", fontsize=10)
        self.out_image = ax_out.imshow(np.zeros((size, size)), cmap="gray",
                                       interpolation="nearest")
        self.unit = Rectangle((-0.5, -0.5), 1, 1, fill=False, ec="#d62728", lw=2)
        ax_out.add_patch(self.unit)
        self.out_title = ax_out.set_title("", fontsize=10)
        for ax in self.axes:
            ax.set_xticks([])
            ax.set_yticks([])

    def observe_all(self) -> None:
        """A preset writes ``spec``; ``spec`` re-sizes the unit sliders; one redraw each."""
        self.link_preset(self.preset, PRESET_STACKS, [self.spec], lambda: self.spec.value,
                         lambda spec: setattr(self.spec, "value", spec), custom=CUSTOM)
        for slider in (self.row, self.col):
            slider.observe(lambda _change: self.refresh(), names="value")

    def layers(self) -> list[Layer]:
        """The stack written in ``spec`` (``ValueError`` if it cannot be read)."""
        return parse_stack(self.spec.value)

    def _sync_unit_range(self, center: bool) -> None:
        try:
            with single_thread():
                h_out, w_out = output_shape(self.layers(), *self.image.shape)
        except ValueError:
            return
        with self.holding():
            self.row.max, self.col.max = h_out - 1, w_out - 1
            if center:
                self.row.value, self.col.value = h_out // 2, w_out // 2

    def update(self) -> None:
        height, width = self.image.shape
        if self.spec.value != self._last_spec:  # a new stack: centre the unit on its output
            self._last_spec = self.spec.value
            self._sync_unit_range(center=True)
        try:
            layers = self.layers()
            with single_thread():
                h_out, w_out = output_shape(layers, height, width)
                grad = input_gradient(layers, height, width, self.row.value, self.col.value)
                full = receptive_field_size(layers)
                with torch.no_grad():
                    x = torch.as_tensor(self.image, dtype=torch.float64)[None, None]
                    out = build_stack(layers)(x)[0, 0].numpy()
        except (ValueError, IndexError) as err:
            self.show_problem(f"cannot show this stack: {err}")
            return
        self.mask = grad != 0
        top, left, box_h, box_w = support_box(self.mask)
        overlay = np.zeros((height, width, 4))
        overlay[..., 0] = 1.0
        overlay[..., 1] = 0.1
        overlay[..., 3] = np.where(self.mask, 0.25 + 0.5 * grad / grad.max(), 0.0)
        self.overlay.set_data(overlay)
        self.box.set_xy((left - 0.5, top - 0.5))
        self.box.set_width(box_w)
        self.box.set_height(box_h)
        count = int(self.mask.sum())
        holes = box_h * box_w - count
        self.in_title.set_text(f"field {box_h}x{box_w} here, "
                               f"{count} pixels" + (f" ({holes} holes)" if holes else ""))
        self.out_image.set_data(out)
        self.out_image.set_clim(float(out.min()), float(out.max()) + 1e-12)
        self.out_image.set_extent((-0.5, w_out - 0.5, h_out - 0.5, -0.5))
        self.axes[1].set_xlim(-0.5, w_out - 0.5)
        self.axes[1].set_ylim(h_out - 0.5, -0.5)
        self.unit.set_xy((self.col.value - 0.5, self.row.value - 0.5))
        self.out_title.set_text(f"output {h_out}x{w_out}, unit ({self.row.value}, "
                                f"{self.col.value})")
        self.message.value = (f"{len(layers)} layers; away from the border one unit sees "
                              f"<b>{full}x{full}</b> input pixels")
        self.view.render()
