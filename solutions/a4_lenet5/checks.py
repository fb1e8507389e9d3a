"""Graded checks of a4_lenet5, decided by the grader outside the student's kernel.

Every input is drawn fresh by the grader (seeds, weights, toy data). What the grader can compute
itself it compares with its own torch reference: LeNet-5's forward pass and gradients with the
grader's weights loaded into the student's model, the cross-entropy at lr=0, Adam's trajectory
under gradients the grader injects (whatever loss the student uses), and the test accuracy of the
trained weights in the grader's own LeNet-5 on the grader's own copy of Fashion-MNIST.

Some spec items can only be observed in the kernel, by models the probe hands to the student's
code: the order of the examples in the batches, the training mode, stale gradients at a backward
pass, a call of the lectures' ``utils.training.fit``, the type of what is returned. Those records
are forgeable; their verdicts compare them with what the grader derives itself (batch sizes,
counts, permutations of the grader's own values, reproducibility for the grader's seeds).

No kernel policy: the assignment is PyTorch, and ``utils.training.fit`` stays importable (a
train_lenet5 that delegates to it must still run: it loses the items that catch it, no others).
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from autograder.verdict import ProbeCheck, describe_value

THRESHOLD = 0.75
#: the toy problem of the notebook's ``toy_data``: 3 linearly separable classes in 4 features
_TOY_MATRIX = np.array([[2.0, -1.0, 0.0], [0.0, 2.0, -1.0], [-1.0, 0.0, 2.0]], dtype=np.float32)


def spec_shapes(num_classes: int, conv1_padding: int = 2) -> list[tuple[int, ...]]:
    """Parameter shapes of LeNet-5 in layer order (conv1, conv2, fc1, fc2, fc3; weight, bias)."""
    side = ((28 + 2 * conv1_padding - 4) // 2 - 4) // 2
    return [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 16 * side * side), (120,),
            (84, 120), (84,), (num_classes, 84), (num_classes,)]


def spec_count(num_classes: int) -> int:
    return sum(math.prod(shape) for shape in spec_shapes(num_classes))


def ref_forward(weights, x, conv1_padding: int = 2):
    """LeNet-5 as specified, with ``weights`` in :func:`spec_shapes` order (tensors)."""
    h = F.max_pool2d(F.relu(F.conv2d(x, weights[0], weights[1], padding=conv1_padding)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, weights[2], weights[3])), 2)
    h = F.relu(F.linear(h.flatten(1), weights[4], weights[5]))
    h = F.relu(F.linear(h, weights[6], weights[7]))
    return F.linear(h, weights[8], weights[9])


def _arrays(record, what: str) -> list[np.ndarray]:
    if not isinstance(record, list) or not all(isinstance(a, np.ndarray) for a in record):
        raise ValueError(f"{what}: not a list of arrays")
    return record


def _by_spec(shapes_or_arrays, num_classes: int, paddings=(2,)):
    """(padding, permutation into spec order) if the shapes are those of LeNet-5, else None."""
    shapes = [tuple(getattr(a, "shape", a)) for a in shapes_or_arrays]
    for padding in paddings:
        want = spec_shapes(num_classes, padding)
        if sorted(shapes) == sorted(want):
            return padding, [shapes.index(shape) for shape in want]
    return None


# --- LeNet5 ---------------------------------------------------------------------------------

def probe_lenet(ns, inputs):
    """In the kernel: build ``LeNet5`` for each case of the grader and report what it gives.

    A case: ``num_classes`` (None: ``LeNet5()``), optional ``seed`` (``torch.manual_seed`` before
    construction), optional ``x`` (run the model on it), optional ``weights`` (the grader's
    weights, loaded into the parameters of the same shapes first) and ``backward`` (gradients of
    the output's sum). Reports the parameter shapes, the output, its type and the gradients.
    """
    import torch
    from torch import nn

    lenet = ns.get("LeNet5")
    if not callable(lenet):
        raise NameError("LeNet5 is not defined")
    results = []
    for case in inputs["cases"]:
        report = {}
        try:
            if case.get("seed") is not None:
                torch.manual_seed(case["seed"])
            k = case.get("num_classes")
            model = lenet() if k is None else lenet(num_classes=k)
            report["module"] = isinstance(model, nn.Module)
            parameters = list(model.parameters()) if report["module"] else []
            report["shapes"] = [list(p.shape) for p in parameters]
            if case.get("weights") is not None:
                given = {tuple(w.shape): w for w in case["weights"]}
                if sorted(tuple(p.shape) for p in parameters) != sorted(given):
                    report["wrong_shapes"] = True
                    results.append(report)
                    continue
                with torch.no_grad():
                    for p in parameters:
                        p.copy_(torch.as_tensor(given[tuple(p.shape)]))
            if case.get("x") is not None:
                x = torch.as_tensor(case["x"])
                if case.get("backward"):
                    out = model(x)
                    report["type"] = type(out).__name__
                    report["output"] = out
                    model.zero_grad()
                    out.sum().backward()
                    report["grads"] = [p.grad if p.grad is not None else False for p in parameters]
                else:
                    with torch.no_grad():
                        out = model(x)
                    report["type"] = type(out).__name__
                    report["output"] = out
        except Exception as error:  # noqa: BLE001  (the student's code: any error is a result)
            report["error"] = f"{type(error).__name__}: {error}"[:300]
        results.append(report)
    return results


def _call(case) -> str:
    k = case.get("num_classes")
    model = "LeNet5()" if k is None else f"LeNet5(num_classes={k})"
    x = case.get("x")
    return model if x is None else f"{model}(x) for x of shape {tuple(x.shape)}"


def _reports(inputs, record):
    if not isinstance(record, list) or len(record) != len(inputs["cases"]):
        raise ValueError("incomplete record")
    for case, report in zip(inputs["cases"], record, strict=True):
        if not isinstance(report, dict):
            raise ValueError("malformed record")
        yield case, report


def _images(rng, n: int) -> np.ndarray:
    return rng.standard_normal((n, 1, 28, 28)).astype(np.float32)


def shape_inputs(rng):
    """The visible calls (batch 2, 10 classes; batch 5, 3 classes) and one random (n, k)."""
    n, k = (int(v) for v in rng.integers([1, 2], [12, 30]))
    return {"cases": [{"num_classes": None, "x": _images(rng, 2)},
                      {"num_classes": 3, "x": _images(rng, 5)},
                      {"num_classes": k, "x": _images(rng, n)}]}


def shape_verdict(inputs, record, seconds):
    for case, report in _reports(inputs, record):
        if "error" in report:
            return f"{_call(case)} raised {report['error']}"
        if report.get("module") is not True:
            return "LeNet5 must be a subclass of torch.nn.Module"
        expected = (len(case["x"]), case.get("num_classes") or 10)
        out = report.get("output")
        if not isinstance(out, np.ndarray) or out.shape != expected:
            got = out.shape if isinstance(out, np.ndarray) else describe_value(out)
            return f"{_call(case)} returned {got}, expected shape {expected}"
    return None


def hidden_shape_inputs(rng):
    sizes = [(1, 10)] + [tuple(int(v) for v in rng.integers([2, 2], [40, 30])) for _ in range(2)]
    return {"cases": [{"num_classes": k, "x": _images(rng, n)} for n, k in sizes]}


def hidden_shape_verdict(inputs, record, seconds):
    for case, report in _reports(inputs, record):
        if "error" in report:
            return f"{_call(case)} raised {report['error']}"
        out = report.get("output")
        if report.get("type") != "Tensor" or not isinstance(out, np.ndarray):
            return "LeNet5 must return a torch.Tensor"
        if out.shape != (len(case["x"]), case["num_classes"]):
            return "LeNet5 returns the wrong shape for another batch size / num_classes"
        if out.dtype != np.float32:
            return "LeNet5 must return float32 logits for float32 input"
        if not np.isfinite(out).all():
            return "LeNet5 returns non-finite values"
    return None


def params_inputs(rng):
    return {"cases": [{"num_classes": None}, {"num_classes": 3},
                      {"num_classes": int(rng.integers(2, 50))}]}


def params_verdict(inputs, record, seconds):
    for case, report in _reports(inputs, record):
        if "error" in report:
            return f"{_call(case)} raised {report['error']}"
        shapes = report.get("shapes")
        if not isinstance(shapes, list) or not all(isinstance(s, list) for s in shapes):
            return f"{_call(case)}: its parameters could not be read"
        count = sum(math.prod(int(v) for v in shape) for shape in shapes)
        expected = spec_count(case.get("num_classes") or 10)
        if count != expected:
            return (f"{_call(case)} has {count:,} parameters, expected {expected:,}: compare each "
                    "layer with the table (only fc3 depends on num_classes)")
    return None


def logits_inputs(rng):
    return {"cases": [{"num_classes": None, "seed": int(rng.integers(2**31)), "x": _images(rng, 16)}]}


def logits_verdict(inputs, record, seconds):
    for case, report in _reports(inputs, record):
        if "error" in report:
            return f"{_call(case)} raised {report['error']}"
        out = report.get("output")
        if not isinstance(out, np.ndarray) or out.ndim != 2:
            return f"{_call(case)} returned {describe_value(out)}, not logits (N, 10)"
        if (out >= 0).all() and np.abs(out.sum(axis=1) - 1).max() < 1e-4:
            return ("every row of LeNet5's output is >= 0 and sums to 1: forward returns softmax "
                    "probabilities; return the logits (the output of fc3)")
        if not (out < 0).any():
            return ("every output of LeNet5 is >= 0: is there a ReLU after the last layer? fc3 "
                    "must return raw scores (logits)")
    return None


#: numbers of classes whose fc3 shapes differ from every other layer's (6, 16, 84, 120 do not)
_FORWARD_CLASSES = [k for k in range(2, 31) if k not in (6, 16)]


def _weights(rng, num_classes: int) -> list[np.ndarray]:
    """Weights in spec order, He-scaled so that every layer's ReLUs are half active."""
    arrays = []
    for shape in spec_shapes(num_classes):
        if len(shape) == 1:
            arrays.append(0.1 * rng.standard_normal(shape))
        else:
            fan_in = math.prod(shape[1:])
            arrays.append(math.sqrt(2 / fan_in) * rng.standard_normal(shape))
    return [a.astype(np.float32) for a in arrays]


def forward_inputs(rng):
    cases = []
    for n in (int(rng.integers(1, 4)), int(rng.integers(4, 12)), int(rng.integers(1, 12))):
        k = int(rng.choice(_FORWARD_CLASSES))
        cases.append({"num_classes": k, "x": _images(rng, n), "weights": _weights(rng, k),
                      "backward": True})
    return {"cases": cases}


def _reference(case):
    """Output and gradients (spec order) of the grader's LeNet-5 in float64."""
    weights = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in case["weights"]]
    out = ref_forward(weights, torch.from_numpy(case["x"].astype(np.float64)))
    out.sum().backward()
    return out.detach().numpy(), [w.grad.numpy() for w in weights]


