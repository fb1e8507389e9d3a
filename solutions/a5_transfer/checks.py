"""Graded checks of a5_transfer, decided by the grader outside the student's kernel.

Every item uses one probe, :func:`probe_model`: in the kernel it builds small models described
in the inputs (layers, initial weights as arrays, which parameters start frozen), calls the
student's functions on them, takes a few optimizer steps on the grader's data and reports the
parameters (by name), their ``requires_grad`` flags, the optimizer's groups and outputs. The
grader runs the same probe in its own process with reference implementations (torch) and
compares: a frozen parameter must be bit-identical, trainable ones equal within float64 noise.
Models, sizes, frozen patterns, data, learning rates and seeds are drawn fresh for every
notebook. The transfer items train the new head on the 25 few-shot images in the kernel; the
grader checks that the backbone is still the pretrained one (loaded here, from
``pretrained_smallcnn.pt`` next to this file) and measures the head's accuracy on the 5,000
target test images itself, against a from-scratch baseline it trains itself.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from autograder.verdict import ProbeCheck

PRETRAINED = Path(__file__).resolve().parent / "pretrained_smallcnn.pt"
TARGET_CLASSES = (5, 6, 7, 8, 9)
#: the notebook's transfer recipe: Adam, learning rate, full-batch steps, few-shot seed, lead
TRANSFER_LR, TRANSFER_STEPS, FEW_SHOT_SEED, LEAD = 3e-3, 30, 0, 0.03
#: seeds of the from-scratch baselines: the visible cell's (74.8%) and the old hidden cell's (78.1%)
SCRATCH_SEED = {"test_transfer": 1, "test_transfer_hidden": 2}
#: float64 models: only summation order differs between the kernel and the grader
RTOL, ATOL = 1e-6, 1e-9


def probe_model(ns, inputs):
    """Kernel side of every a5 check: for each run of ``inputs["runs"]``, build the model it
    describes, call the student's function(s) from ``ns`` on it, take the run's optimizer steps
    and report what came out (a list with one dict per run)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    def layer(spec):
        kind, args = spec[0], spec[1:]
        if kind == "seq":
            return nn.Sequential(*[layer(item) for item in args[0]])
        if kind == "conv":
            return nn.Conv2d(args[0], args[1], args[2], padding=args[3], bias=args[4])
        if kind == "linear":
            return nn.Linear(args[0], args[1], bias=args[2])
        if kind == "bn":
            return nn.BatchNorm2d(args[0])
        if kind == "pool":
            return nn.MaxPool2d(args[0])
        return {"relu": nn.ReLU, "tanh": nn.Tanh, "flatten": nn.Flatten}[kind]()

    class Net(nn.Module):
        def __init__(self, parts):
            super().__init__()
            self.order = [name for name, _ in parts]
            for name, spec in parts:
                setattr(self, name, layer(spec))

        def forward(self, x):
            for name in self.order:
                x = getattr(self, name)(x)
            return x

    def student(name):
        function = ns.get(name)
        if not callable(function):
            raise NameError(f"{name} is not defined")
        return function

    def values(model):
        return {name: p.detach().cpu().clone().numpy() for name, p in model.named_parameters()}

    def run(spec):
        model = Net(spec["parts"]).to(getattr(torch, spec["dtype"]))
        if spec["call"] == "shapes":
            return {name: list(p.shape) for name, p in model.named_parameters()}
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(torch.as_tensor(spec["state"][name]))
                p.requires_grad_(name not in spec["frozen"])
        before = {id(p) for p in model.parameters()}
        call, optimizer, returned = spec["call"], None, model
        try:
            if call == "freeze_backbone":
                returned = student(call)(model)
            elif call == "replace_head":
                torch.manual_seed(spec["seed"])
                returned = student(call)(model, spec["num_classes"])
            elif call == "head_optimizer":
                optimizer = student(call)(model, spec["lr"])
            elif call == "finetune_optimizer":
                optimizer = student(call)(model, head_lr=spec["head_lr"],
                                          backbone_lr=spec["backbone_lr"])
            else:  # transfer, as the notebook's test cell: freeze, new head, head optimizer
                torch.manual_seed(spec["seed"])
                returned = student("replace_head")(student("freeze_backbone")(model),
                                                   spec["num_classes"])
                if not isinstance(returned, nn.Module):
                    raise TypeError(f"replace_head returned a {type(returned).__name__}")
                model = returned
                optimizer = student("head_optimizer")(model, spec["lr"])
        except Exception as error:  # noqa: BLE001  (the student's code: any error is a result)
            return {"error": f"{type(error).__name__}: {error}"[:300]}
        names = {id(p): name for name, p in model.named_parameters()}
        report = {"returned_model": returned is model,
                  "flags": {name: bool(p.requires_grad) for name, p in model.named_parameters()},
                  "same": {name: id(p) in before for name, p in model.named_parameters()}}
        if spec.get("report_init", True):
            report["init"] = values(model)
        if optimizer is not None:
            try:
                groups = [{"lr": float(group["lr"]),
                           "params": [names.get(id(p), "?") for p in group["params"]]}
                          for group in optimizer.param_groups]
            except Exception:  # noqa: BLE001  (not an optimizer: the verdict says so)
                groups = []
            report["optimizer"] = {"adam": isinstance(optimizer, torch.optim.Adam),
                                   "groups": groups}
        try:
            if "x_out" in spec:
                with torch.no_grad():
                    report["output"] = model(torch.as_tensor(spec["x_out"]))
            if spec.get("to_double"):
                model.double()
            if optimizer is None:
                trainable = [p for p in model.parameters() if p.requires_grad]
                optimizer = torch.optim.Adam(trainable, lr=spec["lr"]) if trainable else None
            x, y = torch.as_tensor(spec["x"]), torch.as_tensor(spec["y"])
            if spec.get("to_double"):
                x = x.double()
            model.train()
            for _ in range(spec["steps"] if optimizer is not None else 0):
                loss = F.cross_entropy(model(x), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        except Exception as error:  # noqa: BLE001  (the model or optimizer the student made)
            report["step_error"] = f"{type(error).__name__}: {error}"[:300]
            return report
        report["after"] = values(model)
        return report

    with torch.random.fork_rng(devices=[]):  # the notebook's random state is left as it was
        return [run(spec) for spec in inputs["runs"]]


# --- models and runs ---------------------------------------------------------------------------

def smallcnn(num_classes: int = 5) -> list:
    """The notebook's SmallCNN as parts: backbone (N, 1, 28, 28) -> (N, 288), head -> (N, k)."""
    backbone = []
    for c_in, c_out in ((1, 8), (8, 16), (16, 32)):
        backbone += [["conv", c_in, c_out, 3, 1, True], ["relu"], ["pool", 2]]
    return [["backbone", ["seq", backbone + [["flatten"]]]],
            ["head", ["seq", [["linear", 288, 64, True], ["relu"], ["linear", 64, num_classes, True]]]]]


@functools.lru_cache(maxsize=64)
def _shapes_of(parts_key: str) -> dict:
    spec = {"parts": json.loads(parts_key), "dtype": "float32", "call": "shapes"}
    return probe_model({}, {"runs": [spec]})[0]


def shapes(parts: list) -> dict:
    """name -> shape of every parameter of the model ``parts`` describes (named_parameters order)."""
    return _shapes_of(json.dumps(parts))


def random_state(rng: np.random.Generator, parts: list, dtype: str) -> dict:
    """Initial weights like PyTorch's default (uniform, 1/sqrt(fan_in)); 1-d ones in (-0.5, 0.5)."""
    state = {}
    for name, shape in shapes(parts).items():
        bound = 1 / np.sqrt(np.prod(shape[1:])) if len(shape) > 1 else 0.5
        state[name] = rng.uniform(-bound, bound, size=shape).astype(dtype)
    return state


def make_run(rng, parts, call, *, label, frozen=(), classes, x_shape, n=8, dtype="float64",
             steps=2, lr=None, **extra) -> dict:
    """One model, one call of the student's function, ``steps`` cross-entropy steps on random data."""
    return {"label": label, "parts": parts, "call": call, "dtype": dtype,
            "state": random_state(rng, parts, dtype), "frozen": list(frozen),
            "x": rng.standard_normal((n, *x_shape)).astype(dtype),
            "y": rng.integers(0, classes, size=n), "steps": steps,
            "lr": float(lr if lr is not None else rng.uniform(0.005, 0.02)), **extra}


def backbone_names(parts: list) -> list[str]:
    return [name for name in shapes(parts) if name.startswith("backbone.")]


def pick(rng, names: list[str], p: float) -> list[str]:
    """A random subset of ``names`` (each with probability ``p``)."""
    return [name for name in names if rng.random() < p]


def bn_model(rng) -> list:
    """A backbone with batch norm and a nested Sequential (bias-free conv), a neck, a 2-layer head."""
    c1, c2, neck, hidden, out = (int(v) for v in rng.integers([3, 2, 4, 3, 2], [7, 5, 8, 7, 6]))
    backbone = ["seq", [["conv", 3, c1, 3, 0, True], ["bn", c1], ["relu"],
                        ["seq", [["conv", c1, c2, 1, 0, False], ["flatten"]]]]]
    return [["backbone", backbone], ["neck", ["linear", c2 * 4, neck, True]],
            ["head", ["seq", [["linear", neck, hidden, True], ["linear", hidden, out, True]]]]]


# --- comparisons ---------------------------------------------------------------------------------

class Fail(Exception):
    """A failed verdict: its message is what the student reads."""


def runs_of(record, inputs, function: str) -> list[dict]:
    runs = inputs["runs"]
    if not isinstance(record, list) or len(record) != len(runs) or not all(
            isinstance(item, dict) for item in record):
        raise Fail(f"the grader's calls of {function} gave no complete result")
    return record


def reference(run: dict, namespace: dict) -> dict:
    """The probe's report for ``run``, with the reference functions in ``namespace``, here."""
    return probe_model(namespace, {"runs": [copy.deepcopy(run)]})[0]


def arrays(record: dict, key: str) -> dict:
    found = record.get(key)
    if not isinstance(found, dict) or not all(isinstance(v, np.ndarray) for v in found.values()):
        raise Fail("the grader's record of your model's parameters is malformed")
    return found


def mismatched(got: dict, expected: dict, exact: set) -> list[str]:
    """Names whose value differs: bit for bit in ``exact``, beyond float64 noise elsewhere."""
    bad = []
    for name, ref in expected.items():
        value = got.get(name)
        if value is None or value.shape != ref.shape:
            bad.append(name)
        elif name in exact:
            if not np.array_equal(value, ref):
                bad.append(name)
        elif not np.all(np.abs(value.astype(np.float64) - ref) <= ATOL + RTOL * np.abs(ref)):
            bad.append(name)
    return bad + sorted(set(got) - set(expected))


def flags_of(record: dict) -> dict:
    flags = record.get("flags")
    if not isinstance(flags, dict) or not all(isinstance(v, bool) for v in flags.values()):
        raise Fail("the grader's record of your model's parameters is malformed")
    return flags


def optimizer_of(record: dict, function: str) -> list[tuple[float, list]]:
    info = record.get("optimizer")
    if not isinstance(info, dict) or info.get("adam") is not True:
        raise Fail(f"{function} must return a torch.optim.Adam")
    groups = info.get("groups")
    if not isinstance(groups, list) or not groups:
        raise Fail(f"{function} returned an optimizer without parameter groups")
    return [(float(group["lr"]), list(group["params"])) for group in groups]


def ran(got: dict, what: str) -> None:
    """Fail if running the model (output, optimizer steps) raised in the kernel."""
    if "step_error" in got:
        raise Fail(f"{what} raised {got['step_error']}")


def check_steps(got: dict, expected: dict, what: str) -> None:
    frozen = {name for name, flag in expected["flags"].items() if not flag}
    bad = mismatched(arrays(got, "after"), expected["after"], frozen)
    if bad:
        raise Fail(f"after {what}, these parameters are not what they should be: {bad[:6]}")


def verdict_of(check):
    """``check(inputs, record)`` raising :class:`Fail` -> a verdict returning its message."""

    def verdict(inputs, record, seconds):
        try:
            check(inputs, record)
        except Fail as failure:
            return str(failure)
        return None

    return verdict


# --- freeze_backbone ---------------------------------------------------------------------------

def ref_freeze_backbone(model):
    for parameter in model.backbone.parameters():
        parameter.requires_grad_(False)
    return model


def freeze_inputs(rng):
    return {"runs": [make_run(rng, smallcnn(), "freeze_backbone", label="a SmallCNN",
                              classes=5, x_shape=(1, 28, 28), n=6)]}


def freeze_hidden_inputs(rng):
    parts = bn_model(rng)
    outside = [n for n in shapes(parts) if not n.startswith("backbone.")]
    frozen = pick(rng, backbone_names(parts), 0.3) + pick(rng, outside, 0.4)[:len(outside) - 1]
    if not set(frozen) & set(outside):
        frozen.append(outside[int(rng.integers(len(outside)))])
    cnn_head = [n for n in shapes(smallcnn()) if n.startswith("head.")]
    return {"runs": [
        make_run(rng, parts, "freeze_backbone", frozen=frozen, classes=shapes(parts)[outside[-1]][0],
                 label="a model with batch norm in the backbone, a neck and a partly frozen head",
                 x_shape=(3, 4, 4)),
        make_run(rng, smallcnn(), "freeze_backbone", frozen=[cnn_head[int(rng.integers(4))]],
                 label="a SmallCNN with a partly frozen head", classes=5, x_shape=(1, 28, 28), n=4)]}


def check_freeze(inputs, record):
    for run, got in zip(inputs["runs"], runs_of(record, inputs, "freeze_backbone"), strict=True):
        if "error" in got:
            raise Fail(f"freeze_backbone({run['label']}) raised {got['error']}")
        if got.get("returned_model") is not True:
            raise Fail("freeze_backbone must return the model it was given (changed in place)")
        expected = reference(run, {"freeze_backbone": ref_freeze_backbone})
        flags = flags_of(got)
        if set(flags) != set(expected["flags"]) or not all(got.get("same", {}).values()):
            raise Fail(f"freeze_backbone replaced parameters of {run['label']}: it only sets "
                       "requires_grad")
        trainable = [n for n in backbone_names(run["parts"]) if flags[n]]
        if trainable:
            raise Fail(f"backbone parameters still trainable after freeze_backbone on "
                       f"{run['label']}: {trainable}")
        changed = [n for n, flag in flags.items() if flag != expected["flags"][n]]
        if changed:
            raise Fail(f"freeze_backbone changed requires_grad outside the backbone of "
                       f"{run['label']}: {changed}")
        if mismatched(arrays(got, "init"), run["state"], set(run["state"])):
            raise Fail("freeze_backbone changed parameter values: it only sets requires_grad")
        ran(got, f"training {run['label']} after freeze_backbone")
        check_steps(got, expected, f"{run['steps']} Adam steps on {run['label']}")


# --- replace_head ------------------------------------------------------------------------------

def replace_inputs(rng):
    parts = smallcnn(int(rng.integers(2, 10)))
    k = int(rng.choice([2, 3, 4, 6, 7, 8, 9]))
    return {"runs": [make_run(rng, parts, "replace_head", label="a SmallCNN with a frozen backbone",
                              frozen=backbone_names(parts), classes=k, x_shape=(1, 28, 28), n=4,
                              dtype="float32", steps=1, num_classes=k,
                              seed=int(rng.integers(2**31)), to_double=True,
                              x_out=rng.standard_normal((4, 1, 28, 28)).astype("float32"))]}


def replace_hidden_inputs(rng):
    runs = []
    for k in rng.choice([2, 3, 4, 6, 7, 8, 9, 10], size=3, replace=False).tolist():
        rows, cols = (int(v) for v in rng.integers(2, 6, size=2))
        features, hidden, old = (int(v) for v in rng.integers([20, 8, 2], [70, 25, 12]))
        parts = [["backbone", ["seq", [["flatten"], ["linear", rows * cols, features, True]]]],
                 ["head", ["seq", [["linear", features, hidden, True], ["relu"],
                                   ["linear", hidden, old, True]]]]]
        runs.append(make_run(
            rng, parts, "replace_head", label=f"a model with {features} features", classes=k,
            x_shape=(rows, cols), n=6, dtype="float32", steps=1, num_classes=k,
            seed=int(rng.integers(2**31)), to_double=True,
            x_out=rng.standard_normal((6, rows, cols)).astype("float32")))
    return {"runs": runs}


def installer(head: list):
    """A reference replace_head that installs Linear -> ReLU -> Linear with the given weights."""

    def replace_head(model, num_classes):
        features, hidden = model.head[0].in_features, model.head[0].out_features
        model.head = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(),
                                   nn.Linear(hidden, num_classes))
        with torch.no_grad():
            for parameter, value in zip(model.head.parameters(), head, strict=True):
                parameter.copy_(torch.from_numpy(value))
        return model

    return replace_head


