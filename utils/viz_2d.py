"""2D convolution visualizers for lectures 05-06: a kernel editor on a photo and a step-through.

Every number is computed by torch (``F.conv2d``, ``F.unfold``); this module holds the index
bookkeeping around it and the drawing. Like PyTorch, "convolution" here means cross-correlation:
the kernel is not flipped.

- ``KernelEditor()``: a 3x3 grid of numbers plus presets, applied live to the photo or to an
  image of your own (``FileUpload``: PNG or JPEG, converted to grey and resized).
- ``StepThrough()``: a slider (and a Play button) moves a 3x3 kernel over a small worked-example
  image and fills the output cell by cell, showing the products and their sum.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.patches import Rectangle

from .data import load_sample_image
from .device import single_thread
from .widgets import FigureView, Visualizer

CUSTOM = "custom"

#: Classic 3x3 kernels (rows top to bottom). The shift kernel moves the picture one pixel left,
#: because output[i, j] = input[i, j + 1] under cross-correlation.
PRESET_KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float64),
    "shift left by one pixel": np.array([[0, 0, 0], [0, 0, 1], [0, 0, 0]], dtype=np.float64),
    "Gaussian blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float64) / 16,
    "box blur": np.full((3, 3), 1 / 9),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64),
    "Laplacian edges": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=np.float64),
    "Sobel x (vertical edges)": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64),
    "Sobel y (horizontal edges)": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64),
    "delete (all zeros)": np.zeros((3, 3)),
}

#: The small worked examples of lectures 05-06 (a classic textbook pair): (image, kernel).
SEED_X_IMAGE = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1],
                         [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]], dtype=np.float64)
SEED_X_KERNEL = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.float64)
SEED_6X6_IMAGE = np.array([[1, 0, 0, 0, 0, 1], [0, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 0],
                           [1, 0, 0, 0, 1, 0], [0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 1, 0]],
                          dtype=np.float64)
SEED_DIAGONAL_FILTER = np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=np.float64)
SEED_VERTICAL_FILTER = np.array([[-1, 1, -1], [-1, 1, -1], [-1, 1, -1]], dtype=np.float64)

#: The same arrays under the names the lectures use.
X_IMAGE, X_KERNEL = SEED_X_IMAGE, SEED_X_KERNEL
IMAGE_6X6, DIAGONAL_FILTER, VERTICAL_FILTER = SEED_6X6_IMAGE, SEED_DIAGONAL_FILTER, SEED_VERTICAL_FILTER

STEP_EXAMPLES: dict[str, tuple[np.ndarray, np.ndarray]] = {
    "5x5 image, 'X' kernel": (SEED_X_IMAGE, SEED_X_KERNEL),
    "6x6 image, filter 1 (diagonal)": (SEED_6X6_IMAGE, SEED_DIAGONAL_FILTER),
    "6x6 image, filter 2 (vertical)": (SEED_6X6_IMAGE, SEED_VERTICAL_FILTER),
}


def _as_4d(array: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(array, dtype=np.float64))[None, None]


def conv2d_torch(image: np.ndarray, kernel: np.ndarray, padding: int = 0,
                 stride: int = 1) -> np.ndarray:
    """``F.conv2d`` of one channel in float64: image (H, W), kernel (K, K) -> (H_out, W_out)."""
    out = F.conv2d(_as_4d(image), _as_4d(kernel), padding=padding, stride=stride)
    return out[0, 0].numpy()


def filter_image(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Apply a 3x3 ``kernel`` to a grey ``image`` (H, W); returns (H, W) float32.

    The border is padded by repeating the edge pixels (``replicate``), so flat kernels such
    as a blur do not darken the frame; the values themselves come from ``F.conv2d``.
    """
    x = torch.as_tensor(np.asarray(image, dtype=np.float32))[None, None]
    w = torch.as_tensor(np.asarray(kernel, dtype=np.float32))[None, None]
    pad = w.shape[-1] // 2
    x = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    return F.conv2d(x, w)[0, 0].numpy()


#: Largest accepted upload, in bytes, and the longest side kept after resizing (x ``size``).
MAX_UPLOAD_BYTES = 20_000_000
MAX_ASPECT = 4


