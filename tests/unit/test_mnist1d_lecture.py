"""``bench/train_mnist1d.py``'s "lecture02" is exactly lecture 02's "CNN + random shifts".

The notebook defines ``cnn``, ``random_shift`` and its ``SETTINGS`` in cells that students read;
the benchmark keeps copies so that it need not execute the notebook. These tests take the
notebook's function definitions and ``SETTINGS`` / ``BATCH_SIZE`` assignments (nothing else:
no data, no training), execute them and compare them with the benchmark's copies. Fast.
"""

from __future__ import annotations

import ast
import importlib.util
import sys

import nbformat
import pytest
import torch
from course import REPO

NOTEBOOK = REPO / "lectures" / "02_conv1d.ipynb"
BENCH = REPO / "bench" / "train_mnist1d.py"
ENTRY = "CNN + random shifts"


@pytest.fixture(scope="module")
def lecture() -> dict:
    """The notebook's top-level ``def``s and its SETTINGS / BATCH_SIZE, executed."""
    import torch.nn.functional as F
    from torch import nn

    namespace: dict = {"torch": torch, "nn": nn, "F": F}
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        keep = [node for node in tree.body if isinstance(node, ast.FunctionDef)
                or (isinstance(node, ast.Assign)
                    and {getattr(t, "id", None) for t in node.targets} & {"SETTINGS", "BATCH_SIZE"})]
        exec(compile(ast.Module(body=keep, type_ignores=[]), f"{NOTEBOOK.name}", "exec"), namespace)
    for name in ("cnn", "random_shift", "SETTINGS", "BATCH_SIZE"):
        assert name in namespace, f"{NOTEBOOK.name} no longer defines {name}: update this test and the bench"
    return namespace


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH.parent))  # the bench imports its sibling ``common``
    spec = importlib.util.spec_from_file_location("bench_train_mnist1d", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_model_is_the_notebooks_cnn(lecture, bench):
    ours, theirs = bench.lecture_cnn(), lecture["cnn"]()
    assert repr(ours) == repr(theirs)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters()) == 9610
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(5, 1, 40)
    assert torch.equal(ours(x), theirs(x))


def test_bench_augmentation_is_the_notebooks_random_shift(lecture, bench):
    x = torch.randn(64, 1, 40)
    torch.manual_seed(3)
    ours = bench.random_shift(x)
    torch.manual_seed(3)
    theirs = lecture["random_shift"](x)
    assert torch.equal(ours, theirs)
    assert not torch.equal(ours, x)
    for signal, moved in zip(x, ours, strict=True):  # each row: its signal rolled by at most 4 steps
        assert any(torch.equal(moved, torch.roll(signal, k, dims=-1)) for k in range(-4, 5))


def test_bench_recipe_is_the_notebooks(lecture, bench):
    make, epochs, lr, augment = lecture["SETTINGS"][ENTRY]
    assert make is lecture["cnn"] and augment is lecture["random_shift"]
    recipe = bench.LECTURE02
    assert (recipe["epochs"], recipe["lr"], recipe["batch_size"]) == (epochs, lr, lecture["BATCH_SIZE"])
    assert recipe["augment"] is bench.random_shift
    assert lecture["SETTINGS"]["CNN"][:3] == (make, epochs, lr), "the plain CNN row: same model and recipe"
