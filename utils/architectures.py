"""The architectures that followed LeNet-5, built with ``torch.nn`` so their sizes can be computed.

Build them on the ``meta`` device (``with torch.device("meta"): model = vgg16()``): parameters
get shapes but no memory and no values, so even VGG-16's 138 M parameters cost nothing and
nothing is downloaded. Count with ``sum(p.numel() for p in model.parameters())``.

Also here: a tiny U-Net and a YOLO-style grid detector small enough to train on a CPU in
seconds (lecture 19), and a width/depth/resolution-scalable CNN for EfficientNet's compound
scaling. LeNet-5 is deliberately absent (it is a graded exercise).
"""

from __future__ import annotations

import math

import torch
from torch import nn

# --- AlexNet (2012) ---------------------------------------------------------------------------


def alexnet(num_classes: int = 1000) -> nn.Sequential:
    """AlexNet as a single-GPU network (the layout most libraries use): input (N, 3, 224, 224).

    Five convolutions (64, 192, 384, 256, 256 filters), three max-pools, then three fully
    connected layers 9216 -> 4096 -> 4096 -> ``num_classes`` with dropout. Output (N, num_classes).
    """
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.AdaptiveAvgPool2d(6), nn.Flatten(),
        nn.Dropout(0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
        nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
        nn.Linear(4096, num_classes),
    )


# --- VGG-16 (2014) ----------------------------------------------------------------------------

#: Output channels of VGG-16's 13 convolutions, "M" = 2x2 max-pool.
VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
                512, 512, 512, "M")


def vgg16_features() -> nn.Sequential:
    """VGG-16's convolutions: 13 conv 3x3 (padding 1) + ReLU, 5 max-pools; (N,3,224,224) -> (N,512,7,7)."""
    layers: list[nn.Module] = []
    channels = 3
    for item in VGG16_LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU(inplace=True)]
            channels = int(item)
    return nn.Sequential(*layers)


def vgg16(num_classes: int = 1000, global_pool: bool = False) -> nn.Sequential:
    """VGG-16 (configuration D of Simonyan & Zisserman): input (N, 3, 224, 224), output (N, num_classes).

    ``global_pool=False``: the original head, flatten 512x7x7 -> FC 4096 -> FC 4096 -> FC classes.
    ``global_pool=True``: global average pooling to 512 values, then one FC layer to the classes.
    """
    if global_pool:
        head = [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes)]
    else:
        head = [nn.Flatten(),
                nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
                nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
                nn.Linear(4096, num_classes)]
    return nn.Sequential(*vgg16_features(), *head)


# --- ResNet (2015) ----------------------------------------------------------------------------


class BasicBlock(nn.Module):
    """Residual block of ResNet-18/34: y = relu(F(x) + shortcut(x)), F = conv3x3-BN-ReLU-conv3x3-BN.

    Input (N, in_ch, H, W), output (N, out_ch, H/stride, W/stride). The shortcut is the identity
    when shapes match, else a strided 1x1 convolution with batch norm (a "projection").
    """

    expansion = 1

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1):
        super().__init__()
        self.residual = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True),
            nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch))
        self.shortcut = _shortcut(in_ch, out_ch, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.residual(x) + self.shortcut(x))


class Bottleneck(nn.Module):
    """Residual block of ResNet-50/101/152: 1x1 (reduce) -> 3x3 -> 1x1 (expand x4), plus shortcut.

    Input (N, in_ch, H, W), output (N, 4 * width, H/stride, W/stride); y = relu(F(x) + shortcut(x)).
    """

    expansion = 4

    def __init__(self, in_ch: int, width: int, stride: int = 1):
        super().__init__()
        out_ch = width * self.expansion
        self.residual = nn.Sequential(
            nn.Conv2d(in_ch, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, out_ch, 1, bias=False), nn.BatchNorm2d(out_ch))
        self.shortcut = _shortcut(in_ch, out_ch, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.residual(x) + self.shortcut(x))


def _shortcut(in_ch: int, out_ch: int, stride: int) -> nn.Module:
    """Identity when the shapes agree, else a strided 1x1 convolution + batch norm."""
    if stride == 1 and in_ch == out_ch:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False),
                         nn.BatchNorm2d(out_ch))


def resnet(blocks_per_stage: tuple[int, ...] = (3, 4, 6, 3), bottleneck: bool = True,
           num_classes: int = 1000) -> nn.Sequential:
    """A ResNet for (N, 3, 224, 224) inputs; output (N, num_classes).

    Stem (7x7/2 conv, BN, ReLU, 3x3/2 max-pool), four stages of widths 64, 128, 256, 512 (the
    first block of stages 2-4 halves the resolution), global average pooling, one FC layer.
    ``(3, 4, 6, 3)`` with bottlenecks is ResNet-50; ``(2, 2, 2, 2)`` with basic blocks ResNet-18.
    """
    block = Bottleneck if bottleneck else BasicBlock
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False),
                               nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
    channels = 64
    for stage, count in enumerate(blocks_per_stage):
        width = 64 * 2**stage
        for index in range(count):
            stride = 2 if stage > 0 and index == 0 else 1
            layers.append(block(channels, width, stride))
            channels = width * block.expansion
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)]
    return nn.Sequential(*layers)