def check_replace(inputs, record):
    for run, got in zip(inputs["runs"], runs_of(record, inputs, "replace_head"), strict=True):
        k = run["num_classes"]
        if "error" in got:
            raise Fail(f"replace_head({run['label']}, num_classes={k}) raised {got['error']}")
        if got.get("returned_model") is not True:
            raise Fail("replace_head must return the model it was given (changed in place)")
        flags, init = flags_of(got), arrays(got, "init")
        backbone = backbone_names(run["parts"])
        if ([n for n in flags if n.startswith("backbone.")] != backbone
                or not all(got["same"][n] for n in backbone)
                or any(flags[n] == (n in run["frozen"]) for n in backbone)
                or mismatched({n: init[n] for n in backbone},
                              {n: run["state"][n] for n in backbone}, set(backbone))):
            raise Fail("replace_head changed the backbone (its parameters, values or "
                       "requires_grad): only replace model.head.")
        head = [n for n in flags if n not in backbone]
        if not all(n.startswith("head.") for n in head):
            raise Fail(f"replace_head added parameters outside model.head: {head}")
        features, hidden = run["state"]["head.0.weight"].shape[::-1]
        got_shapes = [tuple(init[n].shape) for n in head]
        if got_shapes != [(hidden, features), (hidden,), (k, hidden), (k,)]:
            raise Fail(f"the new head's parameter shapes are {got_shapes} (num_classes={k}): "
                       "Linear(F, H) -> ReLU -> Linear(H, num_classes) with F, H from the old "
                       "head[0]")
        old = [run["state"][n] for n in run["state"] if n.startswith("head.")]
        kept = [n for n in head if got["same"][n] or any(
            o.shape == init[n].shape and np.array_equal(o, init[n]) for o in old)]
        if kept:
            raise Fail(f"replace_head kept weights of the old head ({kept}): create every layer "
                       "of the new head with nn.Linear(...), so that it starts fresh.")
        if not all(flags[n] for n in head):
            raise Fail("the new head must be trainable")
        ran(got, f"running {run['label']} after replace_head")
        output = got.get("output")
        expected_shape = (run["x_out"].shape[0], k)
        if not isinstance(output, np.ndarray) or output.shape != expected_shape:
            shape = output.shape if isinstance(output, np.ndarray) else "no tensor"
            raise Fail(f"after replace_head(model, num_classes={k}) the model returns {shape} for "
                       f"{expected_shape[0]} inputs, expected shape {expected_shape}")
        expected = reference(run, {"replace_head": installer([init[n] for n in head])})
        if not np.allclose(output, expected["output"], rtol=1e-4, atol=1e-5):
            raise Fail("the new head does not compute Linear(F, H) -> ReLU -> Linear(H, "
                       "num_classes) of the backbone's features: it returns logits (no softmax, "
                       "no other layer)")
        renamed = dict(zip(head, [n for n in expected["after"] if n.startswith("head.")],
                           strict=True))
        after = {renamed.get(n, n): v for n, v in arrays(got, "after").items()}
        check_steps({"after": after}, expected, f"one Adam step on {run['label']}")