def forward_verdict(inputs, record, seconds):
    for case, report in _reports(inputs, record):
        if "error" in report:
            return f"{_call(case)} raised {report['error']}"
        shapes = report.get("shapes")
        if report.get("wrong_shapes") or not isinstance(shapes, list) or \
                _by_spec(shapes, case["num_classes"]) is None:
            return "LeNet5's parameters do not have the shapes of the specification (see the table)"
        expected, gradients = _reference(case)
        out = report.get("output")
        if report.get("type") != "Tensor" or not isinstance(out, np.ndarray) or \
                out.shape != expected.shape:
            return "LeNet5 returns the wrong shape"
        if not np.all(np.abs(out - expected) <= 1e-4 * (1 + np.abs(expected))):
            return ("LeNet5's forward pass differs from the specified layers (ReLU, 2x2 max-pool, "
                    "logits)")
        grads = report.get("grads")
        if not isinstance(grads, list) or len(grads) != len(shapes):
            return "the gradients of LeNet5's parameters could not be read"
        _, order = _by_spec(shapes, case["num_classes"])
        for position, reference in zip(order, gradients, strict=True):
            got = grads[position]
            scale = np.abs(reference).max()
            if not isinstance(got, np.ndarray) or got.shape != reference.shape or \
                    not np.all(np.abs(got - reference) <= 1e-4 * scale + 1e-6):
                return ("a parameter of LeNet5 gets no gradient or a wrong one (is a tensor "
                        "detached, or a layer used twice?)")
    return None


