"""Architectures of lecture 19: computed parameter counts, MAC counting, residual blocks, tiny nets."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from utils import architectures as arch


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("build, expected", [
    (arch.alexnet, 61_100_840),
    (arch.vgg16, 138_357_544),
    (lambda: arch.vgg16(global_pool=True), 14_714_688 + 513_000),
    (arch.resnet50, 25_557_032),
    (lambda: arch.resnet((2, 2, 2, 2), bottleneck=False), 11_689_512),  # ResNet-18
])
def test_published_parameter_counts(build, expected):
    with torch.device("meta"):
        model = build()
        assert model(torch.empty(2, 3, 224, 224)).shape == (2, 1000)
    assert all(p.device.type == "meta" for p in model.parameters())
    assert n_params(model) == expected


def test_vgg16_layers():
    with torch.device("meta"):
        model = arch.vgg16()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(convs) == 13 and len(linears) == 3
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    assert convs[0].weight.numel() == 1728
    assert [tuple(lin.weight.shape) for lin in linears] == [(4096, 25088), (4096, 4096), (1000, 4096)]


def test_count_macs_matches_hand_computation():
    with torch.device("meta"):
        model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(8, 4, 3, groups=2), nn.Flatten(), nn.Linear(4 * 6 * 6, 5))
    # conv1: 16*16 outputs x 8 ch x (3*3*3); conv2 (grouped): 6*6 x 4 x (4*3*3); fc: 5 x 144
    expected = 16 * 16 * 8 * 27 + 6 * 6 * 4 * 36 + 5 * 144
    assert arch.count_macs(model, (1, 3, 16, 16)) == expected
    assert arch.count_macs(model, (2, 3, 16, 16)) == 2 * expected
    # hooks are removed afterwards
    assert all(not m._forward_hooks for m in model.modules())


def test_resnet50_costs_about_four_gmacs():
    with torch.device("meta"):
        macs = arch.count_macs(arch.resnet50(), (1, 3, 224, 224))
    assert 4.0e9 < macs < 4.2e9


def test_residual_blocks():
    torch.manual_seed(0)
    block = arch.BasicBlock(8, 8).eval()
    x = torch.rand(2, 8, 6, 6)
    with torch.no_grad():
        expected = torch.relu(block.residual(x) + x)
        assert torch.allclose(block(x), expected)
        nn.init.zeros_(block.residual[-1].weight)
        nn.init.zeros_(block.residual[-1].bias)
        assert torch.equal(block(x), x)  # F(x) = 0 -> identity on non-negative inputs
    down = arch.Bottleneck(64, 32, stride=2)
    assert isinstance(down.shortcut, nn.Sequential)
    assert down(torch.randn(1, 64, 8, 8)).shape == (1, 128, 4, 4)
    assert isinstance(arch.Bottleneck(128, 32).shortcut, nn.Identity)


def test_compound_scaling():
    d, w, r = arch.compound_scale(2)
    assert (d, w, r) == pytest.approx((1.44, 1.21, 1.3225))
    assert 1.2 * 1.1**2 * 1.15**2 == pytest.approx(1.92, abs=0.01)
    with torch.device("meta"):
        base, deeper, wider = (arch.scalable_cnn(), arch.scalable_cnn(depth_mult=2.0),
                               arch.scalable_cnn(width_mult=2.0))
        macs = [arch.count_macs(m, (1, 3, 32, 32)) for m in (base, deeper, wider)]
        big_input = arch.count_macs(base, (1, 3, 64, 64))
    convs = [sum(isinstance(m, nn.Conv2d) for m in net.modules()) for net in (base, deeper)]
    assert convs == [6, 12]
    assert 2.0 < macs[1] / macs[0] < 2.6   # depth: about linear (first convs of a stage are cheaper)
    assert 3.6 < macs[2] / macs[0] < 4.1   # width: about quadratic
    assert 3.9 < big_input / macs[0] < 4.1  # resolution: quadratic


def test_tiny_unet_and_grid_detector_shapes():
    torch.manual_seed(0)
    unet = arch.TinyUNet(in_ch=1, num_classes=4, width=4)
    assert unet(torch.randn(2, 1, 32, 32)).shape == (2, 4, 32, 32)
    detector = arch.GridDetector(num_classes=3, width=4, downsamples=3)
    out = detector(torch.randn(2, 1, 48, 48))
    assert out.shape == (2, 8, 6, 6)
    assert out[:, 1:5].min() >= 0 and out[:, 1:5].max() <= 1  # box channels are squashed


def test_unet_skip_connections_carry_fine_detail():
    # the decoder must see the encoder's full-resolution map: changing one input pixel changes
    # the prediction at that pixel even when the bottleneck path is switched off
    torch.manual_seed(0)
    unet = arch.TinyUNet(width=4).eval()
    with torch.no_grad():
        for p in unet.up1.parameters():
            p.zero_()
        x = torch.zeros(1, 1, 32, 32)
        y = x.clone()
        y[0, 0, 10, 10] = 5.0
        diff = (unet(y) - unet(x)).abs().sum(dim=1)[0]
    assert diff[10, 10] > 0
    assert diff[20:, 20:].abs().max() == 0