def resnet50(num_classes: int = 1000) -> nn.Sequential:
    """ResNet-50 (He et al. 2015): 16 bottleneck blocks (3, 4, 6, 3); (N,3,224,224) -> (N,num_classes)."""
    return resnet((3, 4, 6, 3), bottleneck=True, num_classes=num_classes)


# --- EfficientNet-style compound scaling (2019) -----------------------------------------------


def compound_scale(phi: float, alpha: float = 1.2, beta: float = 1.1,
                   gamma: float = 1.15) -> tuple[float, float, float]:
    """EfficientNet's multipliers for compound coefficient ``phi``: (depth, width, resolution).

    depth = alpha**phi, width = beta**phi, resolution = gamma**phi; with alpha * beta**2 * gamma**2
    close to 2, the FLOPs of a convolutional network grow by about 2**phi.
    """
    return alpha**phi, beta**phi, gamma**phi


def scalable_cnn(depth_mult: float = 1.0, width_mult: float = 1.0,
                 num_classes: int = 10) -> nn.Sequential:
    """A plain CNN whose depth and width scale with the multipliers; input (N, 3, R, R), any R >= 8.

    Base network: three stages of widths 32, 64, 128 with 2 conv3x3-BN-ReLU layers each and a
    2x2 max-pool between stages, then global average pooling and one FC layer. Depth multiplies
    the number of layers per stage (rounded up), width the channels (rounded to integers).
    """
    layers: list[nn.Module] = []
    channels = 3
    for stage, base_width in enumerate((32, 64, 128)):
        width = int(round(base_width * width_mult))
        for _ in range(math.ceil(2 * depth_mult)):
            layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False),
                       nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            channels = width
        if stage < 2:
            layers.append(nn.MaxPool2d(2))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)]
    return nn.Sequential(*layers)


def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one forward pass of ``model`` on a tensor of ``input_shape``.

    Counts convolutions and linear layers only (they dominate), from the output shapes that
    forward hooks see while the model runs on a ``meta`` tensor (no memory, no arithmetic).
    The model's parameters must be on the ``meta`` device too. FLOPs are about 2 x MACs.
    """
    total = 0

    def hook(module: nn.Module, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
            total += output.numel() * per_output
        elif isinstance(module, nn.Linear):
            total += output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, nn.Conv2d | nn.Linear)]
    try:
        with torch.no_grad():
            model(torch.empty(input_shape, device="meta"))
    finally:
        for handle in handles:
            handle.remove()
    return total


# --- small trainable networks for synthetic segmentation and detection -------------------------


def _double_conv(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 3, padding=1), nn.BatchNorm2d(out_ch),
                         nn.ReLU(inplace=True), nn.Conv2d(out_ch, out_ch, 3, padding=1),
                         nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True))


class TinyUNet(nn.Module):
    """A two-level U-Net: (N, in_ch, H, W) -> per-pixel class scores (N, num_classes, H, W); H, W % 4 == 0.

    Encoder: double-conv at full, 1/2 and 1/4 resolution (``width``, 2x, 4x channels). Decoder:
    upsample with a transposed convolution, *concatenate* the encoder's map of the same
    resolution (the skip connection), double-conv; twice; then a 1x1 convolution to the classes.
    """

    def __init__(self, in_ch: int = 1, num_classes: int = 4, width: int = 16):
        super().__init__()
        self.enc1 = _double_conv(in_ch, width)
        self.enc2 = _double_conv(width, 2 * width)
        self.bottom = _double_conv(2 * width, 4 * width)
        self.up2 = nn.ConvTranspose2d(4 * width, 2 * width, 2, stride=2)
        self.dec2 = _double_conv(4 * width, 2 * width)
        self.up1 = nn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.dec1 = _double_conv(2 * width, width)
        self.head = nn.Conv2d(width, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)                                    # (N, w, H, W)
        e2 = self.enc2(nn.functional.max_pool2d(e1, 2))      # (N, 2w, H/2, W/2)
        b = self.bottom(nn.functional.max_pool2d(e2, 2))     # (N, 4w, H/4, W/4)
        d2 = self.dec2(torch.cat([self.up2(b), e2], dim=1))  # skip: concatenate e2
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))  # skip: concatenate e1
        return self.head(d1)


class GridDetector(nn.Module):
    """A YOLO-style single-shot detector: (N, 1, S*stride, S*stride) -> (N, 5 + C, S, S).

    A small CNN downsamples by ``2**downsamples``; a 1x1 convolution then predicts, for every
    grid cell, an objectness logit, the box centre inside the cell (sigmoid, in [0, 1]), the box
    width and height as image fractions (sigmoid) and ``num_classes`` class logits. The output
    keeps logits in channels 0 and 5..; channels 1-4 are already squashed to [0, 1].
    """

    def __init__(self, num_classes: int = 3, width: int = 16, downsamples: int = 4):
        super().__init__()
        layers: list[nn.Module] = []
        channels = 1
        for level in range(downsamples):
            out = width * 2 ** min(level, 2)
            layers += [nn.Conv2d(channels, out, 3, padding=1), nn.BatchNorm2d(out),
                       nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            channels = out
        layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels),
                   nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(channels, 5 + num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.body(x))
        return torch.cat([out[:, :1], torch.sigmoid(out[:, 1:5]), out[:, 5:]], dim=1)
