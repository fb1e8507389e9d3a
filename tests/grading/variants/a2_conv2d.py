"""Common mistakes in assignment 2 (2D convolution, pooling, backward), graded by nbgrader.

Each mistake is the instructor's solution of one function with a small edit (``_edit``), so
the wrong answer differs from the right one exactly where a student typically slips.
"""

from __future__ import annotations

from variants import Mistake, SolutionEditor

ASSIGNMENT = "a2_conv2d"
NOTEBOOK = "conv2d"


_editor = SolutionEditor(ASSIGNMENT, NOTEBOOK)
_solution, _edit = _editor.solution, _editor.edit


FORWARD = ("test_conv2d_forward", "test_conv2d_forward_hidden")
VECTORIZED = ("test_conv2d_forward_vectorized",)
MAXPOOL = ("test_maxpool2d_forward", "test_maxpool2d_forward_hidden")
AVGPOOL = ("test_avgpool2d_forward", "test_avgpool2d_forward_hidden")
BACKWARD = ("test_conv2d_backward", "test_conv2d_backward_hidden")
PARAMS = ("test_conv2d_param_count", "test_conv2d_param_count_hidden")

# The loop version from the notebook's stepping stone, submitted as the graded function.
PIXEL_LOOPS = {"conv2d_forward": _solution("conv2d_naive").replace("def conv2d_naive(",
                                                                   "def conv2d_forward(")}

MISTAKES = [
    # conv2d_forward; the speed item also checks the result (padding 1) on its large inputs
    Mistake("forward_flipped_kernel",
            _edit("conv2d_forward", ("out = weight.reshape(c_out, -1)",
                                     "out = weight[:, :, ::-1, ::-1].reshape(c_out, -1)")),
            FORWARD + VECTORIZED, "your result matches true convolution (kernel flipped)"),
    Mistake("forward_padding_one_side",
            _edit("conv2d_forward", ("xp[:, ph:ph + h, pw:pw + w] =", "xp[:, 2 * ph:, 2 * pw:] =")),
            FORWARD + VECTORIZED, "pad `padding` zeros on all four sides"),
    Mistake("forward_stride_swapped",
            _edit("conv2d_forward", ("sh, sw = pair(stride)", "sw, sh = pair(stride)")),
            FORWARD, "the first number is the vertical stride"),
    Mistake("forward_dilation_ignored",
            _edit("conv2d_forward", ("dh, dw = pair(dilation)", "dh, dw = 1, 1")),
            FORWARD, "the taps are 2 rows apart vertically"),
    Mistake("forward_pixel_loops", PIXEL_LOOPS, VECTORIZED, "it is not vectorized"),
    # maxpool2d_forward
    Mistake("maxpool_stride_default_1",
            _edit("maxpool2d_forward", ("pair(kernel_size if stride is None else stride)",
                                        "pair(1 if stride is None else stride)")),
            MAXPOOL, "stride=None means stride = kernel_size"),
    Mistake("maxpool_mean_not_max",
            _edit("maxpool2d_forward", ("window.copy() if out is None else np.maximum(out, window)",
                                        "window / (kh * kw) if out is None else out + window / (kh * kw)")),
            MAXPOOL, "max pooling keeps the LARGEST value of each window"),
    Mistake("maxpool_starts_from_zero",
            _edit("maxpool2d_forward", ("window.copy() if out is None",
                                        "np.maximum(0.0, window) if out is None")),
            MAXPOOL, "do not start the maximum from 0"),
    # avgpool2d_forward
    Mistake("avgpool_sum_not_mean",
            _edit("avgpool2d_forward", ("return total / (kh * kw)", "return total")),
            AVGPOOL, "divides each window's sum by the window size"),
    Mistake("avgpool_stride_default_1",
            _edit("avgpool2d_forward", ("pair(kernel_size if stride is None else stride)",
                                        "pair(1 if stride is None else stride)")),
            AVGPOOL, "stride=None means stride = kernel_size"),
    Mistake("avgpool_square_kernel",
            _edit("avgpool2d_forward", ("kh, kw = pair(kernel_size)", "kh = kw = pair(kernel_size)[0]")),
            AVGPOOL, "windows of 1 row x 2 columns"),
    # conv2d_backward
    Mistake("backward_dbias_mean",
            _edit("conv2d_backward", ("dbias = dout.sum(axis=(0, 2, 3))",
                                      "dbias = dout.sum(axis=(2, 3)).mean(axis=0)")),
            BACKWARD, "sum over the batch AND all positions (not a mean)"),
    Mistake("backward_padding_not_cropped",
            _edit("conv2d_backward", ("dx = dxp[:, ph:ph + h, pw:pw + w]", "dx = dxp")),
            BACKWARD, "dx has the shape of x; crop the padding off"),
    Mistake("backward_dx_stride_ignored",
            _edit("conv2d_backward", ("dxp[:, rows, cols] +=",
                                      "dxp[:, i:i + h_out, j:j + w_out] +=")),
            BACKWARD, "dx collects dout only from the windows that cover each pixel"),
    # conv2d_param_count
    Mistake("params_no_bias",
            _edit("conv2d_param_count", (" + (out_channels if bias else 0)", "")),
            PARAMS, "one bias per OUTPUT channel"),
    Mistake("params_bias_per_input_channel",
            _edit("conv2d_param_count", ("(out_channels if bias else 0)", "(in_channels if bias else 0)")),
            PARAMS, "one bias per OUTPUT channel"),
    Mistake("params_square_kernel",
            _edit("conv2d_param_count", ("kh, kw = pair(kernel_size)", "kh = kw = pair(kernel_size)[0]")),
            PARAMS, "kernel_size=(1, 5) means KH x KW = 1 x 5"),
    Mistake("params_bias_flag_ignored",
            _edit("conv2d_param_count", ("(out_channels if bias else 0)", "out_channels")),
            PARAMS, "with bias=False there are no biases"),
]