def image_from_bytes(data: bytes, size: int = 128) -> np.ndarray:
    """Decode a PNG/JPEG file's bytes into a grey image (h, w) of floats in [0, 1].

    The shorter side becomes ``size`` pixels (area interpolation, torch's ``F.interpolate``;
    the longer side is capped at ``MAX_ASPECT * size``). Grey is the luminance
    0.299 R + 0.587 G + 0.114 B. Raises ``ValueError`` with a sentence for the student when the
    bytes are not an image this can read.
    """
    import matplotlib.image

    if len(data) == 0:
        raise ValueError("the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValueError(f"the file has {len(data):,} bytes; please use one under "
                         f"{MAX_UPLOAD_BYTES // 1_000_000} MB")
    try:
        pixels = np.asarray(matplotlib.image.imread(io.BytesIO(data)), dtype=np.float32)
    except Exception:  # PIL/matplotlib raise many different types for a bad file
        raise ValueError("this file is not a PNG or JPEG image that can be read") from None
    if pixels.dtype.kind in "ui" or pixels.max() > 1.0:
        pixels = pixels / 255.0
    if pixels.ndim == 3:
        pixels = pixels[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32) \
            if pixels.shape[2] >= 3 else pixels[..., 0]
    if pixels.ndim != 2 or min(pixels.shape) < 3:
        raise ValueError(f"the image is {'x'.join(map(str, pixels.shape))} pixels: too small")
    scale = size / min(pixels.shape)
    height = min(max(3, round(pixels.shape[0] * scale)), MAX_ASPECT * size)
    width = min(max(3, round(pixels.shape[1] * scale)), MAX_ASPECT * size)
    x = torch.as_tensor(np.ascontiguousarray(pixels))[None, None]
    return F.interpolate(x, size=(height, width), mode="area")[0, 0].clamp(0, 1).numpy()


def uploaded_bytes(value: object) -> tuple[str, bytes] | None:
    """(name, content) of the first file in a ``FileUpload.value`` (ipywidgets 7 or 8), or None."""
    files = list(value.values()) if isinstance(value, dict) else list(value or ())
    if not files:
        return None
    first = files[0]
    return str(first.get("name", "your file")), bytes(first["content"])


@dataclass
class Step:
    """One position of the kernel in the step-through.

    Attributes:
        out_shape: (H_out, W_out) of the whole output, read from ``F.conv2d``.
        row, col: the output cell this step fills.
        top, left: the window's top-left corner in the *padded* image.
        patch: (K, K) input values under the kernel (zeros where it covers padding).
        products: (K, K) element-wise products patch * kernel.
        total: their sum, i.e. the output value at (row, col).
    """

    out_shape: tuple[int, int]
    row: int
    col: int
    top: int
    left: int
    patch: np.ndarray
    products: np.ndarray
    total: float


def step_count(image: np.ndarray, kernel: np.ndarray, padding: int, stride: int) -> int:
    """Number of output cells H_out * W_out for image (H, W), kernel (K, K); 0 if none fit."""
    try:
        out = conv2d_torch(image, kernel, padding, stride)
    except RuntimeError:
        return 0
    return int(out.size)


