"""Shared machinery for the course's ipywidgets visualizers.

Every visualizer draws into one matplotlib ``Figure`` that it creates once and then only
*updates* (artists' data, texts, colours), and shows it as PNG bytes in a fixed-size
``ipywidgets.Image``. That is the fastest redraw path in JupyterLab (no re-plot, no
``bbox_inches="tight"``), it works without any extra JupyterLab extension, and a test can
set a control's ``.value`` and compare the PNG bytes before and after.
"""

from __future__ import annotations

import io
import time

import ipywidgets as widgets
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

    ``update()`` must only change existing artists, then call ``self.view.render()``.
    Errors during an update are shown in ``self.message`` (an HTML widget), never raised into
    the widget machinery where JupyterLab would swallow them.
    """

    def __init__(self) -> None:
        self.message = widgets.HTML()
        self.controls: list[widgets.Widget] = []
        self.view: FigureView

    def observe_all(self) -> None:
        for control in self.controls:
            control.observe(lambda _change: self.refresh(), names="value")

    def refresh(self) -> None:
        try:
            self.update()
        except Exception as err:  # shown to the student rather than lost in the browser console
            self.message.value = f"<b style='color:#b00'>visualizer error:</b> {err!r}"
            raise

    def update(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def widget(self) -> widgets.Widget:
        """The whole visualizer as one widget: controls on top, message, then the picture."""
        return widgets.VBox([widgets.HBox(self.controls, layout=widgets.Layout(flex_flow="row wrap")),
                             self.message, self.view.image])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget())
