"""Build the static course site (``make site``): the lectures executed, the student releases.

    python -m devtools.site [--out build/site] [--cache build/site-cache]

Steps: each lecture is executed in a fresh kernel with ``devtools.site_capture`` watching for
visualizers (every widget becomes an animated GIF of one of its controls being moved); the
executed notebook and its GIFs are cached under a key made of the notebook, ``utils/`` and the
capture code, so a second build executes nothing that did not change. The landing page is the
README's introduction and its sections for students, self-learners and instructors. The student
releases of ``assignments/`` are shown as released (not executed). Sphinx with MyST-NB renders it
all; math is rendered by the MathJax copy of the ``jupyter-server-mathjax`` package, so the site
needs no network. Prints each step's time and the total.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from devtools.notebooks import execute_notebook
from devtools.site_capture import MIME

REPO = Path(__file__).resolve().parents[1]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
LANDING_SECTIONS = ("What it looks like", "For students", "For self-learners", "For instructors")
LIVE_HINT = "*A picture of the live widget. To use it: `make lab`, then run this notebook.*"


class SiteError(RuntimeError):
    """The site cannot be built; the message says which notebook or step and why."""


def lectures(pattern: str = "*.ipynb") -> list[Path]:
    return sorted((REPO / "lectures").glob(pattern))


def releases() -> list[Path]:
    return sorted((REPO / "assignments").glob("*/*.ipynb"))


def cache_key(notebook: Path) -> str:
    """Changes when the notebook, any ``utils`` module or the capture code changes."""
    digest = hashlib.sha256(notebook.read_bytes())
    for path in sorted((REPO / "utils").rglob("*.py")) + [REPO / "devtools" / "site_capture.py"]:
        digest.update(path.relative_to(REPO).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def execute_lecture(path: Path, cache: Path) -> Path:
    """The folder holding ``path`` executed (``<stem>.ipynb``) and its GIFs; cached."""
    folder = cache / f"{path.stem}-{cache_key(path)}"
    if (folder / f"{path.stem}.ipynb").exists():
        return folder
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    install = nbformat.v4.new_code_cell(
        f"import devtools.site_capture\ndevtools.site_capture.install({str(partial)!r}, {path.stem!r})")

    def prepare(notebook: nbformat.NotebookNode) -> None:
        notebook.cells.insert(0, install)

    run = execute_notebook(path, timeout=900, prepare=prepare)
    run.notebook.cells.pop(0)
    nbformat.write(run.notebook, partial / f"{path.stem}.ipynb")
    print(f"  executed {path.name} in {run.seconds:.0f} s", flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def widgets_to_pictures(notebook: nbformat.NotebookNode, name: str) -> int:
    """Replace each widget output by the GIF its marker names; returns how many were replaced."""
    replaced = 0
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        markers = [o for o in cell.outputs if MIME in o.get("data", {})]
        shown = [o for o in cell.outputs if WIDGET_MIME in o.get("data", {})]
        if len(markers) != len(shown):
            raise SiteError(f"{name}, cell {index}: {len(shown)} widget(s) shown but {len(markers)} "
                            "captured as pictures; is each visualizer the value of its cell?")
        pictures = iter(markers)
        outputs = []
        for output in cell.outputs:
            if MIME in output.get("data", {}):
                continue
            if WIDGET_MIME in output.get("data", {}):
                info = next(pictures)["data"][MIME]
                picture = f"![the widget as its {info['control']} control moves](anim/{info['file']})"
                text = f"{picture}\n\n{LIVE_HINT}"
                output = nbformat.v4.new_output("display_data", data={"text/markdown": text})
                replaced += 1
            outputs.append(output)
        cell.outputs = outputs
    notebook.metadata.pop("widgets", None)
    return replaced


def landing_page(pages: list[Path]) -> str:
    """The README's title and introduction, then its sections for the three kinds of reader."""
    text = (REPO / "README.md").read_text()
    parts = re.split(r"(?m)^## ", text)
    keep = [parts[0]] + [f"## {p}" for p in parts[1:] if p.split("\n", 1)[0].strip() in LANDING_SECTIONS]
    page = "".join(keep)
    # links to files that are not pages of the site become plain text (pictures stay)
    page = re.sub(r"(?<!!)\[([^\]]+)\]\((?!https?://|lectures/|assignments/)[^)]+\)", r"\1", page)
    toc = ["", "```{toctree}", ":caption: Lectures", ":maxdepth: 1", ""]
    toc += [f"lectures/{p.stem}" for p in pages]
    toc += ["```", "", "```{toctree}", ":caption: Assignments (student releases)", ":maxdepth: 1", ""]
    toc += [f"assignments/{p.parent.name}/{p.stem}" for p in releases()]
    toc += ["```", ""]
    return page + "\n".join(toc)


