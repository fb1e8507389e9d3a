"""Feature-map explorer: pick an image and a layer, see every channel of that layer's activation.

The activations come from forward hooks on the model's own modules, so what the widget shows
is exactly what the network computes (lecture 12, LeNet-5). The model can be any ``nn.Module``
that takes (N, C, H, W) images; a student can also upload an image of their own (any format
Pillow reads), which is converted to the shape and scale of the other images.
"""

from __future__ import annotations

import io
import math

import ipywidgets as widgets
import numpy as np
import torch
from torch import nn

from .widgets import FigureView, Visualizer


def spatial_layers(model: nn.Module, example: torch.Tensor) -> list[str]:
    """Names of the leaf modules of ``model`` whose output is a feature map (a 4-D tensor).

    ``example`` is one input batch (N, C, H, W); the model is run once on it with forward hooks.
    Names are in the order the modules run.
    """
    seen: list[str] = []

    def make_hook(name: str):
        def hook(_module, _inputs, output):
            if isinstance(output, torch.Tensor) and output.dim() == 4 and name not in seen:
                seen.append(name)
        return hook

    handles = [module.register_forward_hook(make_hook(name))
               for name, module in model.named_modules()
               if name and not list(module.children())]
    try:
        with torch.no_grad():
            model(example)
    finally:
        for handle in handles:
            handle.remove()
    return seen


