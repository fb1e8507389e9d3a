"""The grading kernel: every student notebook runs in a bubblewrap sandbox with resource limits.

``python -m autograder kernels --install`` installs the kernelspec ``cnn-course-sandbox`` whose
argv is ``python -m autograder.sandbox -f {connection_file}``. ``nbgrader_config.py`` calls
:func:`configure`, which makes nbgrader (CLI, ``nbgrader autograde``, formgrader) execute with
that kernel and passes the limits on in environment variables. The launcher (``main``):

- sets the limits on the kernel process: memory (``RLIMIT_AS``; ``RLIMIT_DATA`` when a GPU is
  present, since CUDA reserves huge address ranges), CPU time (``RLIMIT_CPU``), file size;
- runs the kernel under ``bwrap``: the whole filesystem read-only; tmpfs over the course root,
  the course repository, ``$HOME``, ``/tmp`` and any extra hidden path; back read-only: the Python
  environment and the ``utils`` package; read-write: only the kernel's working directory (the
  submission's own autograded folder), with the notebooks in it masked (they hold the hidden
  tests during autograding); no network, own PID/IPC namespaces, a clean environment;
- kills the kernel after the per-submission wall-clock limit, and writes why a kernel ended to
  ``$CNN_SANDBOX_REPORT`` (JSON lines) when the grader set it.

Where ``bwrap`` does not work (macOS, Windows, a container without user namespaces) the
kernel runs unsandboxed with the same limits (where the OS has them) and a warning.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

KERNEL_NAME = "cnn-course-sandbox"
REPO = Path(__file__).resolve().parents[1]

ENV_ROOT = "CNN_SANDBOX_ROOT"
ENV_MODE = "CNN_SANDBOX_MODE"  # auto | bwrap | off
ENV_MEMORY = "CNN_SANDBOX_MEMORY_MB"
ENV_CPU = "CNN_SANDBOX_CPU_S"
ENV_WALL = "CNN_SANDBOX_WALL_S"
ENV_HIDE = "CNN_SANDBOX_HIDE"
ENV_REPORT = "CNN_SANDBOX_REPORT"

DEFAULT_MEMORY_MB = 3072
DEFAULT_CPU_S = 300
DEFAULT_WALL_S = 600
FILE_SIZE_LIMIT = 512 << 20

#: Environment variables passed into the sandbox (everything else, e.g. database passwords, is not).
PASSED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
              "OPENBLAS_NUM_THREADS", "NBGRADER_EXECUTION", "CUDA_VISIBLE_DEVICES",
              "CNN_COURSE_DATA", "PYTHONHASHSEED", "MPLBACKEND")

_bwrap_ok: bool | None = None


def bwrap_path() -> str | None:
    """Path of a working ``bwrap`` (probed once per process), else None."""
    global _bwrap_ok
    path = shutil.which("bwrap")
    if path is None or not sys.platform.startswith("linux"):
        return None
    if _bwrap_ok is None:
        probe = [path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                 "--unshare-net", "--unshare-pid", "--die-with-parent", "true"]
        try:
            _bwrap_ok = subprocess.run(probe, capture_output=True, timeout=20).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _bwrap_ok = False
    return path if _bwrap_ok else None


def gpu_devices() -> list[str]:
    """NVIDIA device files present on this machine (``[]`` without a GPU)."""
    return sorted(str(p) for p in Path("/dev").glob("nvidia*"))


def kernelspec_dir(prefix: str | None = None) -> Path:
    return Path(prefix or sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME


def install_kernelspec(prefix: str | None = None) -> Path:
    """Write the ``cnn-course-sandbox`` kernelspec into ``<prefix>/share/jupyter/kernels``."""
    folder = kernelspec_dir(prefix)
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "autograder.sandbox", "-f", "{connection_file}"],
        "display_name": "Python (cnn-course, sandboxed grading)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    return folder


def kernelspec_installed() -> bool:
    from jupyter_client.kernelspec import KernelSpecManager

    return KERNEL_NAME in KernelSpecManager().find_kernel_specs()


_warned = False


def _warn(message: str) -> None:
    global _warned
    if not _warned:
        print(f"[autograder] WARNING: {message}", file=sys.stderr)
        _warned = True


def configure(c, *, memory_mb: int = DEFAULT_MEMORY_MB, cpu_seconds: int = DEFAULT_CPU_S,
              wall_seconds: int = DEFAULT_WALL_S, mode: str = "auto",
              hide: tuple[str, ...] = ()) -> bool:
    """Make nbgrader execute notebooks in the sandbox kernel; call it from ``nbgrader_config.py``.

    The course root is ``c.CourseDirectory.root`` (else the current directory). Values
    already in the environment (set by ``python -m autograder grade --memory-mb ...``) win.
    Returns True when the sandbox kernel is used.
    """
    root = c.CourseDirectory.get("root") if "CourseDirectory" in c else None
    os.environ.setdefault(ENV_ROOT, os.path.abspath(root if isinstance(root, str) else "."))
    os.environ.setdefault(ENV_MEMORY, str(memory_mb))
    os.environ.setdefault(ENV_CPU, str(cpu_seconds))
    os.environ.setdefault(ENV_WALL, str(wall_seconds))
    os.environ.setdefault(ENV_MODE, mode)
    if hide:
        os.environ.setdefault(ENV_HIDE, os.pathsep.join(hide))
    if os.environ[ENV_MODE] == "off":
        _warn("sandbox turned off (CNN_SANDBOX_MODE=off): student code runs unconfined.")
        return False
    if not kernelspec_installed():
        _warn(f"kernel '{KERNEL_NAME}' is not installed (run `python -m autograder kernels "
              "--install`): grading runs student code without sandbox or limits.")
        return False
    c.Execute.kernel_name = KERNEL_NAME
    c.KernelManager.transport = "ipc"
    c.KernelManager.connection_file = private_connection_file()
    if bwrap_path() is None:
        _warn("bubblewrap (bwrap) is not available here: student code runs UNSANDBOXED "
              "(memory/CPU limits only). Install the Debian package `bubblewrap` on Linux.")
    return True


def private_connection_file() -> str:
    """A connection-file path in a fresh private folder (removed at exit) for this process.

    The sandbox binds that folder: it holds the kernel's ipc sockets and nothing of other kernels.
    """
    import atexit
    import tempfile

    folder = tempfile.mkdtemp(prefix="cnn-kernel-")
    atexit.register(shutil.rmtree, folder, True)
    return os.path.join(folder, "kernel.json")


# --- the launcher ------------------------------------------------------------------------------

def die_with_parent() -> None:
    """SIGKILL this process when its parent dies (Linux ``PR_SET_PDEATHSIG``; no-op elsewhere)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def int_env(name: str, default: int) -> int:
    """The integer in environment variable ``name`` (``default`` when unset or not a number)."""
    try:
        return int(float(os.environ.get(name, default)))
    except ValueError:
        return default


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def hidden_paths() -> list[Path]:
    """Folders the kernel must not see: course root, this repository, $HOME, extras."""
    candidates = [os.environ.get(ENV_ROOT, ""), str(REPO), os.path.expanduser("~"),
                  *os.environ.get(ENV_HIDE, "").split(os.pathsep)]
    found = []
    for item in candidates:
        if item and os.path.isdir(item):
            path = Path(item).resolve()
            if path != Path("/") and path not in found:
                found.append(path)
    return found


