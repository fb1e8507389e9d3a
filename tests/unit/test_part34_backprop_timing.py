"""Lecture 13's timing helper: it times a real forward and backward pass."""

from __future__ import annotations

from utils.backprop_timing import forward_backward_seconds


def test_times_are_positive_and_grow_with_the_work():
    small = forward_backward_seconds(batch=1, channels=2, filters=2, size=8, repeats=3)
    large = forward_backward_seconds(batch=4, channels=16, filters=16, size=64, repeats=3)
    assert set(small) == {"forward", "backward"} and min(small.values()) > 0
    assert large["forward"] > small["forward"] and large["backward"] > small["backward"]