def layer_activations(model: nn.Module, images: torch.Tensor,
                      layer_names: list[str]) -> dict[str, torch.Tensor]:
    """Outputs of the named submodules of ``model`` for ``images`` (N, C, H, W), via forward hooks.

    Returns ``{name: tensor (N, C_l, H_l, W_l)}`` on the CPU, detached; the model runs in eval mode
    on the device its parameters live on.
    """
    modules = dict(model.named_modules())
    missing = [name for name in layer_names if name not in modules]
    if missing:
        raise KeyError(f"model has no submodule named {missing}; choose from {list(modules)[1:]}")
    captured: dict[str, torch.Tensor] = {}

    def make_hook(name: str):
        def hook(_module, _inputs, output):
            captured[name] = output.detach().cpu().clone()
        return hook

    handles = [modules[name].register_forward_hook(make_hook(name)) for name in layer_names]
    was_training = model.training
    model.eval()
    try:
        parameter = next(model.parameters(), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
        with torch.no_grad():
            model(images.to(device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return captured


def image_from_bytes(data: bytes, like: torch.Tensor) -> torch.Tensor:
    """Decode an uploaded image file into a tensor shaped and scaled like the images ``like``.

    data: the file's bytes (PNG, JPEG, ... anything Pillow reads); like: (N, C, H, W) with C 1 or 3.
    Returns (C, H, W) float32: resized to H x W, grey or RGB as C asks, and standardised to the
    mean and standard deviation of ``like``. Raises ``ValueError`` with a readable reason when
    ``data`` is not an image.
    """
    from PIL import Image, UnidentifiedImageError

    channels, height, width = like.shape[1:]
    try:
        picture = Image.open(io.BytesIO(data))
        picture.load()
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise ValueError("this file is not an image Pillow can read (try a PNG or JPEG)") from err
    picture = picture.convert("L" if channels == 1 else "RGB").resize((width, height))
    array = np.asarray(picture, dtype=np.float32) / 255.0
    array = array[None] if channels == 1 else np.moveaxis(array, -1, 0)
    if channels not in (1, 3):
        raise ValueError(f"uploads need images with 1 or 3 channels; this model's images have {channels}")
    array = (array - array.mean()) / (array.std() + 1e-6)
    return torch.from_numpy(array * float(like.std()) + float(like.mean())).float()


class FeatureMapExplorer(Visualizer):
    """Image slider + layer dropdown -> the input image and every channel of that layer's output.

    Args:
        model: a trained (or untrained) ``nn.Module`` taking (N, C, H, W) images.
        images: (N, C, H, W) inputs to choose from (the first ``max_images`` are kept).
        labels: optional (N,) true classes, shown in the title with ``class_names``.
        layers: module names to offer; default every leaf module that outputs a feature map.
        max_channels: at most this many channels are drawn per layer (the message says so).

    Each channel has its own colour scale (its minimum is dark, its maximum bright); the
    activations shown are kept in ``self.shown`` (C, H, W) for tests and curious students.
    """

    def __init__(self, model: nn.Module, images: torch.Tensor, labels=None,
                 class_names: tuple[str, ...] | None = None, layers: list[str] | None = None,
                 max_images: int = 200, max_channels: int = 32, ncols: int = 8):
        super().__init__()
        self.model = model
        self.images = images[:max_images].detach().cpu()
        self.labels = None if labels is None else np.asarray(labels)[:max_images]
        self.class_names = class_names
        parameter = next(model.parameters(), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
        was_training = model.training
        model.eval()
        self.controls = []
        try:
            self.layers = layers or spatial_layers(model, self.images[:1].to(device))
        except (RuntimeError, ValueError, TypeError) as err:
            self._show_problem(f"the model cannot run on these images of shape "
                               f"{tuple(self.images.shape[1:])}: {err}")
            return
        finally:
            model.train(was_training)
        if not self.layers:
            self._show_problem("this model has no layer that outputs a feature map (N, C, H, W); "
                               "the explorer needs at least one convolution or pooling module")
            return
        # every layer's activation for every image, computed once: slider moves are then instant
        self.activations = layer_activations(model, self.images, self.layers)
        with torch.no_grad():
            logits = model.eval()(self.images.to(device)).cpu()
        model.train(was_training)
        self.predictions = logits.argmax(dim=1).numpy() if logits.dim() == 2 else None
        self.max_channels = max_channels
        shown_channels = min(max_channels, max(a.shape[1] for a in self.activations.values()))
        self.ncols = min(ncols, shown_channels)
        nrows = math.ceil(shown_channels / self.ncols)
        width = 2.2 + 1.1 * self.ncols
        self.view = FigureView(width=width, height=max(2.4, 1.15 * nrows + 0.6))
        fig = self.view.fig
        left = 2.0 / width
        self.ax_input = fig.add_axes((0.01, 0.12, left - 0.03, 0.72))
        self.input_artist = self.ax_input.imshow(self._input_image(0), cmap="gray")
        self.ax_input.set_axis_off()
        self.title = fig.suptitle("", fontsize=10)
        self.channel_axes, self.channel_artists, self.channel_titles = [], [], []
        cell_w = (1 - left - 0.01) / self.ncols
        cell_h = 0.86 / nrows
        for index in range(shown_channels):
            row, col = divmod(index, self.ncols)
            ax = fig.add_axes((left + col * cell_w + 0.004, 0.88 - (row + 1) * cell_h + 0.01,
                               cell_w - 0.008, cell_h - 0.05))
            ax.set_axis_off()
            self.channel_axes.append(ax)
            self.channel_artists.append(ax.imshow(np.zeros((2, 2)), cmap="viridis"))
            self.channel_titles.append(ax.set_title("", fontsize=7, pad=2))
        self.image_slider = widgets.IntSlider(value=0, min=0, max=len(self.images) - 1,
                                              description="image", continuous_update=False)
        self.layer_menu = widgets.Dropdown(options=self.layers, value=self.layers[0],
                                           description="layer")
        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description="your image")
        self.upload.observe(lambda _change: self._on_upload(), names="value")
        self.controls = [self.image_slider, self.layer_menu, self.upload]
        self.shown = np.zeros((0, 1, 1))
        self.observe_all()
        self.update()

    def _show_problem(self, problem: str) -> None:
        """Replace the explorer by a message saying ``problem`` (a model it cannot explore)."""
        self.layers, self.activations, self.shown = [], {}, np.zeros((0, 1, 1))
        self.view = FigureView(width=6, height=1)
        self.view.fig.text(0.02, 0.5, "nothing to show: see the message above", va="center")
        self.message.value = f"<b>Cannot explore this model:</b> {problem}."
        self.view.render()

    def add_image(self, data: bytes) -> bool:
        """Append the image file ``data`` (bytes) and show it; a bad file is reported in the message.

        Returns True when the image was added.
        """
        try:
            image = image_from_bytes(data, self.images)[None]
        except ValueError as err:
            self.message.value = f"<b>Upload not used:</b> {err}."
            return False
        new = layer_activations(self.model, image, self.layers)
        parameter = next(self.model.parameters(), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
        was_training = self.model.training
        with torch.no_grad():
            logits = self.model.eval()(image.to(device)).cpu()
        self.model.train(was_training)
        self.images = torch.cat([self.images, image])
        self.activations = {name: torch.cat([self.activations[name], new[name]]) for name in self.layers}
        if self.labels is not None:
            self.labels = np.append(self.labels, -1)
        if self.predictions is not None:
            self.predictions = np.append(self.predictions, int(logits.argmax(dim=1)[0]))
        self.image_slider.max = len(self.images) - 1
        if self.image_slider.value == len(self.images) - 1:
            self.refresh()
        else:
            self.image_slider.value = len(self.images) - 1  # triggers the redraw
        return True

    def _on_upload(self) -> None:
        files = self.upload.value
        if files:
            self.add_image(bytes(files[0]["content"]))

    def _input_image(self, index: int) -> np.ndarray:
        image = self.images[index].numpy()
        return image[0] if image.shape[0] == 1 else np.moveaxis(image, 0, -1)

    def update(self) -> None:
        if not self.layers:
            self.view.render()
            return
        index, layer = self.image_slider.value, self.layer_menu.value
        maps = self.activations[layer][index].numpy()  # (C, H, W)
        self.shown = maps
        image = self._input_image(index)
        self.input_artist.set_data(image)
        self.input_artist.set_clim(float(image.min()), float(image.max()))
        caption = f"image {index}"
        if self.labels is not None and int(self.labels[index]) >= 0:
            true = int(self.labels[index])
            caption += f": {self.class_names[true] if self.class_names else true}"
        elif self.labels is not None:
            caption += ": your upload"
        if self.predictions is not None:
            guess = int(self.predictions[index])
            caption += f" (predicted {self.class_names[guess] if self.class_names else guess})"
        self.title.set_text(f"{caption} | layer '{layer}': {maps.shape[0]} channels of "
                            f"{maps.shape[1]}x{maps.shape[2]}")
        for channel, (ax, artist, title) in enumerate(zip(
                self.channel_axes, self.channel_artists, self.channel_titles, strict=True)):
            visible = channel < maps.shape[0]
            ax.set_visible(visible)
            if visible:
                artist.set_data(maps[channel])
                artist.set_extent((-0.5, maps.shape[2] - 0.5, maps.shape[1] - 0.5, -0.5))
                low, high = float(maps[channel].min()), float(maps[channel].max())
                artist.set_clim(low, high if high > low else low + 1e-6)
                title.set_text(f"ch {channel}")
        hidden = maps.shape[0] - len(self.channel_axes)
        self.message.value = (f"showing the first {len(self.channel_axes)} of {maps.shape[0]} "
                              "channels" if hidden > 0 else "")
        self.view.render()
