"""NMS and the YOLO loss (lecture 19), against a brute-force reference and hand-made cases.

torchvision is not installed for this course, so ``torchvision.ops.nms`` is not available as an
oracle; the reference below is a direct transcription of the definition, run on random boxes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from utils.detection import filter_detections, grid_candidates, nms, yolo_loss


def corners_iou(a, b) -> float:
    """IoU of two (cx, cy, w, h) boxes, written out with corners."""
    ax0, ay0, ax1, ay1 = a[0] - a[2] / 2, a[1] - a[3] / 2, a[0] + a[2] / 2, a[1] + a[3] / 2
    bx0, by0, bx1, by1 = b[0] - b[2] / 2, b[1] - b[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def reference_nms(boxes, scores, threshold) -> list[int]:
    """The definition: a box is kept iff no *kept* box with a higher score overlaps it above threshold."""
    kept: list[int] = []
    for i in sorted(range(len(boxes)), key=lambda i: (-scores[i], i)):
        if all(corners_iou(boxes[i], boxes[j]) <= threshold for j in kept):
            kept.append(i)
    return kept


def test_hand_made_cases():
    boxes = np.array([[10, 10, 10, 10], [11, 10, 10, 10], [30, 30, 8, 8], [10, 12, 10, 10]], float)
    scores = np.array([0.9, 0.95, 0.5, 0.3])
    # box 1 wins, suppresses 0 (IoU 90/110) and 3 (IoU 72/128); box 2 overlaps nothing
    assert nms(boxes, scores, 0.5).tolist() == [1, 2]
    assert nms(boxes, scores, 0.9).tolist() == [1, 0, 2, 3]          # nothing overlaps that much
    assert nms(boxes, scores, 0.0).tolist() == [1, 2]
    same = np.array([[5, 5, 4, 4], [5, 5, 4, 4]], float)
    assert nms(same, np.array([0.5, 0.5]), 0.99).tolist() == [0]     # IoU 1 > 0.99, tie keeps the first
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []
    with pytest.raises(ValueError):
        nms(boxes, scores[:2], 0.5)


@pytest.mark.parametrize("seed", range(5))
def test_matches_the_brute_force_definition(seed):
    rng = np.random.default_rng(seed)
    boxes = np.column_stack([rng.uniform(0, 40, (30, 2)), rng.uniform(4, 16, (30, 2))])
    scores = rng.uniform(0, 1, 30)
    for threshold in (0.1, 0.3, 0.5, 0.7):
        assert nms(boxes, scores, threshold).tolist() == reference_nms(boxes, scores, threshold)


def test_filter_detections_thresholds_then_suppresses_per_class():
    rows = np.array([[1, 10, 10, 10, 10, 0.9], [1, 11, 10, 10, 10, 0.8], [2, 11, 10, 10, 10, 0.7],
                     [1, 40, 40, 6, 6, 0.2]])
    assert filter_detections(rows, 0.5, None)[:, 5].tolist() == [0.9, 0.8, 0.7]
    kept = filter_detections(rows, 0.1, 0.5)
    assert kept[:, 5].tolist() == [0.9, 0.7, 0.2]   # the class-2 box survives beside the class-1 winner


def test_grid_candidates_give_every_cell_with_sigmoid_scores():
    out = np.zeros((1, 8, 2, 2))
    out[0, 0] = [[0.0, 2.0], [-2.0, 0.0]]
    out[0, 1:3] = 0.5
    out[0, 3:5] = 0.25
    out[0, 6, 1, 1] = 3.0
    rows = grid_candidates(out, size=16)[0]
    assert rows.shape == (4, 6)
    expected = torch.sigmoid(torch.tensor([0.0, 2, -2, 0])).numpy()
    np.testing.assert_allclose(sorted(rows[:, 5]), sorted(expected), rtol=1e-6)
    cell = rows[(rows[:, 1] == 12) & (rows[:, 2] == 12)][0]       # cell (1, 1): centre (1.5 * 8, 1.5 * 8)
    assert cell[0] == 2 and cell[3] == 4 and cell[4] == 4


def test_yolo_loss_against_its_definition():
    gen = torch.Generator().manual_seed(0)
    out = torch.randn(2, 8, 3, 3, generator=gen)
    target = torch.zeros(2, 8, 3, 3)
    target[0, :, 1, 2] = torch.tensor([1, 0.3, 0.6, 0.2, 0.4, 0, 1, 0])
    target[1, :, 0, 0] = torch.tensor([1, 0.5, 0.5, 0.1, 0.1, 1, 0, 0])
    expected = F.binary_cross_entropy_with_logits(out[:, 0], target[:, 0])
    cells = [(0, 1, 2, 1), (1, 0, 0, 0)]
    box = sum(((out[n, 1:5, r, c] - target[n, 1:5, r, c]) ** 2).sum() for n, r, c, _ in cells) / 2
    cls = sum(F.cross_entropy(out[n, 5:, r, c][None], torch.tensor([k])) for n, r, c, k in cells) / 2
    assert torch.allclose(yolo_loss(out, target), expected + 5 * box + cls, atol=1e-6)
