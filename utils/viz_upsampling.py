"""Transposed convolution explorer: kernel, stride and padding -> overlap counts and an upsampled photo.

Widget (one line in a notebook)::

    utils.viz_upsampling.TransposedConvExplorer()

Left: how many kernel taps land on each output pixel (``F.conv_transpose2d`` of ones with
ones, input 8x8). Middle: one row of that map. Right: a 40x40 crop of the photo upsampled by
the same layer with a uniform kernel; where the counts are uneven the picture shows a grid.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from .upsampling import overlap_counts, transposed_upsample, unevenness
from .widgets import FigureView, Visualizer

COUNT_INPUT = 8
PHOTO_SIZE = 40


def photo_crop(size: int = PHOTO_SIZE) -> np.ndarray:
    """A ``size`` x ``size`` crop of the grey photo at 1/4 resolution (the face), in [0, 1]."""
    from .data import load_sample_image

    image = load_sample_image(gray=True, size=128)
    top, left = 20, (image.shape[1] - size) // 2
    return np.ascontiguousarray(image[top:top + size, left:left + size])


def describe(kernel: int, stride: int, padding: int) -> tuple[np.ndarray | None, str]:
    """The overlap-count map (O, O) for an 8x8 input, and one sentence about it.

    Returns ``(None, reason)`` when the configuration is not a valid transposed convolution
    (torch refuses it or the output would be empty), so that the widget can say why.
    """
    try:
        counts = overlap_counts(COUNT_INPUT, kernel, stride, padding)
    except (RuntimeError, ValueError) as err:
        reason = str(err).splitlines()[0]
        return None, (f"kernel {kernel}, stride {stride}, padding {padding}: torch refuses this "
                      f"transposed convolution ({reason}). Use a padding smaller than the kernel.")
    margin = kernel
    if counts.shape[0] <= 2 * margin:
        return counts, f"output {counts.shape[0]}x{counts.shape[1]}: too small to have an interior"
    core = counts[margin:-margin, margin:-margin]
    spread = unevenness(counts, margin)
    verdict = "even: no checkerboard" if spread == 0 else "uneven: checkerboard pattern"
    return counts, (f"output {counts.shape[0]}x{counts.shape[1]}; taps per interior pixel "
                    f"from {core.min()} to {core.max()} ({verdict})")


class TransposedConvExplorer(Visualizer):
    """Sliders for kernel size, stride and padding of a transposed convolution (one channel)."""

    def __init__(self, kernel: int = 3, stride: int = 2, padding: int = 0):
        super().__init__()
        self.photo = photo_crop()
        self.kernel = widgets.IntSlider(value=kernel, min=1, max=7, description="kernel",
                                        continuous_update=False)
        self.stride = widgets.IntSlider(value=stride, min=1, max=4, description="stride",
                                        continuous_update=False)
        self.padding = widgets.IntSlider(value=padding, min=0, max=4, description="padding",
                                         continuous_update=False)
        self.controls = [self.kernel, self.stride, self.padding]
        self._build_figure()
        self.observe_all()
        self.refresh()

    def _build_figure(self) -> None:
        self.view = FigureView(width=9.0, height=3.4, dpi=80)
        fig = self.view.fig
        self.ax_counts = fig.add_axes((0.02, 0.08, 0.28, 0.78))
        self.ax_row = fig.add_axes((0.37, 0.16, 0.26, 0.70))
        self.ax_photo = fig.add_axes((0.68, 0.08, 0.30, 0.78))
        self.count_image = self.ax_counts.imshow(np.zeros((2, 2)), cmap="viridis", vmin=0, vmax=1)
        self.photo_image = self.ax_photo.imshow(np.zeros((2, 2)), cmap="gray", vmin=0, vmax=1)
        for ax in (self.ax_counts, self.ax_photo):
            ax.set_xticks([])
            ax.set_yticks([])
        self.ax_counts.set_title("taps per output pixel", fontsize=10)
        self.ax_photo.set_title("photo, upsampled", fontsize=10)
        (self.row_line,) = self.ax_row.plot([0, 1], [0, 0], "o-", color="#4e79a7", ms=3)
        self.row_title = self.ax_row.set_title("middle row of the count map", fontsize=10)
        self.ax_row.tick_params(labelsize=8)

    @staticmethod
    def _show(artist, ax, data: np.ndarray) -> None:
        artist.set_data(data)
        h, w = data.shape
        artist.set_extent((-0.5, w - 0.5, h - 0.5, -0.5))
        ax.set_xlim(-0.5, w - 0.5)
        ax.set_ylim(h - 0.5, -0.5)

    def update(self) -> None:
        k, s, p = self.kernel.value, self.stride.value, self.padding.value
        counts, text = describe(k, s, p)
        if counts is None:
            self.show_problem(text)
            return
        self._show(self.count_image, self.ax_counts, counts)
        self.count_image.set_clim(0, max(1, counts.max()))
        row = counts[counts.shape[0] // 2]
        self.row_line.set_data(np.arange(len(row)), row)
        self.ax_row.set_xlim(-0.5, len(row) - 0.5)
        self.ax_row.set_ylim(0, counts.max() + 1)
        photo = transposed_upsample(self.photo, k, s, p)
        self._show(self.photo_image, self.ax_photo, np.clip(photo, 0, 1))
        self.message.value = f"kernel {k}, stride {s}, padding {p}: {text}"
        self.view.render()
