"""A small, seeded training loop with a tqdm progress bar, used by the lectures.

The graded assignments ask students to write their own loop; their hidden tests make sure
a submission does not delegate to this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from .device import get_device


def make_loader(x: torch.Tensor, y: torch.Tensor, batch_size: int = 128, shuffle: bool = True,
                seed: int = 0) -> DataLoader:
    """A ``DataLoader`` over tensors ``x`` (N, ...) and ``y`` (N,), shuffled reproducibly by ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle,
                      generator=generator if shuffle else None)


def batches(x: torch.Tensor, y: torch.Tensor, batch_size: int,
            generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One shuffled epoch of mini-batches ``(x[idx], y[idx])`` from tensors already in memory.

    x (N, ...), y (N,) on any device; each batch holds ``batch_size`` rows (the last one fewer).
    The order is ``torch.randperm(N, generator=generator)``, the same order a shuffling
    ``DataLoader`` built by ``make_loader`` with this generator visits, without its per-sample
    collation: the data are shuffled by one gather per epoch and cut into slices.
    """
    torch.empty((), dtype=torch.int64).random_(generator=generator)  # as a DataLoader's iterator does
    order = torch.randperm(len(x), generator=generator).to(x.device)
    x, y = x[order], y[order]  # one gather per epoch; the batches below are views (no copies)
    for start in range(0, len(x), batch_size):
        yield x[start:start + batch_size], y[start:start + batch_size]
    torch.randperm(len(x), generator=generator)  # a RandomSampler draws (and drops) one more at its end


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1000,
            device: torch.device | None = None) -> torch.Tensor:
    """Class predictions (N,) of ``model`` for inputs ``x`` (N, ...), computed in batches."""
    device = device or next(model.parameters()).device
    model.eval()
    chunks = [model(x[i:i + batch_size].to(device)).argmax(dim=1).cpu()
              for i in range(0, len(x), batch_size)]
    return torch.cat(chunks)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """Fraction of ``x`` (N, ...) that ``model`` classifies as ``y`` (N,), in [0, 1]."""
    return (predict(model, x, batch_size) == y.cpu()).float().mean().item()


def fit(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor] | None = None,
    epochs: int = 5,
    lr: float = 1e-3,
    batch_size: int = 128,
    weight_decay: float = 0.0,
    schedule: str = "onecycle",
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    seed: int = 0,
    device: torch.device | None = None,
    progress: bool = True,
) -> dict[str, list[float]]:
    """Train ``model`` with Adam(W) and cross-entropy; return per-epoch history.

    Args:
        train / test: ``(x, y)`` tensors, x (N, ...) float, y (N,) int64 class indices.
        schedule: ``"onecycle"`` (warm-up then anneal, usually best for short runs) or ``"constant"``.
        augment: optional function applied to each training batch on the device.
        seed: seeds the weight-independent randomness (batch order, augmentation).

    The tensors are moved to ``device`` once and batched by indexing (``batches``), in the
    same order a shuffling ``make_loader(..., seed=seed)`` would give.

    Returns:
        ``{"train_loss": [...], "train_acc": [...], "test_acc": [...]}`` (test_acc only with ``test``).
    """
    from tqdm.auto import tqdm

    device = device or get_device()
    model.to(device)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    x_all, y_all = train[0].to(device), train[1].to(device)
    steps_per_epoch = -(-len(x_all) // batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = None
    if schedule == "onecycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.25)
    elif schedule != "constant":
        raise ValueError(f"schedule must be 'onecycle' or 'constant', got {schedule!r}")
    loss_fn = nn.CrossEntropyLoss()
    history: dict[str, list[float]] = {"train_loss": [], "train_acc": []}
    if test is not None:
        history["test_acc"] = []
    for _epoch in tqdm(range(epochs), desc="epochs", disable=not progress):
        model.train()
        total_loss, correct, seen = 0.0, 0, 0
        for xb, yb in batches(x_all, y_all, batch_size, generator):
            if augment is not None:
                xb = augment(xb)
            logits = model(xb)
            loss = loss_fn(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            total_loss += loss.item() * len(yb)
            correct += (logits.argmax(1) == yb).sum().item()
            seen += len(yb)
        history["train_loss"].append(total_loss / seen)
        history["train_acc"].append(correct / seen)
        if test is not None:
            history["test_acc"].append(accuracy(model, *test))
    return history


def fit_loss(
    model: nn.Module,
    x: torch.Tensor,
    target: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    epochs: int,
    lr: float = 1e-2,
    batch_size: int = 64,
    seed: int = 0,
    desc: str = "training",
    device: torch.device | None = None,
    progress: bool = True,
) -> list[float]:
    """Train ``model`` on ``(x, target)`` with any loss: Adam, one-cycle schedule, shuffled batches.

    x (N, ...) inputs; target (N, ...) whatever ``loss_fn(model(xb), target_b)`` expects (a mask
    (N, H, W) for segmentation, a grid (N, 5 + C, S, S) for detection). Each epoch visits
    ``N // batch_size`` full batches in an order drawn from ``seed``. Returns the mean loss of each epoch.
    """
    from tqdm.auto import tqdm

    device = device or get_device()
    torch.manual_seed(seed)
    model.to(device).train()
    steps_per_epoch = len(x) // batch_size
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, pct_start=0.25,
                                                   total_steps=epochs * steps_per_epoch)
    generator = torch.Generator().manual_seed(seed)
    x, target = x.to(device), target.to(device)
    losses = []
    for _ in tqdm(range(epochs), desc=desc, disable=not progress):
        order = torch.randperm(len(x), generator=generator).to(device)
        total = 0.0
        for step in range(steps_per_epoch):
            idx = order[step * batch_size:(step + 1) * batch_size]
            loss = loss_fn(model(x[idx]), target[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item()
        losses.append(total / steps_per_epoch)
    return losses
