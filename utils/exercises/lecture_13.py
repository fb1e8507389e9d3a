"""Your-turn check for lecture 13: one backward step of a 1D convolution by hand."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import not_attempted, verdict

X = (1.0, 2.0, 0.0, -1.0, 3.0)
W = (1.0, 0.0, -2.0)
G = (1.0, -1.0, 2.0)


def reference_gradients(x=X, w=W, g=G) -> dict[str, np.ndarray]:
    """Autograd's dL/dx (n,), dL/dw (k,), dL/db () for y = corr(x, w) + b with upstream gradient g."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    y = F.conv1d(xt.view(1, 1, -1), wt.view(1, 1, -1)).view(-1) + bt
    y.backward(torch.tensor(g, dtype=torch.float64))
    return {"dx": xt.grad.numpy(), "dw": wt.grad.numpy(), "db": bt.grad.numpy()}


def check_backward_step(answer: object, x=X, w=W, g=G) -> bool:
    """answer: ``{"dx": (5,), "dw": (3,), "db": number}`` for the lecture's x, w and upstream g.

    The oracle is PyTorch's autograd on ``F.conv1d``. Common slips (an unflipped kernel in dx,
    x and g swapped in dw, a bias gradient that is not a sum) are named."""
    if not_attempted(answer):
        return False
    if not isinstance(answer, dict) or set(answer) != {"dx", "dw", "db"}:
        return verdict(['answer must be a dict with the keys "dx", "dw" and "db"'], "")
    ref = reference_gradients(x, w, g)
    problems = []
    try:
        got = {name: np.asarray(answer[name], dtype=float) for name in ("dx", "dw", "db")}
    except (TypeError, ValueError):
        return verdict(["dx, dw and db must be numbers or lists of numbers"], "")
    for name in ("dx", "dw", "db"):
        if got[name].shape != ref[name].shape:
            problems.append(f"{name} has shape {got[name].shape}; it must have the shape of "
                            f"{name[1:]}: {ref[name].shape}")
    if problems:
        return verdict(problems, "")
    k = len(w)
    if not np.allclose(got["dx"], ref["dx"]):
        unflipped = np.convolve(np.asarray(g), np.asarray(w)[::-1], mode="full")
        if np.allclose(got["dx"], unflipped):
            problems.append("dx: the kernel must be flipped (a full *convolution* of g with w): "
                            "dx[m] = sum_i g[i] w[m - i]")
        else:
            problems.append(f"dx: pad g with {k - 1} zeros on both sides, then dx[m] = sum_i g[i] w[m - i]")
    if not np.allclose(got["dw"], ref["dw"]):
        problems.append("dw: dw[j] = sum_i g[i] x[i + j] (correlate x with g, one term per output)")
    if not np.allclose(got["db"], ref["db"]):
        problems.append("db: the bias was added to every output, so db = sum_i g[i]")
    summary = f"dx = {ref['dx'].tolist()}, dw = {ref['dw'].tolist()}, db = {float(ref['db'])}."
    return verdict(problems, summary)