# --- head_optimizer ----------------------------------------------------------------------------

def ref_head_optimizer(model, lr):
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)


def head_optimizer_inputs(rng):
    parts = smallcnn()
    return {"runs": [make_run(rng, parts, "head_optimizer", label="a SmallCNN with a frozen backbone",
                              frozen=backbone_names(parts), classes=5, x_shape=(1, 28, 28), n=4)]}


def head_optimizer_hidden_inputs(rng):
    sizes = [int(v) for v in rng.integers(3, 9, size=4)]
    body = [["body", ["seq", [["linear", sizes[i], sizes[i + 1], True] for i in range(3)]]]]
    names = list(shapes(body))
    frozen = [names[i] for i in rng.permutation(len(names))[:int(rng.integers(2, 4))].tolist()]
    mixed = [["backbone", ["seq", [["linear", sizes[0], 6, True], ["tanh"], ["linear", 6, 5, True]]]],
             ["head", ["seq", [["linear", 5, 4, True], ["relu"], ["linear", 4, 3, True]]]]]
    mixed_names = list(shapes(mixed))
    return {"runs": [
        make_run(rng, body, "head_optimizer", label="a Sequential of three Linear layers",
                 frozen=frozen, classes=sizes[3], x_shape=(sizes[0],), n=8, steps=3),
        make_run(rng, mixed, "head_optimizer", label="a model with a partly frozen head",
                 frozen=[mixed_names[0], mixed_names[int(rng.integers(4, 8))]], classes=3,
                 x_shape=(sizes[0],), n=8, steps=3)]}