def conv_step(image: np.ndarray, kernel: np.ndarray, padding: int, stride: int,
              step: int) -> Step:
    """The ``step``-th kernel position (row-major) for image (H, W) and kernel (K, K).

    Patches come from torch's ``F.unfold`` (column ``step`` of the unfolded padded image),
    the output shape from ``F.conv2d``. Raises ``ValueError`` if the kernel does not fit or
    ``step`` is out of range.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    size = kernel.shape[-1]
    try:
        out_shape = conv2d_torch(image, kernel, padding, stride).shape
    except RuntimeError as err:
        raise ValueError(f"a {size}x{size} kernel does not fit this padded image: {err}") from None
    count = out_shape[0] * out_shape[1]
    if not 0 <= step < count:
        raise ValueError(f"step {step} is outside 0..{count - 1}")
    columns = F.unfold(_as_4d(image), kernel_size=size, padding=padding, stride=stride)
    patch = columns[0, :, step].reshape(size, size).numpy()
    products = patch * kernel
    row, col = divmod(step, out_shape[1])
    return Step((int(out_shape[0]), int(out_shape[1])), row, col, row * stride, col * stride,
                patch, products, float(products.sum()))


def products_text(step: Step, kernel: np.ndarray) -> str:
    """The sum written out as in the worked example: three rows of ``(a × b) + ...`` then ``= total``."""
    def fmt(value: float) -> str:
        return f"{value:g}"

    rows = [" + ".join(f"({fmt(p)} × {fmt(k)})" for p, k in zip(prow, krow, strict=True))
            for prow, krow in zip(step.patch, np.asarray(kernel), strict=True)]
    return " +\n".join(rows) + f"  =  {fmt(step.total)}"


class KernelEditor(Visualizer):
    """Edit a 3x3 kernel (or pick a preset) and see it applied live to the photo.

    Controls: ``preset`` (Dropdown), ``cells`` (3x3 ``FloatText``, shown as a grid) and
    ``upload`` (``FileUpload``: your own PNG/JPEG replaces the photo, in grey, shorter side
    ``size``; ``photo_button`` brings the photo back). The figure shows the input, the kernel
    and the filtered input (grey scale stretched from the output's minimum to its maximum,
    both printed). A file that cannot be read is reported in words, in the picture.
    """

    def __init__(self, preset: str = "Gaussian blur", size: int = 128) -> None:
        super().__init__()
        self.size = size
        self.photo = load_sample_image(gray=True, size=size)
        self.image = self.photo
        self.source = "photo"
        self.preset = widgets.Dropdown(options=[*PRESET_KERNELS, CUSTOM], value=preset,
                                       description="preset")
        self.cells = [[widgets.FloatText(value=float(PRESET_KERNELS[preset][r, c]), step=0.1,
                                         layout=widgets.Layout(width="70px"))
                       for c in range(3)] for r in range(3)]
        grid = widgets.GridBox([cell for row in self.cells for cell in row],
                               layout=widgets.Layout(grid_template_columns="repeat(3, 74px)"))
        self.upload = widgets.FileUpload(accept="image/png,image/jpeg,.png,.jpg,.jpeg",
                                         multiple=False, description="your image")
        self.photo_button = widgets.Button(description="back to the photo")
        self.controls = [self.preset, grid, widgets.VBox([self.upload, self.photo_button])]
        self.view = FigureView(width=9.0, height=3.4)
        fig = self.view.fig
        ax_in, ax_k, ax_out = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 0.7, 1]})
        fig.subplots_adjust(left=0.01, right=0.99, top=0.86, bottom=0.03, wspace=0.08)
        self.axes = (ax_in, ax_k, ax_out)
        self.in_image = ax_in.imshow(self.image, cmap="gray", vmin=0, vmax=1,
                                     interpolation="nearest")
        self.in_title = ax_in.set_title("photo (input)", fontsize=10)
        self.kernel_image = ax_k.imshow(np.zeros((3, 3)), cmap="RdBu_r", vmin=-1, vmax=1)
        self.kernel_texts = [[ax_k.text(c, r, "", ha="center", va="center", fontsize=10)
                              for c in range(3)] for r in range(3)]
        ax_k.set_title("kernel", fontsize=10)
        self.out_image = ax_out.imshow(self.image, cmap="gray", vmin=0, vmax=1,
                                       interpolation="nearest")
        self.out_title = ax_out.set_title("", fontsize=10)
        for ax in self.axes:
            ax.set_xticks([])
            ax.set_yticks([])
        self.observe_all()
        self.update()

    def observe_all(self) -> None:
        """Presets write all nine cells then redraw once; editing a cell redraws once."""
        cells = [cell for row in self.cells for cell in row]
        self.link_preset(self.preset, PRESET_KERNELS, cells, self.kernel, self._write_kernel,
                         custom=CUSTOM)
        self.upload.observe(self._on_upload, names="value")
        self.photo_button.on_click(lambda _button: self.use_image(self.photo, "photo"))

    def kernel(self) -> np.ndarray:
        """The kernel in the grid, (3, 3) float64."""
        return np.array([[cell.value for cell in row] for row in self.cells], dtype=np.float64)

    def _write_kernel(self, kernel: np.ndarray) -> None:
        for row, values in zip(self.cells, kernel, strict=True):
            for cell, value in zip(row, values, strict=True):
                cell.value = float(value)

    def use_image(self, image: np.ndarray, source: str) -> None:
        """Filter ``image`` (h, w) in [0, 1] from now on; ``source`` names it in the titles."""
        self.image, self.source = image, source
        height, width = image.shape
        for ax, artist in ((self.axes[0], self.in_image), (self.axes[2], self.out_image)):
            artist.set_data(image)
            artist.set_extent((-0.5, width - 0.5, height - 0.5, -0.5))
            ax.set_xlim(-0.5, width - 0.5)
            ax.set_ylim(height - 0.5, -0.5)
        self.in_title.set_text(f"{source} (input)")
        self.refresh()

    def _on_upload(self, change: dict) -> None:
        upload = uploaded_bytes(change["new"])
        if upload is None:
            return
        name, content = upload
        try:
            image = image_from_bytes(content, self.size)
        except ValueError as err:
            self.show_problem(f"could not use {name}: {err}. The kernel is still applied to "
                              f"the {self.source}; try another file.")
            return
        self.use_image(image, name[:30])

    def update(self) -> None:
        kernel = self.kernel()
        with single_thread():
            out = filter_image(self.image, kernel)
        low, high = float(out.min()), float(out.max())
        if high - low < 1e-9:
            low, high = low - 1, high + 1
        self.out_image.set_data(out)
        self.out_image.set_clim(low, high)
        self.out_title.set_text(f"output (grey: {out.min():.2f} → {out.max():.2f})")
        scale = max(float(np.abs(kernel).max()), 1e-9)
        self.kernel_image.set_data(kernel)
        self.kernel_image.set_clim(-scale, scale)
        for r in range(3):
            for c in range(3):
                self.kernel_texts[r][c].set_text(f"{kernel[r, c]:.3g}")
        self.message.value = f"kernel sum = {kernel.sum():.3g}; input: {self.source}"
        self.view.render()


_MAX_IN = 10  # largest padded image side drawn (6 + 2 * 2)
_MAX_OUT = 8  # largest output side (6 + 2 * 2 - 3 + 1)


class StepThrough(Visualizer):
    """Move a 3x3 kernel over a worked-example image step by step; the output fills cell by cell.

    Controls: ``example`` (Dropdown of the worked examples), ``padding`` and ``stride``
    (IntSliders), ``play`` (Play, linked to ``step`` in the browser) and ``step`` (IntSlider).
    Each input cell under the kernel shows ``value`` and ``×weight``; below the picture the
    products are written out with their sum.
    """

    site_control = "step"

    def __init__(self, example: str = "5x5 image, 'X' kernel") -> None:
        super().__init__()
        self.example = widgets.Dropdown(options=list(STEP_EXAMPLES), value=example,
                                        description="example")
        self.padding = widgets.IntSlider(value=0, min=0, max=2, description="padding",
                                         continuous_update=False)
        self.stride = widgets.IntSlider(value=1, min=1, max=3, description="stride",
                                        continuous_update=False)
        self.step = widgets.IntSlider(value=0, min=0, max=8, description="step",
                                      continuous_update=False)
        self.play = widgets.Play(value=0, min=0, max=8, interval=800, description="play")
        widgets.jslink((self.play, "value"), (self.step, "value"))
        self.controls = [self.example, self.padding, self.stride, self.play, self.step]
        self._build_figure()
        self.observe_all()
        self._sync_step_range()
        self.update()

    def _build_figure(self) -> None:
        self.view = FigureView(width=10.0, height=5.0)
        fig = self.view.fig
        ax_in, ax_k, ax_out = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 0.45, 0.85]})
        fig.subplots_adjust(left=0.02, right=0.98, top=0.9, bottom=0.24, wspace=0.15)
        self.axes = (ax_in, ax_k, ax_out)
        self.in_image = ax_in.imshow(np.zeros((_MAX_IN, _MAX_IN)), cmap="Blues", vmin=-1, vmax=3)
        self.in_texts = [[ax_in.text(c, r, "", ha="center", va="center", fontsize=9)
                          for c in range(_MAX_IN)] for r in range(_MAX_IN)]
        self.frame = Rectangle((-0.5, -0.5), 1, 1, fill=False, ec="0.3", ls="--", lw=1.2)
        self.window = Rectangle((-0.5, -0.5), 3, 3, fill=False, ec="#d62728", lw=2.5)
        ax_in.add_patch(self.frame)
        ax_in.add_patch(self.window)
        self.in_title = ax_in.set_title("", fontsize=10)
        self.k_image = ax_k.imshow(np.zeros((3, 3)), cmap="RdBu_r", vmin=-1.5, vmax=1.5)
        self.k_texts = [[ax_k.text(c, r, "", ha="center", va="center", fontsize=10)
                         for c in range(3)] for r in range(3)]
        ax_k.set_title("kernel", fontsize=10)
        cmap = matplotlib.colormaps["PuOr_r"].with_extremes(bad="white")
        self.out_image = ax_out.imshow(np.full((_MAX_OUT, _MAX_OUT), np.nan), cmap=cmap,
                                       vmin=-5, vmax=5)
        self.out_texts = [[ax_out.text(c, r, "", ha="center", va="center", fontsize=10)
                           for c in range(_MAX_OUT)] for r in range(_MAX_OUT)]
        self.cursor = Rectangle((-0.5, -0.5), 1, 1, fill=False, ec="#d62728", lw=2.5)
        ax_out.add_patch(self.cursor)
        self.out_title = ax_out.set_title("", fontsize=10)
        for ax in self.axes:
            ax.set_xticks([])
            ax.set_yticks([])
        self.sum_text = fig.text(0.02, 0.03, "", fontsize=10, family="monospace", va="bottom")

    def observe_all(self) -> None:
        """Every control redraws, except ``play``: in the browser it moves ``step`` (jslink)."""
        for control in (self.example, self.padding, self.stride):
            control.observe(self._on_geometry, names="value")
        self.step.observe(self._on_step, names="value")

    def _on_geometry(self, _change) -> None:
        self._sync_step_range()
        self.refresh()

    def _on_step(self, _change) -> None:
        self.refresh()

    def _sync_step_range(self) -> None:
        image, kernel = STEP_EXAMPLES[self.example.value]
        with single_thread():
            count = step_count(image, kernel, self.padding.value, self.stride.value)
        last = max(count - 1, 0)
        with self.holding():
            self.step.max = self.play.max = last
            self.step.value = min(self.step.value, last)

    def current(self) -> Step:
        """The kernel position the controls select."""
        image, kernel = STEP_EXAMPLES[self.example.value]
        return conv_step(image, kernel, self.padding.value, self.stride.value, self.step.value)

    def update(self) -> None:
        image, kernel = STEP_EXAMPLES[self.example.value]
        pad, stride = self.padding.value, self.stride.value
        try:
            with single_thread():
                step = self.current()
                out = conv2d_torch(image, kernel, pad, stride)
        except ValueError as err:
            self.show_problem(str(err))
            return
        self.message.value = ""
        padded = np.pad(image, pad)
        size = padded.shape[0]
        ax_in, _ax_k, ax_out = self.axes
        self.in_image.set_data(padded)
        self.in_image.set_extent((-0.5, size - 0.5, size - 0.5, -0.5))
        ax_in.set_xlim(-0.5, size - 0.5)
        ax_in.set_ylim(size - 0.5, -0.5)
        self.frame.set_xy((pad - 0.5, pad - 0.5))
        self.frame.set_width(image.shape[1])
        self.frame.set_height(image.shape[0])
        self.window.set_xy((step.left - 0.5, step.top - 0.5))
        for r in range(_MAX_IN):
            for c in range(_MAX_IN):
                text = self.in_texts[r][c]
                inside = r < size and c < size
                text.set_visible(inside)
                if not inside:
                    continue
                dr, dc = r - step.top, c - step.left
                if 0 <= dr < 3 and 0 <= dc < 3:
                    text.set_text(f"{padded[r, c]:g}\n×{kernel[dr, dc]:g}")
                    text.set_fontweight("bold")
                else:
                    text.set_text(f"{padded[r, c]:g}")
                    text.set_fontweight("normal")
                text.set_color("0.55" if (r < pad or c < pad or r >= size - pad
                                          or c >= size - pad) else "black")
        self.in_title.set_text(f"input {image.shape[0]}x{image.shape[1]}, padding {pad}, "
                               f"stride {stride}")
        self.k_image.set_data(kernel)
        for r in range(3):
            for c in range(3):
                self.k_texts[r][c].set_text(f"{kernel[r, c]:g}")
        h_out, w_out = step.out_shape
        shown = np.full((h_out, w_out), np.nan)
        done = np.arange(h_out * w_out).reshape(h_out, w_out) <= self.step.value
        shown[done] = out[done]
        self.out_image.set_data(shown)
        self.out_image.set_extent((-0.5, w_out - 0.5, h_out - 0.5, -0.5))
        ax_out.set_xlim(-0.5, w_out - 0.5)
        ax_out.set_ylim(h_out - 0.5, -0.5)
        for r in range(_MAX_OUT):
            for c in range(_MAX_OUT):
                visible = r < h_out and c < w_out and bool(done[r, c])
                self.out_texts[r][c].set_visible(visible)
                if visible:
                    self.out_texts[r][c].set_text(f"{out[r, c]:g}")
        self.cursor.set_xy((step.col - 0.5, step.row - 0.5))
        self.out_title.set_text(f"output {h_out}x{w_out}: cell ({step.row}, {step.col})")
        self.sum_text.set_text(f"step {self.step.value + 1} of {h_out * w_out}:\n"
                               + products_text(step, kernel))
        self.view.render()
