"""Part 1 visualizers: their index/array logic against torch, and their widgets, headless.

The oracles here are independent of the code under test: the output-length formula written
out, ``nn.Conv1d`` modules, autograd Jacobians, ``np.convolve``/``np.correlate`` and ``np.roll``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import utils.viz_1d as v1
import utils.viz_dice as vd
import utils.viz_invariance as vi

RNG = np.random.default_rng(2024)


def _random_configs(count: int) -> list[tuple[int, int, int, int, int]]:
    """(L, K, S, P, D) in ranges that include many configurations that do not fit."""
    return [(int(RNG.integers(1, 17)), int(RNG.integers(1, 8)), int(RNG.integers(1, 5)),
             int(RNG.integers(0, 4)), int(RNG.integers(1, 4))) for _ in range(count)]


CONFIGS = _random_configs(150)


def _formula(length, kernel, stride, padding, dilation) -> int:
    return (length + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _autograd_jacobian(length, kernel, stride, padding, dilation) -> np.ndarray:
    weight = torch.arange(1, kernel + 1, dtype=torch.float64).view(1, 1, kernel)

    def conv(x):
        return F.conv1d(x.view(1, 1, -1), weight, stride=stride, padding=padding,
                        dilation=dilation).view(-1)

    jac = torch.autograd.functional.jacobian(conv, torch.randn(length, dtype=torch.float64))
    return jac.numpy()


def test_configs_cover_both_fitting_and_non_fitting_cases():
    fits = [_formula(*c) >= 1 for c in CONFIGS]
    assert 20 < sum(fits) < len(fits) - 20


@pytest.mark.parametrize("config", CONFIGS)
def test_output_length_matches_conv1d_or_explains_in_words(config):
    length, kernel, stride, padding, dilation = config
    n_out, reason = v1.torch_output_length(*config)
    layer = torch.nn.Conv1d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation)
    expected = _formula(*config)
    if expected >= 1:
        assert n_out == expected == layer(torch.zeros(1, 1, length)).shape[-1]
        assert reason == ""
    else:
        assert n_out is None
        assert "does not fit" in reason and str(length) in reason
        geometry = v1.conv_geometry(*config)          # never raises
        assert not geometry.valid and geometry.matrix is None
        assert "does not fit" in geometry.message


@pytest.mark.parametrize("config", [c for c in CONFIGS if _formula(*c) >= 1][:60])
def test_connection_matrix_is_the_autograd_jacobian(config):
    geometry = v1.conv_geometry(*config)
    jac = _autograd_jacobian(*config)
    np.testing.assert_array_equal(geometry.matrix, jac.round().astype(int))
    assert geometry.matrix.shape == (_formula(*config), config[0])
    # the padded picture shows the same connections in its middle columns
    padding = config[3]
    middle = geometry.padded_matrix[:, padding:padding + config[0]]
    np.testing.assert_array_equal(middle, geometry.matrix)
    # every output uses exactly K padded positions, one per tap, in order
    for row in geometry.padded_matrix:
        taps = row[row > 0]
        np.testing.assert_array_equal(taps, np.arange(1, config[1] + 1))


def _pattern(rows: list[list[int]], length: int = 8) -> np.ndarray:
    """Seed tables: row i lists the 1-based inputs x_j that output h_i reads."""
    out = np.zeros((len(rows), length), dtype=bool)
    for i, cols in enumerate(rows):
        out[i, [c - 1 for c in cols]] = True
    return out


def test_seed_questions_connection_patterns():
    # Question 1: kernel 5, stride 1, dilation 1, zero padding -> 8 outputs
    q1 = v1.conv_geometry(8, 5, 1, 2, 1)
    assert q1.output_length == 8
    assert _pattern([[max(1, i - 2) + k for k in range(min(i + 2, 8) - max(1, i - 2) + 1)]
                     for i in range(1, 9)]).tolist() == (q1.matrix > 0).tolist()
    # Question 2: kernel 3, valid -> 6 outputs, h_i reads x_i, x_i+1, x_i+2
    q2 = v1.conv_geometry(8, 3, 1, 0, 1)
    assert q2.output_length == 6
    assert (q2.matrix > 0).tolist() == _pattern([[i, i + 1, i + 2] for i in range(1, 7)]).tolist()
    # Question 3 (printed in the seed): kernel 3, dilation 2, zero padding
    seed_q3 = _pattern([[1, 3], [2, 4], [1, 3, 5], [2, 4, 6], [3, 5, 7], [4, 6, 8], [5, 7],
                        [6, 8]])
    q3 = v1.conv_geometry(8, 3, 1, 2, 2)
    assert q3.output_length == 8
    assert (q3.matrix > 0).tolist() == seed_q3.tolist()


def test_connection_explorer_redraws_and_flags_bad_configs_in_words():
    explorer = v1.ConnectionMatrixExplorer()
    assert explorer.controls and bytes(explorer.view.image.value)
    before = bytes(explorer.view.image.value)
    explorer.kernel_size.value = 5
    assert bytes(explorer.view.image.value) != before
    assert explorer.geometry.kernel_size == 5
    changes = [(explorer.length, 12), (explorer.kernel_size, 4), (explorer.stride, 2),
               (explorer.padding, 3), (explorer.dilation, 2), (explorer.output, 3)]
    for control, value in changes:  # every control redraws
        before = bytes(explorer.view.image.value)
        control.value = value
        assert control.value == value, control.description
        assert bytes(explorer.view.image.value) != before, control.description
    # a dilated kernel longer than the input: message in words, no exception
    explorer.length.value, explorer.padding.value = 5, 0
    explorer.kernel_size.value, explorer.dilation.value = 3, 3
    assert not explorer.geometry.valid
    assert "does not fit" in explorer.message.value
    explorer.dilation.value = 2  # and back to a fitting one
    assert explorer.geometry.valid and explorer.geometry.output_length == 1
    assert "does not fit" not in explorer.message.value


def test_connection_explorer_ranges_depend_on_each_other():
    explorer = v1.ConnectionMatrixExplorer(length=8, kernel_size=5, padding=2)
    explorer.length.value = 3
    assert explorer.kernel_size.max == 3 and explorer.kernel_size.value == 3
    explorer.dilation.value = 2
    assert explorer.padding.max == 2 * (3 - 1)
    explorer.kernel_size.value = 1
    assert explorer.padding.max == 0 and explorer.padding.value == 0
    explorer.length.value, explorer.kernel_size.value, explorer.dilation.value = 8, 3, 1
    explorer.padding.value, explorer.stride.value = 1, 2
    assert explorer.geometry.output_length == 4 == explorer.output.max
    explorer.output.value = 4
    explorer.stride.value = 4
    assert explorer.output.max == 2 and explorer.output.value == 2


def test_correlation_and_convolution_against_numpy():
    for _ in range(20):
        x = RNG.standard_normal(int(RNG.integers(3, 20)))
        w = RNG.standard_normal(int(RNG.integers(1, 6)))
        corr, conv = v1.correlation_and_convolution(x, w)
        np.testing.assert_allclose(corr, np.correlate(x, w, mode="full"), atol=1e-5)
        np.testing.assert_allclose(conv, np.convolve(x, w, mode="full"), atol=1e-5)
    corr, conv = v1.correlation_and_convolution([0, 0, 1, 0, 0], [1, 2, 3])
    np.testing.assert_allclose(conv[2:5], [1, 2, 3])
    np.testing.assert_allclose(corr[2:5], [3, 2, 1])


def test_flip_explorer_symmetric_kernel_agrees():
    explorer = v1.FlipExplorer()
    assert "asymmetric" in explorer.message.value
    before = bytes(explorer.view.image.value)
    explorer.w[2].value = explorer.w[0].value
    assert bytes(explorer.view.image.value) != before
    assert "symmetric" in explorer.message.value and "identical: True" in explorer.message.value
    before = bytes(explorer.view.image.value)
    explorer.position.value = 7
    assert bytes(explorer.view.image.value) != before


def test_feature_map_is_shift_equivariant_and_pooling_invariant():
    for name, kernel in vi.KERNELS.items():
        x = RNG.standard_normal(vi.SIGNAL_LENGTH).astype(np.float32)
        fx = vi.feature_map(x, kernel)
        # independent oracle: circular cross-correlation centred on each sample
        half = len(kernel) // 2
        expected = sum(kernel[k] * np.roll(x, half - k) for k in range(len(kernel)))
        np.testing.assert_allclose(fx, expected, atol=1e-5, err_msg=name)
        for amount in (-30, -1, 1, 7, 40):
            shifted = vi.shift(x, amount)
            np.testing.assert_array_equal(shifted, np.roll(x, amount))
            np.testing.assert_allclose(vi.feature_map(shifted, kernel), np.roll(fx, amount),
                                       atol=1e-5)
            assert vi.pooled_score(vi.feature_map(shifted, kernel)) == pytest.approx(
                vi.pooled_score(fx), abs=1e-5)


def test_equivariance_explorer_scores():
    explorer = vi.ShiftEquivarianceExplorer()
    before = bytes(explorer.view.image.value)
    explorer.amount.value = 17
    assert bytes(explorer.view.image.value) != before
    assert "error 0.0e+00" in explorer.message.value
    heights = [bar.get_height() for bar in explorer.score_bars]
    assert heights[0] == pytest.approx(heights[1], abs=1e-5)
    assert abs(heights[2] - heights[3]) > 1e-3
    for control, value in ((explorer.signal, "photo row"), (explorer.kernel, "edge [-1, 0, 1]")):
        before = bytes(explorer.view.image.value)
        control.value = value
        assert bytes(explorer.view.image.value) != before


def test_dice_pmf_is_a_convolution_and_matches_simulation():
    for a, b in ((6, 6), (4, 3), (12, 2)):
        pmf = vd.dice_sum_pmf(a, b)
        expected = np.convolve(np.r_[0, np.full(a, 1 / a)], np.r_[0, np.full(b, 1 / b)])
        np.testing.assert_allclose(pmf, expected, atol=1e-12)
        assert pmf.sum() == pytest.approx(1.0)
        simulated = vd.simulate_dice_sums(a, b, 200_000, seed=3)
        assert np.abs(simulated - pmf).max() < 0.005
    assert vd.dice_sum_pmf(6, 6)[7] == pytest.approx(6 / 36)


def test_dice_explorer_ranges_and_redraw():
    explorer = vd.DiceSumExplorer()
    before = bytes(explorer.view.image.value)
    explorer.total.value = 10
    assert bytes(explorer.view.image.value) != before
    assert "3/36" in explorer.message.value
    explorer.faces_a.value, explorer.faces_b.value = 4, 3
    assert explorer.total.max == 7 and explorer.total.value == 7
    before = bytes(explorer.view.image.value)
    explorer.rolls.value = 100
    assert bytes(explorer.view.image.value) != before


def _render_counter(viz) -> list[int]:
    calls = [0]
    original = viz.view.render

    def counting() -> bytes:
        calls[0] += 1
        return original()

    viz.view.render = counting
    return calls


def test_range_syncing_redraws_once_through_the_base_class_guard():
    explorer = v1.ConnectionMatrixExplorer()
    renders = _render_counter(explorer)
    explorer.length.value = 2               # clamps the kernel-size maximum (and the kernel) inside holding()
    assert explorer.kernel_size.value <= 2
    assert renders[0] <= 2                  # the length change, plus at most the clamped kernel size
    dice = vd.DiceSumExplorer(total=12)
    renders = _render_counter(dice)
    dice.faces_a.value = 2                  # total.max shrinks to 8 and clamps total: still one redraw
    assert dice.total.value == 8 and renders[0] == 1
    assert not dice.showing_problem and not explorer.showing_problem
