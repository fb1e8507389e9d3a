"""Synthetic images of simple shapes for segmentation and detection demos (lecture 19).

Each image holds a few filled shapes (square, disc, triangle) of random size, brightness and
position on a noisy, shaded background. The generators are seeded NumPy code, so the same seed
gives the same data on every machine, and they know the ground truth exactly: a per-pixel class
mask for segmentation and one box per shape for detection.

Class indices: 0 background, 1 square, 2 disc, 3 triangle (``SHAPE_NAMES``). Boxes are
``(class, cx, cy, w, h)`` in pixels, with ``class`` in 1..3.
"""

from __future__ import annotations

import numpy as np

SHAPE_NAMES = ("background", "square", "disc", "triangle")


def shape_mask(kind: int, cx: float, cy: float, half: float, size: int) -> np.ndarray:
    """Boolean mask (size, size) of one filled shape centred at ``(cx, cy)`` with half-extent ``half``.

    ``kind`` 1 = axis-aligned square of side ``2*half``, 2 = disc of radius ``half``,
    3 = upright triangle with base and height ``2*half`` (apex at the top).
    """
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    dx, dy = xx - cx, yy - cy
    if kind == 1:
        return (np.abs(dx) <= half) & (np.abs(dy) <= half)
    if kind == 2:
        return dx**2 + dy**2 <= half**2
    if kind == 3:
        depth = (dy + half) / (2 * half)  # 0 at the apex, 1 at the base
        return (depth >= 0) & (depth <= 1) & (np.abs(dx) <= depth * half)
    raise ValueError(f"kind must be 1 (square), 2 (disc) or 3 (triangle), got {kind}")


def _background(rng: np.random.Generator, size: int, noise: float) -> np.ndarray:
    """A (size, size) float32 background: a random linear shading plus Gaussian noise."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    gx, gy = rng.uniform(-0.3, 0.3, size=2)
    base = rng.uniform(0.1, 0.3) + gx * (xx - 0.5) + gy * (yy - 0.5)
    return (base + noise * rng.standard_normal((size, size))).astype(np.float32)


def _place_shapes(rng: np.random.Generator, size: int, count: int, min_half: float,
                  max_half: float) -> list[tuple[int, float, float, float]]:
    """Up to ``count`` shapes ``(kind, cx, cy, half)`` whose boxes do not overlap (rejection sampling)."""
    placed: list[tuple[int, float, float, float]] = []
    for _ in range(count * 20):
        if len(placed) == count:
            break
        half = rng.uniform(min_half, max_half)
        cx, cy = rng.uniform(half + 1, size - half - 1, size=2)
        if all(abs(cx - px) > half + ph + 1 or abs(cy - py) > half + ph + 1
               for _, px, py, ph in placed):
            placed.append((int(rng.integers(1, 4)), float(cx), float(cy), float(half)))
    return placed


def make_segmentation_data(n: int, size: int = 32, max_shapes: int = 3, noise: float = 0.15,
                           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy images with 1..``max_shapes`` shapes each and their per-pixel class masks.

    Returns ``images`` float32 (n, 1, size, size), roughly zero-mean, and ``masks`` int64
    (n, size, size) with values 0 (background), 1 (square), 2 (disc), 3 (triangle).
    """
    rng = np.random.default_rng(seed)
    images = np.empty((n, 1, size, size), dtype=np.float32)
    masks = np.zeros((n, size, size), dtype=np.int64)
    for i in range(n):
        image = _background(rng, size, noise)
        count = int(rng.integers(1, max_shapes + 1))
        for kind, cx, cy, half in _place_shapes(rng, size, count, size / 10, size / 4.5):
            inside = shape_mask(kind, cx, cy, half, size)
            image[inside] += rng.uniform(0.5, 0.9)
            masks[i][inside] = kind
        images[i, 0] = image
    return (images - 0.45) / 0.35, masks


def make_detection_data(n: int, size: int = 48, max_shapes: int = 3, noise: float = 0.15,
                        seed: int = 0) -> tuple[np.ndarray, list[np.ndarray]]:
    """``n`` noisy images with 1..``max_shapes`` non-overlapping shapes and their boxes.

    Returns ``images`` float32 (n, 1, size, size) and ``boxes``: a list of n float32 arrays of
    shape (k, 5), one row ``(class, cx, cy, w, h)`` per shape, in pixels, class in 1..3.
    """
    rng = np.random.default_rng(seed)
    images = np.empty((n, 1, size, size), dtype=np.float32)
    boxes = []
    for i in range(n):
        image = _background(rng, size, noise)
        count = int(rng.integers(1, max_shapes + 1))
        rows = []
        for kind, cx, cy, half in _place_shapes(rng, size, count, size / 14, size / 6):
            image[shape_mask(kind, cx, cy, half, size)] += rng.uniform(0.5, 0.9)
            rows.append((kind, cx, cy, 2 * half, 2 * half))
        images[i, 0] = image
        boxes.append(np.asarray(rows, dtype=np.float32).reshape(-1, 5))
    return (images - 0.4) / 0.3, boxes


