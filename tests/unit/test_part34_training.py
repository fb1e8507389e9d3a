"""utils.training: in-memory batches follow the DataLoader's order; fit_loss trains with any loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from utils import training


def test_batches_visit_the_same_order_as_a_shuffling_dataloader():
    x = torch.arange(50.0).view(50, 1)
    y = torch.arange(50)
    loader = training.make_loader(x, y, batch_size=8, seed=3)
    generator = torch.Generator().manual_seed(3)
    for _epoch in range(3):
        ours = list(training.batches(x, y, 8, generator))
        theirs = list(loader)
        assert len(ours) == len(theirs) == 7 and len(ours[-1][1]) == 2
        for (xa, ya), (xb, yb) in zip(ours, theirs, strict=True):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_fit_loss_lowers_a_segmentation_loss_and_is_reproducible():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 1, 6, 6, generator=gen)
    target = (x[:, 0] > 0).long()                    # per-pixel class: the sign of the pixel

    def run():
        torch.manual_seed(0)
        model = torch.nn.Conv2d(1, 2, 1)
        losses = training.fit_loss(model, x, target, F.cross_entropy, epochs=6, lr=0.1, batch_size=16,
                                   device=torch.device("cpu"), progress=False)
        return losses, model

    losses, model = run()
    assert len(losses) == 6 and losses[-1] < 0.5 * losses[0]
    accuracy = (model(x).argmax(1) == target).float().mean().item()
    assert accuracy > 0.95
    assert run()[0] == losses