# --- train_lenet5 ---------------------------------------------------------------------------

def probe_train(ns, inputs):
    """In the kernel: call ``train_lenet5`` on each run of the grader with a model of the grader.

    Models (``run["model"]``), each 4 features -> 3 classes, initialised with the grader's weights:

    - ``"linear"``: ``nn.Linear(4, 3)``; reports its trained weight and bias;
    - ``"recording"``: the linear model that records, at every forward call, ``x[:, 0]`` and
      ``self.training`` (kernel-only observations: batch order and mode), optionally put in
      evaluation mode first (``run["eval"]``);
    - ``"hooked"``: the linear model with a hook on ``weight`` that records, at every backward
      pass, whether ``weight.grad`` still held an earlier gradient (a kernel-only observation);
    - ``"injected"``: logits 0 whatever the input; its backward gives ``weight`` the grader's
      gradient ``run["grads"][i]`` at its i-th backward pass, whatever the loss, so that the
      weight after training is Adam's trajectory under those gradients, which the grader
      recomputes. Reports the weight and the number of backward passes.

    With ``inputs["block_fit"]`` the lectures' ``utils.training.fit`` raises while the runs go.
    """
    import torch
    from torch import nn

    train = ns.get("train_lenet5")
    if not callable(train):
        raise NameError("train_lenet5 is not defined")

    class Recording(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 3)
            self.columns, self.modes = [], []

        def forward(self, x):
            self.columns.append(x[:, 0].detach().cpu().clone())
            self.modes.append(bool(self.training))
            return self.linear(x)

    class Inject(torch.autograd.Function):
        @staticmethod
        def forward(ctx, weight, x, owner):
            ctx.owner = owner
            return x.new_zeros(x.shape[0], 3)

        @staticmethod
        def backward(ctx, grad):
            owner = ctx.owner
            index = owner.backwards
            owner.backwards += 1
            given = owner.grads[index] if index < len(owner.grads) else owner.grads[0] * 0
            return torch.as_tensor(given).to(owner.weight.device).clone(), None, None

    class Injected(nn.Module):
        def __init__(self, weight, grads):
            super().__init__()
            self.weight = nn.Parameter(torch.as_tensor(weight).clone())
            self.grads, self.backwards = grads, 0

        def forward(self, x):
            return Inject.apply(self.weight, x, self)

    def run_one(run):
        report = {}
        if run["model"] == "injected":
            model = Injected(run["weight"], run["grads"])
            layer = model
        else:
            model = Recording() if run["model"] == "recording" else nn.Linear(4, 3)
            layer = model.linear if run["model"] == "recording" else model
            with torch.no_grad():
                layer.weight.copy_(torch.as_tensor(run["weight"]))
                layer.bias.copy_(torch.as_tensor(run["bias"]))
        if run.get("eval"):
            model.eval()
        stale, hook = [], None
        if run["model"] == "hooked":
            weight = layer.weight
            hook = weight.register_hook(lambda grad: stale.append(
                weight.grad is not None and bool(weight.grad.abs().sum() > 0)))
        try:
            losses = train(model, torch.as_tensor(run["x"]), torch.as_tensor(run["y"]),
                           **run["kwargs"])
        except Exception as error:  # noqa: BLE001  (the student's code: any error is a result)
            return {"error": f"{type(error).__name__}: {error}"[:300]}
        finally:
            if hook is not None:
                hook.remove()
        report["kind"] = type(losses).__name__
        if isinstance(losses, (list, tuple)):
            report["types"] = [type(v).__name__ for v in losses]
            values = []
            for v in losses:
                try:
                    values.append(float(v))
                except (TypeError, ValueError, RuntimeError):
                    values.append(float("nan"))
            report["losses"] = values
        report["weight"] = layer.weight.detach().cpu()
        if run["model"] == "injected":
            report["backwards"] = model.backwards
        else:
            report["bias"] = layer.bias.detach().cpu()
        if run["model"] == "recording":
            report["columns"], report["modes"] = model.columns, model.modes
        if run["model"] == "hooked":
            report["stale"] = stale
        return report

    blocked = None
    if inputs.get("block_fit"):
        import utils.training

        def refuse(*args, **kwargs):
            raise RuntimeError("utils.training.fit may not be used in this assignment")

        blocked = utils.training.fit, utils.training.fit.__code__
        blocked[0].__code__ = refuse.__code__
    try:
        return [run_one(run) for run in inputs["runs"]]
    finally:
        if blocked is not None:
            blocked[0].__code__ = blocked[1]


