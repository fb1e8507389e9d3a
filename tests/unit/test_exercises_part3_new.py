"""The "your turn" checks of lectures 10 and 11: each passes on the Solution block of its notebook
and fails, naming the mistake, on typical wrong answers."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import torch

from utils.exercises import lecture_10, lecture_11

LECTURES = Path(__file__).resolve().parents[2] / "lectures"


def _solution_and_setup(notebook: str) -> tuple[str, str]:
    """The ```python block of the notebook's Solution and the code cell after "## Your turn"."""
    cells = nbformat.read(LECTURES / notebook, as_version=4).cells
    turn = next(i for i, c in enumerate(cells) if c.cell_type == "markdown" and "## Your turn" in c.source)
    setup = next(c.source for c in cells[turn:] if c.cell_type == "code")
    solution_md = next(c.source for c in cells[turn:] if "<summary>Solution</summary>" in c.source)
    blocks = re.findall(r"```python\n(.*?)```", solution_md, re.DOTALL)
    assert len(blocks) == 1, "one python block in the Solution"
    return blocks[0], setup


def _run_check(capsys, check, *args) -> tuple[bool, str]:
    result = check(*args)
    return result, capsys.readouterr().out


def _lecture_10_solution():
    code, _setup = _solution_and_setup("10_activations.ipynb")
    namespace = {"torch": torch}
    exec(code, namespace)
    return namespace["bce_with_logits"]


def test_lecture_10_solution_passes(capsys):
    ok, out = _run_check(capsys, lecture_10.check_bce_with_logits, _lecture_10_solution())
    assert ok and out.startswith("Correct")


@pytest.mark.parametrize(("wrong", "named"), [
    (lambda z, y: -(y * torch.sigmoid(z).log() + (1 - y) * (1 - torch.sigmoid(z)).log()), "overflows"),
    (lambda z, y: (torch.clamp(z, min=0) - z * y + torch.log1p(torch.exp(-z.abs()))).mean(), "one loss per"),
    (lambda z, y: -(torch.clamp(z, min=0) - z * y + torch.log1p(torch.exp(-z.abs()))), "negative"),
    (lambda z, y: torch.clamp(z, min=0) - z * y + torch.log1p(torch.exp(-z)), "inf or nan"),
    (lambda z, y: torch.clamp(z, min=0) - z * y + torch.log1p(torch.exp(-z.abs())) + 0.01,
     "the loss for z ="),
    (lambda z, y: 1 / 0, "ZeroDivisionError"),
])
def test_lecture_10_check_names_the_mistake(capsys, wrong, named):
    ok, out = _run_check(capsys, lecture_10.check_bce_with_logits, wrong)
    assert not ok and out.startswith("Not yet") and named in out


def test_lecture_10_placeholder_is_not_attempted(capsys):
    ok, out = _run_check(capsys, lecture_10.check_bce_with_logits, lambda z, y: None)
    assert not ok and "Not attempted" in out
    ok, out = _run_check(capsys, lecture_10.check_bce_with_logits, None)
    assert not ok and "Not attempted" in out


def _lecture_11_namespace(capsys) -> dict:
    code, setup = _solution_and_setup("11_batch_norm.ipynb")
    namespace: dict = {}
    exec("import torch\nfrom torch import nn\nimport utils\nimport utils.exercises.lecture_11", namespace)
    exec(setup, namespace)             # builds conv and bn; its check call reports "not attempted"
    assert "Not attempted" in capsys.readouterr().out
    exec(code, namespace)
    return namespace


def test_lecture_11_solution_passes(capsys):
    ns = _lecture_11_namespace(capsys)
    ok, out = _run_check(capsys, lecture_11.check_folded_conv,
                         (ns["folded_weight"], ns["folded_bias"]), ns["conv"], ns["bn"])
    assert ok and out.startswith("Correct")


def test_lecture_11_check_names_the_mistake(capsys):
    ns = _lecture_11_namespace(capsys)
    conv, bn, weight, bias = ns["conv"], ns["bn"], ns["folded_weight"], ns["folded_bias"]
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    cases = [
        ((weight, conv.bias * scale + bn.bias), "forgets the running mean"),
        ((conv.weight * scale[None, :3, None, None], bias), "weight is wrong"),
        ((conv.weight * (bn.weight / bn.running_var)[:, None, None, None], bias), "weight is wrong"),
        ((weight, (conv.bias - bn.running_mean) * scale), "bias is wrong"),
        ((weight[:, :, 1, 1], bias), "keep the convolution's shape"),
        ((weight, bias[:2]), "one entry per output channel"),
        ((weight,), "must be a pair"),
    ]
    for answer, named in cases:
        ok, out = _run_check(capsys, lecture_11.check_folded_conv, answer, conv, bn)
        assert not ok and out.startswith("Not yet") and named in out, (named, out)
    assert not bn.training, "the check leaves the batch norm in the mode it found it"


def test_lecture_11_placeholder_is_not_attempted(capsys):
    ns = _lecture_11_namespace(capsys)
    ok, out = _run_check(capsys, lecture_11.check_folded_conv, (None, None), ns["conv"], ns["bn"])
    assert not ok and "Not attempted" in out
