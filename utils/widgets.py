"""Shared machinery for the course's ipywidgets visualizers.

Every visualizer draws into one matplotlib ``Figure`` that it creates once and then only
*updates* (artists' data, texts, colours), and shows it as PNG bytes in a fixed-size
``ipywidgets.Image``. That is the fastest redraw path in JupyterLab (no re-plot, no
``bbox_inches="tight"``), it works without any extra JupyterLab extension, and a test can
set a control's ``.value`` and compare the PNG bytes before and after.
"""

from __future__ import annotations

import html
import io
import textwrap
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


class FigureView:
    """A matplotlib ``Figure`` rendered into an ``ipywidgets.Image`` on demand.

    Attributes:
        fig: the figure to draw on (created here, never shown by pyplot).
        image: the widget that displays it; its ``value`` holds the last PNG.
        last_render_seconds: wall time of the last ``render()``.
    """

    def __init__(self, width: float = 8.0, height: float = 4.0, dpi: int = 80):
        self.fig = Figure(figsize=(width, height), dpi=dpi)
        FigureCanvasAgg(self.fig)
        self.image = widgets.Image(format="png", layout=widgets.Layout(
            width=f"{int(width * dpi)}px", height=f"{int(height * dpi)}px"))
        self.last_render_seconds = 0.0

    def render(self) -> bytes:
        """Draw the figure and push the PNG to the widget; returns the PNG bytes."""
        start = time.perf_counter()
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=self.fig.dpi)
        self.image.value = buffer.getvalue()
        self.last_render_seconds = time.perf_counter() - start
        return self.image.value


class Visualizer:
    """Base class: subclasses build ``self.controls`` and ``self.view`` and implement ``update``.

    ``update()`` must only change existing artists, then call ``self.view.render()``. The
    chores every visualizer shares live here, once:

    - a re-entrancy guard: writes to controls made inside ``with self.holding():`` (clamping a
      slider's range, a preset filling in its values) trigger no redraw; ``refresh()`` does
      nothing while it is held;
    - preset <-> value sync: ``link_preset(dropdown, presets, read, write)`` makes choosing a
      preset write the values (one redraw) and editing a value select the matching preset or
      ``"custom"`` (one redraw);
    - invalid input: ``show_problem(text)`` writes the message in words *and* renders a picture
      that says what is wrong, so no stale picture stays on screen. A successful ``refresh()``
      removes that picture again. An unexpected error in ``update`` is shown the same way (and
      re-raised, so that tests see it).
    """

    #: the attribute holding the control that the static course site animates (its pictures of
    #: the widget); empty: the first slider, else the first drop-down
    site_control = ""

    def __init__(self) -> None:
        self.message = widgets.HTML()
        self.controls: list[widgets.Widget] = []
        self.view: FigureView
        self._busy = False
        self._problem_axes = None
        self._problem_text = None

    # re-entrancy guard ---------------------------------------------------------------------
    @contextmanager
    def holding(self) -> Iterator[None]:
        """Inside this block, control changes do not redraw (nested blocks are fine)."""
        outer = self._busy
        self._busy = True
        try:
            yield
        finally:
            self._busy = outer

    def observe_all(self) -> None:
        """Every control in ``self.controls`` redraws when its ``value`` changes."""
        for control in self.controls:
            control.observe(lambda _change: self.refresh(), names="value")

    def refresh(self) -> None:
        """Redraw, unless a ``holding()`` block is writing the controls."""
        if self._busy:
            return
        self._hide_problem()
        try:
            self.update()
        except Exception as err:  # shown to the student rather than lost in the browser console
            self.show_problem(f"visualizer error: {err!r}")
            raise

    def update(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # presets -------------------------------------------------------------------------------
    def link_preset(self, dropdown: widgets.Dropdown, presets: Mapping[str, Any],
                    value_controls: Sequence[widgets.Widget], read: Callable[[], Any],
                    write: Callable[[Any], None], custom: str = "custom",
                    atol: float = 1e-9) -> None:
        """Keep ``dropdown`` (preset names plus ``custom``) and the value controls in sync.

        presets: name -> values; read(): the values the controls hold now; write(values):
        set the controls. Choosing a preset writes its values and redraws once; editing a value
        control selects the preset whose values match (within ``atol``) or ``custom`` and
        redraws once.
        """
        def same(a: Any, b: Any) -> bool:
            if isinstance(a, str) or isinstance(b, str):
                return str(a).strip() == str(b).strip()
            return bool(np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                                    atol=atol))

        def on_preset(change: dict) -> None:
            if self._busy or change["new"] == custom:
                return
            with self.holding():
                write(presets[change["new"]])
            self.refresh()

        def on_value(_change: dict) -> None:
            if self._busy:
                return
            current = read()
            name = next((n for n, v in presets.items() if same(v, current)), custom)
            with self.holding():
                dropdown.value = name
            self.refresh()

        dropdown.observe(on_preset, names="value")
        for control in value_controls:
            control.observe(on_value, names="value")

    # invalid input -------------------------------------------------------------------------
    def show_problem(self, text: str) -> None:
        """Say in words what is wrong: in ``message`` and drawn over the whole picture."""
        self.message.value = f"<b style='color:#b00'>&#9888; {html.escape(text, quote=False)}</b>"
        view = getattr(self, "view", None)
        if view is None:
            return
        if self._problem_axes is None:
            ax = view.fig.add_axes((0.0, 0.0, 1.0, 1.0), zorder=100)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.patch.set_facecolor("white")
            ax.patch.set_alpha(0.92)
            self._problem_axes = ax
            self._problem_text = ax.text(0.5, 0.5, "", ha="center", va="center", fontsize=13,
                                         color="#b00", transform=ax.transAxes, wrap=True)
        self._problem_text.set_text("Nothing to show:\n" + textwrap.fill(text, 60))
        self._problem_axes.set_visible(True)
        view.render()

    def _hide_problem(self) -> None:
        if self._problem_axes is not None:
            self._problem_axes.set_visible(False)

    @property
    def showing_problem(self) -> bool:
        """True while the picture is the "what is wrong" panel."""
        return self._problem_axes is not None and self._problem_axes.get_visible()

    def widget(self) -> widgets.Widget:
        """The whole visualizer as one widget: controls on top, message, then the picture."""
        return widgets.VBox([widgets.HBox(self.controls, layout=widgets.Layout(flex_flow="row wrap")),
                             self.message, self.view.image])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget())
