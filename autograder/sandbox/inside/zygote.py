"""Sandbox-side zygote: fork every student kernel from one process that has already imported torch.

This program runs inside the bubblewrap sandbox, by path: ``python zygote.py <settings JSON>``
(it imports ``guard``, ``limits`` and ``protocol`` from its own folder). It imports the
guard, ipykernel and the heavy libraries once (importing torch costs ~1.5 s of CPU per kernel
otherwise), then serves one kernel at a time on a listening Unix socket that the grader passed in
as an open file descriptor (the socket has no path inside the sandbox):

- request ``{"ping": true}`` → ``{"pong": true}``;
- request ``{"kernel": "<connection file name>"}`` → ``{"ready": true}`` (the slot is empty: the
  launcher copies the submission's files into it) → ``{"go": true}`` → fork; the child sets the per-submission
  limits, changes into the slot folder and becomes the guarded IPython kernel; the zygote answers
  ``{"pid": ...}``, relays ``{"signal": n}`` messages to the kernel, kills it at the wall-clock
  limit or when the requester hangs up, and answers ``{"exit": code, "cpu_s": ..., "walled": ...}``
  once the kernel has ended **and** everything it left behind is gone: every other process of the
  sandbox's PID namespace killed, ``/tmp``, ``/dev/shm`` and the slot emptied. The next student's
  kernel starts from the same clean state as a fresh sandbox (see docs/grading.md).

Limits come from the settings given at start, never from a request.
"""

import json as _json
import os as _os
import selectors as _selectors
import signal as _signal
import socket as _socket
import sys as _sys
import time as _time
import traceback as _traceback

import guard
import limits
import protocol

_RELAYED_SIGNALS = {int(_signal.SIGINT), int(_signal.SIGTERM), int(_signal.SIGKILL)}


def _become_kernel(settings: dict, connection_file: str) -> None:
    """In the forked child: limits, a clean signal state, the slot as cwd; then the kernel."""
    limits.die_with_parent()
    limits.prctl(limits.PR_SET_DUMPABLE, 1)
    for signum in (_signal.SIGINT, _signal.SIGTERM, _signal.SIGCHLD, _signal.SIGPIPE):
        _signal.signal(signum, _signal.SIG_DFL)
    limits.apply_kernel_limits(settings["memory_mb"], settings["cpu_s"], settings["data_limit"])
    _os.chdir(settings["slot"])
    guard.start_kernel(["-f", connection_file, "--HistoryManager.enabled=False"])


