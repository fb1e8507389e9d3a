"""Widgets as pictures for the static course site: an animated GIF of a control being moved.

Runs inside the kernel that executes a lecture for the site (``devtools.site`` registers
``install()`` in a first, injected cell). After every cell whose value is one of the course's
visualizers, the real widget is driven: the control its class names in ``site_control``, else
its first slider, else its first drop-down or toggle, steps through up to ``FRAMES`` values.
Each picture is the PNG the widget itself renders; the frames become one GIF with the control's
name and value written under each frame. The cell then gets a marker output (``MIME``) naming
the file; the site build puts the picture in place of the widget. Progress bars are switched to
text. Nothing here is imported by the lectures.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import tqdm.auto
import tqdm.std
from PIL import Image, ImageDraw

from utils.widgets import Visualizer

MIME = "application/x.cnn-course-filmstrip+json"
FRAMES = 10
FRAME_MS = 700
SLIDERS = (widgets.IntSlider, widgets.FloatSlider, widgets.SelectionSlider)
CHOICES = (widgets.Dropdown, widgets.ToggleButtons, widgets.RadioButtons, widgets.Select)


def leaf_controls(controls: list[widgets.Widget]) -> list[widgets.Widget]:
    """The controls with no children, in display order (boxes are opened)."""
    leaves = []
    for control in controls:
        children = getattr(control, "children", None)
        leaves.extend(leaf_controls(list(children)) if children else [control])
    return leaves


def control_values(control: widgets.Widget, count: int) -> list[Any]:
    """Up to ``count`` values spread over the control's range or options, in order."""
    if isinstance(control, (widgets.IntSlider, widgets.FloatSlider)):
        low, high = control.min, control.max
        values = [low + (high - low) * i / (count - 1) for i in range(count)]
        if isinstance(control, widgets.IntSlider):
            values = sorted({round(v) for v in values})
        return values
    options = [o[1] if isinstance(o, tuple) else o for o in control.options]
    if len(options) <= count:
        return options
    return [options[round(i * (len(options) - 1) / (count - 1))] for i in range(count)]


def caption(control: widgets.Widget, value: Any) -> str:
    name = (control.description or type(control).__name__).rstrip(": ")
    shown = f"{value:.3g}" if isinstance(value, float) else str(value)
    return f"{name} = {shown}"[:80]


def frames_of(visualizer: Visualizer, count: int = FRAMES) -> tuple[list[Image.Image], str]:
    """Move the visualizer's first movable control through its values; PNG frames and its name.

    The control is put back to its first value afterwards. Raises ``ValueError`` when no
    control changes the picture.
    """
    leaves = leaf_controls(visualizer.controls)
    movable = [c for c in leaves if isinstance(c, SLIDERS)] + [c for c in leaves if isinstance(c, CHOICES)]
    if visualizer.site_control:
        movable.insert(0, getattr(visualizer, visualizer.site_control))
    for control in movable:
        start = control.value
        frames, pictures = [], set()
        for value in control_values(control, count):
            control.value = value
            if visualizer.showing_problem:
                continue
            pictures.add(visualizer.view.image.value)
            picture = Image.open(io.BytesIO(visualizer.view.image.value)).convert("RGB")
            frames.append(with_caption(picture, caption(control, value)))
        control.value = start
        if len(pictures) > 1:
            return frames, caption(control, start).split(" = ")[0]
    raise ValueError(f"{type(visualizer).__name__}: no control changes its picture")


def with_caption(picture: Image.Image, text: str) -> Image.Image:
    """The picture with a white band below it holding ``text``."""
    band = 22
    framed = Image.new("RGB", (picture.width, picture.height + band), "white")
    framed.paste(picture, (0, 0))
    ImageDraw.Draw(framed).text((8, picture.height + 5), text, fill="black")
    return framed


def save_gif(frames: list[Image.Image], path: Path) -> None:
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=FRAME_MS, loop=0,
                   optimize=True)


def install(folder: str, stem: str) -> None:
    """Capture every visualizer a cell returns as ``folder/<stem>__w<k>.gif`` (k = 0, 1, ...)."""
    from IPython import get_ipython
    from IPython.display import display

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    counter = iter(range(10_000))

    def after_cell(result) -> None:
        if not isinstance(result.result, Visualizer):
            return
        frames, control = frames_of(result.result)
        name = f"{stem}__w{next(counter)}.gif"
        save_gif(frames, out / name)
        display({MIME: {"file": name, "control": control, "frames": len(frames)}}, raw=True)

    get_ipython().events.register("post_run_cell", after_cell)
    # progress bars as text (on stderr, which the site leaves out), not as widgets
    tqdm.auto.tqdm = tqdm.std.tqdm