def stage(source: Path, cache: Path, pattern: str) -> dict[str, int]:
    """Write the Sphinx source folder; returns the number of widget pictures per lecture."""
    shutil.rmtree(source, ignore_errors=True)
    (source / "lectures" / "anim").mkdir(parents=True)
    shutil.copy(REPO / "devtools" / "site_conf.py", source / "conf.py")
    (source / "index.md").write_text(landing_page(lectures(pattern)))
    shutil.copytree(REPO / "docs" / "img", source / "docs" / "img")
    pictures = {}
    for path in lectures(pattern):
        folder = execute_lecture(path, cache)
        notebook = nbformat.read(folder / f"{path.stem}.ipynb", as_version=4)
        pictures[path.stem] = widgets_to_pictures(notebook, path.name)
        nbformat.write(notebook, source / "lectures" / path.name)
        for gif in folder.glob("*.gif"):
            shutil.copy(gif, source / "lectures" / "anim" / gif.name)
    for path in releases():
        target = source / "assignments" / path.parent.name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / path.name)
    return pictures


def build(out: Path, cache: Path, pattern: str = "*.ipynb") -> dict:
    """Build the site into ``out`` from the lectures matching ``pattern`` (all by default).

    Returns a report: seconds per step, widget pictures per lecture, Sphinx's warnings.
    """
    start = time.perf_counter()
    source = out.with_name(out.name + "-src")
    pictures = stage(source, cache, pattern)
    staged = time.perf_counter()
    shutil.rmtree(out, ignore_errors=True)
    warnings = out.with_name(out.name + "-warnings.txt")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-w", str(warnings), str(source), str(out)],
        capture_output=True, text=True, cwd=REPO)
    if result.returncode != 0:
        raise SiteError(f"sphinx-build failed (exit {result.returncode}):\n{result.stderr[-4000:]}")
    report = {"execute_seconds": round(staged - start, 1),
              "sphinx_seconds": round(time.perf_counter() - staged, 1),
              "pictures": pictures,
              "warnings": [line for line in warnings.read_text().splitlines() if line.strip()]}
    (out / "build-report.json").write_text(json.dumps(report, indent=2))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=REPO / "build" / "site")
    parser.add_argument("--cache", type=Path, default=REPO / "build" / "site-cache")
    parser.add_argument("--lectures", default="*.ipynb",
                        help="a glob in lectures/, to work on the build itself (default: all)")
    args = parser.parse_args(argv)
    try:
        report = build(args.out.resolve(), args.cache.resolve(), args.lectures)
    except SiteError as error:
        print(f"site: {error}", file=sys.stderr)
        return 1
    total = report["execute_seconds"] + report["sphinx_seconds"]
    print(f"site: {args.out}/index.html built in {total:.0f} s (executing {report['execute_seconds']:.0f} s, "
          f"sphinx {report['sphinx_seconds']:.0f} s), {sum(report['pictures'].values())} widget "
          f"pictures, {len(report['warnings'])} sphinx warnings")
    for line in report["warnings"]:
        print(f"  warning: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
