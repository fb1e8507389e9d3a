"""The student's grading kernel: ``python <this file> -f CONNECTION_FILE`` inside the sandbox.

Belt and braces, not the boundary: the verdict of every graded cell is taken outside this process
(``autograder/outside.py``). Still, before and after every cell it puts back what students like to
rebind, so that the in-kernel visible tests show honest messages:

- public callables, classes and submodules of ``numpy``, ``numpy.testing``, ``torch``,
  ``torch.testing``, ``math``, ``utils`` and its submodules, and ``builtins`` (captured at import,
  before any student code runs), and those modules in ``sys.modules``;
- IPython's input and AST transformers, custom exception handler, display hook and
  ``showtraceback``; ``sys.excepthook``, ``sys.displayhook``, trace and profile functions.

After a cell holding hidden tests it scrubs that cell from IPython's history and ``linecache``.

The assignment's policy (``CNN_KERNEL_POLICY``: JSON ``{"hidden_modules", "forbidden", "rule"}``)
is applied before any student code: hidden modules cannot be imported (their files are not in the
sandbox either) and every module attribute bound to a forbidden function raises the rule instead.
"""

import builtins
import importlib
import importlib.abc
import json
import linecache
import os
import sys
import types

_HIDDEN_MARK = "BEGIN HIDDEN TESTS"
_WATCHED = ("numpy", "numpy.testing", "torch", "torch.testing", "math", "utils")
_SNAPSHOTS: dict = {}
_PLAIN_TYPES = (types.FunctionType, types.BuiltinFunctionType, types.ModuleType, type)
POLICY_ENV = "CNN_KERNEL_POLICY"


def _watched(name: str) -> bool:
    return name in _WATCHED or name.startswith("utils.")


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


_HOOKS: dict = {}


def _snapshot_hooks(shell) -> None:
    """Capture IPython's and the interpreter's hooks once, before any student code."""
    _HOOKS.update(
        shell=shell,
        input_transformers_cleanup=list(shell.input_transformer_manager.cleanup_transforms),
        input_transformers_post=list(shell.input_transformers_post),
        ast_transformers=list(shell.ast_transformers),
        custom_exceptions=shell.custom_exceptions, CustomTB=shell.CustomTB,
        showtraceback=shell.showtraceback, displayhook=shell.displayhook,
        sys_displayhook=sys.displayhook, excepthook=sys.excepthook)


def _restore_hooks() -> None:
    shell = _HOOKS.get("shell")
    if shell is None:
        return
    shell.input_transformer_manager.cleanup_transforms[:] = _HOOKS["input_transformers_cleanup"]
    shell.input_transformers_post[:] = _HOOKS["input_transformers_post"]
    shell.ast_transformers[:] = _HOOKS["ast_transformers"]
    shell.custom_exceptions, shell.CustomTB = _HOOKS["custom_exceptions"], _HOOKS["CustomTB"]
    for name in ("showtraceback", "displayhook"):
        if getattr(shell, name) is not _HOOKS[name]:
            setattr(shell, name, _HOOKS[name])
    sys.displayhook, sys.excepthook = _HOOKS["sys_displayhook"], _HOOKS["excepthook"]
    sys.settrace(None)
    sys.setprofile(None)


def restore(*_args) -> None:
    """Put back every snapshotted name that student code rebound (and the modules themselves)."""
    for name in list(sys.modules):
        if _watched(name):
            _snapshot(name)
    for name, (module, saved) in list(_SNAPSHOTS.items()):
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
        namespace = vars(module)
        for key, value in saved.items():
            if namespace.get(key) is not value:
                namespace[key] = value
    _restore_hooks()


class _SnapshotOnImport(importlib.abc.MetaPathFinder):
    """Snapshot a watched module right after its first import, before student code can patch it."""

    def find_spec(self, fullname, path, target=None):
        if not _watched(fullname) or fullname in _SNAPSHOTS:
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

                try:
                    loader.exec_module = exec_module
                except (AttributeError, TypeError):
                    pass
                return spec
        return None


class _RefuseHidden(importlib.abc.MetaPathFinder):
    """``import torch`` (or another hidden module) fails with the assignment's rule."""

    def __init__(self, names: list, rule: str) -> None:
        self.names, self.rule = tuple(names), rule

    def find_spec(self, fullname, path, target=None):
        if any(fullname == n or fullname.startswith(n + ".") for n in self.names):
            raise ModuleNotFoundError(f"No module named {fullname!r} when this assignment is "
                                      f"graded: {self.rule}", name=fullname)
        return None


def _forbidden_stub(name: str, rule: str):
    def forbidden(*_args, **_kwargs):
        raise RuntimeError(f"{name} is not allowed: {rule}")

    forbidden.__name__ = name.rsplit(".", 1)[-1]
    return forbidden


def apply_policy(policy: dict) -> None:
    """Hide modules and replace forbidden functions everywhere they are bound (see the docstring)."""
    rule = policy.get("rule", "not allowed in this assignment")
    hidden = policy.get("hidden_modules", [])
    if hidden:
        for name in [m for m in sys.modules if any(m == n or m.startswith(n + ".") for n in hidden)]:
            del sys.modules[name]
        sys.meta_path.insert(0, _RefuseHidden(hidden, rule))
    stubs = {}
    for dotted in policy.get("forbidden", []):
        module_name, attribute = dotted.rsplit(".", 1)
        try:
            target = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError):
            continue
        stubs[id(target)] = (target, _forbidden_stub(dotted.replace("numpy.", "np."), rule))
    if not stubs:
        return
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for key, value in list(namespace.items()):
            if id(value) in stubs and value is stubs[id(value)][0]:
                namespace[key] = stubs[id(value)][1]


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


def install(policy: dict | None = None) -> None:
    """Before any student code: the policy, the snapshot hook, numpy and builtins captured."""
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and sys.path[0] in ("", here):
        sys.path.pop(0)  # the student's kernel does not import the sandbox's programs
    if policy is None:
        policy = json.loads(os.environ.get(POLICY_ENV) or "{}")
    sys.meta_path.insert(0, _SnapshotOnImport())
    _snapshot_builtins()
    try:
        import numpy  # noqa: F401  (captured before any student code runs)
        import numpy.testing  # noqa: F401
    except ImportError:
        pass
    apply_policy(policy)
    restore()


def start_kernel(argv: list) -> None:
    """Start an IPython kernel (argv as for ``ipykernel_launcher``) with the guard's cell hooks."""
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(argv)
    _snapshot_hooks(app.shell)
    app.shell.events.register("pre_run_cell", restore)
    app.shell.events.register("post_run_cell", lambda result: (_scrub(app.shell, result), restore()))
    app.start()


def main() -> None:
    """Start a guarded kernel: ``python guard.py -f CONNECTION_FILE ...``."""
    install()
    start_kernel(sys.argv[1:])


if __name__ == "__main__":
    main()