def _toy(rng, n: int):
    """n points (n, 4) float32 in the notebook's 3 linearly separable classes (n,) int64."""
    x = rng.standard_normal((n, 4)).astype(np.float32)
    return x, np.argmax(x[:, 1:] @ _TOY_MATRIX, axis=1).astype(np.int64)


def _linear_run(rng, model, x, y, **kwargs):
    bound = 0.5
    return {"model": model, "x": x, "y": y, "kwargs": kwargs,
            "weight": rng.uniform(-bound, bound, (3, 4)).astype(np.float32),
            "bias": rng.uniform(-bound, bound, 3).astype(np.float32)}


def _injected_run(rng, steps: int, lr: float):
    """Full batch (a permutation of it changes nothing): one backward pass per epoch."""
    n = int(rng.integers(8, 30))
    x, y = _toy(rng, n)
    grads = rng.uniform(0.2, 1.0, (max(steps, 1), 3, 4)) * rng.choice([-1.0, 1.0], (max(steps, 1), 3, 4))
    return {"model": "injected", "x": x, "y": y, "grads": [g.astype(np.float32) for g in grads],
            "weight": rng.uniform(-0.5, 0.5, (3, 4)).astype(np.float32),
            "kwargs": dict(epochs=steps, batch_size=n, lr=lr, seed=int(rng.integers(1000)))}


