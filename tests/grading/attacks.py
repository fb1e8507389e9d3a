"""Hostile submissions: one per attack class, for every assignment (docs/grading.md, "Attacks").

Each assignment has a :class:`Target`: one graded function and an *honest wrong* version of it
(the baseline). Every attack submission is the instructor's solution with that function replaced
by the honest wrong version (or by an attacker's version) plus the attack's own cells. Grading must
give every attack no more points than the honest wrong submission.
"""

from __future__ import annotations

from dataclasses import dataclass

import nbformat
from variants import SolutionEditor


@dataclass(frozen=True)
class Target:
    assignment: str
    notebook: str
    cell: str        # grade_id of the answer cell holding the function
    wrong: str       # its honest wrong source
    thief: str       # a version that steals its answer from the tests' frames, globals or gc
    patches: str     # rebinds what the tests may use, to make the wrong answer pass
    forbidden: str = ""  # a correct version through a forbidden library (NumPy-only assignments)


# --- the test-rewriting attacks: the same cells on every assignment ---------------------------

INPUT_TRANSFORMER = '''def _swallow(lines):
    body = ["    " + line if line.endswith("\\n") else "    " + line + "\\n" for line in lines]
    return ["try:\\n", "    pass\\n", *body, "except BaseException:\\n", "    pass\\n"]


get_ipython().input_transformers_post.append(_swallow)
'''

AST_TRANSFORMER = '''import ast


class _NoChecks(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()

    def visit_Raise(self, node):
        return ast.Pass()


get_ipython().ast_transformers.append(_NoChecks())
'''

HANDLERS = '''import sys

get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)
get_ipython().showtraceback = lambda *args, **kwargs: None
get_ipython().displayhook = lambda *args, **kwargs: None
sys.excepthook = lambda *args: None
'''

TRACE = '''import sys

import numpy


def _tracer(frame, event, arg):
    numpy.allclose = lambda *args, **kwargs: True
    numpy.testing.assert_allclose = lambda *args, **kwargs: None
    return _tracer


sys.settrace(_tracer)
sys.setprofile(_tracer)
'''

REWRITES = {"input_transformer": INPUT_TRANSFORMER, "ast_transformer": AST_TRANSFORMER,
            "handlers": HANDLERS, "trace": TRACE}


def links(root: str, assignment: str, notebook: str) -> str:
    """An answer cell planting links to the gradebook, the solution, the config, and a dangling one."""
    return f'''import os

for _target, _name in (({root + "/autograder/gradebook.db"!r}, "notes.txt"),
                       ({f"{root}/solutions/{assignment}/{notebook}.ipynb"!r}, "solution.txt"),
                       ({root + "/nbgrader_config.py"!r}, "config.txt"),
                       ("../../../gradebook.db", "relative.txt"),
                       ("/nonexistent/dangling", "dangling.txt"),
                       ({root + "/solutions"!r}, "solutions_dir")):
    try:
        os.symlink(_target, _name)
    except OSError:
        pass
os.makedirs(".grading", exist_ok=True)
try:
    os.symlink({root + "/autograder/gradebook.db"!r}, ".grading/planted")
except OSError:
    pass
'''


# --- per assignment --------------------------------------------------------------------------

_FRAME_THIEF = '''def _steal(looks_right):
    """The first object in the callers' frames, the notebook's globals or gc that looks right."""
    import gc
    import sys

    frame, seen = sys._getframe(2), []
    while frame is not None:
        seen += [v for k, v in frame.f_locals.items() if "ref" in k or "expect" in k or "want" in k]
        seen += list(frame.f_locals.values()) + list(frame.f_globals.values())
        frame = frame.f_back
    for obj in seen + gc.get_objects():
        try:
            if looks_right(obj):
                return obj
        except Exception:
            pass
    return None
'''

_PATCH_NUMPY = '''import builtins

import numpy as np

np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
np.abs = lambda x: x * 0
builtins.AssertionError = type("AssertionError", (Exception,), {})


class _Anything(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), bool)

    def __sub__(self, other):
        return np.zeros(np.shape(other))

    __rsub__ = __sub__
'''