def check_head_optimizer(inputs, record):
    for run, got in zip(inputs["runs"], runs_of(record, inputs, "head_optimizer"), strict=True):
        if "error" in got:
            raise Fail(f"head_optimizer({run['label']}, lr={run['lr']:.4g}) raised {got['error']}")
        groups = optimizer_of(got, "head_optimizer")
        flags = flags_of(got)
        initial = {n: n not in run["frozen"] for n in run["state"]}
        if flags != initial:
            raise Fail("head_optimizer changed requires_grad: it only builds the optimizer")
        held = [n for _, params in groups for n in params]
        if "?" in held:
            raise Fail("head_optimizer holds tensors that are not parameters of the model")
        frozen = sorted({n for n in held if not initial[n]})
        if frozen:
            raise Fail(f"head_optimizer passes frozen parameters to Adam ({frozen}): keep only "
                       "the parameters with requires_grad")
        if sorted(held) != sorted(n for n, flag in initial.items() if flag):
            raise Fail("head_optimizer must hold every trainable parameter exactly once")
        if any(lr != run["lr"] for lr, _ in groups):
            raise Fail("head_optimizer must use its lr argument as the learning rate")
        ran(got, f"training {run['label']} with the optimizer of head_optimizer")
        expected = reference(run, {"head_optimizer": ref_head_optimizer})
        check_steps(got, expected, f"{run['steps']} steps of the optimizer on {run['label']}")