def visible_paths() -> list[Path]:
    """Read-only folders the kernel needs even when they lie under a hidden one."""
    items = [sys.prefix, sys.base_prefix, str(REPO / "utils"), os.environ.get("CNN_COURSE_DATA", ""),
             os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                          "cnn-course")]
    return [Path(p).resolve() for p in items if p and os.path.isdir(p)]


def bwrap_command(bwrap: str, workdir: Path, connection_file: Path, kernel: list[str]) -> list[str]:
    """The full ``bwrap ... -- kernel`` argv for a kernel working in ``workdir``."""
    hidden = hidden_paths()
    cmd = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
           "--tmpfs", "/dev/shm", "--unshare-net", "--unshare-pid", "--unshare-ipc",
           "--unshare-uts", "--die-with-parent", "--clearenv"]
    for device in gpu_devices():
        cmd += ["--dev-bind", device, device]
    for path in hidden:
        cmd += ["--tmpfs", str(path)]
    for path in visible_paths():
        if any(_is_within(path, h) for h in hidden):
            cmd += ["--ro-bind", str(path), str(path)]
    # The kernel talks over ipc (unix sockets) in the connection file's private folder: TCP on
    # 127.0.0.1 would not cross the network namespace.
    cmd += ["--bind", str(connection_file.parent), str(connection_file.parent)]
    # The own folder, writable, unless it would uncover a hidden folder (e.g. the course root).
    if not any(_is_within(h, workdir) for h in hidden):
        cmd += ["--bind", str(workdir), str(workdir)]
        for notebook in sorted(workdir.rglob("*.ipynb")):
            cmd += ["--ro-bind", "/dev/null", str(notebook)]
    else:
        cmd += ["--tmpfs", str(workdir)]
    env = {name: os.environ[name] for name in PASSED_ENV if name in os.environ}
    # JPY_PARENT_PID=1: the kernel's parent inside the PID namespace is bwrap's init (pid 1);
    # --die-with-parent replaces ipykernel's parent polling (and its Ctrl-C notice).
    env.update(HOME="/tmp", MPLCONFIGDIR="/tmp/matplotlib", PYTHONDONTWRITEBYTECODE="1",
               JPY_PARENT_PID="1")
    for name, value in env.items():
        cmd += ["--setenv", name, value]
    cmd += ["--chdir", str(workdir), "--", *kernel]
    return cmd


def _limit_child(memory_mb: int, cpu_s: int, use_data_limit: bool):
    def apply() -> None:
        import resource

        # bwrap must survive the SIGINT that interrupts the kernel (sent to the process group);
        # ipykernel installs its own SIGINT handler while it executes a cell.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        memory = memory_mb << 20
        kind = resource.RLIMIT_DATA if use_data_limit else resource.RLIMIT_AS
        if memory_mb > 0:
            resource.setrlimit(kind, (memory, memory))
        if cpu_s > 0:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        die_with_parent()  # with the launcher
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


def _exit_reason(code: int, cpu_used: float, cpu_s: int, walled: bool, wall_s: int) -> str:
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
    die_with_parent()  # with the process that started the kernel (e.g. a grader killed with -9)
    connection_file = Path(argv[argv.index("-f") + 1]).resolve()
    guard = Path(__file__).with_name("kernel_guard.py").read_text() + "\nmain()\n"
    kernel = [sys.executable, "-c", guard, "-f", str(connection_file),
              "--HistoryManager.enabled=False"]
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
    from . import zygote

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
        reason = _exit_reason(code, cpu_used, cpu_s, walled, wall_s)
        _report({"event": "exit", "code": code, "reason": reason, "cpu_s": round(cpu_used, 1),
                 "wall_s": round(time.monotonic() - started, 1)})
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
