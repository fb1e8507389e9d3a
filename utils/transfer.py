"""Lecture 18's experiment machinery: a cached source model, few-label samples, a step-based
training loop, a nearest-class-mean classifier and the loop over strategies, label counts and seeds.

What a strategy *is* (which layers are frozen, which head is new, which learning rates) stays in the
lecture: here a strategy is any function ``(indices, seed) -> accuracy``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn


def cached_model(path: Path, recipe: dict, build: Callable[[], nn.Module],
                 train: Callable[[nn.Module], float]) -> tuple[nn.Module, float, str]:
    """A model from ``path`` when it was saved with this ``recipe``, else built, trained and saved.

    build() -> a fresh model; train(model) -> its score after training (stored with the weights).
    Returns (model on the CPU, score, "loaded from cache" or "trained"). An unreadable or stale file
    is ignored; the new file is written atomically (a crash never leaves half a file).
    """
    model = build()
    if path.is_file():
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            if saved.get("recipe") == recipe:
                model.load_state_dict(saved["state_dict"])
                return model, float(saved["score"]), "loaded from cache"
        except Exception:  # noqa: BLE001 - any unreadable file (pickle, zip, key errors) is retrained
            pass
    model = build()
    score = float(train(model))
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".tmp{os.getpid()}")
    torch.save({"recipe": recipe, "state_dict": state, "score": score}, temporary)
    os.replace(temporary, path)
    return model.cpu(), score, "trained"


def sample_per_class(labels: torch.Tensor, n: int, seed: int, num_classes: int) -> torch.Tensor:
    """Indices (num_classes * n,) of ``n`` random rows of each class 0..num_classes-1 of ``labels`` (N,)."""
    rng = np.random.default_rng(seed)
    array = labels.cpu().numpy()
    picks = [rng.choice(np.flatnonzero(array == c), size=n, replace=False) for c in range(num_classes)]
    return torch.from_numpy(np.concatenate(picks))


def train_for_steps(model: nn.Module, param_groups: list[dict], x: torch.Tensor, y: torch.Tensor,
                    steps: int, batch_size: int = 128, seed: int = 0) -> nn.Module:
    """``steps`` Adam steps of cross-entropy on reshuffled mini-batches of x (N, ...), y (N,).

    param_groups: ``torch.optim.Adam`` parameter groups, e.g. ``[{"params": ..., "lr": 1e-3}]``;
    parameters not listed do not move. Each pass over the data uses a new random order drawn
    from ``seed``. Returns the model in eval mode.
    """
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(param_groups)
    x, y = x.to(device), y.to(device)
    batch = min(batch_size, len(x))
    model.train()
    order, start = torch.randperm(len(x), generator=generator), 0
    for _ in range(steps):
        if start + batch > len(x):
            order, start = torch.randperm(len(x), generator=generator), 0
        idx = order[start:start + batch].to(device)
        start += batch
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval()


def class_means(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(num_classes, D) mean of the rows of ``features`` (N, D) of each class in ``labels`` (N,)."""
    return torch.stack([features[labels == c].mean(dim=0) for c in range(num_classes)])


def nearest_mean_predict(means: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """Class (N,) of the nearest row of ``means`` (C, D), in Euclidean distance, for ``features`` (N, D)."""
    return torch.cdist(features, means.to(features.device)).argmin(dim=1)


def run_grid(strategies: dict[str, Callable[[torch.Tensor, int], float]], labels: torch.Tensor,
             labels_per_class: Sequence[int], seeds: Sequence[int], num_classes: int,
             progress: bool = True) -> dict[str, np.ndarray]:
    """Accuracy of every strategy for every label count and seed, on the same samples.

    strategies: ``name -> f(indices, seed) -> accuracy``; the indices (num_classes * n,) into
    ``labels`` come from ``sample_per_class(labels, n, seed, num_classes)``, shared by all strategies.
    Returns ``name -> array (len(labels_per_class), len(seeds))``.
    """
    from tqdm.auto import tqdm

    results = {name: np.zeros((len(labels_per_class), len(seeds))) for name in strategies}
    runs = [(i, j) for i in range(len(labels_per_class)) for j in range(len(seeds))]
    for i, j in tqdm(runs, desc="label counts x seeds", disable=not progress):
        indices = sample_per_class(labels, labels_per_class[i], seeds[j], num_classes)
        for name, strategy in strategies.items():
            torch.manual_seed(seeds[j])
            results[name][i, j] = strategy(indices, seeds[j])
    return results