# --- finetune_optimizer ------------------------------------------------------------------------

def ref_finetune_optimizer(model, head_lr, backbone_lr):
    for parameter in model.backbone.parameters():
        parameter.requires_grad_(True)
    return torch.optim.Adam([{"params": list(model.backbone.parameters()), "lr": backbone_lr},
                             {"params": list(model.head.parameters()), "lr": head_lr}])


def learning_rates(rng) -> dict:
    head_lr = float(rng.uniform(0.005, 0.03))
    return {"head_lr": head_lr, "backbone_lr": head_lr / float(rng.uniform(5, 20))}


def finetune_inputs(rng):
    parts = smallcnn()
    return {"runs": [make_run(rng, parts, "finetune_optimizer", label="a SmallCNN with a frozen "
                              "backbone", frozen=backbone_names(parts), classes=5,
                              x_shape=(1, 28, 28), n=4, **learning_rates(rng))]}


def finetune_hidden_inputs(rng):
    runs = []
    for _ in range(2):
        d_in, d_mid, d_feat, k = (int(v) for v in rng.integers([4, 3, 3, 2], [9, 7, 6, 5]))
        parts = [["backbone", ["seq", [["linear", d_in, d_mid, True], ["tanh"],
                                       ["linear", d_mid, d_feat, True]]]],
                 ["head", ["linear", d_feat, k, True]]]
        runs.append(make_run(rng, parts, "finetune_optimizer", label="a model with a Linear head",
                             frozen=backbone_names(parts), classes=k, x_shape=(d_in,), n=10,
                             steps=3, **learning_rates(rng)))
    return {"runs": runs}


