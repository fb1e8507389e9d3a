"""Graded checks of a1_conv1d, decided by the grader outside the student's kernel.

Visible items re-run the visible tests' calls; hidden items draw fresh random configurations.
The reference is torch (``F.conv1d``), run here in the grader. The grading kernel is NumPy
only: torch and scipy are not in it, and ``np.convolve`` / ``np.correlate`` raise.
"""

import numpy as np
import torch
import torch.nn.functional as F

from autograder.verdict import Case, FunctionCheck, KernelPolicy, close, exact_int, fixed

POLICY = KernelPolicy(
    hidden_modules=("torch", "scipy"),
    forbidden=("numpy.convolve", "numpy.correlate", "numpy._core.multiarray.correlate",
               "numpy._core.multiarray.correlate2"),
    rule="assignment a1 is NumPy only: no torch, scipy, np.convolve or np.correlate",
)


def _torch_conv1d(x, w, bias=None, stride=1, padding=0, dilation=1):
    """F.conv1d on float64 NumPy arrays x (N, C_in, L), w (C_out, C_in, K) -> (N, C_out, L_out)."""
    bias = None if bias is None else torch.from_numpy(np.array(bias, dtype=np.float64))
    return F.conv1d(torch.from_numpy(np.array(x, dtype=np.float64)),
                    torch.from_numpy(np.array(w, dtype=np.float64)), bias,
                    stride, padding, dilation).numpy()


def ref_length(length, kernel_size, stride=1, padding=0, dilation=1):
    return _torch_conv1d(np.zeros((1, 1, length)), np.zeros((1, 1, kernel_size)), None,
                         stride, padding, dilation).shape[-1]


def ref_corr1d(x, w, stride=1, padding=0, dilation=1):
    return _torch_conv1d(x[None, None], w[None, None], None, stride, padding, dilation)[0, 0]


def ref_convolve1d(x, w, padding=0):
    return _torch_conv1d(x[None, None], w[::-1][None, None], None, 1, padding)[0, 0]


def ref_matrix(length, w, stride=1, padding=0, dilation=1):
    eye = np.eye(length).reshape(length, 1, length)
    return _torch_conv1d(eye, w[None, None], None, stride, padding, dilation)[:, 0].T


def ref_layer(x, weight, bias, stride=1, padding=0, dilation=1):
    return _torch_conv1d(x, weight, bias, stride, padding, dilation)


def _configs(rng, count, high):
    """Random (L, K, S, P, D) with a kernel span that fits the padded input."""
    found = []
    for length, k, s, p, d in rng.integers(low=[1, 1, 1, 0, 1], high=high, size=(count, 5)).tolist():
        if length + 2 * p >= d * (k - 1) + 1:
            found.append((length, k, s, p, d))
    return found


def length_cases(rng):
    return [Case((length, k), dict(stride=s, padding=p, dilation=d))
            for length, k, s, p, d in _configs(rng, 150, [41, 8, 5, 4, 4])]


def corr1d_cases(rng):
    return [Case((rng.standard_normal(length), rng.standard_normal(k)),
                 dict(stride=s, padding=p, dilation=d))
            for length, k, s, p, d in _configs(rng, 120, [41, 8, 4, 4, 4])]


def convolve1d_cases(rng):
    cases = []
    for length, k, p in rng.integers(low=[1, 1, 0], high=[30, 8, 8], size=(80, 3)).tolist():
        if length + 2 * p >= k:
            cases.append(Case((rng.standard_normal(length), rng.standard_normal(k)), dict(padding=p)))
    return cases


def matrix_cases(rng):
    return [Case((length, rng.standard_normal(k)), dict(stride=s, padding=p, dilation=d))
            for length, k, s, p, d in _configs(rng, 80, [25, 6, 4, 3, 4])]


