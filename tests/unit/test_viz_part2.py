"""Part-2 visualizers (lectures 05-09): their logic against torch, their widgets headlessly."""

from __future__ import annotations

import datetime
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import utils
from utils import viz_2d, viz_multichannel, viz_part2_layers, viz_receptive
from utils.viz_receptive import Layer


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny tensors: one thread is fastest, and far faster on a busy machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _no_render(viz) -> None:
    """Skip the PNG step in tests that only check the numbers behind the picture."""
    viz.view.render = lambda: b""


def _conv(image, kernel, padding=0, stride=1):
    x = torch.as_tensor(np.asarray(image, dtype=np.float64))[None, None]
    w = torch.as_tensor(np.asarray(kernel, dtype=np.float64))[None, None]
    return F.conv2d(x, w, padding=padding, stride=stride)[0, 0].numpy()


def _count_renders(viz) -> list[int]:
    calls = [0]
    original = viz.view.render

    def counting():
        calls[0] += 1
        return original()

    viz.view.render = counting
    return calls


# --- 2D convolution: seeds and step logic --------------------------------------------------

def test_seed_feature_maps():
    assert viz_2d.conv2d_torch(viz_2d.SEED_X_IMAGE, viz_2d.SEED_X_KERNEL).tolist() == \
        [[4, 3, 4], [2, 4, 3], [2, 3, 4]]
    assert viz_2d.conv2d_torch(viz_2d.SEED_6X6_IMAGE, viz_2d.SEED_DIAGONAL_FILTER).tolist() == \
        [[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]]
    assert viz_2d.conv2d_torch(viz_2d.SEED_6X6_IMAGE, viz_2d.SEED_VERTICAL_FILTER).tolist() == \
        [[-1, -1, -1, -1], [-1, -1, -2, 1], [-1, -1, -2, 1], [-1, 0, -4, 3]]


def test_conv_step_matches_torch_for_random_configs():
    rng = np.random.default_rng(0)
    for _ in range(12):
        height, width = rng.integers(3, 8, size=2)
        ksize, padding, stride = int(rng.integers(1, 4)), int(rng.integers(0, 3)), \
            int(rng.integers(1, 4))
        image = rng.integers(-3, 4, size=(height, width)).astype(np.float64)
        kernel = rng.integers(-2, 3, size=(ksize, ksize)).astype(np.float64)
        expected = _conv(image, kernel, padding, stride)
        padded = np.pad(image, padding)
        assert viz_2d.step_count(image, kernel, padding, stride) == expected.size
        for index in range(expected.size):
            step = viz_2d.conv_step(image, kernel, padding, stride, index)
            row, col = divmod(index, expected.shape[1])
            assert (step.row, step.col, step.out_shape) == (row, col, expected.shape)
            window = padded[row * stride:row * stride + ksize, col * stride:col * stride + ksize]
            np.testing.assert_array_equal(step.patch, window)
            np.testing.assert_array_equal(step.products, window * kernel)
            assert step.total == expected[row, col]
        with pytest.raises(ValueError):
            viz_2d.conv_step(image, kernel, padding, stride, expected.size)


def test_products_text_reads_like_the_seed():
    step = viz_2d.conv_step(viz_2d.SEED_X_IMAGE, viz_2d.SEED_X_KERNEL, 0, 1, 1)
    text = viz_2d.products_text(step, viz_2d.SEED_X_KERNEL)
    assert text.splitlines()[0] == "(1 × 1) + (1 × 0) + (0 × 1) +"
    assert text.endswith("=  3")


def test_filter_image_matches_torch_with_replicated_border():
    rng = np.random.default_rng(1)
    image = rng.random((9, 7)).astype(np.float32)
    for kernel in [rng.normal(size=(3, 3)), *viz_2d.PRESET_KERNELS.values()]:
        expected = _conv(np.pad(image, 1, mode="edge"), kernel)
        np.testing.assert_allclose(viz_2d.filter_image(image, kernel), expected, atol=1e-5)
    np.testing.assert_allclose(
        viz_2d.filter_image(image, viz_2d.PRESET_KERNELS["identity"]), image, atol=1e-6)
    shifted = viz_2d.filter_image(image, viz_2d.PRESET_KERNELS["shift left by one pixel"])
    np.testing.assert_allclose(shifted[:, :-1], image[:, 1:], atol=1e-6)
    blur = viz_2d.PRESET_KERNELS["Gaussian blur"]
    assert blur[0, 0] == 1 / 16 and blur[0, 1] == 1 / 8 and blur[1, 1] == 1 / 4
    assert viz_2d.PRESET_KERNELS["Laplacian edges"][1, 1] == 8