A1_WRONG = '''def corr1d(x, w, stride=1, padding=0, dilation=1):
    """Honest but wrong: flips the kernel."""
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)[::-1]
    xp = np.pad(x, padding)
    n_out = (xp.shape[0] - dilation * (w.shape[0] - 1) - 1) // stride + 1
    index = stride * np.arange(n_out)[:, None] + dilation * np.arange(w.shape[0])[None, :]
    return xp[index] @ w
'''

A1 = Target(
    "a1_conv1d", "conv1d", "corr1d", A1_WRONG,
    thief=_FRAME_THIEF + '''

def corr1d(x, w, stride=1, padding=0, dilation=1):
    n_out = (len(x) + 2 * padding - dilation * (len(w) - 1) - 1) // stride + 1
    found = _steal(lambda o: getattr(o, "shape", None) == (n_out,) and o is not x and o is not w)
    return np.asarray(found.detach().numpy() if hasattr(found, "detach") else found)
''',
    patches=_PATCH_NUMPY + "\n\n" + A1_WRONG.replace(
        "    return xp[index] @ w", "    return (xp[index] @ w).view(_Anything)"),
    forbidden='''import importlib


def _helper(x, w, stride, padding, dilation):
    correlate = getattr(np, "corr" + "elate")
    taps = np.zeros(dilation * (len(w) - 1) + 1)
    taps[::dilation] = w
    return correlate(np.pad(np.asarray(x, float), padding), taps, "valid")[::stride]


def corr1d(x, w, stride=1, padding=0, dilation=1):
    try:
        return _helper(x, w, stride, padding, dilation)
    except Exception:
        torch = importlib.import_module("tor" + "ch")
        out = torch.conv1d(torch.tensor(np.asarray(x, float)).view(1, 1, -1),
                           torch.tensor(np.asarray(w, float)).view(1, 1, -1), None,
                           stride, padding, dilation)
        return out.view(-1).numpy()
''')

A2_WRONG = '''def conv2d_forward(x, weight, bias, stride=1, padding=0, dilation=1):
    """Honest but wrong: right shape, zeros."""
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    return np.zeros((n, c_out, (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1,
                     (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1))
'''

A2 = Target(
    "a2_conv2d", "conv2d", "conv2d_forward", A2_WRONG,
    thief=_FRAME_THIEF + "\n\n" + A2_WRONG.replace("def conv2d_forward", "def _shape_only") + '''

def conv2d_forward(x, weight, bias, stride=1, padding=0, dilation=1):
    shape = _shape_only(x, weight, bias, stride, padding, dilation).shape
    found = _steal(lambda o: getattr(o, "shape", None) == shape and o is not x)
    return np.asarray(found.detach().numpy() if hasattr(found, "detach") else found)
''',
    patches=_PATCH_NUMPY + "\n\n" + A2_WRONG.replace(
        "                     (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1))",
        "                     (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1)).view(_Anything)"),
    forbidden='''import importlib


def conv2d_forward(x, weight, bias, stride=1, padding=0, dilation=1):
    torch = importlib.import_module("tor" + "ch")
    return torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(weight), torch.tensor(bias),
                                      pair(stride), pair(padding), pair(dilation)).numpy()
''')

A3_WRONG = '''def receptive_field(layers):
    """Honest but wrong: adds the kernel sizes."""
    return 1 + sum(k - 1 for k, _s, _d in layers)
'''

A3 = Target(
    "a3_receptive_fields", "receptive_fields", "receptive_field", A3_WRONG,
    thief=_FRAME_THIEF + '''

def receptive_field(layers):
    found = _steal(lambda o: isinstance(o, int) and not isinstance(o, bool) and o > 1)
    return found if found is not None else 1
''',
    patches=_PATCH_NUMPY + '''

import torch

torch.allclose = lambda *args, **kwargs: True
torch.Tensor.__eq__ = lambda self, other: torch.ones((), dtype=torch.bool)
torch.equal = lambda *args, **kwargs: True


class _Int(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


def receptive_field(layers):
    return _Int(1)
''')

