"""GPU check: the solution notebooks and the training benchmarks must run on CUDA.

Exits with status 2 when torch sees no CUDA GPU (nothing is checked then). Otherwise:

1. every solution notebook (``solutions/*/*.ipynb``) and every lecture that picks a device
   (calls ``get_device``) runs in a fresh kernel with ``CNN_COURSE_DEVICE=cuda``; for the
   notebooks that pick a device, an extra last cell asserts that CUDA memory was allocated
   (a notebook that silently trained on the CPU fails);
2. ``train_lenet.py`` and ``train_mnist1d.py`` run with ``--device cuda`` and must report
   that their model's parameters lived on CUDA; the LeNet figures are checked against the
   GPU target (>= 91% test accuracy within 10 s).

Writes the output with the date and the device to ``docs/gpu-check.md`` (``--no-record`` to
skip) and exits non-zero if anything fell back to the CPU or failed.

    python bench/gpu_check.py [--no-lectures] [--no-record]
"""

from __future__ import annotations

import argparse
import datetime
import io
import sys
from contextlib import redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, machine_description  # noqa: E402

CUDA_PROBE = (
    "import torch as _torch\n"
    "assert _torch.cuda.is_initialized() and _torch.cuda.max_memory_allocated() > 0, "
    "'no CUDA memory was allocated: this notebook ran on the CPU'\n"
    "print('gpu-check: CUDA memory peak', _torch.cuda.max_memory_allocated())"
)


def picks_device(notebook) -> bool:
    return any(c.cell_type == "code" and ("get_device(" in c.source or ".cuda(" in c.source)
               for c in notebook.cells)


def check_notebooks(include_lectures: bool, log) -> list[str]:
    import tempfile

    import nbformat
    from nbformat.v4 import new_code_cell

    from devtools.notebooks import NotebookError, execute_notebook

    paths = sorted(REPO.glob("solutions/*/*.ipynb"))
    if include_lectures:
        paths += [p for p in sorted(REPO.glob("lectures/*.ipynb"))
                  if picks_device(nbformat.read(p, as_version=4))]
    failures = []
    for path in paths:
        rel = path.relative_to(REPO)
        notebook = nbformat.read(path, as_version=4)
        probe = picks_device(notebook)
        if probe:
            notebook.cells.append(new_code_cell(CUDA_PROBE))
        # run a probed copy in the notebook's own folder (relative paths keep working)
        with tempfile.NamedTemporaryFile("w", suffix=".ipynb", dir=path.parent,
                                         prefix=".gpu-check-", delete=True) as tmp:
            nbformat.write(notebook, tmp.name)
            try:
                run = execute_notebook(tmp.name, timeout=600, env={"CNN_COURSE_DEVICE": "cuda"})
                log(f"  ok    {rel}  {run.seconds:5.1f} s"
                    f"{'  (CUDA used)' if probe else '  (no device choice)'}")
            except NotebookError as err:
                failures.append(f"{rel}: {str(err).splitlines()[-1]}")
                log(f"  FAIL  {rel}\n{str(err)[-1500:]}")
    return failures


def check_training(log) -> list[str]:
    import train_lenet
    import train_mnist1d

    failures = []
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        lenet = train_lenet.main(["--device", "cuda", "--threads", "2"])
    log(buffer.getvalue().rstrip())
    if lenet["device_type"] != "cuda" or not lenet["parameters_device"].startswith("cuda"):
        failures.append(f"train_lenet ran on {lenet['parameters_device']}")
    within = [h["test_acc"] for h in lenet["history"] if h["seconds"] <= 10.0]
    best_10s = max(within) if within else 0.0
    log(f"  LeNet-5 on CUDA: best test accuracy within 10 s {best_10s:.2%} "
        f"(target >= 91%): {'meets target' if best_10s >= 0.91 else 'MISSES target'}")
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        mnist1d = train_mnist1d.main(["--device", "cuda", "--models", "lecture02"])
    log(buffer.getvalue().rstrip())
    if not mnist1d["lecture02"]["device"].startswith("cuda"):
        failures.append(f"train_mnist1d ran on {mnist1d['lecture02']['device']}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-lectures", action="store_true")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print(f"gpu-check: no CUDA GPU present (torch {torch.__version__} sees none); "
              "nothing was checked. Run `make gpu-check` on a machine with an NVIDIA GPU.")
        return 2
    lines: list[str] = []

    def log(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    log(f"gpu-check {stamp} on {machine_description()}")
    log("notebooks with CNN_COURSE_DEVICE=cuda:")
    failures = check_notebooks(not args.no_lectures, log)
    log("training benchmarks on CUDA:")
    failures += check_training(log)
    log("RESULT: " + ("all on CUDA" if not failures else "FAILED: " + "; ".join(failures)))
    if not args.no_record:
        out = REPO / "docs" / "gpu-check.md"
        out.write_text(f"# GPU check ({stamp})\n\nDevice: {torch.cuda.get_device_name(0)}\n\n"
                       "Output of `make gpu-check`:\n\n```\n" + "\n".join(lines) + "\n```\n")
        print(f"written to {out.relative_to(REPO)}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
