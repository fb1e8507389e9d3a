"""Kernel-side guard: the program the sandbox kernel runs instead of ``ipykernel_launcher``.

It is passed as ``python -c <this file's source> -f CONNECTION_FILE`` so that it needs no file
from the (hidden) course repository inside the sandbox. Before each cell it restores the names
students like to rebind (``np.allclose``, ``np.testing``, ``torch.allclose``, ``AssertionError``,
...) to the objects captured at import time, and after a cell holding hidden tests it scrubs that
cell's source from IPython's history and ``linecache``.

This raises the bar; it is not a security boundary: code running in the same interpreter can
always reach the test's frame (see docs/grading.md).
"""

import builtins
import importlib.abc
import linecache
import sys
import types

_HIDDEN_MARK = "BEGIN HIDDEN TESTS"
_WATCHED = ("numpy", "numpy.testing", "torch", "torch.testing", "math")
_SNAPSHOTS: dict = {}
_PLAIN_TYPES = (types.FunctionType, types.BuiltinFunctionType, types.ModuleType, type)


def _snapshot(name: str) -> None:
    """Remember the public callables, classes and submodules of module ``name`` (if imported)."""
    module = sys.modules.get(name)
    if module is None or name in _SNAPSHOTS:
        return
    saved = {}
    for key, value in list(vars(module).items()):
        if not key.startswith("_") and (callable(value) or isinstance(value, _PLAIN_TYPES)):
            saved[key] = value
    _SNAPSHOTS[name] = (module, saved)


def _snapshot_builtins() -> None:
    saved = {key: value for key, value in vars(builtins).items()
             if isinstance(value, (type, types.BuiltinFunctionType))}
    _SNAPSHOTS["builtins"] = (builtins, saved)


def restore(*_args) -> None:
    """Put back every snapshotted name that student code rebound (and the modules themselves)."""
    for name in _WATCHED:
        _snapshot(name)
    for name, (module, saved) in list(_SNAPSHOTS.items()):
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
        namespace = vars(module)
        for key, value in saved.items():
            if namespace.get(key) is not value:
                namespace[key] = value


class _SnapshotOnImport(importlib.abc.MetaPathFinder):
    """Snapshot a watched module right after its first import, before student code can patch it."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in _WATCHED or fullname in _SNAPSHOTS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                loader = spec.loader
                original = loader.exec_module

                def exec_module(module, _original=original, _name=fullname):
                    _original(module)
                    _snapshot(_name)
                    for other in _WATCHED:
                        if other.startswith(_name + "."):
                            _snapshot(other)

                try:
                    loader.exec_module = exec_module
                except (AttributeError, TypeError):
                    pass
                return spec
        return None


def _scrub(shell, result) -> None:
    """Forget the source of a cell holding hidden tests once it has run."""
    source = getattr(getattr(result, "info", None), "raw_cell", "") or ""
    if _HIDDEN_MARK not in source:
        return
    history = shell.history_manager
    for cache in (history.input_hist_parsed, history.input_hist_raw):
        for index, text in enumerate(cache):
            if _HIDDEN_MARK in text:
                cache[index] = ""
    for key in [k for k, v in shell.user_ns.items()
                if k.startswith("_i") and isinstance(v, str) and _HIDDEN_MARK in v]:
        shell.user_ns[key] = ""
    for key in [k for k, v in linecache.cache.items()
                if isinstance(v, tuple) and len(v) > 2 and _HIDDEN_MARK in "".join(v[2])]:
        del linecache.cache[key]


def install() -> None:
    """Install the snapshot hook and capture numpy (and builtins) before any student code runs."""
    sys.meta_path.insert(0, _SnapshotOnImport())
    _snapshot_builtins()
    try:
        import numpy  # noqa: F401  (captured before any student code runs)
        import numpy.testing  # noqa: F401
    except ImportError:
        pass
    restore()
    if sys.path and sys.path[0] in ("", "-c"):
        sys.path.pop(0)


def start_kernel(argv: list) -> None:
    """Start an IPython kernel (argv as for ``ipykernel_launcher``) with the guard's cell hooks."""
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(argv)
    app.shell.events.register("pre_run_cell", restore)
    app.shell.events.register("post_run_cell", lambda result: _scrub(app.shell, result))
    app.start()


def main() -> None:
    """Start a guarded kernel: ``python -c <this source> -f CONNECTION_FILE ...``."""
    install()
    start_kernel(sys.argv[1:])
