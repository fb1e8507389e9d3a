"""Detection helpers for lecture 19: the YOLO-style loss and non-maximum suppression (NMS).

Boxes for NMS are ``(cx, cy, w, h)`` in pixels (the layout of ``utils.synthetic``); IoU comes
from ``utils.synthetic.box_iou``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .synthetic import box_iou


def yolo_loss(out: torch.Tensor, target: torch.Tensor, box_weight: float = 5.0) -> torch.Tensor:
    """YOLO v1-style loss of grid predictions ``out`` against ``target``, both (N, 5 + C, S, S).

    Channel 0 objectness (a logit in ``out``, 0/1 in ``target``), 1-4 the box, 5.. the one-hot
    class. Binary cross-entropy on the objectness of every cell, plus, averaged over the cells
    that hold an object, ``box_weight`` times the squared box error and the class cross-entropy.
    Returns a scalar tensor.
    """
    has_object = target[:, 0]
    objectness = F.binary_cross_entropy_with_logits(out[:, 0], has_object)
    cells = has_object.sum().clamp(min=1)
    box = (((out[:, 1:5] - target[:, 1:5]) ** 2).sum(dim=1) * has_object).sum() / cells
    classes = (F.cross_entropy(out[:, 5:], target[:, 5:].argmax(dim=1), reduction="none")
               * has_object).sum() / cells
    return objectness + box_weight * box + classes


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.5) -> np.ndarray:
    """Greedy non-maximum suppression: indices of the boxes kept, highest score first.

    boxes (k, 4) as (cx, cy, w, h); scores (k,). Repeatedly keep the highest-scoring remaining box
    and drop every remaining box whose IoU with it is *above* ``iou_threshold`` (the rule of
    ``torchvision.ops.nms``). Returns an int64 array (m,), m <= k. Ties in score keep the earlier box.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(boxes) != len(scores):
        raise ValueError(f"{len(boxes)} boxes but {len(scores)} scores")
    order = np.argsort(-scores, kind="stable")
    overlap = box_iou(boxes, boxes)
    keep: list[int] = []
    suppressed = np.zeros(len(boxes), dtype=bool)
    for index in order:
        if suppressed[index]:
            continue
        keep.append(int(index))
        suppressed |= overlap[index] > iou_threshold
    return np.asarray(keep, dtype=np.int64)


def grid_candidates(output: np.ndarray, size: int) -> list[np.ndarray]:
    """Every cell's box from raw grid outputs (n, 5 + C, S, S) (objectness as a logit).

    Returns n arrays (S*S, 6) ``(class, cx, cy, w, h, score)`` with score = sigmoid(logit), the
    layout of ``utils.synthetic.decode_grid``.
    """
    from .synthetic import decode_grid

    probabilities = np.array(output, dtype=np.float64, copy=True)
    probabilities[:, 0] = 1 / (1 + np.exp(-probabilities[:, 0]))
    return decode_grid(probabilities, size, threshold=-1.0)


def filter_detections(candidates: np.ndarray, threshold: float, iou_threshold: float | None) -> np.ndarray:
    """The rows of ``candidates`` (k, 6) with score > ``threshold``, then NMS per class (unless
    ``iou_threshold`` is None); sorted by score, highest first. Returns (m, 6)."""
    kept = candidates[candidates[:, 5] > threshold]
    kept = kept[np.argsort(-kept[:, 5], kind="stable")]
    if iou_threshold is None or len(kept) == 0:
        return kept
    rows = [kept[kept[:, 0] == kind][nms(kept[kept[:, 0] == kind, 1:5], kept[kept[:, 0] == kind, 5],
                                         iou_threshold)] for kind in np.unique(kept[:, 0])]
    merged = np.concatenate(rows)
    return merged[np.argsort(-merged[:, 5], kind="stable")]
