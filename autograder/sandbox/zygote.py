"""Pre-warmed grading kernels: one sandboxed zygote per grading worker forks every student kernel.

Starting a kernel that imports torch costs about 3 s of CPU (sandbox, interpreter, ipykernel,
``import torch``), more than grading a small notebook. A grading worker (``autograder grade``)
therefore starts one :class:`Zygote`: a process in the same bubblewrap sandbox as a fresh kernel
(``bwrap_command``) that has imported the guard, ipykernel, NumPy and torch once. The
sandbox launcher (``python -m autograder.sandbox``, the kernel nbgrader starts) finds the zygote
through ``CNN_SANDBOX_ZYGOTE`` and asks it for a kernel (:func:`run_kernel`) instead of starting a
new sandbox. The zygote serves one kernel at a time and after each one kills every process the
kernel left, empties ``/tmp``, ``/dev/shm`` and the slot: the next student starts clean.

Where files live: the kernel's working folder is the *slot* (a folder bound into the sandbox)
into which the launcher copies the submission's files (never its notebooks) and from which it
copies back what the kernel wrote once it has ended; the zygote's socket
lives in a folder outside the sandbox's view (it reaches the zygote as an open descriptor).
Plain ``nbgrader autograde`` and the formgrader set no ``CNN_SANDBOX_ZYGOTE`` and start a fresh
sandbox per kernel, as does ``autograder grade --fresh-kernels``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import (
    DEFAULT_CPU_S,
    DEFAULT_MEMORY_MB,
    DEFAULT_WALL_S,
    ENV_CPU,
    ENV_MEMORY,
    ENV_WALL,
    INSIDE,
    bwrap_command,
    bwrap_path,
    gpu_devices,
    int_env,
    kernel_policy,
)
from .inside import limits, protocol

ENV_ZYGOTE = "CNN_SANDBOX_ZYGOTE"  # the zygote's socket (host path)
ENV_SLOT = "CNN_SANDBOX_SLOT"  # the kernel's working folder (host path, bound into the sandbox)
ENV_CONNECTION_DIR = "CNN_SANDBOX_CONNECTION_DIR"
ENV_ZYGOTE_POLICY = "CNN_SANDBOX_ZYGOTE_POLICY"  # the policy the zygote applies (JSON)

#: Imported once by the zygote; a kernel that imports them again pays nothing.
PRELOAD = ("numpy", "numpy.testing", "torch", "torch.nn", "torch.nn.functional", "matplotlib",
           "matplotlib.font_manager")
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def _limit_zygote() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the grader stops the worker, not us
    limits.die_with_parent()  # with the worker


class Zygote:
    """A grading worker's kernel factory in its own sandbox; see the module docstring."""

    def __init__(self, connection_dir: Path, policy: dict | None = None) -> None:
        self.connection_dir = Path(connection_dir).resolve()
        self.policy = kernel_policy() if policy is None else policy
        self.process: subprocess.Popen | None = None
        self.home: Path | None = None
        self.slot: Path | None = None

    @property
    def socket_path(self) -> str:
        return str(self.home / "socket")

    def start(self, timeout: float = 120.0) -> None:
        """Start the zygote and wait until it answers; raise RuntimeError if it does not."""
        bwrap = bwrap_path()
        if bwrap is None:
            raise RuntimeError("no working bubblewrap")
        self.home = Path(tempfile.mkdtemp(prefix="cnn-zygote-"))  # /tmp is a tmpfs in the sandbox
        self.slot = Path(tempfile.mkdtemp(prefix="cnn-slot-"))
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.socket_path)
        listener.listen(8)
        hidden = tuple(self.policy.get("hidden_modules", []))
        settings = {
            "fd": listener.fileno(), "slot": str(self.slot),
            "connection_dir": str(self.connection_dir),
            "preload": [m for m in PRELOAD if m.split(".")[0] not in hidden],
            "memory_mb": int_env(ENV_MEMORY, DEFAULT_MEMORY_MB),
            "data_limit": bool(gpu_devices()),
            "cpu_s": int_env(ENV_CPU, DEFAULT_CPU_S),
            "wall_s": int_env(ENV_WALL, DEFAULT_WALL_S),
            "mpl_backend": os.environ.get("MPLBACKEND", INLINE_BACKEND),
            "policy": self.policy,
        }
        kernel = [sys.executable, str(INSIDE / "zygote.py"), json.dumps(settings)]
        command = bwrap_command(bwrap, self.slot, self.connection_dir / "kernel.json", kernel,
                                self.policy)
        self.process = subprocess.Popen(command, pass_fds=(listener.fileno(),),
                                        stdin=subprocess.DEVNULL, preexec_fn=_limit_zygote)
        listener.close()
        deadline = time.monotonic() + timeout
        while not self.ping(timeout=2.0):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the kernel zygote did not start")
            time.sleep(0.1)
        os.environ.update({ENV_ZYGOTE: self.socket_path, ENV_SLOT: str(self.slot),
                           ENV_CONNECTION_DIR: str(self.connection_dir),
                           ENV_ZYGOTE_POLICY: json.dumps(self.policy, sort_keys=True)})

    def ping(self, timeout: float = 5.0) -> bool:
        """True when the zygote is alive and idle (answers a ping within ``timeout`` seconds)."""
        if self.process is None or self.process.poll() is not None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.settimeout(timeout)
                client.connect(self.socket_path)
                protocol.send(client, {"ping": True})
                return protocol.Lines(client).next().get("pong") is True
        except OSError:
            return False

    def stop(self) -> None:
        """Kill the zygote (and so its sandbox) and remove its folders."""
        for name in (ENV_ZYGOTE, ENV_SLOT, ENV_CONNECTION_DIR, ENV_ZYGOTE_POLICY):
            os.environ.pop(name, None)
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for folder in (self.home, self.slot):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        self.process = self.home = self.slot = None

    def restart(self) -> None:
        self.stop()
        self.start()