def encode_grid(boxes: list[np.ndarray], size: int, grid: int, num_classes: int = 3) -> np.ndarray:
    """YOLO-style targets (n, 5 + num_classes, grid, grid) from per-image boxes ``(k, 5)``.

    The cell containing a box's centre is responsible for it. Channels per cell: objectness
    (1 or 0), centre offset x and y inside the cell in [0, 1], width and height as fractions of
    the image, then a one-hot class (class 1..num_classes maps to channel 5..). When two centres
    fall into one cell the later box wins (one box per cell, as in YOLO v1 with B = 1).
    """
    cell = size / grid
    target = np.zeros((len(boxes), 5 + num_classes, grid, grid), dtype=np.float32)
    for i, rows in enumerate(boxes):
        for kind, cx, cy, w, h in rows:
            col, row = min(int(cx // cell), grid - 1), min(int(cy // cell), grid - 1)
            target[i, :, row, col] = 0.0
            target[i, 0, row, col] = 1.0
            target[i, 1, row, col] = cx / cell - col
            target[i, 2, row, col] = cy / cell - row
            target[i, 3, row, col] = w / size
            target[i, 4, row, col] = h / size
            target[i, 4 + int(kind), row, col] = 1.0
    return target


def decode_grid(output: np.ndarray, size: int, threshold: float = 0.5) -> list[np.ndarray]:
    """Boxes from a grid prediction ``output`` (n, 5 + C, grid, grid) laid out like ``encode_grid``.

    Channel 0 must already be a probability (apply a sigmoid first); the box channels are taken
    as they are. Returns n arrays (k, 6): ``(class, cx, cy, w, h, score)`` in pixels, one row
    per cell whose objectness exceeds ``threshold``.
    """
    n, _, grid, _ = output.shape
    cell = size / grid
    result = []
    for i in range(n):
        rows = []
        for row, col in zip(*np.nonzero(output[i, 0] > threshold), strict=True):
            kind = int(np.argmax(output[i, 5:, row, col])) + 1
            cx = (col + output[i, 1, row, col]) * cell
            cy = (row + output[i, 2, row, col]) * cell
            w, h = output[i, 3, row, col] * size, output[i, 4, row, col] * size
            rows.append((kind, cx, cy, w, h, output[i, 0, row, col]))
        result.append(np.asarray(rows, dtype=np.float32).reshape(-1, 6))
    return result


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of boxes ``a`` (m, 4) and ``b`` (k, 4) given as ``(cx, cy, w, h)``; (m, k)."""
    a, b = np.asarray(a, dtype=np.float64).reshape(-1, 4), np.asarray(b, dtype=np.float64).reshape(-1, 4)
    a0, a1 = a[:, None, :2] - a[:, None, 2:] / 2, a[:, None, :2] + a[:, None, 2:] / 2
    b0, b1 = b[None, :, :2] - b[None, :, 2:] / 2, b[None, :, :2] + b[None, :, 2:] / 2
    overlap = np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0, None).prod(axis=-1)
    union = a[:, None, 2:].prod(axis=-1) + b[None, :, 2:].prod(axis=-1) - overlap
    return overlap / np.maximum(union, 1e-12)


def match_detections(predicted: list[np.ndarray], truth: list[np.ndarray],
                     iou_threshold: float = 0.5) -> dict[str, float]:
    """Greedy matching of predicted boxes (k, 6) to true boxes (k, 5), image by image.

    A prediction is a true positive when it has the right class and IoU >= ``iou_threshold``
    with a true box not matched yet (highest score first). Returns ``precision``, ``recall``
    and ``mean_iou`` (mean IoU of the true positives).
    """
    true_pos, n_pred, n_true, ious = 0, 0, 0, []
    for pred, gt in zip(predicted, truth, strict=True):
        n_pred, n_true = n_pred + len(pred), n_true + len(gt)
        if len(pred) == 0 or len(gt) == 0:
            continue
        pred = pred[np.argsort(-pred[:, 5])]
        overlap = box_iou(pred[:, 1:5], gt[:, 1:5])
        used = np.zeros(len(gt), dtype=bool)
        for p in range(len(pred)):
            candidates = (~used) & (gt[:, 0] == pred[p, 0]) & (overlap[p] >= iou_threshold)
            if candidates.any():
                best = int(np.argmax(np.where(candidates, overlap[p], -1)))
                used[best] = True
                true_pos += 1
                ious.append(overlap[p, best])
    return {"precision": true_pos / max(n_pred, 1), "recall": true_pos / max(n_true, 1),
            "mean_iou": float(np.mean(ious)) if ious else 0.0}


def segmentation_iou(predicted: np.ndarray, truth: np.ndarray, num_classes: int = 4) -> np.ndarray:
    """Per-class intersection over union of label maps ``predicted`` and ``truth`` (same shape).

    Returns (num_classes,) values in [0, 1].

    A class absent from both gets NaN.
    """
    predicted, truth = np.asarray(predicted), np.asarray(truth)
    result = np.full(num_classes, np.nan)
    for k in range(num_classes):
        union = np.sum((predicted == k) | (truth == k))
        if union:
            result[k] = np.sum((predicted == k) & (truth == k)) / union
    return result
