"""Lecture 14's helpers and widget: upsampling methods and transposed-convolution overlap counts.

Oracles: hand-written NumPy (np.repeat, an explicit scatter loop for the transposed convolution),
and worked examples (stride 2 kernel 3 alternates 1, 2 taps; kernel 4 is even inside).
"""

from __future__ import annotations

import numpy as np
import pytest

import utils.upsampling as up
import utils.viz_upsampling as vu

RNG = np.random.default_rng(14)


def _scatter_counts(size: int, kernel: int, stride: int, padding: int) -> np.ndarray:
    """Each input pixel stamps a kernel x kernel block of ones at stride * position, then crop."""
    full = (size - 1) * stride + kernel
    out = np.zeros((full, full), dtype=np.int64)
    for i in range(size):
        for j in range(size):
            out[i * stride:i * stride + kernel, j * stride:j * stride + kernel] += 1
    return out[padding:full - padding, padding:full - padding]


@pytest.mark.parametrize("kernel,stride,padding", [(3, 2, 0), (4, 2, 1), (5, 3, 2), (2, 2, 0), (1, 3, 0)])
def test_overlap_counts_match_a_scatter_loop(kernel, stride, padding):
    assert np.array_equal(up.overlap_counts(6, kernel, stride, padding),
                          _scatter_counts(6, kernel, stride, padding))


def test_checkerboard_worked_example():
    counts = up.overlap_counts(8, 3, 2)
    core = counts[3:-3, 3:-3]
    assert set(np.unique(core)) == {1, 2, 4}  # 1 or 2 taps per direction, multiplied
    assert np.array_equal(core[:, ::2], core[:, ::2][:, :1].repeat(core[:, ::2].shape[1], 1))
    assert not np.array_equal(core[:, 0], core[:, 1])  # period 2: neighbours differ
    assert up.unevenness(counts, 3) == pytest.approx((4 - 1) / counts[3:-3, 3:-3].mean())
    assert up.unevenness(up.overlap_counts(8, 4, 2), 4) == 0.0


def test_nearest_is_a_block_copy_and_bilinear_keeps_constants():
    image = RNG.random((5, 7)).astype(np.float32)
    assert np.array_equal(up.upsample(image, 3, "nearest"), np.repeat(np.repeat(image, 3, 0), 3, 1))
    assert np.allclose(up.upsample(np.full((4, 4), 0.3), 2, "bilinear"), 0.3)
    with pytest.raises(ValueError):
        up.upsample(image, 2, "cubic")


def test_max_unpool_puts_each_maximum_back_and_zeros_elsewhere():
    image = RNG.random((6, 8)).astype(np.float32)
    pooled, unpooled = up.max_unpool_roundtrip(image, 2)
    blocks = image.reshape(3, 2, 4, 2).max(axis=(1, 3))
    assert np.array_equal(pooled, blocks)
    assert np.count_nonzero(unpooled) == 12
    assert np.array_equal(unpooled[unpooled != 0], image[unpooled != 0])
    assert np.array_equal(unpooled.reshape(3, 2, 4, 2).max(axis=(1, 3)), blocks)


def test_transposed_upsample_of_a_constant_shows_the_counts():
    out = up.transposed_upsample(np.ones((6, 6)), kernel=3, stride=2)
    assert np.allclose(out, up.overlap_counts(6, 3, 2) * 4 / 9)


def test_widget_redraws_and_explains_invalid_settings():
    explorer = vu.TransposedConvExplorer()
    before = explorer.view.image.value
    assert "uneven" in explorer.message.value
    explorer.kernel.value = 4
    assert explorer.view.image.value != before
    assert "even: no checkerboard" in explorer.message.value
    explorer.kernel.value, explorer.stride.value, explorer.padding.value = 1, 1, 4
    assert explorer.showing_problem
    assert "padding" in explorer.message.value.lower()
    explorer.padding.value = 0
    assert not explorer.showing_problem