def check_finetune(inputs, record):
    for run, got in zip(inputs["runs"], runs_of(record, inputs, "finetune_optimizer"), strict=True):
        if "error" in got:
            raise Fail(f"finetune_optimizer({run['label']}) raised {got['error']}")
        flags = flags_of(got)
        still = [n for n, flag in flags.items() if not flag]
        if still or set(flags) != set(run["state"]):
            raise Fail(f"after finetune_optimizer these parameters are still frozen: {still}")
        groups = optimizer_of(got, "finetune_optimizer")
        held = [n for _, params in groups for n in params]
        if sorted(held) != sorted(run["state"]):
            raise Fail("finetune_optimizer must hold every parameter of the model (backbone and "
                       "head) exactly once")
        backbone = set(backbone_names(run["parts"]))
        wrong = sorted({n for lr, params in groups for n in params
                        if lr != (run["backbone_lr"] if n in backbone else run["head_lr"])})
        if wrong:
            raise Fail(f"wrong learning rate for {wrong[:4]}: backbone_lr for the backbone, "
                       "head_lr for the head (check that the two are not swapped)")
        ran(got, f"training {run['label']} with the optimizer of finetune_optimizer")
        expected = reference(run, {"finetune_optimizer": ref_finetune_optimizer})
        check_steps(got, expected, f"{run['steps']} steps of the optimizer on {run['label']}")