def test_kernel_editor_presets_and_cells():
    editor = viz_2d.KernelEditor()
    renders = _count_renders(editor)
    before = editor.view.image.value
    editor.preset.value = "Sobel x (vertical edges)"
    assert renders[0] == 1, "a preset must redraw once, not once per cell"
    assert editor.view.image.value != before
    np.testing.assert_array_equal(editor.kernel(), viz_2d.PRESET_KERNELS["Sobel x (vertical edges)"])
    np.testing.assert_allclose(editor.out_image.get_array(),
                               viz_2d.filter_image(editor.image, editor.kernel()), atol=1e-6)
    before = editor.view.image.value
    editor.cells[1][1].value = 3.0
    assert editor.preset.value == viz_2d.CUSTOM
    assert editor.view.image.value != before
    editor.cells[1][1].value = 0.0
    assert editor.preset.value == "Sobel x (vertical edges)"


def test_step_through_widget_follows_torch():
    viz = viz_2d.StepThrough()
    assert viz.step.max == viz.play.max == 8
    before = viz.view.image.value
    viz.step.value = 4
    assert viz.view.image.value != before
    out = _conv(viz_2d.SEED_X_IMAGE, viz_2d.SEED_X_KERNEL)
    for index in range(9):
        viz.step.value = index
        step = viz.current()
        assert step.products.sum() == out[step.row, step.col] == step.total
        assert viz.sum_text.get_text().endswith(f"=  {out[step.row, step.col]:g}")
    _no_render(viz)
    for example, padding, stride in itertools.product(viz_2d.STEP_EXAMPLES, (0, 2), (1, 3)):
        viz.example.value, viz.padding.value, viz.stride.value = example, padding, stride
        image, kernel = viz_2d.STEP_EXAMPLES[example]
        expected = _conv(image, kernel, padding, stride)
        assert viz.step.max == viz.play.max == expected.size - 1
        viz.step.value = viz.step.max
        step = viz.current()
        assert step.total == expected[-1, -1]
        shown = viz.out_image.get_array()
        np.testing.assert_array_equal(np.asarray(shown), expected)


# --- channels and pooling ------------------------------------------------------------------

def test_conv1x1_is_a_matrix_product_per_pixel():
    rng = np.random.default_rng(2)
    image = rng.random((5, 6, 3)).astype(np.float32)
    weights = rng.normal(size=(4, 3)).astype(np.float32)
    bias = rng.normal(size=4).astype(np.float32)
    out = viz_part2_layers.conv1x1(image, weights, bias)
    expected = (image.reshape(-1, 3) @ weights.T + bias).T.reshape(4, 5, 6)
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_channel_mixer_widget():
    mixer = viz_part2_layers.ChannelMixer()
    renders = _count_renders(mixer)
    before = mixer.view.image.value
    mixer.preset.value = "luminance (0.299 R + 0.587 G + 0.114 B)"
    assert renders[0] == 1 and mixer.view.image.value != before
    expected = mixer.image @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    np.testing.assert_allclose(mixer.out_image.get_array(), expected, atol=1e-5)
    before = mixer.view.image.value
    mixer.bias.value = 0.5
    assert mixer.preset.value == viz_part2_layers.CUSTOM and mixer.view.image.value != before


def test_pooling_logic_and_shift_invariance():
    rng = np.random.default_rng(3)
    features = rng.random((8, 12)).astype(np.float32)
    blocks = features.reshape(4, 2, 6, 2)
    np.testing.assert_allclose(viz_part2_layers.pool(features, 2, "max"), blocks.max(axis=(1, 3)))
    np.testing.assert_allclose(viz_part2_layers.pool(features, 2, "average"),
                               blocks.mean(axis=(1, 3)), atol=1e-6)
    assert viz_part2_layers.pool(np.zeros((150, 150), np.float32), 2, "max").shape == (75, 75)
    explorer = viz_part2_layers.PoolingExplorer()
    changes = {}
    for size in (1, 2, 4):
        before = explorer.view.image.value
        explorer.size.value = size
        if size != 2:
            assert explorer.view.image.value != before
        changes[size] = viz_part2_layers.relative_change(*explorer.maps())
    assert changes[1] > changes[2] > changes[4]
    explorer.shift.value = 0
    assert viz_part2_layers.relative_change(*explorer.maps()) == 0