def adam_reference(weight, grads, lr: float) -> np.ndarray:
    """torch.optim.Adam(lr) from ``weight``, one step per gradient of ``grads``."""
    parameter = torch.nn.Parameter(torch.as_tensor(weight).clone())
    optimizer = torch.optim.Adam([parameter], lr=lr)
    for grad in grads:
        optimizer.zero_grad()
        parameter.grad = torch.as_tensor(grad).clone()
        optimizer.step()
    return parameter.detach().numpy()


def _runs(inputs, record):
    if not isinstance(record, list) or len(record) != len(inputs["runs"]) or \
            not all(isinstance(r, dict) for r in record):
        raise ValueError("incomplete record")
    for report in record:
        if "error" in report:
            return f"train_lenet5 raised {report['error']}"
    return None


def _losses(report, count: int) -> str | None:
    if report.get("kind") != "list" or len(report.get("losses", [])) != count:
        return (f"train_lenet5 must return a list with the loss of every batch ({count} here), got "
                f"{report.get('kind')} of length {len(report.get('losses', []))}")
    return None


def _batches(n: int, batch_size: int, epochs: int) -> list[int]:
    return ([batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])) * epochs


def _order(report, values: np.ndarray) -> list[int] | None:
    """The recorded ``x[:, 0]`` as indices into the grader's ``values`` (None if foreign)."""
    columns = report.get("columns")
    if not isinstance(columns, list) or not all(isinstance(c, np.ndarray) and c.ndim == 1
                                                for c in columns):
        return None
    seen = np.concatenate(columns) if columns else np.zeros(0)
    index = {float(v): i for i, v in enumerate(values)}
    try:
        return [index[float(v)] for v in seen]
    except KeyError:
        return None


