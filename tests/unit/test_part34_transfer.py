"""Lecture 18's helpers and widgets: sampling, the step loop, nearest class means, the cache, PCA."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from utils import transfer
from utils.viz_transfer import CurveExplorer, FeatureProjection, pca_2d


def test_sample_per_class_draws_n_distinct_rows_of_each_class():
    labels = torch.arange(60) % 3
    idx = transfer.sample_per_class(labels, 4, seed=1, num_classes=3)
    assert len(idx) == 12 and len(set(idx.tolist())) == 12
    assert torch.bincount(labels[idx]).tolist() == [4, 4, 4]
    assert torch.equal(idx, transfer.sample_per_class(labels, 4, seed=1, num_classes=3))
    assert not torch.equal(idx, transfer.sample_per_class(labels, 4, seed=2, num_classes=3))


def test_train_for_steps_moves_only_the_listed_parameters_and_learns():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(40, 2, generator=gen)
    y = (x[:, 0] > 0).long()
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    frozen = model[0].weight.detach().clone()
    transfer.train_for_steps(model, [{"params": model[1].parameters(), "lr": 0.1}], x, y, steps=60,
                             batch_size=16)
    assert torch.equal(model[0].weight, frozen)
    net = nn.Linear(2, 2)
    transfer.train_for_steps(net, [{"params": net.parameters(), "lr": 0.1}], x, y, steps=100, batch_size=16)
    assert (net(x).argmax(1) == y).float().mean() > 0.9


def test_nearest_class_mean_against_a_hand_made_case():
    features = torch.tensor([[0.0, 0], [2, 0], [10, 10], [12, 10]])
    labels = torch.tensor([0, 0, 1, 1])
    means = transfer.class_means(features, labels, 2)
    assert means.tolist() == [[1.0, 0.0], [11.0, 10.0]]
    queries = torch.tensor([[1.0, 1], [9, 9], [6, 4]])
    assert transfer.nearest_mean_predict(means, queries).tolist() == [0, 1, 0]


def test_cached_model_trains_once_then_loads(tmp_path):
    calls = []

    def train(model):
        calls.append(1)
        with torch.no_grad():
            model.weight.fill_(0.5)
        return 0.75

    path = tmp_path / "m.pt"
    first = transfer.cached_model(path, {"r": 1}, lambda: nn.Linear(2, 1), train)
    second = transfer.cached_model(path, {"r": 1}, lambda: nn.Linear(2, 1), train)
    assert first[2] == "trained" and second[2] == "loaded from cache" and len(calls) == 1
    assert second[1] == 0.75 and torch.equal(second[0].weight, torch.full((1, 2), 0.5))
    assert transfer.cached_model(path, {"r": 2}, lambda: nn.Linear(2, 1), train)[2] == "trained"
    path.write_bytes(b"garbage")
    assert transfer.cached_model(path, {"r": 2}, lambda: nn.Linear(2, 1), train)[2] == "trained"


def test_run_grid_shares_samples_between_strategies():
    labels = torch.arange(30) % 3
    seen = {"a": [], "b": []}

    def strategy(name):
        def run(indices, seed):
            seen[name].append(indices.tolist())
            return len(indices) / 100
        return run

    results = transfer.run_grid({"a": strategy("a"), "b": strategy("b")}, labels, (1, 2), (0, 1), 3,
                                progress=False)
    assert seen["a"] == seen["b"] and results["a"].tolist() == [[0.03, 0.03], [0.06, 0.06]]


def test_pca_matches_the_covariance_eigenvectors():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((200, 5)) @ np.diag([5.0, 2.0, 1.0, 0.5, 0.1])
    points, explained = pca_2d(data)
    centred = data - data.mean(0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(centred.T, bias=True))
    top = eigenvectors[:, ::-1][:, :2]
    np.testing.assert_allclose(np.abs(points), np.abs(centred @ top), atol=1e-8)
    np.testing.assert_allclose(explained, eigenvalues[::-1][:2] / eigenvalues.sum(), rtol=1e-8)


def test_widgets_redraw_and_report():
    results = {"x": np.array([[0.5, 0.6], [0.9, 0.8]]), "y": np.array([[0.7, 0.7], [0.6, 0.6]])}
    curves = CurveExplorer(results, (1, 10))
    assert curves.ranking == ["y", "x"]
    before = curves.view.image.value
    curves.slider.value = 10
    assert curves.ranking == ["x", "y"] and curves.view.image.value != before
    assert "x (85.0 %)" in curves.message.value
    feats = {"a": torch.randn(30, 4), "b": torch.randn(30, 6)}
    projection = FeatureProjection(feats, torch.arange(30) % 3, ("p", "q", "r"))
    before = projection.view.image.value
    projection.menu.value = "b"
    assert projection.points.shape == (30, 2) and projection.view.image.value != before
    np.testing.assert_allclose(projection.points, pca_2d(feats["b"])[0])
