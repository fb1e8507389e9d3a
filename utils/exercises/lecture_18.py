"""Your-turn check for lecture 18: the class means behind a nearest-class-mean classifier."""

from __future__ import annotations

import numpy as np
import torch

from . import not_attempted, verdict


def check_class_means(answer: object, features: torch.Tensor, labels: torch.Tensor,
                      num_classes: int) -> bool:
    """answer: (num_classes, D) tensor or array whose row c is the mean of ``features`` (N, D) over
    the rows with ``labels == c``. The oracle is ``torch.index_add_`` of the features divided by
    ``torch.bincount`` of the labels. Prints what is off."""
    if not_attempted(answer):
        return False
    feats = torch.as_tensor(features, dtype=torch.float64)
    sums = torch.zeros(num_classes, feats.shape[1], dtype=torch.float64).index_add_(0, labels.long(), feats)
    reference = (sums / torch.bincount(labels.long(), minlength=num_classes)[:, None]).numpy()
    try:
        got = np.asarray(answer.detach().cpu() if isinstance(answer, torch.Tensor) else answer, dtype=float)
    except (TypeError, ValueError):
        return verdict(["answer must be a tensor or array of numbers"], "")
    problems = []
    if got.shape != reference.shape:
        hint = " (one row per class: average over the images, dim 0)" if got.shape[::-1] == reference.shape \
            or got.shape == (feats.shape[1],) else ""
        problems.append(f"shape {got.shape}, expected {reference.shape}{hint}")
    elif not np.allclose(got, reference, atol=1e-5):
        if np.allclose(got, np.broadcast_to(feats.mean(0).numpy(), got.shape), atol=1e-5):
            problems.append("every row is the mean of all images: keep only the rows of class c for row c")
        elif np.allclose(got, sums.numpy(), atol=1e-4):
            problems.append("these are sums: divide each by the number of images of that class")
        else:
            problems.append("row c must be features[labels == c].mean(dim=0)")
    return verdict(problems, "each row is the centre of one class in feature space.")