def layer_cases(rng):
    cases = []
    for n, ci, co, length, k, s, p, d in rng.integers(
            low=[1, 1, 1, 1, 1, 1, 0, 1], high=[4, 5, 6, 30, 7, 4, 4, 4], size=(60, 8)).tolist():
        if length + 2 * p >= d * (k - 1) + 1:
            cases.append(Case((rng.standard_normal((n, ci, length)), rng.standard_normal((co, ci, k)),
                               rng.standard_normal(co)), dict(stride=s, padding=p, dilation=d)))
    return cases



_x5, _w3 = np.array([1.0, 2.0, 4.0, 8.0, 16.0]), np.array([1.0, 2.0, 3.0])
_x24 = np.arange(1.0, 9.0).reshape(1, 2, 4)
_w_layer = np.array([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [-1.0, 0.0]]])
_precise = close(rtol=1e-6, atol=1e-8)

CHECKS = {
    "test_conv_output_length": FunctionCheck(
        "conv_output_length",
        fixed(Case((10, 3)), Case((10, 3), dict(stride=2)), Case((10, 3), dict(padding=2)),
               Case((10, 3), dict(dilation=2)),
               Case((11, 4), dict(stride=3, padding=1, dilation=2))),
        ref_length, exact_int),
    "test_conv_output_length_hidden": FunctionCheck(
        "conv_output_length", length_cases, ref_length, exact_int, min_cases=80),
    "test_corr1d": FunctionCheck(
        "corr1d",
        fixed(Case((_x5, _w3)), Case((np.arange(1.0, 9.0), np.ones(2)), dict(stride=3)),
               Case((np.array([1.0, 2.0, 3.0]), np.ones(3)), dict(padding=1)),
               Case((np.arange(1.0, 8.0), np.array([1.0, 10.0, 100.0])), dict(dilation=2)),
               Case((np.arange(1.0, 11.0), np.array([1.0, -1.0, 2.0])),
                    dict(stride=2, padding=2, dilation=2))),
        ref_corr1d),
    "test_corr1d_hidden": FunctionCheck("corr1d", corr1d_cases, ref_corr1d, _precise, min_cases=60),
    "test_convolve1d": FunctionCheck(
        "convolve1d",
        fixed(Case((_x5, _w3)),
               Case((np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0])), dict(padding=1))),
        ref_convolve1d),
    "test_convolve1d_hidden": FunctionCheck(
        "convolve1d", convolve1d_cases, ref_convolve1d, _precise, min_cases=40),
    "test_conv1d_matrix": FunctionCheck(
        "conv1d_matrix",
        fixed(Case((4, _w3)), Case((5, np.ones(2)), dict(stride=2)),
               Case((3, _w3), dict(padding=1)), Case((5, np.array([1.0, 2.0])), dict(dilation=3))),
        ref_matrix),
    "test_conv1d_matrix_hidden": FunctionCheck(
        "conv1d_matrix", matrix_cases, ref_matrix, close(rtol=0, atol=1e-10), min_cases=40),
    "test_conv1d_layer": FunctionCheck(
        "conv1d_layer",
        fixed(Case((np.ones((2, 3, 7)), np.zeros((4, 3, 3)), np.array([1.0, 2.0, 3.0, 4.0]))),
               Case((np.ones((1, 3, 5)), np.ones((1, 3, 2)), np.zeros(1))),
               Case((_x5.reshape(1, 1, 5), _w3.reshape(1, 1, 3), np.zeros(1))),
               Case((np.arange(1.0, 9.0).reshape(1, 1, 8), np.ones((1, 1, 2)), np.zeros(1)),
                    dict(stride=3)),
               Case((_x5.reshape(1, 1, 5), np.ones((1, 1, 2)), np.zeros(1)),
                    dict(padding=1, dilation=2)),
               Case((_x24, _w_layer, np.array([0.5, -1.0])), dict(stride=2, padding=1)),
               Case((_x24, _w_layer, np.array([0.5, -1.0])), dict(padding=1, dilation=2))),
        ref_layer),
    "test_conv1d_layer_hidden": FunctionCheck(
        "conv1d_layer", layer_cases, ref_layer, _precise, min_cases=30),
}
