"""Helpers shared by every notebook of the course: ``import utils`` or ``from utils import ...``.

Modules: ``device`` (where to compute), ``seeding`` (reproducibility), ``data`` (datasets),
``plotting`` (figures), ``training`` (a lecture training loop), ``widgets`` (visualizer base),
``notebooks`` (run/strip notebooks). Visualizers for the lectures live in ``utils.viz_*``.
This package never contains the answer to a graded exercise.
"""

from .data import (
    FASHION_MNIST_CLASSES,
    DatasetError,
    fashion_mnist_tensors,
    load_fashion_mnist,
    load_mnist1d,
    load_sample_image,
)
from .device import device_report, get_device
from .plotting import (
    confusion_matrix,
    plot_confusion_matrix,
    plot_feature_maps,
    plot_training_curves,
    show_images,
)
from .seeding import seed_everything

__all__ = [
    "FASHION_MNIST_CLASSES",
    "DatasetError",
    "confusion_matrix",
    "device_report",
    "fashion_mnist_tensors",
    "get_device",
    "load_fashion_mnist",
    "load_mnist1d",
    "load_sample_image",
    "plot_confusion_matrix",
    "plot_feature_maps",
    "plot_training_curves",
    "seed_everything",
    "show_images",
]