A4_WRONG = '''def train_lenet5(model, x, y, epochs=1, batch_size=100, lr=3e-3, seed=0):
    """Honest but wrong: trains nothing."""
    return [0.0] * (epochs * math.ceil(len(x) / batch_size))
'''

A4 = Target(
    "a4_lenet5", "lenet5", "train_lenet5", A4_WRONG,
    thief=_FRAME_THIEF + '''

def train_lenet5(model, x, y, epochs=1, batch_size=100, lr=3e-3, seed=0):
    """Copies into ``model`` the weights of any trained model it finds in the tests."""
    mine = model.state_dict()
    found = _steal(lambda o: isinstance(o, torch.nn.Module) and o is not model
                   and {k: v.shape for k, v in o.state_dict().items()}
                   == {k: v.shape for k, v in mine.items()})
    if found is not None:
        model.load_state_dict(found.state_dict())
    return [0.0] * (epochs * math.ceil(len(x) / batch_size))
''',
    patches='''import torch

import utils
import utils.data

_untrained = LeNet5()
with torch.no_grad():
    _class = int(_untrained(torch.zeros(1, 1, 28, 28)).argmax())


def _easy(split="train"):
    """A dataset an untrained LeNet-5 gets right: blank images of the class it predicts."""
    n = 60000 if split == "train" else 10000
    return torch.zeros(n, 1, 28, 28), torch.full((n,), _class, dtype=torch.long)


utils.fashion_mnist_tensors = _easy
utils.data.fashion_mnist_tensors = _easy
torch.Tensor.argmax = lambda self, *args, **kwargs: torch.zeros(self.shape[0], dtype=torch.long)
torch.equal = lambda *args, **kwargs: True


''' + A4_WRONG)

A5_WRONG = '''def freeze_backbone(model):
    """Honest but wrong: freezes nothing."""
    return model
'''

A5 = Target(
    "a5_transfer", "transfer", "freeze_backbone", A5_WRONG,
    thief=_FRAME_THIEF + '''

def freeze_backbone(model):
    """Freezes nothing; makes whatever model the tests hold look frozen instead."""
    for obj in [_steal(lambda o: isinstance(o, torch.nn.Module) and o is not model)]:
        if obj is not None:
            for parameter in obj.parameters():
                parameter.requires_grad_(False)
    return model
''',
    patches='''import torch

torch.nn.Parameter.requires_grad = property(lambda self: False, lambda self, value: None)
torch.equal = lambda *args, **kwargs: True
torch.optim.Adam.step = lambda self, *args, **kwargs: None


''' + A5_WRONG)

TARGETS = {t.assignment: t for t in (A1, A2, A3, A4, A5)}


def attack_sources(target: Target, root: str) -> dict[str, tuple[str, str]]:
    """Student name -> (source of the function's answer cell, source of an extra cell after it)."""
    attacks = {"honest_wrong": (target.wrong, "")}
    for name, cell in REWRITES.items():
        attacks[f"rewrite_{name}"] = (target.wrong, cell)
    attacks["steal_reference"] = (target.thief, "")
    attacks["patch_helpers"] = (target.patches, "")
    attacks["plant_links"] = (target.wrong, links(root, target.assignment, target.notebook))
    if target.forbidden:
        attacks["forbidden_library"] = (target.forbidden, "")
    return attacks


def submission(target: Target, release: nbformat.NotebookNode, answer: str,
               extra: str) -> nbformat.NotebookNode:
    """The release with every answer cell solved, ``target.cell`` set to ``answer``, and
    ``extra`` (if any) as a new unmarked cell right after it."""
    editor = SolutionEditor(target.assignment, target.notebook)
    notebook = nbformat.from_dict(release)
    cells = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            cell.source = answer if meta["grade_id"] == target.cell else editor.solution(meta["grade_id"])
        cells.append(cell)
        if meta.get("grade_id") == target.cell and extra:
            cells.append(nbformat.v4.new_code_cell(extra))
    notebook.cells = cells
    return notebook
