"""Synthetic shapes for lecture 19: masks, boxes, grid encoding and the detection metrics."""

from __future__ import annotations

import numpy as np
import pytest

from utils import synthetic


def test_same_seed_same_data_other_seed_other_data():
    a = synthetic.make_segmentation_data(5, seed=3)
    b = synthetic.make_segmentation_data(5, seed=3)
    c = synthetic.make_segmentation_data(5, seed=4)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    d1, boxes1 = synthetic.make_detection_data(4, seed=3)
    d2, boxes2 = synthetic.make_detection_data(4, seed=3)
    assert np.array_equal(d1, d2) and all(np.array_equal(p, q) for p, q in zip(boxes1, boxes2, strict=True))


@pytest.mark.parametrize("kind, area", [(1, 100.0), (2, np.pi * 25), (3, 50.0)])
def test_shape_areas(kind, area):
    # half-extent 5: square 10x10, disc of radius 5, triangle with base 10 and height 10
    mask = synthetic.shape_mask(kind, 20.0, 20.0, 5.0, 40)
    assert abs(mask.sum() - area) / area < 0.12
    ys, xs = np.nonzero(mask)
    assert xs.min() >= 14 and xs.max() <= 25 and ys.min() >= 14 and ys.max() <= 25


def test_triangle_points_up():
    mask = synthetic.shape_mask(3, 20.0, 20.0, 8.0, 40)
    rows = mask.sum(axis=1)
    filled = rows[rows > 0]
    assert filled[0] < filled[-1]  # narrow at the top, wide at the bottom


def test_segmentation_masks_mark_the_brighter_shapes():
    images, masks = synthetic.make_segmentation_data(20, noise=0.0, seed=1)
    assert images.shape == (20, 1, 32, 32) and masks.shape == (20, 32, 32)
    assert set(np.unique(masks)) <= {0, 1, 2, 3} and len(np.unique(masks)) == 4
    for image, mask in zip(images[:, 0], masks, strict=True):
        assert (mask > 0).any()
        assert image[mask > 0].min() > image[mask == 0].max()  # shapes add 0.5-0.9 of brightness


def test_detection_boxes_match_the_drawn_shapes():
    images, boxes = synthetic.make_detection_data(10, size=48, noise=0.0, seed=2)
    for image, rows in zip(images[:, 0], boxes, strict=True):
        assert 1 <= len(rows) <= 3 and rows.shape[1] == 5
        background = np.median(image)
        for kind, cx, cy, w, h in rows:
            assert kind in (1, 2, 3) and w == h
            assert image[int(cy), int(cx)] > background + 0.5  # the box centre lies on the shape
            assert 0 <= cx - w / 2 and cx + w / 2 <= 48


def test_encode_then_decode_recovers_the_boxes():
    _, boxes = synthetic.make_detection_data(30, size=48, seed=5)
    grid = synthetic.encode_grid(boxes, 48, 6)
    assert grid.shape == (30, 8, 6, 6)
    assert np.all(grid[:, 5:].sum(axis=1) == grid[:, 0])  # one-hot class exactly where an object is
    decoded = synthetic.decode_grid(grid, 48, threshold=0.5)
    recovered = sum(len(d) for d in decoded)
    total = sum(len(b) for b in boxes)
    assert recovered >= total - 2  # two centres in one cell is rare
    for found, truth in zip(decoded, boxes, strict=True):
        for row in found:
            match = np.all(np.isclose(truth, row[:5], atol=1e-4), axis=1)
            assert match.any()
    scores = synthetic.match_detections(decoded, boxes)
    assert scores["precision"] == 1.0 and scores["mean_iou"] == pytest.approx(1.0)
    assert scores["recall"] == recovered / total


def test_box_iou_known_values():
    a = np.array([[5, 5, 10, 10]])
    b = np.array([[5, 5, 10, 10], [10, 5, 10, 10], [30, 30, 4, 4], [5, 5, 5, 5]])
    np.testing.assert_allclose(synthetic.box_iou(a, b), [[1.0, 50 / 150, 0.0, 25 / 100]])


def test_match_detections_needs_class_and_overlap():
    truth = [np.array([[1, 10, 10, 8, 8]], dtype=np.float32)]
    wrong_class = [np.array([[2, 10, 10, 8, 8, 0.9]], dtype=np.float32)]
    shifted = [np.array([[1, 16, 10, 8, 8, 0.9]], dtype=np.float32)]  # IoU 2/14
    double = [np.array([[1, 10, 10, 8, 8, 0.9], [1, 10.5, 10, 8, 8, 0.8]], dtype=np.float32)]
    assert synthetic.match_detections(wrong_class, truth)["recall"] == 0.0
    assert synthetic.match_detections(shifted, truth)["precision"] == 0.0
    scores = synthetic.match_detections(double, truth)
    assert scores["recall"] == 1.0 and scores["precision"] == 0.5


def test_segmentation_iou():
    truth = np.array([[0, 0, 1, 1], [0, 2, 2, 1]])
    pred = np.array([[0, 1, 1, 1], [0, 2, 0, 1]])
    iou = synthetic.segmentation_iou(pred, truth, num_classes=4)
    np.testing.assert_allclose(iou[:3], [2 / 4, 3 / 4, 1 / 2])
    assert np.isnan(iou[3])
