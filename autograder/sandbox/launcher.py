"""The sandbox launcher: the process nbgrader starts as the kernel ``cnn-course-sandbox``.

``python -m autograder.sandbox -f CONNECTION_FILE``: with a pre-warmed zygote of this worker (same
policy), the kernel is forked by it (``zygote.run_kernel``); otherwise a fresh bubblewrap sandbox
runs ``inside/guard.py`` with the limits. Why a kernel ended goes to ``$CNN_SANDBOX_REPORT``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import (
    DEFAULT_CPU_S,
    DEFAULT_MEMORY_MB,
    DEFAULT_WALL_S,
    ENV_CPU,
    ENV_MEMORY,
    ENV_MODE,
    ENV_REPORT,
    ENV_WALL,
    bwrap_command,
    bwrap_path,
    gpu_devices,
    guard_command,
    int_env,
    zygote,
)
from .inside import limits


def _limit_child(memory_mb: int, cpu_s: int, use_data_limit: bool):
    def apply() -> None:
        # bwrap must survive the SIGINT that interrupts the kernel (sent to the process group);
        # ipykernel installs its own SIGINT handler while it executes a cell.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        limits.apply_kernel_limits(memory_mb, cpu_s, use_data_limit)
        limits.die_with_parent()  # with the launcher
    return apply


def _report(event: dict) -> None:
    path = os.environ.get(ENV_REPORT)
    if not path:
        return
    try:
        with open(path, "a") as handle:
            handle.write(json.dumps(event) + "\n")
    except OSError:
        pass


def exit_reason(code: int, cpu_used: float, cpu_s: int, walled: bool, wall_s: int) -> str:
    if walled:
        return f"wall-clock limit ({wall_s} s per submission) exceeded; kernel killed"
    if cpu_s > 0 and cpu_used >= cpu_s - 1:
        return f"CPU-time limit ({cpu_s} s) exceeded; kernel killed"
    if code < 0 or code > 128:
        signum = -code if code < 0 else code - 128
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = str(signum)
        return f"kernel killed by signal {name}"
    return f"kernel exited with code {code} (os._exit / sys.exit from student code?)"


def _run_fresh(command: list[str], sandboxed: bool, memory_mb: int, cpu_s: int,
               wall_s: int) -> tuple[int, float, bool]:
    """Run the kernel as our child with the limits; ``(exit code, CPU seconds, walled)``."""
    _report({"event": "start", "sandbox": "bwrap" if sandboxed else "none", "pid": os.getpid()})
    child = subprocess.Popen(command, preexec_fn=_limit_child(memory_mb, cpu_s,
                                                              bool(gpu_devices())))

    def forward(signum, _frame):
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    walled = False
    try:
        code = child.wait(timeout=wall_s if wall_s > 0 else None)
    except subprocess.TimeoutExpired:
        walled = True
        child.kill()
        code = child.wait()
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return code, usage.ru_utime + usage.ru_stime, walled


def main(argv: list[str] | None = None) -> int:
    """Launch a sandboxed, limited kernel: ``python -m autograder.sandbox -f CONNECTION_FILE``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    limits.die_with_parent()  # with the process that started the kernel (e.g. a grader killed with -9)
    connection_file = Path(argv[argv.index("-f") + 1]).resolve()
    kernel = guard_command(connection_file)
    memory_mb = int_env(ENV_MEMORY, DEFAULT_MEMORY_MB)
    cpu_s = int_env(ENV_CPU, DEFAULT_CPU_S)
    wall_s = int_env(ENV_WALL, DEFAULT_WALL_S)
    workdir = Path.cwd().resolve()
    bwrap = bwrap_path() if os.environ.get(ENV_MODE, "auto") != "off" else None
    if bwrap is None and os.environ.get(ENV_MODE) == "bwrap":
        print("[autograder] bwrap required (CNN_SANDBOX_MODE=bwrap) but not working",
              file=sys.stderr)
        _report({"event": "exit", "code": 1, "reason": "sandbox required but bwrap unavailable"})
        return 1
    started = time.monotonic()
    signal.signal(signal.SIGINT, lambda *_: None)  # interrupts are for the kernel, not for us
    result = zygote.run_kernel(connection_file, workdir) if bwrap else None
    if result is not None:  # forked by the worker's pre-warmed zygote, in its sandbox
        _report({"event": "start", "sandbox": "bwrap (pre-warmed)", "pid": os.getpid()})
        if result.get("zygote_died"):
            _report({"event": "exit", "code": -9,
                     "reason": "the grading sandbox ended while the kernel ran; kernel killed"})
            return 137
        code, cpu_used, walled = int(result["exit"]), float(result["cpu_s"]), bool(result["walled"])
    else:
        if bwrap is None:
            print("[autograder] WARNING: no bwrap sandbox; running the kernel unsandboxed",
                  file=sys.stderr)
        command = bwrap_command(bwrap, workdir, connection_file, kernel) if bwrap else kernel
        code, cpu_used, walled = _run_fresh(command, bwrap is not None, memory_mb, cpu_s, wall_s)
    if code != 0 or walled:
        reason = exit_reason(code, cpu_used, cpu_s, walled, wall_s)
        _report({"event": "exit", "code": code, "reason": reason, "cpu_s": round(cpu_used, 1),
                 "wall_s": round(time.monotonic() - started, 1)})
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
