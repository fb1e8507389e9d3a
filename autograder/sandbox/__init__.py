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
import subprocess
import sys
from pathlib import Path

from .inside.limits import die_with_parent as die_with_parent  # re-exported for the grader

KERNEL_NAME = "cnn-course-sandbox"
REPO = Path(__file__).resolve().parents[2]
INSIDE = Path(__file__).resolve().parent / "inside"  # bound read-only into the sandbox

ENV_ROOT = "CNN_SANDBOX_ROOT"
ENV_MODE = "CNN_SANDBOX_MODE"  # auto | bwrap | off
ENV_MEMORY = "CNN_SANDBOX_MEMORY_MB"
ENV_CPU = "CNN_SANDBOX_CPU_S"
ENV_WALL = "CNN_SANDBOX_WALL_S"
ENV_HIDE = "CNN_SANDBOX_HIDE"
ENV_REPORT = "CNN_SANDBOX_REPORT"
ENV_POLICY = "CNN_SANDBOX_POLICY"  # JSON KernelPolicy of the assignment being graded (outside.py)

DEFAULT_MEMORY_MB = 3072
DEFAULT_CPU_S = 300
DEFAULT_WALL_S = 600

#: Environment variables passed into the sandbox (everything else, e.g. database passwords, is not).
PASSED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
              "OPENBLAS_NUM_THREADS", "NBGRADER_EXECUTION", "CUDA_VISIBLE_DEVICES",
              "CNN_COURSE_DATA", "PYTHONHASHSEED", "MPLBACKEND")
#: The kernel's policy, inside the sandbox (read by inside/guard.py).
KERNEL_POLICY_ENV = "CNN_KERNEL_POLICY"

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




def int_env(name: str, default: int) -> int:
    """The integer in environment variable ``name`` (``default`` when unset or not a number)."""
    try:
        return int(float(os.environ.get(name, default)))
    except ValueError:
        return default


def kernel_policy() -> dict:
    """The policy of the assignment being graded (``CNN_SANDBOX_POLICY``), ``{}`` when none."""
    try:
        policy = json.loads(os.environ.get(ENV_POLICY) or "{}")
    except ValueError:
        policy = {}
    return policy if isinstance(policy, dict) else {}


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


def module_paths(names: list[str]) -> list[Path]:
    """The package folders or module files of ``names`` (dotted names allowed), never imported.

    Only the top-level package is looked up (``find_spec`` of a top-level name imports nothing);
    a submodule's path is derived from its folder.
    """
    import importlib.util

    found = []
    for name in names:
        top, *rest = name.split(".")
        try:
            spec = importlib.util.find_spec(top)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        if not rest:
            locations = list(spec.submodule_search_locations or [])
            if not locations and spec.origin and os.path.isfile(spec.origin):
                locations = [spec.origin]
            found += [Path(p).resolve() for p in locations]
            continue
        for folder in spec.submodule_search_locations or []:
            base = Path(folder).joinpath(*rest)
            found += [p.resolve() for p in (base, base.with_suffix(".py")) if p.exists()]
    return found


def visible_paths() -> list[Path]:
    """Read-only folders the kernel needs even when they lie under a hidden one."""
    items = [sys.prefix, sys.base_prefix, str(REPO / "utils"), str(INSIDE),
             os.environ.get("CNN_COURSE_DATA", ""),
             os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                          "cnn-course")]
    return [Path(p).resolve() for p in items if p and os.path.isdir(p)]


def bwrap_command(bwrap: str, workdir: Path, connection_file: Path, kernel: list[str],
                  policy: dict | None = None) -> list[str]:
    """The full ``bwrap ... -- kernel`` argv for a kernel working in ``workdir``.

    ``policy`` (default: :func:`kernel_policy`): its ``hidden_modules`` get an empty folder (or
    ``/dev/null``) over their files, and the whole policy is passed to the guard.
    """
    policy = kernel_policy() if policy is None else policy
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
    for path in module_paths(policy.get("hidden_modules", [])):
        cmd += ["--tmpfs", str(path)] if path.is_dir() else ["--ro-bind", "/dev/null", str(path)]
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
               JPY_PARENT_PID="1", **{KERNEL_POLICY_ENV: json.dumps(policy, sort_keys=True)})
    for name, value in env.items():
        cmd += ["--setenv", name, value]
    cmd += ["--chdir", str(workdir), "--", *kernel]
    return cmd


def guard_command(connection_file: Path) -> list[str]:
    """The argv of a guarded kernel (``inside/guard.py`` run by path)."""
    return [sys.executable, str(INSIDE / "guard.py"), "-f", str(connection_file),
            "--HistoryManager.enabled=False"]
