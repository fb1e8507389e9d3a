"""Lecture 18's widgets: the measured few-label curves with a labels-per-class slider, and a 2D
principal-component projection of frozen features for the target classes."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import torch

from .widgets import FigureView, Visualizer


def pca_2d(features: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project ``features`` (N, D) onto their first two principal components.

    Returns (points (N, 2), explained (2,)): the coordinates along the two directions of largest
    variance of the centred data, and the fraction of the total variance each direction explains.
    Computed with an SVD of the centred data.
    """
    data = torch.as_tensor(np.asarray(features), dtype=torch.float64)
    centred = data - data.mean(dim=0)
    _, singular, vh = torch.linalg.svd(centred, full_matrices=False)
    variance = singular**2
    points = centred @ vh[:2].T
    return points.numpy(), (variance[:2] / variance.sum()).numpy()


class CurveExplorer(Visualizer):
    """A labels-per-class slider over measured accuracy curves (mean and spread over seeds).

    results: ``strategy -> array (len(labels_per_class), seeds)`` of accuracies in [0, 1].
    Left: every strategy's mean with a band of one standard deviation, and a marker at the chosen
    label count; right: each seed's accuracy at that count. The message ranks the strategies there.
    """

    def __init__(self, results: dict[str, np.ndarray], labels_per_class: tuple[int, ...]):
        super().__init__()
        self.results = {name: np.asarray(values) * 100 for name, values in results.items()}
        self.counts = tuple(labels_per_class)
        self.slider = widgets.SelectionSlider(options=list(self.counts), value=self.counts[0],
                                              description="labels/class", continuous_update=False)
        self.controls = [self.slider]
        self.view = FigureView(width=10, height=3.8)
        self.ax_curve, self.ax_seeds = self.view.fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
        names = list(self.results)
        for k, (name, values) in enumerate(self.results.items()):
            mean, std = values.mean(axis=1), values.std(axis=1)
            line, = self.ax_curve.plot(self.counts, mean, "o-", label=name)
            colour = line.get_color()
            self.ax_curve.fill_between(self.counts, mean - std, mean + std, alpha=0.15, color=colour)
            self.ax_seeds.plot(np.full(values.shape[1], k), values[0], "o", color=line.get_color())
        self.ax_curve.set(xscale="log", xlabel="labelled images per class", ylabel="test accuracy (%)")
        self.ax_curve.set_xticks(self.counts, [str(n) for n in self.counts])
        self.ax_curve.grid(alpha=0.3)
        self.ax_curve.legend(fontsize=7)
        self.marker = self.ax_curve.axvline(self.counts[0], color="k", ls=":")
        self.ax_seeds.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=7)
        self.ax_seeds.set(ylabel="accuracy of each seed (%)")
        self.ax_seeds.grid(alpha=0.3)
        low = min(v.min() for v in self.results.values())
        high = max(v.max() for v in self.results.values())
        self.ax_seeds.set_ylim(low - 2, high + 2)
        self.title = self.ax_seeds.set_title("", fontsize=9)
        self.view.fig.subplots_adjust(left=0.07, right=0.99, top=0.9, bottom=0.3, wspace=0.25)
        self.ranking: list[str] = []
        self.observe_all()
        self.update()

    def update(self) -> None:
        row = self.counts.index(self.slider.value)
        self.marker.set_xdata([self.slider.value])
        for line, values in zip(self.ax_seeds.lines, self.results.values(), strict=True):
            line.set_ydata(values[row])
        self.title.set_text(f"{self.slider.value} labelled image(s) per class")
        means = {name: values[row].mean() for name, values in self.results.items()}
        self.ranking = sorted(means, key=means.get, reverse=True)
        self.message.value = "ranking by mean: " + " &gt; ".join(
            f"{name} ({means[name]:.1f} %)" for name in self.ranking)
        self.view.render()


class FeatureProjection(Visualizer):
    """A dropdown of feature sets -> their 2D principal-component projection, coloured by class.

    feature_sets: ``name -> (N, D)`` features of the same N images; labels (N,) classes
    0..len(class_names)-1. The projected points are in ``self.points`` (N, 2).
    """

    def __init__(self, feature_sets: dict[str, torch.Tensor | np.ndarray], labels,
                 class_names: tuple[str, ...]):
        super().__init__()
        self.feature_sets = {name: np.asarray(torch.as_tensor(f).detach().cpu())
                             for name, f in feature_sets.items()}
        self.labels = np.asarray(labels)
        self.class_names = class_names
        self.menu = widgets.Dropdown(options=list(self.feature_sets), description="features")
        self.controls = [self.menu]
        self.view = FigureView(width=6.0, height=4.6)
        self.ax = self.view.fig.add_axes((0.1, 0.1, 0.62, 0.8))
        self.scatters = [self.ax.scatter([], [], s=8, alpha=0.6, label=name) for name in class_names]
        self.ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=2)
        self.title = self.ax.set_title("", fontsize=9)
        # every projection computed once, so that switching feature sets only moves points
        self.projections = {name: pca_2d(features) for name, features in self.feature_sets.items()}
        self.points = np.zeros((0, 2))
        self.observe_all()
        self.update()

    def update(self) -> None:
        self.points, explained = self.projections[self.menu.value]
        for c, scatter in enumerate(self.scatters):
            scatter.set_offsets(self.points[self.labels == c])
        pad = 0.05 * np.ptp(self.points, axis=0)
        self.ax.set_xlim(self.points[:, 0].min() - pad[0], self.points[:, 0].max() + pad[0])
        self.ax.set_ylim(self.points[:, 1].min() - pad[1], self.points[:, 1].max() + pad[1])
        self.ax.set(xlabel=f"PC 1 ({explained[0]:.0%} of the variance)",
                    ylabel=f"PC 2 ({explained[1]:.0%})")
        width = self.feature_sets[self.menu.value].shape[1]
        self.title.set_text(f"{self.menu.value}: {width} numbers per image")
        self.message.value = ("Classes that form separate clouds here are easy for a linear head; "
                              "two PCs show only part of the picture.")
        self.view.render()


def _curves_demo() -> dict:
    """Constructor arguments for ``CurveExplorer``: made-up accuracies of three strategies."""
    rng = np.random.default_rng(0)
    base = {"a": [0.6, 0.85, 0.92], "b": [0.62, 0.8, 0.9], "c": [0.4, 0.55, 0.6]}
    return {"results": {k: np.array(v)[:, None] + rng.normal(0, 0.02, (3, 5)) for k, v in base.items()},
            "labels_per_class": (1, 10, 100)}


def _projection_demo() -> dict:
    """Constructor arguments for ``FeatureProjection``: 2,000 points of 5 classes in 400 and 84 dimensions."""
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(2000) % 5
    centres = torch.randn(5, 400, generator=gen)
    features = centres[labels] + torch.randn(2000, 400, generator=gen)
    return {"feature_sets": {"400": features, "84": features[:, :84]}, "labels": labels,
            "class_names": ("a", "b", "c", "d", "e")}


#: for bench/widget_redraw.py: how to build the visualizers that need arguments
BENCH_ARGUMENTS = {"CurveExplorer": _curves_demo, "FeatureProjection": _projection_demo}
