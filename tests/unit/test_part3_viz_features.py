"""Feature-map explorer (lecture 12): its activations are the model's own, and controls redraw it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from utils.viz_features import FeatureMapExplorer, layer_activations, spatial_layers
from utils.widgets import Visualizer


class SmallLeNet(nn.Module):
    """An untrained LeNet-like network with every step as a module: (N, 1, 28, 28) -> (N, 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.act1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.act2 = nn.Tanh()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(400, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.act1(self.conv1(x)))
        x = self.pool2(self.act2(self.conv2(x)))
        return self.fc(self.flatten(x))


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    model = SmallLeNet()
    images = torch.randn(12, 1, 28, 28)
    labels = torch.arange(12) % 10
    explorer = FeatureMapExplorer(model, images, labels=labels,
                                  class_names=tuple(f"class{i}" for i in range(10)))
    return model, images, explorer


def manual_forward(model: SmallLeNet, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every intermediate tensor of SmallLeNet, computed step by step without hooks."""
    out = {}
    with torch.no_grad():
        out["conv1"] = model.conv1(x)
        out["act1"] = torch.relu(out["conv1"])
        out["pool1"] = torch.nn.functional.max_pool2d(out["act1"], 2)
        out["conv2"] = model.conv2(out["pool1"])
        out["act2"] = torch.tanh(out["conv2"])
        out["pool2"] = torch.nn.functional.max_pool2d(out["act2"], 2)
    return out


def test_offers_exactly_the_feature_map_layers_in_order(setup):
    model, images, explorer = setup
    expected = ["conv1", "act1", "pool1", "conv2", "act2", "pool2"]
    assert spatial_layers(model, images[:1]) == expected
    assert list(explorer.layer_menu.options) == expected
    assert isinstance(explorer, Visualizer)
    assert explorer.controls == [explorer.image_slider, explorer.layer_menu, explorer.upload]


def test_layer_activations_equal_a_manual_forward_pass(setup):
    model, images, _ = setup
    hooked = layer_activations(model, images, ["conv1", "pool1", "act2", "pool2"])
    manual = manual_forward(model, images)
    for name, value in hooked.items():
        assert value.shape == manual[name].shape, name
        assert torch.allclose(value, manual[name], atol=1e-6), name


def test_layer_activations_rejects_unknown_layer(setup):
    model, images, _ = setup
    with pytest.raises(KeyError, match="nope"):
        layer_activations(model, images, ["nope"])


@pytest.mark.parametrize("layer, index", [("conv1", 0), ("pool1", 5), ("act2", 3), ("pool2", 11)])
def test_shown_channels_are_the_model_activations(setup, layer, index):
    model, images, explorer = setup
    explorer.layer_menu.value = layer
    explorer.image_slider.value = index
    expected = manual_forward(model, images[index:index + 1])[layer][0].numpy()
    assert explorer.shown.shape == expected.shape
    np.testing.assert_allclose(explorer.shown, expected, atol=1e-6)
    # the artists really draw those arrays, one per channel, and no more axes are visible
    visible = [ax for ax in explorer.channel_axes if ax.get_visible()]
    assert len(visible) == expected.shape[0]
    for channel, artist in enumerate(explorer.channel_artists[:expected.shape[0]]):
        np.testing.assert_allclose(np.asarray(artist.get_array()), expected[channel], atol=1e-6)
    np.testing.assert_allclose(np.asarray(explorer.input_artist.get_array()), images[index, 0].numpy())


def test_changing_a_control_changes_the_picture(setup):
    _, _, explorer = setup
    explorer.layer_menu.value = "conv1"
    explorer.image_slider.value = 0
    before = explorer.view.image.value
    explorer.image_slider.value = 1
    after_image = explorer.view.image.value
    assert after_image != before
    explorer.layer_menu.value = "pool2"
    assert explorer.view.image.value != after_image
    assert "16 channels of 5x5" in explorer.title.get_text()
    assert "class1" in explorer.title.get_text()


def test_too_many_channels_are_capped_with_a_message():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 40, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(40, 3))
    explorer = FeatureMapExplorer(model, torch.randn(3, 1, 8, 8), max_channels=16)
    assert explorer.shown.shape == (40, 6, 6)
    assert len(explorer.channel_axes) == 16
    assert "16 of 40" in explorer.message.value


def test_any_module_a_student_builds_works_and_bad_models_are_explained():
    torch.manual_seed(1)
    student = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                            nn.Linear(4, 3))
    images = torch.randn(5, 1, 16, 16)
    explorer = FeatureMapExplorer(student, images)
    assert explorer.layers == ["0", "1", "2"]
    explorer.layer_menu.value = "1"
    explorer.image_slider.value = 3
    with torch.no_grad():
        expected = torch.relu(student[0](images[3:4]))[0].numpy()
    np.testing.assert_allclose(explorer.shown, expected, atol=1e-6)
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(256, 3))
    assert "no layer that outputs a feature map" in FeatureMapExplorer(mlp, images).message.value
    wrong_channels = nn.Sequential(nn.Conv2d(3, 4, 3))
    assert "cannot run on these images" in FeatureMapExplorer(wrong_channels, images).message.value


def test_upload_adds_an_image_and_a_bad_file_is_reported(setup):
    import io

    from PIL import Image

    model, images, explorer = setup
    before = len(explorer.images)
    assert not explorer.add_image(b"not an image at all")
    assert "not an image" in explorer.message.value and len(explorer.images) == before
    picture = Image.fromarray((np.arange(40 * 30).reshape(30, 40) % 256).astype(np.uint8))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    png_before = explorer.view.image.value
    assert explorer.add_image(buffer.getvalue())
    assert len(explorer.images) == before + 1 and explorer.image_slider.value == before
    assert explorer.images[-1].shape == (1, 28, 28)
    assert explorer.view.image.value != png_before
    explorer.layer_menu.value = "conv1"
    with torch.no_grad():
        expected = model.conv1(explorer.images[-1:])[0].numpy()
    np.testing.assert_allclose(explorer.shown, expected, atol=1e-5)