# --- in the sandbox launcher -------------------------------------------------------------------

def mirror_plain_files(source: Path, dest: Path) -> list[str]:
    """Copy the regular files and folders of ``source`` into ``dest``; links are never copied.

    Nothing is followed on either side: a symlink (or FIFO, socket, device) in ``source`` is
    dropped and listed in the return value; one in ``dest`` is removed before a file takes its
    name. Notebooks are skipped both ways: going in they hold the hidden tests, coming out
    nbgrader writes them.
    """
    dropped = []
    for folder, dirs, files in os.walk(source):
        here = Path(folder)
        target = dest / here.relative_to(source)
        for name in list(dirs):
            if not stat.S_ISDIR(os.lstat(here / name).st_mode):  # a link to a folder: not entered
                dirs.remove(name)
                dropped.append(str((here / name).relative_to(source)))
                continue
            path = target / name
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                path.unlink()
            path.mkdir(exist_ok=True)
        for name in files:
            origin, path = here / name, target / name
            if name.endswith(".ipynb"):
                continue
            if not stat.S_ISREG(os.lstat(origin).st_mode):
                dropped.append(str(origin.relative_to(source)))
                continue
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.is_dir():
                shutil.rmtree(path)
            shutil.copyfile(origin, path, follow_symlinks=False)
    return dropped


#: After a SIGTERM (the kernel manager shutting the kernel down), how long the launcher waits for
#: the zygote's report before it says the sandbox is gone (a stopped zygote never answers).
TERM_GRACE_S = 1.5  # jupyter_client sends SIGKILL 2.5 s after SIGTERM by default


def _wait_for_exit(client: socket.socket, lines: protocol.Lines, terminated: list) -> dict:
    """The zygote's ``{"exit": ...}`` message, or {} if it hangs up or stays silent after SIGTERM."""
    import select

    while True:
        try:
            ready, _, _ = select.select([client], [], [], 0.5)
        except InterruptedError:
            continue
        if ready:
            return lines.next()
        if terminated and time.monotonic() - terminated[0] > TERM_GRACE_S:
            return {}


def run_kernel(connection_file: Path, workdir: Path) -> dict | None:
    """Have the worker's zygote run this kernel; its ``{"exit", "cpu_s", "walled"}`` at the end.

    None when there is no zygote to use (not set, wrong connection folder, not answering): the
    launcher then starts a fresh sandbox. Signals the launcher gets (interrupt, terminate) are
    relayed to the kernel; if the launcher is killed, the zygote kills the kernel.
    """
    path, slot = os.environ.get(ENV_ZYGOTE), os.environ.get(ENV_SLOT)
    connection_dir = os.environ.get(ENV_CONNECTION_DIR)
    if not (path and slot and connection_dir) or connection_file.parent != Path(connection_dir):
        return None
    if os.environ.get(ENV_ZYGOTE_POLICY) != json.dumps(kernel_policy(), sort_keys=True):
        return None  # this zygote was started for another assignment's policy
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.settimeout(30)
        client.connect(path)
        lines = protocol.Lines(client)
        protocol.send(client, {"kernel": connection_file.name})
        if not lines.next().get("ready"):
            return None
        mirror_plain_files(workdir, Path(slot))  # the zygote emptied the slot before saying "ready"
        protocol.send(client, {"go": True})
        if "pid" not in lines.next():
            return None
    except OSError:
        client.close()
        return None

    terminated: list[float] = []

    def relay(signum, _frame) -> None:
        protocol.send(client, {"signal": int(signum)})
        if signum == signal.SIGTERM and not terminated:
            terminated.append(time.monotonic())

    signal.signal(signal.SIGINT, relay)
    signal.signal(signal.SIGTERM, relay)
    client.settimeout(None)
    result = _wait_for_exit(client, lines, terminated)
    if "exit" not in result:
        client.close()
        return {"exit": -int(signal.SIGKILL), "cpu_s": 0.0, "walled": False, "zygote_died": True}
    try:  # what the kernel wrote in its folder lands in the autograded folder, as without a zygote
        dropped = mirror_plain_files(Path(slot), workdir)
        if dropped:
            print(f"[autograder] links or special files not copied back: {dropped}", file=sys.stderr)
    except OSError as error:
        print(f"[autograder] could not copy the kernel's files back: {error}", file=sys.stderr)
    protocol.send(client, {"collected": True})
    client.close()
    return result
