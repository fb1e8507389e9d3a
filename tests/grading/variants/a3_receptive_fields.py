"""Common mistakes in assignment 3 (receptive fields), graded by the real ``nbgrader autograde``.

Each mistake is the instructor's solution of one function with a small edit (``_edit``), so
the wrong answer differs from the right one exactly where a student typically slips.
"""

from __future__ import annotations

from variants import Mistake, SolutionEditor

ASSIGNMENT = "a3_receptive_fields"
NOTEBOOK = "receptive_fields"


_editor = SolutionEditor(ASSIGNMENT, NOTEBOOK)
_solution, _edit = _editor.solution, _editor.edit


CLOSED_FORM = ("test_receptive_field", "test_receptive_field_hidden")
MEASURED = ("test_measure_receptive_field", "test_measure_receptive_field_hidden")

MISTAKES = [
    # receptive_field
    Mistake("rf_stride_ignored",
            _edit("receptive_field", ("jump *= stride", "jump = 1")),
            CLOSED_FORM, "the product of the strides of the EARLIER layers only"),
    Mistake("rf_own_stride_included",
            _edit("receptive_field", ("size += (kernel_size - 1) * dilation * jump\n        jump *= stride",
                                      "jump *= stride\n        size += (kernel_size - 1) * dilation * jump")),
            CLOSED_FORM, "the product of the strides of the EARLIER layers only"),
    Mistake("rf_dilation_ignored",
            _edit("receptive_field", ("* dilation * jump", "* jump")),
            CLOSED_FORM, "dilation d spreads a kernel's taps d apart"),
    Mistake("rf_missing_one",
            _edit("receptive_field", ("size, jump = 1, 1", "size, jump = 0, 1")),
            CLOSED_FORM, "start from r = 1"),
    # measure_receptive_field
    Mistake("measure_counts_pixels",
            _edit("measure_receptive_field", ("return int(rows.max() - rows.min() + 1)",
                                              "return int(torch.count_nonzero(x.grad))")),
            MEASURED, "you counted non-zero pixels"),
    Mistake("measure_corner_unit",
            _edit("measure_receptive_field", ("out[0, 0, h_out // 2, w_out // 2].backward()",
                                              "out[0, 0, 0, 0].backward()")),
            MEASURED, "use the CENTRE output unit"),
    Mistake("measure_whole_output",
            _edit("measure_receptive_field", ("out[0, 0, h_out // 2, w_out // 2].backward()",
                                              "out.sum().backward()")),
            MEASURED, "backpropagate from ONE output unit"),
    Mistake("measure_counts_rows",
            _edit("measure_receptive_field", ("return int(rows.max() - rows.min() + 1)",
                                              "return int(rows.numel())")),
            MEASURED, "dilated layers leave holes in the gradient (gridding)"),
]
