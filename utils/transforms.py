"""Geometric and photometric image transformations for lecture 15 (invariance beyond translation).

All geometric transforms act on batches ``x`` (N, C, H, W) through ``F.affine_grid`` and
``F.grid_sample`` (bilinear), rotating or scaling about the image centre. Pixels that come from
outside the image take the value ``fill`` (for standardised Fashion-MNIST, the background value
``background()``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

FASHION_MEAN, FASHION_STD = 0.2860, 0.3530


def background() -> float:
    """The value of a black (0) pixel after ``utils.fashion_mnist_tensors``' standardisation."""
    return (0.0 - FASHION_MEAN) / FASHION_STD


def affine(x: torch.Tensor, matrices: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
    """Resample ``x`` (N, C, H, W) with per-image 2x3 ``matrices`` (N, 2, 3) in ``affine_grid`` form.

    Output pixel at normalised position p takes the input at ``A p + b``. Returns (N, C, H, W).
    """
    grid = F.affine_grid(matrices.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x - fill, grid.to(x.device), mode="bilinear", padding_mode="zeros",
                         align_corners=False) + fill


def rotate(x: torch.Tensor, degrees, fill: float = 0.0) -> torch.Tensor:
    """Rotate every image of ``x`` (N, C, H, W) counter-clockwise by ``degrees`` (scalar or (N,))."""
    angles = torch.as_tensor(degrees, dtype=torch.float32).expand(len(x)) * (math.pi / 180)
    cos, sin = torch.cos(angles), torch.sin(angles)
    zeros = torch.zeros_like(cos)
    # the grid maps output to input: rotating the picture by +a samples the input at -a
    matrices = torch.stack([torch.stack([cos, -sin, zeros], 1), torch.stack([sin, cos, zeros], 1)], 1)
    return affine(x, matrices, fill)


def scale(x: torch.Tensor, factor: float, fill: float = 0.0) -> torch.Tensor:
    """Zoom every image of ``x`` (N, C, H, W) by ``factor`` about its centre (< 1 shrinks); same shape."""
    inv = 1.0 / factor
    matrices = torch.tensor([[inv, 0.0, 0.0], [0.0, inv, 0.0]]).expand(len(x), 2, 3)
    return affine(x, matrices, fill)


def random_rotation(max_degrees: float, fill: float = 0.0,
                    seed: int = 0) -> Callable[[torch.Tensor], torch.Tensor]:
    """An ``augment`` function for ``utils.training.fit``: rotate each image of a batch (N, C, H, W)
    by its own angle drawn uniformly from [-max_degrees, max_degrees] (seeded generator)."""
    generator = torch.Generator().manual_seed(seed)

    def augment(batch: torch.Tensor) -> torch.Tensor:
        angles = (torch.rand(len(batch), generator=generator) * 2 - 1) * max_degrees
        return rotate(batch, angles.to(batch.device), fill)

    return augment


def accuracy_under(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                   transform: Callable[[torch.Tensor, float], torch.Tensor], values) -> np.ndarray:
    """Test accuracy of ``model`` on ``transform(x, v)`` for each v in ``values``; shape (len(values),).

    x (N, C, H, W) and y (N,) on the model's device or the CPU; evaluation in ``eval`` mode.
    """
    from .training import accuracy

    return np.array([accuracy(model, transform(x, v), y) for v in values])


# --- the visual variations, on a grey image (H, W) in [0, 1] --------------------------------

def _grey_batch(image: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(image, dtype=np.float32))[None, None]


def viewpoint(image: np.ndarray, shear: float = 0.35) -> np.ndarray:
    """A change of viewpoint approximated by a horizontal shear plus a squeeze: (H, W) -> (H, W)."""
    matrix = torch.tensor([[[1.25, shear, 0.0], [0.0, 1.0, 0.0]]])
    return affine(_grey_batch(image), matrix, fill=0.0)[0, 0].numpy()


def deform(image: np.ndarray, strength: float = 0.06, seed: int = 0) -> np.ndarray:
    """A smooth random warp (elastic deformation): (H, W) -> (H, W); ``strength`` in image halves."""
    rng = np.random.default_rng(seed)
    coarse = torch.as_tensor(rng.standard_normal((1, 2, 4, 4)).astype(np.float32)) * strength
    h, w = image.shape
    flow = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True).permute(0, 2, 3, 1)
    identity = F.affine_grid(torch.tensor([[[1.0, 0, 0], [0, 1.0, 0]]]), [1, 1, h, w], align_corners=False)
    return F.grid_sample(_grey_batch(image), identity + flow, align_corners=False)[0, 0].numpy()


def occlude(image: np.ndarray, box: tuple[float, float, float, float] = (0.35, 0.3, 0.35, 0.4)) -> np.ndarray:
    """A grey rectangle over ``image`` (H, W); box = (top, left, height, width) as fractions."""
    out = np.array(image, dtype=np.float32, copy=True)
    h, w = out.shape
    top, left, bh, bw = (int(box[0] * h), int(box[1] * w), int(box[2] * h), int(box[3] * w))
    out[top:top + bh, left:left + bw] = 0.5
    return out


def illuminate(image: np.ndarray, gain: float = 0.45, gradient: float = 0.5) -> np.ndarray:
    """Darker light falling from the left: pixel * gain * (1 - gradient * column / W); (H, W)."""
    w = image.shape[1]
    ramp = 1.0 - gradient * np.linspace(0, 1, w, dtype=np.float32)
    return (np.asarray(image, dtype=np.float32) * gain * ramp[None, :]).astype(np.float32)


def clutter(image: np.ndarray, seed: int = 0, amount: float = 0.6) -> np.ndarray:
    """Blend ``image`` (H, W) with a busy background of random strokes: (H, W) in [0, 1]."""
    rng = np.random.default_rng(seed)
    h, w = image.shape
    noise = torch.as_tensor(rng.random((1, 1, h // 4, w // 4)).astype(np.float32))
    texture = F.interpolate(noise, size=(h, w), mode="nearest")[0, 0].numpy()
    return np.clip((1 - amount) * np.asarray(image) + amount * texture, 0, 1).astype(np.float32)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two images of the same shape, as pixel vectors (a number in [-1, 1])."""
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])
