"""Lecture 19's widgets: a detector's boxes under an objectness threshold and NMS, and a U-Net browser.

``DetectionExplorer(images, candidates, truth)``: every grid cell proposes a box; the sliders set the
objectness threshold and the IoU above which non-maximum suppression (``utils.detection.nms``) drops
a lower-scoring box of the same class. ``SegmentationBrowser(images, truth, predicted)``: an image
slider over test images with the true mask, the prediction and the wrong pixels, plus the IoU.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.patches import Rectangle

from .detection import filter_detections
from .synthetic import SHAPE_NAMES, match_detections, segmentation_iou
from .widgets import FigureView, Visualizer

COLOURS = {1: "tab:blue", 2: "tab:green", 3: "tab:orange"}
MAX_BOXES = 40


class DetectionExplorer(Visualizer):
    """Image slider, objectness threshold, NMS on/off and NMS IoU -> the boxes that survive.

    images (n, 1, H, W); candidates: n arrays (k, 6) ``(class, cx, cy, w, h, score)`` (every cell's
    box, from ``utils.detection.grid_candidates``); truth: n arrays (t, 5) ``(class, cx, cy, w, h)``.
    The kept boxes of the shown image are in ``self.kept``; the message gives precision and recall
    at IoU >= 0.5 over all images for the current settings.
    """

    def __init__(self, images: np.ndarray, candidates: list[np.ndarray], truth: list[np.ndarray],
                 grid: int = 6):
        super().__init__()
        self.images, self.candidates, self.truth = np.asarray(images), candidates, truth
        self.image_slider = widgets.IntSlider(value=0, min=0, max=len(self.images) - 1, description="image",
                                              continuous_update=False)
        self.threshold = widgets.FloatSlider(value=0.5, min=0.0, max=0.99, step=0.01,
                                             description="objectness >", continuous_update=False)
        self.use_nms = widgets.Checkbox(value=True, description="non-maximum suppression")
        self.nms_iou = widgets.FloatSlider(value=0.3, min=0.0, max=1.0, step=0.05, description="NMS IoU >",
                                           continuous_update=False)
        self.controls = [self.image_slider, self.threshold, self.use_nms, self.nms_iou]
        self.view = FigureView(width=5.0, height=5.0)
        self.ax = self.view.fig.add_axes((0.02, 0.02, 0.96, 0.9))
        size = self.images.shape[-1]
        self.artist = self.ax.imshow(self.images[0, 0], cmap="gray")
        self.ax.set_xticks(np.arange(0, size + 1, size // grid) - 0.5, [])
        self.ax.set_yticks(np.arange(0, size + 1, size // grid) - 0.5, [])
        self.ax.grid(color="w", alpha=0.25)
        self.title = self.ax.set_title("", fontsize=9)
        self.true_patches = [self.ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, ls=":", color="white",
                                                         visible=False)) for _ in range(8)]
        self.patches = [self.ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, lw=1.5, visible=False))
                        for _ in range(MAX_BOXES)]
        self.labels = [self.ax.text(0, 0, "", fontsize=7, visible=False) for _ in range(MAX_BOXES)]
        self.kept = np.zeros((0, 6))
        self.observe_all()
        self.update()

    def settings(self) -> tuple[float, float | None]:
        """(objectness threshold, NMS IoU threshold or None when NMS is off)."""
        return self.threshold.value, (self.nms_iou.value if self.use_nms.value else None)

    def update(self) -> None:
        index = self.image_slider.value
        threshold, iou = self.settings()
        self.kept = filter_detections(self.candidates[index], threshold, iou)
        self.artist.set_data(self.images[index, 0])
        for patch, (_kind, cx, cy, w, h) in zip(self.true_patches, [*self.truth[index], *[(0,) * 5] * 8],
                                                strict=False):
            patch.set_visible(w > 0)
            patch.set_bounds(cx - w / 2 - 0.5, cy - h / 2 - 0.5, w, h)
        for i, (patch, label) in enumerate(zip(self.patches, self.labels, strict=True)):
            visible = i < len(self.kept)
            patch.set_visible(visible)
            label.set_visible(visible)
            if visible:
                kind, cx, cy, w, h, score = self.kept[i]
                colour = COLOURS.get(int(kind), "red")
                patch.set_bounds(cx - w / 2 - 0.5, cy - h / 2 - 0.5, w, h)
                patch.set_edgecolor(colour)
                label.set_position((cx - w / 2, cy - h / 2 - 1))
                label.set_text(f"{SHAPE_NAMES[int(kind)]} {score:.2f}")
                label.set_color(colour)
        self.title.set_text(f"image {index}: {len(self.kept)} boxes kept of {len(self.candidates[index])} "
                            f"cells (dotted: truth)")
        everything = [filter_detections(c, threshold, iou) for c in self.candidates]
        scores = match_detections(everything, self.truth, iou_threshold=0.5)
        extra = f" (drawing the first {MAX_BOXES})" if len(self.kept) > MAX_BOXES else ""
        self.message.value = (f"all {len(self.images)} images at these settings: precision "
                              f"{scores['precision']:.1%}, recall {scores['recall']:.1%}{extra}")
        self.view.render()


class SegmentationBrowser(Visualizer):
    """Image slider over (image, true mask, predicted mask, wrong pixels), with the image's IoU per class.

    images (n, 1, H, W); truth and predicted (n, H, W) class indices 0..3 (``SHAPE_NAMES``).
    """

    def __init__(self, images: np.ndarray, truth: np.ndarray, predicted: np.ndarray):
        super().__init__()
        self.images, self.truth, self.predicted = np.asarray(images), np.asarray(truth), np.asarray(predicted)
        self.image_slider = widgets.IntSlider(value=0, min=0, max=len(self.images) - 1, description="image",
                                              continuous_update=False)
        self.worst_first = widgets.Checkbox(value=False, description="worst images first")
        self.controls = [self.image_slider, self.worst_first]
        errors = (self.truth != self.predicted).reshape(len(self.truth), -1).mean(axis=1)
        self.worst_order = np.argsort(-errors, kind="stable")
        self.view = FigureView(width=10, height=2.9)
        axes = self.view.fig.subplots(1, 4)
        kwargs = {"cmap": "viridis", "vmin": -0.5, "vmax": 3.5, "interpolation": "nearest"}
        self.artists = [axes[0].imshow(self.images[0, 0], cmap="gray"),
                        axes[1].imshow(self.truth[0], **kwargs), axes[2].imshow(self.predicted[0], **kwargs),
                        axes[3].imshow(np.zeros_like(self.truth[0]), cmap="Reds", vmin=0, vmax=1)]
        for ax, title in zip(axes, ["input", "true mask", "U-Net", "wrong pixels"], strict=True):
            ax.set_title(title, fontsize=9)
            ax.set_axis_off()
        self.view.fig.subplots_adjust(left=0.01, right=0.99, top=0.88, bottom=0.02, wspace=0.05)
        self.shown_index = 0
        self.observe_all()
        self.update()

    def update(self) -> None:
        index = self.image_slider.value
        if self.worst_first.value:
            index = int(self.worst_order[index])
        self.shown_index = index
        wrong = self.truth[index] != self.predicted[index]
        self.artists[0].set_data(self.images[index, 0])
        self.artists[0].set_clim(float(self.images[index].min()), float(self.images[index].max()))
        self.artists[1].set_data(self.truth[index])
        self.artists[2].set_data(self.predicted[index])
        self.artists[3].set_data(wrong.astype(float))
        iou = segmentation_iou(self.predicted[index], self.truth[index])
        parts = ", ".join(f"{name} {value:.2f}" for name, value in zip(SHAPE_NAMES, iou, strict=True)
                          if not np.isnan(value))
        self.message.value = (f"test image {index}: {wrong.sum()} of {wrong.size} pixels wrong; IoU {parts}. "
                              "Colours: purple background, blue square, green disc, yellow triangle.")
        self.view.render()


def _detection_demo() -> dict:
    """Constructor arguments for ``DetectionExplorer``: 20 synthetic test images and, as candidates,
    each true box jittered into three overlapping boxes with scores (no trained network needed)."""
    from .synthetic import make_detection_data

    images, truth = make_detection_data(20, size=48, seed=1)
    rng = np.random.default_rng(0)
    candidates = []
    for boxes in truth:
        rows = [(kind, cx + rng.normal(0, 1.5), cy + rng.normal(0, 1.5), w, h, rng.uniform(0.2, 1.0))
                for kind, cx, cy, w, h in boxes for _ in range(3)]
        candidates.append(np.asarray(rows, dtype=np.float64).reshape(-1, 6))
    return {"images": images, "candidates": candidates, "truth": truth}


def _segmentation_demo() -> dict:
    """Constructor arguments for ``SegmentationBrowser``: 20 synthetic images, their masks, and the
    masks shifted by one pixel as a stand-in prediction."""
    from .synthetic import make_segmentation_data

    images, masks = make_segmentation_data(20, seed=1)
    return {"images": images, "truth": masks, "predicted": np.roll(masks, 1, axis=2)}


#: for bench/widget_redraw.py: how to build the visualizers that need arguments
BENCH_ARGUMENTS = {"DetectionExplorer": _detection_demo, "SegmentationBrowser": _segmentation_demo}