def returns_inputs(rng):
    x, y = _toy(rng, 64)
    return {"runs": [_linear_run(rng, "linear", x, y, epochs=5, batch_size=16, lr=0.05,
                                 seed=int(rng.integers(1000)))]}


def returns_verdict(inputs, record, seconds):
    problem = _runs(inputs, record)
    if problem:
        return problem
    report = record[0]
    problem = _losses(report, 20)
    if problem:
        return problem
    if report.get("types") != ["float"] * 20:
        return "the losses must be Python floats: append loss.item(), not the tensor"
    weight = report.get("weight")
    if not isinstance(weight, np.ndarray) or np.array_equal(weight, inputs["runs"][0]["weight"]):
        return "train_lenet5 did not change the model's weights: is optimizer.step() called?"
    losses = report["losses"]
    if not sum(losses[-4:]) < 0.7 * sum(losses[:4]):
        return ("the loss did not go down on an easy problem: check the order zero_grad -> "
                "backward -> step and the optimizer")
    return None


def loss_inputs(rng):
    n = int(rng.integers(12, 40))
    x, y = _toy(rng, n)
    return {"runs": [_linear_run(rng, "linear", x, y, epochs=2, batch_size=n, lr=0.0,
                                 seed=int(rng.integers(1000)))]}


def loss_verdict(inputs, record, seconds):
    problem = _runs(inputs, record)
    if problem:
        return problem
    run, report = inputs["runs"][0], record[0]
    problem = _losses(report, 2)
    if problem:
        return problem
    with torch.no_grad():
        logits = F.linear(torch.from_numpy(run["x"]), torch.from_numpy(run["weight"]),
                          torch.from_numpy(run["bias"]))
        expected = F.cross_entropy(logits, torch.from_numpy(run["y"])).item()
    if not abs(report["losses"][0] - expected) < 1e-5:
        return ("the first returned loss is not the mean cross-entropy of the batch: use "
                "F.cross_entropy(model(xb), yb) on the logits, and return loss.item() of each batch")
    if not abs(report["losses"][1] - expected) < 1e-5:
        return ("with lr=0 the weights must not change, yet the second epoch's loss differs from "
                "the first: pass lr to the optimizer")
    return None


def _column_data(rng, n: int):
    """Toy data whose column 0 holds n distinct values of the grader (each example's tag)."""
    x, y = _toy(rng, n)
    x[:, 0] = rng.permutation(10_000)[:n].astype(np.float32) / 8
    return x, y


def batches_inputs(rng):
    x, y = _column_data(rng, 20)
    seeds = [int(s) for s in rng.choice(1000, size=2, replace=False)]
    kwargs = dict(epochs=2, batch_size=8, lr=1e-3)
    return {"runs": [_linear_run(rng, "recording", x, y, seed=seed, **kwargs)
                     for seed in (seeds[0], seeds[0], seeds[1])]}


def batches_verdict(inputs, record, seconds):
    problem = _runs(inputs, record)
    if problem:
        return problem
    values = inputs["runs"][0]["x"][:, 0]
    orders = []
    for report in record:
        columns = report.get("columns")
        sizes = [len(c) for c in columns] if isinstance(columns, list) else None
        if sizes != [8, 8, 4] * 2:
            return (f"20 examples in batches of 8 for 2 epochs should give batch sizes "
                    f"{[8, 8, 4] * 2}, got {sizes}")
        order = _order(report, values)
        if order is None:
            return "train_lenet5 fed the model examples that are not rows of x"
        epochs = [order[:20], order[20:]]
        if any(sorted(epoch) != list(range(20)) for epoch in epochs):
            return "an epoch must visit every example exactly once (a permutation of the indices)"
        orders.append(epochs)
    if orders[0][0] == list(range(20)):
        return "the examples come in their stored order: shuffle them every epoch"
    if orders[0][0] == orders[0][1]:
        return "both epochs use the same order: create the generator once, before the epoch loop"
    if orders[1] != orders[0]:
        return "two runs with the same seed gave different orders"
    if orders[2] == orders[0]:
        return "two different seeds gave the same order: use the seed argument"
    return None


