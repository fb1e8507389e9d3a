"""The course's reference NumPy convolutions against torch, side by side, same thread count.

The NumPy code is the instructor solution of assignment 2 (``solutions/a2_conv2d/*.ipynb``),
executed from the notebook at run time: ``conv2d_naive`` (loops), ``conv2d_forward``
(vectorized) and ``conv2d_backward``. torch's counterparts: ``F.conv2d`` and
``aten.convolution_backward`` (the kernel autograd calls), float32, on the same inputs.

Shapes: LeNet-5's second convolution and a CIFAR-sized 3x3 layer. Ratios = NumPy / torch
(median of several repetitions, each measured alternately). Targets: forward <= 2x,
backward <= 4x.

NumPy's matrix products run in its bundled OpenBLAS, which picks its kernels (AVX2 "Haswell",
AVX-512 "SkylakeX", ...) from the CPU, unless ``OPENBLAS_CORETYPE`` forces a set. The machines
of this project set ``OPENBLAS_CORETYPE=Haswell`` in their environment, so NumPy runs AVX2
kernels while torch uses AVX-512. When the variable is set, the script measures a second time in
a subprocess without it (OpenBLAS's own choice) and prints both.

    python bench/conv_numpy_vs_torch.py [--threads 1] [--repeat 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, load_solution_namespace, median_seconds, set_threads, verdict  # noqa: E402

#: name -> (N, C_in, H, W, C_out, K, stride, padding); the loop version runs on ``loop_batch``.
SHAPES = {
    "LeNet conv2 (64x6x14x14 -> 16, 5x5)": dict(n=64, c_in=6, hw=14, c_out=16, k=5, stride=1,
                                                 padding=0, loop_batch=4),
    "CIFAR layer (32x32x32x32 -> 64, 3x3, pad 1)": dict(n=32, c_in=32, hw=32, c_out=64, k=3,
                                                        stride=1, padding=1, loop_batch=1),
}
TARGETS = {"forward": 2.0, "backward": 4.0}


def openblas_core() -> str | None:
    """The kernel set NumPy's OpenBLAS chose at run time (e.g. 'Haswell'); None if unknown."""
    import ctypes

    import numpy

    for path in sorted((Path(numpy.__file__).parent.parent / "numpy.libs").glob("*openblas*")):
        library = ctypes.CDLL(str(path))
        for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                     "openblas_get_corename64_", "openblas_get_corename"):
            function = getattr(library, name, None)
            if function is not None:
                function.restype = ctypes.c_char_p
                return function().decode()
    return None


def find_solution_notebook() -> Path:
    notebooks = sorted((REPO / "solutions" / "a2_conv2d").glob("*.ipynb"))
    if not notebooks:
        raise SystemExit("solutions/a2_conv2d/*.ipynb not found: the reference convolutions "
                         "are the instructor solutions of assignment 2")
    return notebooks[0]


