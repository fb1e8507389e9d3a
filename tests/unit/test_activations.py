"""Lecture 10 and 11 helpers: activation formulas, gradient measurements and the two widgets,
checked against PyTorch (autograd, nn.BatchNorm1d) as the oracle."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from utils import activations, viz_activations, viz_batchnorm


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny tensors: one thread is fastest, and far faster on a busy machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.mark.parametrize("name", activations.NAMES)
def test_formulas_match_torch_and_autograd(name):
    z = np.concatenate([np.linspace(-8, 8, 161), [0.0, -1e-3, 1e-3, 40.0, -40.0]])
    zt = torch.tensor(z, requires_grad=True)
    out = activations.torch_activation(name)(zt)
    out.sum().backward()
    assert np.allclose(activations.activation(name, z), out.detach().numpy(), atol=1e-12)
    assert np.allclose(activations.derivative(name, z), zt.grad.numpy(), atol=1e-12)


def test_known_values_and_unknown_name():
    assert activations.derivative("sigmoid", np.array([0.0]))[0] == pytest.approx(0.25)
    assert activations.derivative("tanh", np.array([0.0]))[0] == pytest.approx(1.0)
    assert activations.activation("leaky_relu", np.array([-2.0]))[0] == pytest.approx(-0.02)
    assert activations.derivative("relu", np.array([0.0, 2.0])).tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="activation must be one of"):
        activations.derivative("swish", np.zeros(2))


@pytest.mark.parametrize("init", activations.INITS)
@pytest.mark.parametrize("name", activations.NAMES)
def test_chain_grad_norms_match_autograd(name, init):
    depth, width, batch = 6, 16, 8
    rng = np.random.default_rng(3)
    x, r = rng.normal(size=(batch, width)), rng.normal(size=(batch, width))
    weights = activations.chain_weights(depth, width, init, seed=1)
    layers = [nn.Linear(width, width, bias=False).double() for _ in range(depth)]
    for layer, w in zip(layers, weights, strict=True):
        layer.weight.data = torch.tensor(w)
    a = torch.tensor(x)
    for layer in layers:
        a = activations.torch_activation(name)(layer(a))
    (a * torch.tensor(r)).sum().div(batch).backward()
    expected = np.array([layer.weight.grad.norm().item() for layer in layers])
    assert np.allclose(activations.chain_grad_norms(name, weights, x, r), expected, rtol=1e-9)


def test_chain_weights_follow_their_initialisation():
    default, glorot, he = (np.concatenate([w.ravel() for w in activations.chain_weights(20, 64, init)])
                           for init in activations.INITS)
    assert np.abs(default).max() <= 1 / 8 and default.std() == pytest.approx(1 / 8 / np.sqrt(3), rel=0.02)
    assert np.abs(glorot).max() <= np.sqrt(6 / 128)
    assert he.std() == pytest.approx(np.sqrt(2 / 64), rel=0.02)
    with pytest.raises(ValueError, match="init must be one of"):
        activations.chain_weights(2, 4, "orthogonal")


def test_sigmoid_gradients_vanish_and_he_relu_keeps_them():
    sigmoid = viz_activations.gradient_profiles(20, activations.INITS[0])["sigmoid"]
    relu_he = viz_activations.gradient_profiles(20, activations.INITS[2])["relu"]
    assert sigmoid[0] < sigmoid[-1] * 1e-6
    assert 0.1 < relu_he[0] / relu_he[-1] < 10


def test_weight_grad_norms_match_autograd_and_leave_no_gradient():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 6 * 6, 4))
    x, y = torch.randn(5, 1, 8, 8), torch.tensor([0, 1, 2, 3, 0])
    grads = torch.autograd.grad(F.cross_entropy(model(x), y), [model[0].weight, model[3].weight])
    norms = activations.weight_grad_norms(model, x, y)
    assert list(norms) == ["0", "3"]
    assert np.allclose(list(norms.values()), [g.norm().item() for g in grads], rtol=1e-6)
    assert all(p.grad is None for p in model.parameters())


def test_never_positive_share_counts_dead_units():
    layer = nn.Linear(4, 10)
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.copy_(torch.tensor([-1.0, -2.0, -3.0, 1.0, 2.0, 0.0, 0.5, 0.5, 0.5, 0.5]))
    model = nn.Sequential(layer, nn.ReLU(), nn.Linear(10, 6), nn.LeakyReLU(0.01))
    x = torch.randn(7, 4)
    shares = activations.never_positive_share(model, x)
    second = model[2](model[1](layer(x)))
    assert shares["1"] == pytest.approx(0.4)            # biases -1, -2, -3 and 0 never fire
    assert shares["3"] == pytest.approx((second <= 0).all(dim=0).float().mean().item())
    conv = nn.Sequential(nn.Conv2d(1, 2, 1), nn.ReLU())
    with torch.no_grad():
        conv[0].weight.fill_(1.0)
        conv[0].bias.copy_(torch.tensor([-10.0, 10.0]))
    assert activations.never_positive_share(conv, torch.rand(3, 1, 2, 2)) == {"1": pytest.approx(0.5)}


@pytest.mark.parametrize(("momentum", "batch_size"), [(0.1, 16), (0.5, 2), (1.0, 5), (0.03, 64)])
def test_running_stats_trace_matches_batchnorm(momentum, batch_size):
    trace = viz_batchnorm.running_stats_trace(momentum, batch_size, steps=12, seed=4)
    bn = nn.BatchNorm1d(1, momentum=momentum).double()
    for step, batch in enumerate(trace["batches"]):
        bn(torch.tensor(batch)[:, None])
        assert bn.running_mean.item() == pytest.approx(trace["running_mean"][step], rel=1e-9)
        assert bn.running_var.item() == pytest.approx(trace["running_var"][step], rel=1e-9)
    assert np.allclose(trace["batch_mean"], trace["batches"].mean(axis=1))


def test_running_stats_trace_rejects_invalid_input():
    with pytest.raises(ValueError, match="at least 2"):
        viz_batchnorm.running_stats_trace(0.1, 1, 5)
    with pytest.raises(ValueError, match="momentum"):
        viz_batchnorm.running_stats_trace(0.0, 4, 5)


def test_gradient_flow_explorer_redraws_and_reports():
    viz = viz_activations.GradientFlowExplorer()
    before = viz.view.image.value
    viz.activation.value = "relu"
    after_activation = viz.view.image.value
    viz.depth.value = 25
    assert before != after_activation != viz.view.image.value
    assert len(viz.profiles["relu"]) == 25
    expected = viz_activations.gradient_profiles(25, viz.init.value)["relu"]
    assert np.allclose(viz.profiles["relu"], expected)
    ratio = expected[-1] / expected[0]
    assert f"{ratio:.3g}" in viz.message.value
    viz.init.value = activations.INITS[2]
    he = viz_activations.gradient_profiles(25, activations.INITS[2])["relu"]
    assert np.allclose(viz.profiles["relu"], he)


def test_running_stats_explorer_redraws_and_reports_batch_size_one():
    viz = viz_batchnorm.RunningStatsExplorer()
    before = viz.view.image.value
    viz.momentum.value = 0.5
    assert viz.view.image.value != before
    expected = viz_batchnorm.running_stats_trace(0.5, viz.batch_size.value, viz.steps.value)
    assert np.allclose(viz.trace["running_mean"], expected["running_mean"])
    assert "last <b>2</b> batches" in viz.message.value
    viz.batch_size.value = 1                              # invalid: reported, not raised
    assert viz.trace is None and "invalid" in viz.message.value
    viz.batch_size.value = 32
    assert viz.trace is not None and "invalid" not in viz.message.value
