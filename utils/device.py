"""Choose where tensors live: CUDA when present, else Apple MPS, else the CPU.

The environment variable ``CNN_COURSE_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``)
overrides the automatic choice, e.g. to compare CPU and GPU timings in one notebook.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

DEVICE_ENV_VAR = "CNN_COURSE_DEVICE"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def get_device(prefer: str | None = None) -> torch.device:
    """Return the torch device to train on.

    Order: ``prefer`` if given, else ``$CNN_COURSE_DEVICE`` if set, else CUDA, MPS, CPU.
    An explicit request for a device that is not available raises a ``RuntimeError``
    saying what was asked for and what exists, instead of failing later inside torch.
    """
    requested = prefer or os.environ.get(DEVICE_ENV_VAR, "").strip()
    if requested:
        device = torch.device(requested)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                f"{DEVICE_ENV_VAR}/prefer asks for {requested!r} but torch sees no CUDA GPU "
                f"(torch {torch.__version__}). Unset {DEVICE_ENV_VAR} or set it to 'cpu'."
            )
        if device.type == "mps" and not _mps_available():
            raise RuntimeError(
                f"{DEVICE_ENV_VAR}/prefer asks for 'mps' but Apple's MPS backend is not "
                "available here. Unset the variable or set it to 'cpu'."
            )
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_report(device: torch.device | None = None) -> str:
    """One line saying which device is used and why, e.g. ``device: cpu (no GPU found; 2 threads)``."""
    device = device or get_device()
    override = os.environ.get(DEVICE_ENV_VAR)
    reason = f"set by {DEVICE_ENV_VAR}={override}" if override else "chosen automatically"
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        name = torch.cuda.get_device_name(index)
        return f"device: {device} ({name}; {reason})"
    if device.type == "mps":
        return f"device: mps (Apple GPU; {reason})"
    return f"device: cpu ({reason}; no GPU in use; {torch.get_num_threads()} threads)"


@contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one thread inside the block, then restore the previous thread count.

    For the visualizers' tiny tensors: on a busy 2-core machine a two-thread call on a handful
    of numbers waits for the other thread far longer than it computes (measured here: a 5x5
    ``F.conv2d`` took about 24 ms instead of microseconds, an 8-sample ``F.conv1d`` 22 ms
    instead of 0.2 ms).
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