def bench_shape(ns: dict, shape: dict, repeat: int) -> dict:
    import numpy as np
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(0)
    n, c_in, hw, c_out, k = shape["n"], shape["c_in"], shape["hw"], shape["c_out"], shape["k"]
    stride, padding = shape["stride"], shape["padding"]
    x = rng.standard_normal((n, c_in, hw, hw), dtype=np.float32)
    w = rng.standard_normal((c_out, c_in, k, k), dtype=np.float32) * 0.1
    b = rng.standard_normal(c_out, dtype=np.float32)
    tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))

    # correctness first: a benchmark of wrong code is worthless
    ref = F.conv2d(tx, tw, tb, stride=stride, padding=padding)
    out = ns["conv2d_forward"](x, w, b, stride=stride, padding=padding)
    assert np.allclose(out, ref.numpy(), atol=1e-3), "conv2d_forward disagrees with F.conv2d"
    dout = rng.standard_normal(out.shape, dtype=np.float32)
    tdout = torch.from_numpy(dout)
    dx, dw, db = ns["conv2d_backward"](dout, x, w, stride=stride, padding=padding)

    def torch_backward():
        return torch.ops.aten.convolution_backward(
            tdout, tx, tw, [c_out], [stride, stride], [padding, padding], [1, 1], False,
            [0, 0], 1, [True, True, True])

    tdx, tdw, tdb = torch_backward()
    assert np.allclose(dx, tdx.numpy(), atol=1e-2), "conv2d_backward dx disagrees with torch"
    assert np.allclose(dw, tdw.numpy(), rtol=1e-3, atol=1e-1), "dweight disagrees with torch"

    m = shape["loop_batch"]
    xs, txs = x[:m], tx[:m]
    with torch.inference_mode():
        loop_np = median_seconds(lambda: ns["conv2d_naive"](xs, w, b, stride=stride,
                                                            padding=padding),
                                 repeat=max(3, repeat // 2), warmup=0)
        loop_t = median_seconds(lambda: F.conv2d(txs, tw, tb, stride=stride, padding=padding),
                                repeat=repeat, min_time=0.02)
        # forward and backward: NumPy and torch measured alternately, medians of the ratios' parts
        fwd_np, fwd_t, bwd_np, bwd_t = [], [], [], []
        for _ in range(repeat):
            fwd_np.append(median_seconds(
                lambda: ns["conv2d_forward"](x, w, b, stride=stride, padding=padding),
                repeat=1, min_time=0.05))
            fwd_t.append(median_seconds(
                lambda: F.conv2d(tx, tw, tb, stride=stride, padding=padding),
                repeat=1, min_time=0.05))
            bwd_np.append(median_seconds(
                lambda: ns["conv2d_backward"](dout, x, w, stride=stride, padding=padding),
                repeat=1, min_time=0.05))
            bwd_t.append(median_seconds(torch_backward, repeat=1, min_time=0.05))
    import statistics

    med = statistics.median
    return {
        "loop": {"numpy_ms": loop_np * 1e3, "torch_ms": loop_t * 1e3, "batch": m,
                 "ratio": loop_np / loop_t},
        "forward": {"numpy_ms": med(fwd_np) * 1e3, "torch_ms": med(fwd_t) * 1e3,
                    "ratio": med(fwd_np) / med(fwd_t)},
        "backward": {"numpy_ms": med(bwd_np) * 1e3, "torch_ms": med(bwd_t) * 1e3,
                     "ratio": med(bwd_np) / med(bwd_t)},
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    notebook = find_solution_notebook()
    ns = load_solution_namespace(notebook)
    missing = [f for f in ("conv2d_naive", "conv2d_forward", "conv2d_backward") if f not in ns]
    if missing:
        raise SystemExit(f"{notebook} defines no {missing}")
    result = {"threads": args.threads, "source": str(notebook.relative_to(REPO)), "shapes": {}}
    print(f"NumPy (course solution {result['source']}) / torch, float32, "
          f"{args.threads} thread(s), median of {args.repeat}")
    for name, shape in SHAPES.items():
        figures = bench_shape(ns, shape, args.repeat)
        result["shapes"][name] = figures
        print(f"\n{name}")
        for kind in ("loop", "forward", "backward"):
            f = figures[kind]
            note = f"  (batch {f['batch']})" if kind == "loop" else ""
            target = (f"  target <= {TARGETS[kind]:g}x: {verdict(f['ratio'], TARGETS[kind])}"
                      if kind in TARGETS else "")
            print(f"  {kind:9s} numpy {f['numpy_ms']:10.3f} ms  torch {f['torch_ms']:8.3f} ms  "
                  f"ratio {f['ratio']:9.1f}x{note}{target}")
    result["openblas_core"] = openblas_core()
    forced = os.environ.get("OPENBLAS_CORETYPE")
    if forced:
        print(f"\nOPENBLAS_CORETYPE={forced} is set (OpenBLAS kernels: {result['openblas_core']}); "
              "again without it, with OpenBLAS's own choice:", flush=True)
        environment = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "autodetected.json"
            subprocess.run([sys.executable, __file__, "--threads", str(args.threads), "--repeat",
                            str(args.repeat), "--json", str(out)], check=True, env=environment)
            result["openblas_autodetected"] = json.loads(out.read_text())
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
