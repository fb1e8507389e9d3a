"""Checks for the "your turn" exercise of lecture 17 (CNN against MLP): shuffling the pixels."""

from __future__ import annotations

from collections.abc import Callable

import torch

from . import not_attempted, verdict


def _oracle(x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """Reference: gather the pixel positions of every (image, channel) plane by ``perm``."""
    n, c, h, w = x.shape
    index = perm.view(1, 1, h * w).expand(n, c, h * w)
    return torch.gather(x.reshape(n, c, h * w), 2, index).reshape(n, c, h, w)


def check_shuffle_pixels(shuffle_pixels: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """``shuffle_pixels(x, perm)``: x (N, C, H, W), perm (H*W,) -> (N, C, H, W), where pixel
    position ``i`` of every image and channel (positions counted row by row) takes the value that
    was at position ``perm[i]``. Prints the verdict and returns whether it is right."""
    generator = torch.Generator().manual_seed(17)
    x = torch.randn(5, 3, 6, 4, generator=generator)
    perm = torch.randperm(24, generator=generator)
    try:
        got = shuffle_pixels(x.clone(), perm)
    except Exception as error:  # noqa: BLE001  (a learner's code: report, never raise)
        return verdict([f"shuffle_pixels raised {type(error).__name__}: {error}"], "")
    if got is None and not_attempted(got):
        return False
    problems = []
    expected = _oracle(x, perm)
    if not isinstance(got, torch.Tensor):
        problems.append(f"shuffle_pixels returned a {type(got).__name__}; return a tensor")
    elif tuple(got.shape) != tuple(x.shape):
        hint = ("the whole tensor was flattened: flatten only the pixel dimensions, x.flatten(2)"
                if got.dim() == 1 else "reshape the result back to x.shape after indexing")
        problems.append(f"for x of shape {tuple(x.shape)} it returned shape {tuple(got.shape)}: {hint}")
    elif torch.allclose(got, _oracle(x, perm.argsort())) and not torch.allclose(got, expected):
        problems.append("this is the inverse permutation: new position i must take the old pixel "
                        "perm[i] (gather, x.flatten(2)[:, :, perm]), not send pixel i to perm[i]")
    elif not torch.allclose(got, expected):
        problems.append("pixel i of each image and channel must be the old pixel perm[i], positions "
                        "counted row by row: x.flatten(2)[:, :, perm], then reshape to x.shape")
    return verdict(problems, "Every image and channel gets the same permutation of its pixels.")