# --- transfer ----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def pretrained_state() -> dict:
    """The shipped pretrained SmallCNN(5) weights, as float32 arrays, loaded here."""
    state = torch.load(PRETRAINED, map_location="cpu", weights_only=True)
    return {name: value.numpy().copy() for name, value in state.items()}


@functools.lru_cache(maxsize=1)
def few_shot() -> tuple[np.ndarray, np.ndarray]:
    """The notebook's 25 training images (5 per target class, seed 0) and labels 0-4."""
    import utils

    x, y = utils.fashion_mnist_tensors("train")
    generator = torch.Generator().manual_seed(FEW_SHOT_SEED)
    picked = []
    for cls in TARGET_CLASSES:
        candidates = (y == cls).nonzero().flatten()
        picked.append(candidates[torch.randperm(len(candidates), generator=generator)[:5]])
    picked = torch.cat(picked)
    return x[picked].numpy(), (y[picked] - TARGET_CLASSES[0]).numpy()


@functools.lru_cache(maxsize=1)
def target_test() -> tuple[torch.Tensor, torch.Tensor]:
    """The 5,000 test images of the target classes and their labels 0-4."""
    import utils

    x, y = utils.fashion_mnist_tensors("test")
    keep = y >= TARGET_CLASSES[0]
    return x[keep], y[keep] - TARGET_CLASSES[0]


class SmallCNN(nn.Module):
    """The notebook's model (the grader's own copy)."""

    def __init__(self, num_classes: int = 5) -> None:
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(288, 64), nn.ReLU(), nn.Linear(64, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


@torch.no_grad()
def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return float((model(x).argmax(dim=1) == y).double().mean())


@functools.lru_cache(maxsize=1)
def target_features() -> torch.Tensor:
    """The pretrained backbone's features (5000, 288) of the target test images."""
    model = SmallCNN(5)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in pretrained_state().items()})
    with torch.no_grad():
        return model.eval().backbone(target_test()[0])


def head_accuracy(head: list[np.ndarray]) -> float:
    """Target-test accuracy of the pretrained backbone with a Linear -> ReLU -> Linear head."""
    module = nn.Sequential(nn.Linear(288, 64), nn.ReLU(), nn.Linear(64, 5))
    with torch.no_grad():
        for parameter, value in zip(module.parameters(), head, strict=True):
            parameter.copy_(torch.from_numpy(value))
    return _accuracy(module, target_features(), target_test()[1])