# --- receptive fields ----------------------------------------------------------------------

def _random_stack(layers: list[Layer], seed: int) -> nn.Sequential:
    """The test's own model: random positive weights, average pooling (no shared code)."""
    generator = torch.Generator().manual_seed(seed)
    modules = []
    for layer in layers:
        if layer.kind == "conv":
            conv = nn.Conv2d(1, 1, layer.kernel, stride=layer.stride, dilation=layer.dilation,
                             padding=layer.dilation * (layer.kernel - 1) // 2, bias=False)
            with torch.no_grad():
                conv.weight.copy_(torch.rand(conv.weight.shape, generator=generator) + 0.5)
            modules.append(conv)
        else:
            modules.append(nn.AvgPool2d(layer.kernel, layer.stride))
    return nn.Sequential(*modules).double()


def _autograd_support(layers: list[Layer], size: int, row: int, col: int) -> np.ndarray:
    x = torch.zeros(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    _random_stack(layers, seed=row * 100 + col)(x)[0, 0, row, col].backward()
    return x.grad[0, 0].numpy() != 0


def _formula(layers: list[Layer]) -> int:
    field, jump = 1, 1
    for layer in layers:
        field += (layer.kernel - 1) * layer.dilation * jump
        jump *= layer.stride
    return field


_EXPLORER: list[viz_receptive.RFExplorer] = []


def _shared_explorer() -> viz_receptive.RFExplorer:
    if not _EXPLORER:
        _EXPLORER.append(viz_receptive.RFExplorer())
        _no_render(_EXPLORER[0])
    return _EXPLORER[0]


def test_parse_stack():
    assert viz_receptive.parse_stack("conv3, conv5s2d3 pool2 pool3s2") == [
        Layer("conv", 3, 1, 1), Layer("conv", 5, 2, 3), Layer("pool", 2, 2, 1),
        Layer("pool", 3, 2, 1)]
    for bad in ("", "conv", "conv3 x", "pool2d2", "conv0"):
        with pytest.raises(ValueError):
            viz_receptive.parse_stack(bad)


@pytest.mark.parametrize("spec", ["conv3 conv3 conv3", "conv3s2 conv3 conv3",
                                  "conv3 conv3 pool2 conv3 conv3 pool2 conv3",
                                  "conv3 conv3d2 conv3d4 conv3d8", "conv3d2 conv3d2",
                                  "conv3d3 conv3d3 conv3d3", "conv5s2 pool3s2 conv3d2"])
def test_receptive_field_matches_autograd_and_formula(spec):
    layers = viz_receptive.parse_stack(spec)
    assert viz_receptive.receptive_field_size(layers) == _formula(layers)
    explorer = _shared_explorer()
    explorer.spec.value = spec
    size = explorer.image.shape[0]
    units = {(explorer.row.value, explorer.col.value), (0, 0), (explorer.row.max, 1)}
    for row, col in units:
        explorer.row.value, explorer.col.value = row, col
        expected = _autograd_support(layers, size, row, col)
        np.testing.assert_array_equal(explorer.mask, expected)
        highlighted = explorer.overlay.get_array()[..., 3] > 0
        np.testing.assert_array_equal(highlighted, expected)


def test_receptive_field_growth_and_gridding():
    sizes = [viz_receptive.receptive_field_size(viz_receptive.parse_stack("conv3 " * n))
             for n in (1, 2, 3, 4)]
    assert sizes == [3, 5, 7, 9]
    dilated = [viz_receptive.receptive_field_size(viz_receptive.parse_stack(spec)) for spec in
               ("conv3", "conv3 conv3d2", "conv3 conv3d2 conv3d4", "conv3 conv3d2 conv3d4 conv3d8")]
    assert dilated == [3, 7, 15, 31]
    explorer = viz_receptive.RFExplorer(preset="dilation 2, 2 (gridding)")
    top, left, height, width = viz_receptive.support_box(explorer.mask)
    assert (height, width) == (9, 9) and explorer.mask.sum() == 25
    explorer.preset.value = "dilation 1, 2, 4 (exponential)"
    assert explorer.mask.sum() == 15 * 15


def test_rf_explorer_controls_and_errors():
    explorer = viz_receptive.RFExplorer()
    renders = _count_renders(explorer)
    before = explorer.view.image.value
    explorer.preset.value = "four 3x3 convs"
    assert renders[0] == 1 and explorer.view.image.value != before
    assert explorer.spec.value == viz_receptive.PRESET_STACKS["four 3x3 convs"]
    before = explorer.view.image.value
    explorer.col.value = 3
    assert explorer.view.image.value != before
    explorer.spec.value = "conv3 pool2"
    assert explorer.preset.value == viz_receptive.CUSTOM
    assert explorer.row.max == explorer.image.shape[0] // 2 - 1
    explorer.spec.value = "conv3 nonsense"
    assert "cannot read" in explorer.message.value
    explorer.spec.value = "pool8 pool8 pool8"
    assert "too small" in explorer.message.value


def test_every_visualizer_builds_without_arguments():
    for cls in (viz_2d.KernelEditor, viz_2d.StepThrough, viz_part2_layers.ChannelMixer,
                viz_part2_layers.PoolingExplorer, viz_receptive.RFExplorer,
                viz_multichannel.MultiChannelStepThrough):
        viz = cls()
        assert viz.controls and bytes(viz.view.image.value).startswith(b"\x89PNG")
        assert viz.widget().children[-1] is viz.view.image


def _png_bytes(array: np.ndarray) -> bytes:
    import io

    import matplotlib.image

    buffer = io.BytesIO()
    matplotlib.image.imsave(buffer, array, format="png", cmap="gray", vmin=0, vmax=1)
    return buffer.getvalue()


def _upload(content: bytes, name: str = "mine.png") -> tuple[dict, ...]:
    return ({"name": name, "type": "image/png", "size": len(content), "content": memoryview(content),
             "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)},)


def test_image_from_bytes_decodes_png_to_grey_and_resizes_by_area():
    ramp = np.tile(np.linspace(0, 1, 64), (32, 1))                 # 32x64, left dark, right bright
    grey = viz_2d.image_from_bytes(_png_bytes(ramp), size=16)
    assert grey.shape == (16, 32) and grey.dtype == np.float32
    # area interpolation by 2: each pixel is the mean of a 2x2 block of the (8-bit) file
    stored = np.round(ramp * 255) / 255
    expected = stored.reshape(16, 2, 32, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(grey, expected, atol=2 / 255)
    for bad, words in ((b"", "empty"), (b"not an image at all", "not a PNG or JPEG")):
        with pytest.raises(ValueError, match=words):
            viz_2d.image_from_bytes(bad)


def test_kernel_editor_uses_an_uploaded_image_and_reports_a_bad_file():
    editor = viz_2d.KernelEditor()
    checker = np.kron(np.eye(2)[np.r_[0, 1] % 2], np.ones((40, 40)))   # 80x80 black/white blocks
    editor.upload.value = _upload(_png_bytes(checker))
    assert editor.image.shape == (128, 128) and editor.source == "mine.png"
    np.testing.assert_allclose(editor.out_image.get_array(),
                               viz_2d.filter_image(editor.image, editor.kernel()), atol=1e-6)
    assert not editor.showing_problem
    picture = editor.view.image.value
    editor.upload.value = _upload(b"\x00garbage", "broken.jpg")
    assert editor.showing_problem and editor.view.image.value != picture
    assert "could not use broken.jpg" in editor.message.value
    assert editor.image.shape == (128, 128)                       # the last good image stays
    editor.preset.value = "identity"                              # a valid edit clears the panel
    assert not editor.showing_problem
    editor.photo_button.click()
    assert editor.source == "photo" and editor.image.shape == (150, 128)


def test_load_sample_image_averages_blocks_instead_of_subsampling():
    full = utils.load_sample_image()
    small = utils.load_sample_image(size=128)
    assert small.shape == (150, 128, 3)
    np.testing.assert_allclose(small, full.reshape(150, 4, 128, 4, 3).mean(axis=(1, 3)), atol=1e-6)
    assert not np.allclose(small, full[::4, ::4])                 # what the old code returned
    assert utils.load_sample_image(gray=True, size=96).shape == (120, 103)


@pytest.mark.parametrize("padding, stride", [(0, 1), (1, 1), (1, 2), (0, 2)])
def test_multichannel_step_matches_conv2d(padding, stride):
    rng = np.random.default_rng(padding * 10 + stride)
    image = rng.integers(-5, 6, size=(3, 5, 6)).astype(float)
    weight = rng.integers(-2, 3, size=(3, 3, 3)).astype(float)
    bias = -3.0
    reference = F.conv2d(torch.tensor(image)[None], torch.tensor(weight)[None],
                         torch.tensor([bias], dtype=torch.float64), padding=padding,
                         stride=stride)[0, 0].numpy()
    for t in range(reference.size):
        step = viz_multichannel.multichannel_step(image, weight, bias, padding, stride, t)
        assert step.out_shape == reference.shape
        assert step.total == pytest.approx(reference.flat[t])
        assert step.activation == pytest.approx(max(reference.flat[t], 0.0))
        # each channel's sum is the one-channel convolution of that channel
        for c in range(3):
            alone = F.conv2d(torch.tensor(image[c:c + 1])[None], torch.tensor(weight[c:c + 1])[None],
                             padding=padding, stride=stride)[0, 0].numpy()
            assert step.channel_sums[c] == pytest.approx(alone.flat[t])
    with pytest.raises(ValueError):
        viz_multichannel.multichannel_step(image, weight, bias, padding, stride, reference.size)


def test_multichannel_worked_example_and_formula_view():
    ex = viz_multichannel
    step = ex.multichannel_step(ex.RGB_IMAGE, ex.RGB_FILTER, ex.RGB_BIAS, padding=1, stride=1, step=0)
    assert step.channel_sums.tolist() == [308, -498, 164] and step.total == -25 and step.activation == 0
    text = ex.formula_text(step, ex.RGB_FILTER)
    assert text.splitlines()[0].startswith("R: 0·-1 + 0·-1 + 0·1 + 0·0 + 156·1")
    assert "= 308" in text and "= -498" in text and "ReLU(-25) = 0" in text


def test_multichannel_widget_bias_relu_and_steps():
    viz = viz_multichannel.MultiChannelStepThrough()
    assert viz.step.max == viz.play.max == 24
    renders = _count_renders(viz)
    before = viz.view.image.value
    viz.bias.value = 30                                           # -25 - 1 + 30 = 4 > 0
    assert renders[0] == 1 and viz.view.image.value != before
    assert viz.current().total == 4 and viz.current().activation == 4
    assert viz.out_images[1].get_array()[0, 0] == 4
    viz.stride.value = 2
    assert viz.step.max == 8                                      # 3x3 placements with stride 2
    viz.step.value = 8
    ref = viz_multichannel.conv_output(viz.image, viz.weight, 30, 1, 2)
    assert viz.current().total == pytest.approx(ref[2, 2])


def test_base_class_guard_and_problem_picture():
    viz = viz_2d.StepThrough()
    renders = _count_renders(viz)
    with viz.holding():
        viz.step.value = 3
        with viz.holding():
            viz.step.value = 4
        viz.step.value = 5                                        # still held after the inner block
    assert renders[0] == 0
    viz.refresh()
    assert renders[0] == 1 and not viz.showing_problem
    picture = viz.view.image.value
    viz.show_problem("the kernel does not fit")
    assert viz.showing_problem and viz.view.image.value != picture
    assert "does not fit" in viz.message.value
    viz.step.value = 0
    assert not viz.showing_problem


def test_rf_calculator_refuses_absurd_stacks_in_words():
    with pytest.raises(ValueError, match="at most"):
        viz_receptive.parse_stack(" ".join(["conv3"] * (viz_receptive.MAX_LAYERS + 1)))
    with pytest.raises(ValueError, match="kernels up to"):
        viz_receptive.parse_stack("conv99")
    with pytest.raises(ValueError, match="larger than"):
        viz_receptive.receptive_field_size(viz_receptive.parse_stack("conv15s8 " * 4))
    explorer = viz_receptive.RFExplorer()
    explorer.spec.value = "conv15s8 conv15s8 conv15s8 conv15s8"
    assert explorer.showing_problem and "cannot show this stack" in explorer.message.value
