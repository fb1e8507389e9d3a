"""The site's widget pictures (devtools.site_capture) and its output rewriting (devtools.site)."""

from __future__ import annotations

import ipywidgets as widgets
import nbformat
import pytest

import utils.viz_1d
import utils.viz_2d
from devtools import site, site_capture
from utils.widgets import FigureView, Visualizer


def test_frames_move_a_real_widget_and_put_it_back():
    explorer = utils.viz_1d.ConnectionMatrixExplorer()
    slider = site_capture.leaf_controls(explorer.controls)
    moved = next(c for c in slider if isinstance(c, site_capture.SLIDERS))
    start = moved.value
    frames, name = site_capture.frames_of(explorer, count=5)
    assert 2 <= len(frames) <= 5
    assert len({f.tobytes() for f in frames}) == len(frames), "each step should draw a new picture"
    assert moved.value == start, "the control was not put back"
    assert name == (moved.description or type(moved).__name__).rstrip(": ")
    width, height = frames[0].size
    assert (width, height - 22) == explorer.view.fig.canvas.get_width_height()


def test_values_span_the_range_and_the_options():
    slider = widgets.IntSlider(min=2, max=9)
    assert site_capture.control_values(slider, 4) == [2, 4, 7, 9]
    dropdown = widgets.Dropdown(options=[("a", 1), ("b", 2), ("c", 3)])
    assert site_capture.control_values(dropdown, 8) == [1, 2, 3]
    many = widgets.Dropdown(options=list("abcdefghij"))
    assert site_capture.control_values(many, 3) == ["a", "e", "j"]


class Still(Visualizer):
    """A visualizer whose slider changes nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.view = FigureView(2, 2)
        self.controls = [widgets.IntSlider(min=0, max=3)]
        self.observe_all()
        self.refresh()

    def update(self) -> None:
        self.view.render()


def test_a_widget_whose_controls_change_nothing_is_refused():
    with pytest.raises(ValueError, match="no control changes its picture"):
        site_capture.frames_of(Still())


def _cell(*outputs):
    cell = nbformat.v4.new_code_cell("utils.viz_1d.FlipExplorer()")
    cell.outputs = [nbformat.v4.new_output("display_data", data=data) for data in outputs]
    return cell


def test_widget_outputs_become_their_pictures():
    widget = {site.WIDGET_MIME: {"model_id": "x"}, "text/plain": "VBox(...)"}
    marker = {site_capture.MIME: {"file": "02__w0.gif", "control": "K", "frames": 4}}
    notebook = nbformat.v4.new_notebook(cells=[_cell(widget, marker)])
    notebook.metadata["widgets"] = {"state": {}}
    assert site.widgets_to_pictures(notebook, "02.ipynb") == 1
    (output,) = notebook.cells[0].outputs
    assert "](anim/02__w0.gif)" in output.data["text/markdown"]
    assert "make lab" in output.data["text/markdown"]
    assert "widgets" not in notebook.metadata


def test_a_widget_without_its_picture_stops_the_build():
    widget = {site.WIDGET_MIME: {"model_id": "x"}, "text/plain": "VBox(...)"}
    notebook = nbformat.v4.new_notebook(cells=[_cell(widget)])
    with pytest.raises(site.SiteError, match="02.ipynb, cell 0: 1 widget"):
        site.widgets_to_pictures(notebook, "02.ipynb")


def test_landing_page_keeps_pictures_unlinks_other_files_and_lists_lectures():
    page = site.landing_page(site.lectures())
    assert "![step-through widget](docs/img/" in page
    assert "](docs/grading.md)" not in page
    assert page.index("lectures/00_start_here") < page.index("lectures/01_why_convolutions")
    for section in site.LANDING_SECTIONS:
        assert f"## {section}" in page
    assert "## Decisions" not in page


def test_cache_key_follows_the_notebook_and_utils(tmp_path):
    notebook = tmp_path / "a.ipynb"
    notebook.write_text("{}")
    first = site.cache_key(notebook)
    notebook.write_text("{ }")
    assert site.cache_key(notebook) != first


def test_a_visualizer_may_name_the_control_to_animate():
    explorer = utils.viz_2d.StepThrough()
    assert explorer.site_control == "step"
    frames, name = site_capture.frames_of(explorer)
    assert name == explorer.step.description and len(frames) == 9  # steps 0..8 of the 3x3 output
