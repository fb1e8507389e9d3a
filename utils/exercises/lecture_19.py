"""Your-turn check for lecture 19: intersection over union of two boxes."""

from __future__ import annotations

import numpy as np

from . import not_attempted, verdict

BOX_A = (2.0, 2.0, 10.0, 8.0)   # (x1, y1, x2, y2)
BOX_B = (6.0, 4.0, 14.0, 12.0)


def _pixel_iou(a: tuple[float, ...], b: tuple[float, ...], step: float = 0.25) -> float:
    """IoU of two axis-aligned boxes (x1, y1, x2, y2), measured by counting the centres of a fine grid
    of cells (exact for corners on that grid): an oracle independent of any formula."""
    lo = min(a[0], a[1], b[0], b[1])
    hi = max(a[2], a[3], b[2], b[3])
    centres = np.arange(lo, hi, step) + step / 2
    xx, yy = np.meshgrid(centres, centres)
    in_a = (xx > a[0]) & (xx < a[2]) & (yy > a[1]) & (yy < a[3])
    in_b = (xx > b[0]) & (xx < b[2]) & (yy > b[1]) & (yy < b[3])
    return float((in_a & in_b).sum() / (in_a | in_b).sum())


def check_iou(answer: object, box_a: tuple[float, ...] = BOX_A, box_b: tuple[float, ...] = BOX_B) -> bool:
    """answer: the IoU (a number in [0, 1]) of ``box_a`` and ``box_b`` given as (x1, y1, x2, y2).

    The oracle counts grid cells inside each box. Common slips (dividing by the sum of the areas,
    or by one box's area) are named."""
    if not_attempted(answer):
        return False
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return verdict([f"{answer!r} is not a number"], "")
    reference = _pixel_iou(box_a, box_b)
    area_a = (box_a[2] - box_a[0]) * (box_a[3] - box_a[1])
    area_b = (box_b[2] - box_b[0]) * (box_b[3] - box_b[1])
    overlap = reference * (area_a + area_b) / (1 + reference)
    problems = []
    if abs(value - reference) > 1e-3:
        if abs(value - overlap / (area_a + area_b)) < 1e-3:
            problems.append("the union counts the overlap once: area_a + area_b - intersection")
        elif abs(value - overlap / area_a) < 1e-3 or abs(value - overlap / area_b) < 1e-3:
            problems.append("divide by the union of both boxes, not by one box's area")
        elif abs(value - overlap) < 1e-3:
            problems.append("that is the intersection's area; divide it by the union's area")
        else:
            problems.append("intersection: overlap of [x1, x2] times overlap of [y1, y2]; "
                            "union: area_a + area_b - intersection")
    return verdict(problems, f"IoU = {reference:.4f}.")
