"""Widget redraw time per control change (target <= 100 ms median), without a browser.

Imports every ``utils/viz_*.py`` module (found by glob), instantiates every ``Visualizer``
subclass defined there that can be built without arguments, and changes each control's value
several times (next slider step, next option, toggled box). Per visualizer: the median of
``view.last_render_seconds`` (matplotlib draw + PNG) and of the whole set-value -> update ->
render wall time. The browser adds transport and decoding on top: the browser suite reports
the key press -> new picture time it measured in ``test-artifacts/browser-report.json``.

    python bench/widget_redraw.py [--changes 6] [--threads 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, set_threads  # noqa: E402

TARGET_MS = 100.0


def next_value(control):
    """A different valid value for ``control``, or None if it has none to offer."""
    value = control.value
    if hasattr(control, "options") and hasattr(control, "index"):
        n = len(control.options)
        if n < 2 or control.index is None:
            return None
        return ("index", (control.index + 1) % n)
    if isinstance(value, bool):
        return ("value", not value)
    if hasattr(control, "min") and hasattr(control, "max"):
        step = getattr(control, "step", None) or 1
        if isinstance(value, tuple):
            low, high = value
            if low + step <= high:
                return ("value", (low + step, high))
            return ("value", (control.min, high)) if control.min < low else None
        candidate = value + step
        if candidate > control.max:
            candidate = control.min
        return ("value", candidate) if candidate != value else None
    if isinstance(value, (int, float)):  # unbounded number box (IntText, FloatText)
        return ("value", value + (getattr(control, "step", None) or 1))
    return None


def leaf_controls(controls) -> list:
    """The value-carrying widgets among ``controls``, looking inside boxes (e.g. a GridBox of
    FloatText kernel entries)."""
    leaves = []
    for control in controls:
        if hasattr(control, "children"):
            leaves += leaf_controls(control.children)
        elif hasattr(control, "value") and not isinstance(control.value, (str, bytes)) \
                or hasattr(control, "options"):
            leaves.append(control)
    return leaves


def feature_map_arguments() -> dict:
    """What lecture 12 gives ``FeatureMapExplorer``: a LeNet-5-sized convolutional stack and 28x28
    images (random weights and pixels: the redraw time does not depend on them)."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
    return {"model": model, "images": torch.rand(32, 1, 28, 28)}


#: visualizers that need constructor arguments -> a function returning them
ARGUMENTS = {"FeatureMapExplorer": feature_map_arguments}


def bench_visualizer(cls, changes: int) -> dict:
    kwargs = ARGUMENTS[cls.__name__]() if cls.__name__ in ARGUMENTS else {}
    start = time.perf_counter()
    viz = cls(**kwargs)
    build = time.perf_counter() - start
    render, wall, skipped = [], [], []
    for control in leaf_controls(viz.controls):
        label = getattr(control, "description", "") or type(control).__name__
        for _ in range(changes):
            change = next_value(control)
            if change is None:
                skipped.append(label)
                break
            attr, new = change
            t0 = time.perf_counter()
            setattr(control, attr, new)
            wall.append(time.perf_counter() - t0)
            render.append(viz.view.last_render_seconds)
    return {
        "build_ms": build * 1e3,
        "changes": len(wall),
        "render_median_ms": statistics.median(render) * 1e3 if render else None,
        "wall_median_ms": statistics.median(wall) * 1e3 if wall else None,
        "wall_max_ms": max(wall) * 1e3 if wall else None,
        "untested_controls": skipped,
        "error": viz.message.value if "error" in viz.message.value else "",
    }


def discover():
    """(module name, class) of every Visualizer subclass defined in utils/viz_*.py."""
    from utils.widgets import Visualizer

    found = []
    for path in sorted((REPO / "utils").glob("viz_*.py")):
        module = importlib.import_module(f"utils.{path.stem}")
        ARGUMENTS.update(getattr(module, "BENCH_ARGUMENTS", {}))  # a module's own {class name: () -> kwargs}
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Visualizer) and cls is not Visualizer \
                    and cls.__module__ == module.__name__:
                found.append((module.__name__, cls))
    return found


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=6, help="value changes per control")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    import matplotlib

    matplotlib.use("Agg")
    result, all_wall = {}, []
    for module, cls in discover():
        name = f"{module.removeprefix('utils.')}.{cls.__name__}"
        try:
            signature = inspect.signature(cls)
            if cls.__name__ not in ARGUMENTS and any(
                    p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                    for p in signature.parameters.values()):
                result[name] = {"skipped": "needs constructor arguments"}
                print(f"{name:45s} skipped: needs constructor arguments")
                continue
            entry = bench_visualizer(cls, args.changes)
        except Exception as err:
            result[name] = {"failed": f"{type(err).__name__}: {err}"}
            print(f"{name:45s} FAILED: {type(err).__name__}: {err}")
            continue
        result[name] = entry
        if entry["wall_median_ms"] is None:
            print(f"{name:45s} no control to change")
            continue
        all_wall.append(entry["wall_median_ms"])
        mark = "ok" if entry["wall_median_ms"] <= TARGET_MS else "MISSES target"
        print(f"{name:45s} render {entry['render_median_ms']:6.1f} ms  set->rendered "
              f"{entry['wall_median_ms']:6.1f} ms (max {entry['wall_max_ms']:6.1f})  "
              f"{entry['changes']:3d} changes  {mark}")
    if all_wall:
        print(f"median over visualizers: {statistics.median(all_wall):.1f} ms; slowest "
              f"{max(all_wall):.1f} ms (target <= {TARGET_MS:g} ms median)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