@functools.lru_cache(maxsize=4)
def scratch_accuracy(seed: int) -> float:
    """The baseline: SmallCNN(5) from torch seed ``seed``, same 25 images, optimizer and budget."""
    x, y = (torch.from_numpy(a) for a in few_shot())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SmallCNN(5)
    optimizer = torch.optim.Adam(model.parameters(), lr=TRANSFER_LR)
    model.train()
    for _ in range(TRANSFER_STEPS):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return _accuracy(model, *target_test())


def transfer_inputs(rng):
    x, y = few_shot()
    return {"runs": [{"label": "the pretrained SmallCNN", "parts": smallcnn(5), "call": "transfer",
                      "dtype": "float32", "state": pretrained_state(), "frozen": [], "x": x,
                      "y": y, "steps": TRANSFER_STEPS, "lr": TRANSFER_LR, "num_classes": 5,
                      "seed": int(rng.integers(2**31)), "report_init": False}]}


def transfer_result(record) -> float:
    """The accuracy of the trained transfer model; :class:`Fail` if its backbone changed."""
    (got,) = runs_of(record, {"runs": [None]}, "freeze_backbone, replace_head and head_optimizer")
    if "error" in got:
        raise Fail(f"replace_head(freeze_backbone(pretrained), 5) and head_optimizer raised "
                   f"{got['error']}")
    ran(got, "training the new head of the pretrained SmallCNN")
    after = arrays(got, "after")
    backbone = {n: v for n, v in pretrained_state().items() if n.startswith("backbone.")}
    trained = {n: v for n, v in after.items() if n.startswith("backbone.")}
    if list(trained) != list(backbone) or mismatched(trained, backbone, set(backbone)):
        raise Fail("the backbone changed while the head was trained: freeze_backbone must freeze "
                   "every backbone parameter, and head_optimizer must hold only trainable ones.")
    head = [v for n, v in after.items() if not n.startswith("backbone.")]
    if [v.shape for v in head] != [(64, 288), (64,), (5, 64), (5,)] or not all(
            np.isfinite(v).all() for v in head):
        raise Fail("the trained head is not Linear(288, 64) -> ReLU -> Linear(64, 5) with finite "
                   "weights")
    return head_accuracy([v.astype(np.float32) for v in head])


def transfer_check(grade_id: str, hidden: bool):
    def check(inputs, record):
        accuracy, baseline = transfer_result(record), scratch_accuracy(SCRATCH_SEED[grade_id])
        if accuracy < baseline + LEAD:
            if hidden:
                raise Fail("the transfer model does not beat training from scratch by 3 points")
            raise Fail(f"transfer reached {accuracy:.1%}, not 3 points above training from "
                       f"scratch ({baseline:.1%}): check that the new head is trainable and "
                       "fresh, and that head_optimizer uses the given learning rate.")

    return ProbeCheck(transfer_inputs, probe_model, verdict_of(check))


CHECKS = {
    "test_freeze_backbone": ProbeCheck(freeze_inputs, probe_model, verdict_of(check_freeze)),
    "test_freeze_backbone_hidden": ProbeCheck(freeze_hidden_inputs, probe_model,
                                              verdict_of(check_freeze)),
    "test_replace_head": ProbeCheck(replace_inputs, probe_model, verdict_of(check_replace)),
    "test_replace_head_hidden": ProbeCheck(replace_hidden_inputs, probe_model,
                                           verdict_of(check_replace)),
    "test_head_optimizer": ProbeCheck(head_optimizer_inputs, probe_model,
                                      verdict_of(check_head_optimizer)),
    "test_head_optimizer_hidden": ProbeCheck(head_optimizer_hidden_inputs, probe_model,
                                             verdict_of(check_head_optimizer)),
    "test_transfer": transfer_check("test_transfer", hidden=False),
    "test_transfer_hidden": transfer_check("test_transfer_hidden", hidden=True),
    "test_finetune_optimizer": ProbeCheck(finetune_inputs, probe_model, verdict_of(check_finetune)),
    "test_finetune_optimizer_hidden": ProbeCheck(finetune_hidden_inputs, probe_model,
                                                 verdict_of(check_finetune)),
}
