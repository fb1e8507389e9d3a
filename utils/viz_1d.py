"""1D convolution visualizers: which inputs feed which output (connection matrix) and the flip.

Every number shown here comes from ``torch.nn.functional.conv1d``: the output length is read
from the shape of a convolution applied to a dummy input, and the connection matrix is the
Jacobian of the convolution (the convolution applied to every basis vector). Nothing here
re-implements a convolution.

Widgets (each cell is one line)::

    utils.viz_1d.ConnectionMatrixExplorer()
    utils.viz_1d.FlipExplorer()
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.colors import ListedColormap
from matplotlib.patches import Rectangle

from .device import single_thread
from .widgets import FigureView, Visualizer

MAX_LENGTH = 16
MAX_KERNEL = 7
MAX_STRIDE = 4
MAX_DILATION = 3
MAX_PADDING = 6
TAP_COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948"]


# --------------------------------------------------------------------------------------------
# pure logic (torch is the oracle)
# --------------------------------------------------------------------------------------------

@dataclass
class ConvGeometry:
    """What ``F.conv1d`` does with one configuration.

    Attributes:
        length, kernel_size, stride, padding, dilation: the configuration.
        output_length: number of outputs, or ``None`` when torch rejects the configuration.
        matrix: (output_length, length) Jacobian of the convolution with kernel weights
            ``1, 2, ..., K``: entry ``k`` means "input j is multiplied by weight w_k", 0 means
            "not connected". ``None`` when invalid.
        padded_matrix: (output_length, length + 2 * padding) the same on the zero-padded input
            (padding positions included), for drawing. ``None`` when invalid.
        message: a sentence in words describing the configuration or why it does not fit.
    """

    length: int
    kernel_size: int
    stride: int
    padding: int
    dilation: int
    output_length: int | None
    matrix: np.ndarray | None
    padded_matrix: np.ndarray | None
    message: str

    @property
    def valid(self) -> bool:
        return self.output_length is not None


def torch_output_length(length: int, kernel_size: int, stride: int = 1, padding: int = 0,
                        dilation: int = 1) -> tuple[int | None, str]:
    """Output length of ``F.conv1d`` on an input of ``length`` samples, read from torch.

    Runs the convolution on a zero input of shape (1, 1, length) with a (1, 1, kernel_size)
    kernel and reads the last dimension of the result. Returns ``(n, "")`` or, when torch
    refuses the configuration, ``(None, reason in words)``.
    """
    if min(length, kernel_size, stride, dilation) < 1 or padding < 0:
        return None, ("length, kernel size, stride and dilation must be at least 1 and padding "
                      "at least 0")
    x = torch.zeros(1, 1, length)
    w = torch.zeros(1, 1, kernel_size)
    try:
        with torch.no_grad(), single_thread():
            out = F.conv1d(x, w, stride=stride, padding=padding, dilation=dilation)
    except RuntimeError as err:
        return None, _explain_rejection(length, kernel_size, padding, dilation, str(err))
    return int(out.shape[-1]), ""


def _explain_rejection(length: int, kernel_size: int, padding: int, dilation: int,
                       torch_error: str) -> str:
    extent = f"{kernel_size} taps" if dilation == 1 else (
        f"{kernel_size} taps spread {dilation} apart")
    first_line = torch_error.strip().splitlines()[0] if torch_error.strip() else ""
    return (f"The kernel ({extent}) does not fit in the padded input ({length} samples + "
            f"{padding} zeros on each side), so there is no position to compute even one output. "
            f"Make the input longer, add padding, or shrink the kernel or the dilation. "
            f"(torch says: {first_line})")


def connection_matrix(length: int, kernel_size: int, stride: int = 1, padding: int = 0,
                      dilation: int = 1) -> np.ndarray:
    """Jacobian of ``F.conv1d`` with kernel weights ``1..K``: shape (output_length, length).

    Entry (i, j) is the weight index k (1-based) with which input j enters output i, 0 when
    input j does not feed output i. Computed by convolving every basis vector e_j (a batch of
    ``length`` one-hot signals), which is exactly column j of the Jacobian.
    Raises ``RuntimeError`` (from torch) when the configuration does not fit.
    """
    basis = torch.eye(length).unsqueeze(1)                      # (length, 1, length)
    taps = torch.arange(1, kernel_size + 1, dtype=torch.float32).view(1, 1, kernel_size)
    with torch.no_grad(), single_thread():
        columns = F.conv1d(basis, taps, stride=stride, padding=padding, dilation=dilation)
    return columns[:, 0, :].T.round().to(torch.int64).numpy()   # (output_length, length)


def conv_geometry(length: int, kernel_size: int, stride: int = 1, padding: int = 0,
                  dilation: int = 1) -> ConvGeometry:
    """Everything the connection-matrix widget shows, as a ``ConvGeometry`` (never raises)."""
    n_out, reason = torch_output_length(length, kernel_size, stride, padding, dilation)
    if n_out is None:
        return ConvGeometry(length, kernel_size, stride, padding, dilation, None, None, None,
                            reason)
    matrix = connection_matrix(length, kernel_size, stride, padding, dilation)
    padded = connection_matrix(length + 2 * padding, kernel_size, stride, 0, dilation)
    kind = []
    if padding == 0:
        kind.append('"valid" (no padding)')
    if n_out == length:
        kind.append('"same" (as many outputs as inputs)')
    kind_text = " and ".join(kind) if kind else f"{padding} zero(s) of padding on each side"
    lonely = int((matrix != 0).sum(axis=0).min() == 0)
    skip = (" Some inputs feed no output at all (the stride or dilation jumps over them)."
            if lonely else "")
    message = (f"{length} inputs &rarr; <b>{n_out} outputs</b>; {kind_text}; each output "
               f"reads {kernel_size} input(s).{skip}")
    return ConvGeometry(length, kernel_size, stride, padding, dilation, n_out, matrix, padded,
                        message)


def correlation_and_convolution(signal, kernel) -> tuple[np.ndarray, np.ndarray]:
    """Cross-correlation and convolution of ``signal`` (N,) with ``kernel`` (K,), both by torch.

    Both are "full" (every overlap, length N + K - 1): the correlation is ``F.conv1d`` with
    padding K - 1; the convolution is the same call with the kernel flipped.
    Returns ``(correlation, convolution)`` as float arrays of shape (N + K - 1,).
    """
    x = torch.as_tensor(np.asarray(signal, dtype=np.float32)).view(1, 1, -1)
    w = torch.as_tensor(np.asarray(kernel, dtype=np.float32)).view(1, 1, -1)
    pad = w.shape[-1] - 1
    with torch.no_grad(), single_thread():
        corr = F.conv1d(x, w, padding=pad)[0, 0].numpy()
        conv = F.conv1d(x, w.flip(-1), padding=pad)[0, 0].numpy()
    return corr, conv


# --------------------------------------------------------------------------------------------
# connection-matrix explorer
# --------------------------------------------------------------------------------------------

def _slider(description: str, value: int, low: int, high: int) -> widgets.IntSlider:
    return widgets.IntSlider(value=value, min=low, max=high, description=description,
                             continuous_update=False, style={"description_width": "initial"},
                             layout=widgets.Layout(width="230px"))


class ConnectionMatrixExplorer(Visualizer):
    """Sliders for input length, kernel size, stride, padding, dilation and one output.

    Draws (top) the padded input with the taps of the chosen output and (bottom) the connection
    matrix: one row per output h_i, one column per (padded) input x_j, coloured by the weight
    w_k that connects them; grey columns are padding zeros. Ranges depend on each other: the
    kernel is at most as long as the input, padding at most the kernel's reach
    ``dilation * (kernel_size - 1)``, and the output slider follows the output length.
    """

    def __init__(self, length: int = 8, kernel_size: int = 3, stride: int = 1, padding: int = 1,
                 dilation: int = 1):
        super().__init__()
        self.length = _slider("input length", length, 1, MAX_LENGTH)
        self.kernel_size = _slider("kernel size", kernel_size, 1, MAX_KERNEL)
        self.stride = _slider("stride", stride, 1, MAX_STRIDE)
        self.dilation = _slider("dilation", dilation, 1, MAX_DILATION)
        self.padding = _slider("padding", padding, 0, MAX_PADDING)
        self.output = _slider("highlight output", 1, 1, MAX_LENGTH + 2 * MAX_PADDING)
        self.controls = [self.length, self.kernel_size, self.stride, self.padding,
                         self.dilation, self.output]
        self._sync_ranges()
        self.geometry: ConvGeometry = conv_geometry(length, kernel_size, stride, padding,
                                                    dilation)
        self._build_figure()
        self.observe_all()
        self.update()

    # ranges ---------------------------------------------------------------------------------
    def _sync_ranges(self) -> None:
        """Adjust dependent slider maxima (values are clamped by ipywidgets)."""
        with self.holding():
            self.kernel_size.max = min(MAX_KERNEL, self.length.value)
            reach = self.dilation.value * (self.kernel_size.value - 1)
            self.padding.max = max(0, min(MAX_PADDING, reach))

    # drawing --------------------------------------------------------------------------------
    def _build_figure(self) -> None:
        self.view = FigureView(width=8.0, height=5.6, dpi=80)
        fig = self.view.fig
        self.ax_strip = fig.add_axes((0.08, 0.80, 0.88, 0.11))
        self.ax_matrix = fig.add_axes((0.08, 0.06, 0.88, 0.66))
        max_cols = MAX_LENGTH + 2 * MAX_PADDING
        max_rows = MAX_LENGTH + 2 * MAX_PADDING
        # matrix: values -1 = padding column, 0 = empty, 1..K = tap index
        cmap = ListedColormap(["#d9d9d9", "white", *TAP_COLORS])
        self.matrix_image = self.ax_matrix.imshow(
            np.zeros((max_rows, max_cols)), cmap=cmap, vmin=-1.5, vmax=MAX_KERNEL + 0.5,
            interpolation="nearest", aspect="auto")
        self.row_box = Rectangle((0, 0), 1, 1, fill=False, lw=2.5, ec="black")
        self.ax_matrix.add_patch(self.row_box)
        self.ax_matrix.tick_params(labelsize=8, top=True, labeltop=True, bottom=False,
                                   labelbottom=False)
        # strip: padded input cells, coloured by the tap that reads them for the chosen output
        self.strip_image = self.ax_strip.imshow(
            np.zeros((1, max_cols)), cmap=cmap, vmin=-1.5, vmax=MAX_KERNEL + 0.5,
            interpolation="nearest", aspect="auto")
        self.ax_strip.set_yticks([])
        self.ax_strip.tick_params(bottom=False, labelbottom=False)
        self.strip_title = self.ax_strip.set_title("", fontsize=10, loc="left")
        self.invalid_text = self.ax_matrix.text(
            0.5, 0.5, "", transform=self.ax_matrix.transAxes, ha="center", va="center",
            fontsize=12, color="#b00", wrap=True)
        self._axes_key: tuple[int, int, int] | None = None

    def update(self) -> None:
        self._sync_ranges()
        g = conv_geometry(self.length.value, self.kernel_size.value, self.stride.value,
                          self.padding.value, self.dilation.value)
        self.geometry = g
        pad, length = g.padding, g.length
        cols = length + 2 * pad
        max_rows, max_cols = self.matrix_image.get_array().shape
        if not g.valid:
            self.message.value = f"<span style='color:#b00'>&#9888; {g.message}</span>"
            self.invalid_text.set_text("this configuration does not fit:\nno output (see the message above)")
            self.matrix_image.set_data(np.zeros((max_rows, max_cols)))
            self.strip_image.set_data(np.zeros((1, max_cols)))
            self.row_box.set_visible(False)
            self.strip_title.set_text(f"padded input: {length} samples + {pad} zeros each side")
            self._set_axes(cols, 1)
            self.ax_matrix.set_yticks([])
            self._axes_key = None  # restore the row labels when a fitting configuration returns
            self.view.render()
            return
        self.invalid_text.set_text("")
        rows = g.output_length
        with self.holding():
            self.output.max = rows
        chosen = self.output.value - 1
        data = np.zeros((max_rows, max_cols))
        data[:rows, :cols] = g.padded_matrix
        pad_cols = np.r_[0:pad, pad + length:cols]
        data[:rows, pad_cols] = np.where(data[:rows, pad_cols] > 0, data[:rows, pad_cols], -1)
        self.matrix_image.set_data(data)
        strip = np.zeros((1, max_cols))
        strip[0, pad_cols] = -1
        taps = g.padded_matrix[chosen]
        strip[0, :cols] = np.where(taps > 0, taps, strip[0, :cols])
        self.strip_image.set_data(strip)
        self.row_box.set_visible(True)
        self.row_box.set_bounds(-0.5, chosen - 0.5, cols, 1)
        used = [f"x{j - pad + 1}" if pad <= j < pad + length else "0"
                for j in np.flatnonzero(taps)]
        self.strip_title.set_text(f"h{chosen + 1} reads " + ", ".join(used)
                                  + "   (grey = zero padding)")
        self._set_axes(cols, rows)
        self.message.value = g.message
        self.view.render()

    def _set_axes(self, cols: int, rows: int) -> None:
        pad, length = self.padding.value, self.length.value
        labels = ["0" if (j < pad or j >= pad + length) else f"x{j - pad + 1}"
                  for j in range(cols)]
        for ax in (self.ax_matrix, self.ax_strip):
            ax.set_xlim(-0.5, cols - 0.5)
        if (cols, rows, pad) != self._axes_key:  # ticks only change with the shape
            self._axes_key = (cols, rows, pad)
            self.ax_matrix.set_xticks(range(cols), labels, fontsize=7 if cols > 16 else 8)
            self.ax_matrix.set_yticks(range(rows), [f"h{i + 1}" for i in range(rows)],
                                      fontsize=7 if rows > 16 else 8)
        self.ax_matrix.set_ylim(rows - 0.5, -0.5)


# --------------------------------------------------------------------------------------------
# flip explorer: correlation vs convolution
# --------------------------------------------------------------------------------------------

FLIP_SIGNAL = np.array([0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0], dtype=np.float32)


class FlipExplorer(Visualizer):
    """Three kernel weights and a position slider; correlation and convolution side by side.

    The input is an impulse followed by a box. Correlation (what ``nn.Conv1d`` computes) slides
    the kernel as written; convolution slides it flipped, so on the impulse convolution
    reproduces the kernel ``w1, w2, w3`` in order while correlation writes it backwards. With a
    symmetric kernel (w1 = w3) both rows agree.
    """

    def __init__(self, w1: float = 2.0, w2: float = 1.0, w3: float = -1.0, position: int = 3):
        super().__init__()
        self.signal = FLIP_SIGNAL
        n_out = len(self.signal) + 2
        common = dict(min=-2.0, max=2.0, step=0.25, continuous_update=False,
                      layout=widgets.Layout(width="220px"))
        self.w = [widgets.FloatSlider(value=v, description=f"w{k + 1}", **common)
                  for k, v in enumerate((w1, w2, w3))]
        self.position = widgets.IntSlider(value=position, min=0, max=n_out - 1,
                                          description="output i", continuous_update=False,
                                          layout=widgets.Layout(width="260px"))
        self.controls = [*self.w, self.position]
        self._build_figure()
        self.observe_all()
        self.update()

    def kernel(self) -> np.ndarray:
        """The current kernel (3,) from the sliders."""
        return np.array([s.value for s in self.w], dtype=np.float32)

    def _build_figure(self) -> None:
        self.view = FigureView(width=8.0, height=5.2, dpi=80)
        fig = self.view.fig
        n = len(self.signal)
        # full output i covers inputs i-2, i-1, i: draw it at the centre of that window
        self.positions = np.arange(n + 2) - 1
        self.ax_in = fig.add_axes((0.08, 0.70, 0.88, 0.22))
        self.ax_corr = fig.add_axes((0.08, 0.39, 0.88, 0.22))
        self.ax_conv = fig.add_axes((0.08, 0.08, 0.88, 0.22))
        self.ax_in.bar(np.arange(n), self.signal, color="#999", width=0.8)
        self.window = [self.ax_in.text(0, 0, "", ha="center", va="bottom", fontsize=8,
                                       fontweight="bold") for _ in range(3)]
        self.window_box = Rectangle((0, -0.2), 3, 1.9, fill=False, ec="black", lw=2)
        self.ax_in.add_patch(self.window_box)
        self.ax_in.set_title("input x (an impulse, then a box); kernel taps over output i",
                             fontsize=10, loc="left")
        self.bars = {}
        for ax, name in ((self.ax_corr, "corr"), (self.ax_conv, "conv")):
            self.bars[name] = ax.bar(self.positions, np.zeros(len(self.positions)), width=0.8,
                                     color="#4e79a7")
            ax.axhline(0, color="black", lw=0.6)
        self.ax_corr.set_title("cross-correlation (nn.Conv1d)", fontsize=10, loc="left")
        self.ax_conv.set_title("convolution (kernel flipped)", fontsize=10, loc="left")
        # few tick labels: text is most of the redraw time
        for ax in (self.ax_in, self.ax_corr, self.ax_conv):
            ax.set_xlim(-2.6, n + 1.6)  # room for the window at both ends
            ax.set_xticks(range(0, n, 2))
            ax.tick_params(labelsize=8)
        for ax in (self.ax_in, self.ax_corr):
            ax.tick_params(labelbottom=False)
        self.ax_in.set_ylim(-0.3, 1.8)
        self.ax_in.set_yticks([0, 1])
        for ax in (self.ax_corr, self.ax_conv):
            ax.set_ylim(-6.5, 6.5)
            ax.set_yticks([-5, 0, 5])

    def update(self) -> None:
        w = self.kernel()
        corr, conv = correlation_and_convolution(self.signal, w)
        i = self.position.value
        for name, values in (("corr", corr), ("conv", conv)):
            for k, (bar, v) in enumerate(zip(self.bars[name], values, strict=True)):
                bar.set_height(v)
                bar.set_color("#e15759" if k == i else "#4e79a7")
        # full output i covers input samples i-2, i-1, i
        left = self.positions[i] - 1
        self.window_box.set_x(left - 0.5)
        corr_taps = [f"w{k + 1}" for k in range(3)]
        conv_taps = [f"w{3 - k}" for k in range(3)]
        for k, text in enumerate(self.window):
            text.set_position((left + k, 1.02))
            text.set_text(f"{corr_taps[k]}\n{conv_taps[k]}")
        symmetric = bool(np.isclose(w[0], w[2]))
        same = bool(np.allclose(corr, conv))
        verdict = ("the kernel is symmetric (w1 = w3): flipping changes nothing, both rows agree"
                   if symmetric else
                   "the kernel is asymmetric: the rows differ; on the impulse, convolution "
                   "writes w1, w2, w3 in order and correlation writes them backwards")
        self.message.value = (
            f"output {i}: correlation {corr[i]:+.2f}, convolution {conv[i]:+.2f}. "
            f"Labels over the window: <b>correlation tap</b> (top), <b>convolution tap</b> "
            f"(bottom). {verdict}. (outputs identical: {same})")
        self.view.render()
