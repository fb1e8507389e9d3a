"""Lecture 19's detection and segmentation widgets: what they keep and show, and that controls redraw."""

from __future__ import annotations

import numpy as np

from utils.detection import filter_detections
from utils.viz_detection import DetectionExplorer, SegmentationBrowser


def toy_detection():
    images = np.random.default_rng(0).standard_normal((2, 1, 48, 48))
    truth = [np.array([[1, 12, 12, 10, 10]], float), np.array([[2, 30, 30, 8, 8]], float)]
    candidates = [np.array([[1, 12, 12, 10, 10, 0.9], [1, 13, 12, 10, 10, 0.8], [3, 40, 40, 5, 5, 0.2]]),
                  np.array([[2, 30, 30, 8, 8, 0.7]])]
    return images, candidates, truth


def test_threshold_and_nms_decide_the_kept_boxes():
    explorer = DetectionExplorer(*toy_detection())
    assert explorer.kept[:, 5].tolist() == [0.9]  # duplicate suppressed, 0.2 below threshold
    assert "precision 100.0%, recall 100.0%" in explorer.message.value
    before = explorer.view.image.value
    explorer.use_nms.value = False
    assert explorer.kept[:, 5].tolist() == [0.9, 0.8]
    assert "precision 66.7%" in explorer.message.value
    assert explorer.view.image.value != before
    explorer.threshold.value = 0.1
    np.testing.assert_array_equal(explorer.kept, filter_detections(toy_detection()[1][0], 0.1, None))
    explorer.image_slider.value = 1
    assert explorer.kept[:, 0].tolist() == [2]


def test_segmentation_browser_shows_wrong_pixels_and_sorts_worst_first():
    truth = np.zeros((3, 8, 8), int)
    truth[:, 2:5, 2:5] = 1
    predicted = truth.copy()
    predicted[2, 0, :4] = 2                                          # image 2: 4 wrong pixels
    predicted[1, 0, 0] = 3                                           # image 1: 1 wrong pixel
    browser = SegmentationBrowser(np.zeros((3, 1, 8, 8)), truth, predicted)
    assert "0 of 64 pixels wrong" in browser.message.value
    before = browser.view.image.value
    browser.worst_first.value = True
    assert browser.shown_index == 2 and "4 of 64 pixels wrong" in browser.message.value
    assert browser.view.image.value != before
    browser.image_slider.value = 1
    assert browser.shown_index == 1 and "square 1.00" in browser.message.value
