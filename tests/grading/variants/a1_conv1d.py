"""Common mistakes in assignment 1 (1D convolution), graded by the real ``nbgrader autograde``.

Each mistake is the instructor's solution of one function with a small edit (``_edit``), so
the wrong answer differs from the right one exactly where a student typically slips.
"""

from __future__ import annotations

from variants import Mistake, SolutionEditor

ASSIGNMENT = "a1_conv1d"
NOTEBOOK = "conv1d"


_editor = SolutionEditor(ASSIGNMENT, NOTEBOOK)
_solution, _edit = _editor.solution, _editor.edit


LENGTH = ("test_conv_output_length", "test_conv_output_length_hidden")
CORR = ("test_corr1d", "test_corr1d_hidden")
CONVOLVE = ("test_convolve1d", "test_convolve1d_hidden")
MATRIX = ("test_conv1d_matrix", "test_conv1d_matrix_hidden")
LAYER = ("test_conv1d_layer", "test_conv1d_layer_hidden")

LAYER_WITH_TORCH = '''
def conv1d_layer(x, weight, bias, stride=1, padding=0, dilation=1):
    """Calls the library instead of implementing the layer."""
    import torch

    out = torch.nn.functional.conv1d(torch.as_tensor(x, dtype=torch.float64),
                                     torch.as_tensor(weight, dtype=torch.float64),
                                     torch.as_tensor(bias, dtype=torch.float64),
                                     stride=stride, padding=padding, dilation=dilation)
    return out.numpy()
'''

MISTAKES = [
    # conv_output_length
    Mistake("length_stride_ignored",
            _edit("conv_output_length", ("// stride + 1", "+ 1")),
            LENGTH, "check the formula for stride 2"),
    Mistake("length_padding_one_side",
            _edit("conv_output_length", ("2 * padding", "padding")),
            LENGTH, "padding adds `padding` zeros at BOTH ends"),
    Mistake("length_dilation_ignored",
            _edit("conv_output_length", ("span = dilation * (kernel_size - 1) + 1",
                                         "span = kernel_size")),
            LENGTH, "a dilated kernel spans dilation*(K-1)+1 = 5 samples"),
    Mistake("length_true_division",
            _edit("conv_output_length", ("// stride", "/ stride")),
            LENGTH, "return an int (use integer division //)"),
    # corr1d
    Mistake("corr_flipped_kernel",
            _edit("corr1d", ("return xp[index] @ w", "return xp[index] @ w[::-1]")),
            CORR, "your result matches true convolution: cross-correlation does not flip"),
    Mistake("corr_stride_ignored",
            _edit("corr1d", ("// stride + 1", "+ 1"),
                  ("index = stride * np.arange", "index = np.arange")),
            CORR, "move the kernel by `stride` samples"),
    Mistake("corr_padding_one_side",
            _edit("corr1d", ("np.pad(x, padding)", "np.pad(x, (2 * padding, 0))")),
            CORR, "add `padding` zeros at BOTH ends of x"),
    Mistake("corr_dilation_ignored",
            _edit("corr1d", ("dilation * (k - 1)", "(k - 1)"),
                  ("dilation * np.arange(k)", "np.arange(k)")),
            CORR, "the kernel taps are `dilation` samples apart"),
    # convolve1d
    Mistake("convolve_not_flipped",
            _edit("convolve1d", ("w = np.asarray(w, dtype=float)[::-1]", "w = np.asarray(w, dtype=float)")),
            CONVOLVE, "your result equals cross-correlation: true convolution flips the kernel"),
    Mistake("convolve_flips_signal",
            _edit("convolve1d", ("w = np.asarray(w, dtype=float)[::-1]", "w = np.asarray(w, dtype=float)"),
                  ("x = np.asarray(x, dtype=float)", "x = np.asarray(x, dtype=float)[::-1]")),
            CONVOLVE, "your output is reversed: flip the kernel, not the signal"),
    Mistake("convolve_padding_ignored",
            _edit("convolve1d", ("xp = np.pad(x, padding)", "xp = x")),
            CONVOLVE, "add `padding` zeros at BOTH ends"),
    # conv1d_matrix
    Mistake("matrix_transposed",
            _edit("conv1d_matrix", ("return matrix", "return matrix.T")),
            MATRIX, "M has one ROW per output and one COLUMN per input sample"),
    Mistake("matrix_flipped_kernel",
            _edit("conv1d_matrix", ("np.tile(w, n_out)", "np.tile(w[::-1], n_out)")),
            MATRIX, "the rows hold a flipped kernel"),
    Mistake("matrix_stride_ignored",
            _edit("conv1d_matrix", ("cols = (stride * np.arange(n_out)", "cols = (np.arange(n_out)")),
            MATRIX, "consecutive rows are shifted by `stride` columns"),
    Mistake("matrix_keeps_padding_columns",
            _edit("conv1d_matrix", (" - padding + ", " + "),
                  ("(cols < length)", "(cols < length + 2 * padding)"),
                  ("np.zeros((n_out, length))", "np.zeros((n_out, length + 2 * padding))")),
            MATRIX, "M still has L columns; taps that fall on padded zeros are dropped"),
    # conv1d_layer
    Mistake("layer_bias_ignored",
            _edit("conv1d_layer", (" + np.asarray(bias)[None, :, None]", "")),
            LAYER, "with zero weights the output must equal the bias"),
    Mistake("layer_uses_torch", {"conv1d_layer": LAYER_WITH_TORCH},
            LAYER, "conv1d_layer must use NumPy only: your code mentions torch"),
    Mistake("layer_stride_ignored",
            _edit("conv1d_layer", ("// stride + 1", "+ 1"),
                  ("index = stride * np.arange", "index = np.arange")),
            LAYER, "move the kernel by `stride` samples"),
    Mistake("layer_flipped_kernel",
            _edit("conv1d_layer", ("windows, weight)", "windows, weight[:, :, ::-1])")),
            LAYER, "a convolutional layer computes cross-correlation and does not flip the kernel"),
]