def _kill_namespace() -> bool:
    """SIGKILL every process of this PID namespace but its init (pid 1) and the zygote; reap.

    False if some are still there after many rounds (a fork bomb outrunning us).
    """
    me = _os.getpid()
    for _ in range(100):
        others = [int(n) for n in _os.listdir("/proc") if n.isdigit() and int(n) not in (1, me)]
        if not others:
            return True
        for pid in others:
            try:
                _os.kill(pid, _signal.SIGKILL)
            except OSError:
                pass
        _time.sleep(0.01)
        while True:
            try:
                pid, _ = _os.waitpid(-1, _os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
    return False


def _empty(folder: str, keep: tuple = ()) -> None:
    """Delete everything in ``folder`` but the paths in ``keep`` (and the folders above them)."""
    import shutil

    try:
        names = _os.listdir(folder)
    except OSError:
        return
    for name in names:
        path = _os.path.join(folder, name)
        if path in keep:
            continue
        if any(k.startswith(path + "/") for k in keep):
            _empty(path, keep)
        elif _os.path.isdir(path) and not _os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                _os.unlink(path)
            except OSError:
                pass


_SETTINGS: dict = {}


def _clean_up() -> None:
    """Back to the state of a fresh sandbox: no other process, empty /tmp, slot and /dev/shm."""
    if not _kill_namespace():
        _os._exit(70)  # cannot guarantee a clean start: end the sandbox (the worker starts anew)
    slot, connection_dir = _SETTINGS["slot"], _SETTINGS["connection_dir"]
    _os.chdir("/")
    _empty("/tmp", (slot, connection_dir))
    _empty(slot)
    _empty(connection_dir)
    _empty("/dev/shm")


def _exit_code(status: int) -> int:
    if _os.WIFSIGNALED(status):
        return -_os.WTERMSIG(status)
    return _os.WEXITSTATUS(status) if _os.WIFEXITED(status) else 1


def _serve_kernel(listener, connection, lines: protocol.Lines, name: str) -> None:
    """Fork one kernel for a launcher, watch it, clean up after it, report its end."""
    settings = _SETTINGS
    protocol.send(connection, {"ready": True})  # nothing else runs and the slot is empty: fill it now
    if not lines.next().get("go"):
        _clean_up()  # the launcher may have copied files into the slot before it went away
        return
    connection.settimeout(None)
    connection_file = _os.path.join(settings["connection_dir"], _os.path.basename(name))
    pid = _os.fork()
    if pid == 0:  # the student's kernel; never returns into the zygote's loop
        code = 1
        try:
            listener.close()
            connection.close()
            _become_kernel(settings, connection_file)
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except BaseException:  # noqa: BLE001  (the kernel could not start: say why, exit 1)
            _traceback.print_exc()
        finally:
            _os._exit(code)
    protocol.send(connection, {"pid": pid})
    selector = _selectors.DefaultSelector()
    pidfd = _os.pidfd_open(pid)
    selector.register(pidfd, _selectors.EVENT_READ, "child")
    selector.register(connection, _selectors.EVENT_READ, "launcher")
    deadline = _time.monotonic() + settings["wall_s"] if settings["wall_s"] > 0 else None
    walled = False
    while True:
        timeout = None if deadline is None or walled else max(0.0, deadline - _time.monotonic())
        if timeout == 0.0:
            walled = True
            _os.kill(pid, _signal.SIGKILL)
        events = selector.select(None if walled else timeout)
        if any(key.data == "child" for key, _ in events):
            break
        if events and not lines.feed():  # the launcher is gone (killed): so goes the kernel
            selector.unregister(connection)
            _os.kill(pid, _signal.SIGKILL)
        for message in lines.pop():
            signum = message.get("signal")
            if isinstance(signum, int) and signum in _RELAYED_SIGNALS:
                _os.kill(pid, signum)
    _, status, usage = _os.wait4(pid, 0)
    _os.close(pidfd)
    selector.close()
    _kill_namespace()  # nothing of the student runs now: the launcher copies the slot back
    protocol.send(connection, {"exit": _exit_code(status), "walled": walled,
                               "cpu_s": round(usage.ru_utime + usage.ru_stime, 2)})
    connection.settimeout(300)
    while True:  # until {"collected": true} or the launcher hangs up (a late relayed signal is not it)
        message = lines.next()
        if not message or message.get("collected"):
            break
    _clean_up()


def serve(settings: dict) -> None:
    """The zygote's main loop (in the sandbox): preload, then one kernel at a time, forever."""
    _SETTINGS.update(settings)
    # ipykernel's inline backend, set before matplotlib is imported (it reads MPLBACKEND then).
    _os.environ.setdefault("MPLBACKEND", settings.get("mpl_backend", "agg"))
    guard.install(settings.get("policy") or {})
    for module in settings.get("preload", []):
        try:
            __import__(module)
        except Exception:  # noqa: BLE001  (a missing optional library is not the zygote's problem)
            pass
    import ipykernel.kernelapp  # noqa: F401

    guard.restore()  # snapshot what was just imported
    limits.prctl(limits.PR_SET_DUMPABLE, 0)  # kernels (same uid) cannot ptrace the zygote
    limits.prctl(limits.PR_SET_CHILD_SUBREAPER, 1)
    limits.die_with_parent()
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    _clean_up()
    listener = _socket.socket(fileno=settings["fd"])
    while True:
        connection, _ = listener.accept()
        with connection:
            connection.settimeout(60)  # a launcher that connects and says nothing cannot stall us
            lines = protocol.Lines(connection)
            request = lines.next()
            if request.get("ping"):
                protocol.send(connection, {"pong": True})
            elif isinstance(request.get("kernel"), str):
                _serve_kernel(listener, connection, lines, request["kernel"])


if __name__ == "__main__":
    serve(_json.loads(_sys.argv[1]))