def zero_grad_inputs(rng):
    x, y = _toy(rng, 32)
    return {"runs": [_linear_run(rng, "hooked", x, y, epochs=2, batch_size=8, lr=0.01,
                                 seed=int(rng.integers(1000))),
                     _injected_run(rng, steps=3, lr=float(rng.uniform(0.01, 0.05)))]}


def _injected_verdict(run, report, steps: int) -> str | None:
    if report.get("backwards") != steps:
        return (f"train_lenet5 ran {report.get('backwards')} backward passes for "
                f"{steps} epoch(s) of one batch each")
    expected = adam_reference(run["weight"], run["grads"][:steps], run["kwargs"]["lr"])
    weight = report.get("weight")
    if not isinstance(weight, np.ndarray) or weight.shape != expected.shape or \
            not np.all(np.abs(weight - expected) <= 1e-5):
        return "wrong"
    return None


def zero_grad_verdict(inputs, record, seconds):
    problem = _runs(inputs, record)
    if problem:
        return problem
    stale = record[0].get("stale")
    if not isinstance(stale, list) or len(stale) != 8:
        return f"expected 8 backward passes (2 epochs x 4 batches), got {describe_value(stale)}"
    if any(stale):
        return ("the gradients of earlier batches were still in .grad when a new backward pass "
                "ran: call optimizer.zero_grad() in every step, before loss.backward()")
    problem = _injected_verdict(inputs["runs"][1], record[1], 3)
    if problem == "wrong":
        return ("after 3 epochs of one batch each, the weights are not Adam's with a fresh "
                "gradient at every step: call optimizer.zero_grad() in every step")
    return problem


def mode_inputs(rng):
    x, y = _toy(rng, 16)
    run = _linear_run(rng, "recording", x, y, epochs=1, batch_size=8, lr=0.01,
                      seed=int(rng.integers(1000)))
    run["eval"] = True
    return {"runs": [run]}


def mode_verdict(inputs, record, seconds):
    problem = _runs(inputs, record)
    if problem:
        return problem
    modes = record[0].get("modes")
    if not isinstance(modes, list) or not modes or not all(m is True for m in modes):
        return ("the model ran in evaluation mode during training: call model.train() at the "
                "start of train_lenet5")
    return None


def hidden_train_inputs(rng):
    runs = []
    for _ in range(3):
        n = int(rng.integers(5, 40))
        batch_size = int(rng.integers(1, n + 1))
        epochs = int(rng.integers(1, 4))
        x, y = _column_data(rng, n)
        y = rng.integers(0, 3, n).astype(np.int64)
        seed = int(rng.integers(1000))
        for _ in range(2):
            runs.append(_linear_run(rng, "recording", x, y, epochs=epochs, batch_size=batch_size,
                                    lr=1e-3, seed=seed))
    runs.append(_injected_run(rng, steps=1, lr=0.0))
    runs.append(_injected_run(rng, steps=1, lr=float(rng.uniform(0.005, 0.05))))
    return {"runs": runs, "block_fit": True}


def hidden_train_verdict(inputs, record, seconds):
    problem = _runs(inputs, record)
    if problem:
        return problem
    for first in range(0, 6, 2):
        run = inputs["runs"][first]
        n, kwargs = len(run["x"]), run["kwargs"]
        orders = []
        for report in record[first:first + 2]:
            problem = _losses(report, kwargs["epochs"] * math.ceil(n / kwargs["batch_size"]))
            if problem:
                return "train_lenet5 returns the wrong number of losses"
            columns = report.get("columns")
            sizes = [len(c) for c in columns] if isinstance(columns, list) else None
            if sizes != _batches(n, kwargs["batch_size"], kwargs["epochs"]):
                return "train_lenet5 does not visit every example once per epoch in full batches"
            order = _order(report, run["x"][:, 0])
            if order is None or any(sorted(order[e * n:(e + 1) * n]) != list(range(n))
                                    for e in range(kwargs["epochs"])):
                return "an epoch is not a permutation"
            orders.append(order)
        if orders[0] != orders[1]:
            return "not reproducible"
    frozen = record[6].get("weight")
    if not isinstance(frozen, np.ndarray) or not np.array_equal(frozen, inputs["runs"][6]["weight"]):
        return "lr is not used"
    problem = _injected_verdict(inputs["runs"][7], record[7], 1)
    if problem == "wrong":
        return "the first update is not Adam's with the given learning rate"
    return problem


