import numpy as np

from utils.viz_intro import SmoothingDemo, box_smooth


def test_box_smooth_is_a_true_moving_average_inside_and_renormalised_at_edges():
    values = np.arange(10, dtype=float)
    smoothed = box_smooth(values, 3)
    assert np.allclose(smoothed[1:-1], values[1:-1])  # a line is its own moving average
    assert np.isclose(smoothed[0], 0.5) and np.isclose(smoothed[-1], 8.5)
    assert np.allclose(box_smooth(values, 1), values)


def test_moving_the_slider_changes_the_curve_and_the_picture():
    demo = SmoothingDemo()
    before_png, before_y = demo.view.image.value, demo.line.get_ydata().copy()
    demo.width.value = 9
    assert demo.view.image.value != before_png
    assert not np.allclose(demo.line.get_ydata(), before_y)
    assert np.std(np.diff(demo.line.get_ydata())) < np.std(np.diff(before_y)) / 3
    assert demo.title.get_text() == "moving average over 9 samples"