# --- the graded budget ----------------------------------------------------------------------

def probe_trained_model(ns, inputs):
    """In the kernel: the parameters of ``_model``, the LeNet5 the graded cell just trained.

    The graded cell (locked, restored from the gradebook) trains ``LeNet5()`` with seed 0 by the
    student's ``train_lenet5`` within the budget; training it again here would give the same
    weights and cost another epoch. Both are produced by the student's code either way: the
    grader decides with its own network and test set.
    """
    import torch

    model = ns.get("_model")
    if not isinstance(model, torch.nn.Module):
        raise TypeError("the graded cell left no trained model")
    return [p.detach().cpu() for p in model.parameters()]


_TEST_SET: list = []


def _test_set():
    if not _TEST_SET:
        import utils

        _TEST_SET.extend(utils.fashion_mnist_tensors("test"))
    return _TEST_SET


def reference_accuracy(weights: list[np.ndarray]) -> float | None:
    """Test accuracy of the grader's LeNet-5 with ``weights`` (any order); None if they do not fit.

    conv1 may have the specified padding 2 or PyTorch's default 0 (fc1 then has 256 inputs): that
    architecture loses its own item, not this one.
    """
    match = _by_spec(weights, 10, paddings=(2, 0))
    if match is None:
        return None
    padding, order = match
    tensors = [torch.from_numpy(np.ascontiguousarray(weights[i], dtype=np.float32)) for i in order]
    x, y = _test_set()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), 2000):
            logits = ref_forward(tensors, x[start:start + 2000], conv1_padding=padding)
            correct += int((logits.argmax(dim=1) == y[start:start + 2000]).sum())
    return correct / len(x)


def accuracy_verdict(inputs, record, seconds):
    weights = _arrays(record, "trained model")
    accuracy = reference_accuracy(weights)
    if accuracy is None:
        return ("the trained LeNet5's parameters do not have the shapes of the specification, so "
                "the grader cannot measure its accuracy")
    if not accuracy >= THRESHOLD:
        return (f"the weights of your LeNet5 after the graded budget reach {accuracy:.1%} on the "
                f"test set in the grader's LeNet-5, below {THRESHOLD:.0%}")
    return None


CHECKS = {
    "test_LeNet5_shapes": ProbeCheck(shape_inputs, probe_lenet, shape_verdict),
    "test_LeNet5_shapes_hidden": ProbeCheck(hidden_shape_inputs, probe_lenet, hidden_shape_verdict),
    "test_LeNet5_params": ProbeCheck(params_inputs, probe_lenet, params_verdict),
    "test_LeNet5_logits": ProbeCheck(logits_inputs, probe_lenet, logits_verdict),
    "test_LeNet5_forward_hidden": ProbeCheck(forward_inputs, probe_lenet, forward_verdict),
    "test_train_returns": ProbeCheck(returns_inputs, probe_train, returns_verdict),
    "test_train_loss": ProbeCheck(loss_inputs, probe_train, loss_verdict),
    "test_train_batches": ProbeCheck(batches_inputs, probe_train, batches_verdict),
    "test_train_zero_grad": ProbeCheck(zero_grad_inputs, probe_train, zero_grad_verdict),
    "test_train_mode": ProbeCheck(mode_inputs, probe_train, mode_verdict),
    "test_train_hidden": ProbeCheck(hidden_train_inputs, probe_train, hidden_train_verdict),
    "test_accuracy": ProbeCheck(lambda rng: {}, probe_trained_model, accuracy_verdict),
}
