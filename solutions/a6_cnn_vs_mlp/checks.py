"""Graded checks of a6_cnn_vs_mlp, decided by the grader outside the student's kernel.

Every input is drawn fresh by the grader. The networks are checked by loading the grader's own
weights (and batch-norm statistics) into the student's modules, role by role in the order the
layers are registered (conv, BN, conv, BN, linear, linear for the CNN; three linears for the
MLP), and comparing outputs and gradients with the grader's functional torch networks in float64.
Parameter counts are compared with the specification's, computed here from the layer sizes.
``train`` is compared with full-batch Adam runs the grader does itself, and with the batch-norm
statistics a training-mode pass must leave; ``evaluate`` with the grader's own predictions. The
trained weights of the graded budget are measured in the grader's networks on 2,000 Fashion-MNIST
test images the grader picks.

Kernel-only observations (stale gradients seen by a hook) are forgeable; each such verdict also
checks a result the grader computes itself (weights after Adam steps).
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from autograder.verdict import ProbeCheck, describe_value

CNN_ROLES = [["conv1", "Conv2d"], ["bn1", "BatchNorm2d"], ["conv2", "Conv2d"], ["bn2", "BatchNorm2d"],
             ["fc1", "Linear"], ["fc2", "Linear"]]
MLP_ROLES = [["fc1", "Linear"], ["fc2", "Linear"], ["fc3", "Linear"]]
CNN_MIN, MLP_MIN = 0.72, 0.60
_TOY_MATRIX = np.array([[2.0, -1.0, 0.0], [0.0, 2.0, -1.0], [-1.0, 0.0, 2.0]], dtype=np.float32)


# --- specification ---------------------------------------------------------------------------

def cnn_shapes(channels: int, classes: int) -> dict[str, tuple[int, ...]]:
    """Parameter and buffer shapes of the specified CNN, by role."""
    return {"conv1.weight": (32, channels, 3, 3), "conv1.bias": (32,),
            "bn1.weight": (32,), "bn1.bias": (32,), "bn1.running_mean": (32,), "bn1.running_var": (32,),
            "conv2.weight": (64, 32, 3, 3), "conv2.bias": (64,),
            "bn2.weight": (64,), "bn2.bias": (64,), "bn2.running_mean": (64,), "bn2.running_var": (64,),
            "fc1.weight": (256, 64 * 8 * 8), "fc1.bias": (256,),
            "fc2.weight": (classes, 256), "fc2.bias": (classes,)}


def mlp_shapes(features: int, classes: int) -> dict[str, tuple[int, ...]]:
    return {"fc1.weight": (256, features), "fc1.bias": (256,), "fc2.weight": (128, 256),
            "fc2.bias": (128,), "fc3.weight": (classes, 128), "fc3.bias": (classes,)}


def spec_count(shapes: dict[str, tuple[int, ...]]) -> int:
    """Trainable parameters: every shape except the batch-norm running statistics."""
    return sum(math.prod(s) for k, s in shapes.items() if "running" not in k)


def ref_cnn(w: dict, x: torch.Tensor, training: bool) -> torch.Tensor:
    """The specified CNN with weights ``w`` (role -> tensor); BN with batch statistics if training."""
    h = x
    for conv, bn in (("conv1", "bn1"), ("conv2", "bn2")):
        h = F.conv2d(h, w[f"{conv}.weight"], w[f"{conv}.bias"], padding=1)
        h = F.batch_norm(h, w[f"{bn}.running_mean"].clone(), w[f"{bn}.running_var"].clone(),
                         w[f"{bn}.weight"], w[f"{bn}.bias"], training=training, eps=1e-5)
        h = F.max_pool2d(F.relu(h), 2)
    h = F.relu(F.linear(h.flatten(1), w["fc1.weight"], w["fc1.bias"]))
    return F.linear(h, w["fc2.weight"], w["fc2.bias"])


def ref_mlp(w: dict, x: torch.Tensor) -> torch.Tensor:
    h = F.relu(F.linear(x.flatten(1), w["fc1.weight"], w["fc1.bias"]))
    h = F.relu(F.linear(h, w["fc2.weight"], w["fc2.bias"]))
    return F.linear(h, w["fc3.weight"], w["fc3.bias"])


def _random_weights(rng, shapes: dict) -> dict[str, np.ndarray]:
    """He-scaled weights, small biases, BN scale near 1, running stats away from batch stats."""
    weights = {}
    for key, shape in shapes.items():
        if key.endswith("running_var"):
            value = rng.uniform(0.3, 3.0, shape)
        elif key.endswith("running_mean"):
            value = rng.normal(0, 0.5, shape)
        elif key.startswith("bn") and key.endswith("weight"):
            value = rng.uniform(0.5, 1.5, shape)
        elif len(shape) == 1:
            value = 0.1 * rng.standard_normal(shape)
        else:
            value = math.sqrt(2 / math.prod(shape[1:])) * rng.standard_normal(shape)
        weights[key] = value.astype(np.float32)
    return weights


# --- the networks ----------------------------------------------------------------------------

def probe_models(ns, inputs):
    """In the kernel: build ``inputs["builder"]`` for each case and report what it gives.

    A case: ``args`` for the builder, ``x`` (run the model on it), optional ``weights`` (role ->
    array: loaded into the layers found in registration order, ``inputs["roles"]``), ``modes``
    (``"eval"`` and/or ``"train"``; gradients of the output's sum are reported in train mode).
    """
    import torch
    from torch import nn

    builder = ns.get(inputs["builder"])
    if not callable(builder):
        raise NameError(f"{inputs['builder']} is not defined")
    kinds = (nn.Conv2d, nn.BatchNorm2d, nn.BatchNorm1d, nn.Linear)
    results = []
    for case in inputs["cases"]:
        report = {}
        try:
            torch.manual_seed(0)
            model = builder(*case["args"])
            report["module"] = isinstance(model, nn.Module)
            if not report["module"]:
                results.append(report)
                continue
            leaves = [m for m in model.modules() if isinstance(m, kinds)]
            report["layers"] = [type(m).__name__ for m in leaves]
            report["shapes"] = [list(p.shape) for p in model.parameters()]
            weights = case.get("weights")
            if weights is not None:
                if report["layers"] != [kind for _, kind in inputs["roles"]]:
                    results.append(report)
                    continue
                with torch.no_grad():
                    for (role, _), module in zip(inputs["roles"], leaves, strict=True):
                        tensors = list(module.named_parameters(recurse=False)) + \
                            list(module.named_buffers(recurse=False))
                        for name, tensor in tensors:
                            key = f"{role}.{name}"
                            if key in weights:
                                if tuple(tensor.shape) != tuple(weights[key].shape):
                                    report["wrong_shape"] = key
                                    raise ValueError(f"{key} has shape {tuple(tensor.shape)}")
                                tensor.copy_(torch.as_tensor(weights[key]))
            x = torch.as_tensor(case["x"])
            for mode in case.get("modes", ["eval"]):
                model.train(mode == "train")
                if mode == "train":
                    out = model(x)
                    report["train"] = out.detach()
                    model.zero_grad()
                    out.sum().backward()
                    report["grads"] = {f"{role}.{name}": (p.grad if p.grad is not None else False)
                                       for (role, _), module in zip(inputs["roles"], leaves, strict=True)
                                       for name, p in module.named_parameters(recurse=False)}
                else:
                    with torch.no_grad():
                        out = model(x)
                    report["type"] = type(out).__name__
                    report["eval"] = out
        except Exception as error:  # noqa: BLE001  (the student's code: any error is a result)
            report["error"] = f"{type(error).__name__}: {error}"[:300]
        results.append(report)
    return results


def _reports(inputs, record):
    if not isinstance(record, list) or len(record) != len(inputs["cases"]) or \
            not all(isinstance(r, dict) for r in record):
        raise ValueError("incomplete record")
    return zip(inputs["cases"], record, strict=True)


def _call(inputs, case) -> str:
    x = case["x"]
    return f"{inputs['builder']}{tuple(case['args'])}(x) for x of shape {tuple(x.shape)}"


def _shape_cases(rng, builder: str, visible):
    cases = [{"args": list(args), "x": rng.standard_normal(shape).astype(np.float32)}
             for args, shape in visible]
    for _ in range(2):
        c, k, n = (int(v) for v in rng.integers([1, 2, 1], [5, 13, 6]))
        args = [c, k] if builder == "build_cnn" else [c * 1024, k]
        cases.append({"args": args, "x": rng.standard_normal((n, c, 32, 32)).astype(np.float32)})
    return {"builder": builder, "roles": [], "cases": cases}


def cnn_shape_inputs(rng):
    return _shape_cases(rng, "build_cnn", [((1, 10), (2, 1, 32, 32)), ((3, 7), (4, 3, 32, 32))])


def mlp_shape_inputs(rng):
    return _shape_cases(rng, "build_mlp", [((1024, 10), (3, 1, 32, 32)), ((3072, 7), (2, 3, 32, 32))])


def shape_verdict(inputs, record, seconds):
    for case, report in _reports(inputs, record):
        if "error" in report:
            return f"{_call(inputs, case)} raised {report['error']}"
        if report.get("module") is not True:
            return f"{inputs['builder']} must return a torch.nn.Module"
        out = report.get("eval")
        expected = (len(case["x"]), case["args"][1])
        if report.get("type") != "Tensor" or not isinstance(out, np.ndarray) or out.shape != expected:
            got = out.shape if isinstance(out, np.ndarray) else describe_value(out)
            return f"{_call(inputs, case)} returned {got}, expected a tensor of shape {expected}"
    return None


def _count_cases(rng, builder: str, visible):
    cases = [{"args": list(a), "x": np.zeros((1, a[0] if builder == "build_cnn" else a[0] // 1024, 32, 32),
                                               np.float32)} for a in visible]
    c, k = int(rng.integers(1, 5)), int(rng.integers(2, 40))
    args = [c, k] if builder == "build_cnn" else [c * 1024, k]
    cases.append({"args": args, "x": np.zeros((1, c, 32, 32), np.float32)})
    return {"builder": builder, "roles": [], "cases": cases}


def cnn_count_inputs(rng):
    return _count_cases(rng, "build_cnn", [(1, 10), (3, 10)])


def mlp_count_inputs(rng):
    return _count_cases(rng, "build_mlp", [(1024, 10), (3072, 10)])


def count_verdict(inputs, record, seconds):
    for case, report in _reports(inputs, record):
        if report.get("module") is not True or not isinstance(report.get("shapes"), list):
            error = report.get("error", "no parameters could be read")
            return f"{inputs['builder']}{tuple(case['args'])}: {error}"
        count = sum(math.prod(int(v) for v in shape) for shape in report["shapes"])
        shapes = cnn_shapes if inputs["builder"] == "build_cnn" else mlp_shapes
        expected = spec_count(shapes(*case["args"]))
        if count != expected:
            return (f"{inputs['builder']}{tuple(case['args'])} has {count:,} parameters, expected "
                    f"{expected:,}: compare each layer with the table")
    return None


def cnn_forward_inputs(rng):
    cases = []
    for n in (int(rng.integers(2, 5)), int(rng.integers(5, 9))):
        c, k = int(rng.integers(1, 4)), int(rng.integers(2, 15))
        cases.append({"args": [c, k], "x": rng.standard_normal((n, c, 32, 32)).astype(np.float32),
                      "weights": _random_weights(rng, cnn_shapes(c, k)), "modes": ["eval", "train"]})
    return {"builder": "build_cnn", "roles": CNN_ROLES, "cases": cases}


def mlp_forward_inputs(rng):
    cases = []
    for n in (int(rng.integers(1, 4)), int(rng.integers(4, 12))):
        c, k = int(rng.integers(1, 4)), int(rng.integers(2, 15))
        cases.append({"args": [c * 1024, k], "x": rng.standard_normal((n, c, 32, 32)).astype(np.float32),
                      "weights": _random_weights(rng, mlp_shapes(c * 1024, k)), "modes": ["eval"]})
    return {"builder": "build_mlp", "roles": MLP_ROLES, "cases": cases}


def _close(got, expected: np.ndarray, rtol: float = 1e-4, atol: float = 1e-7) -> bool:
    """Same shape, and within ``rtol`` of the largest reference value plus ``atol`` everywhere."""
    return isinstance(got, np.ndarray) and got.shape == expected.shape and \
        bool(np.all(np.abs(got - expected) <= rtol * np.abs(expected).max() + atol))


def forward_verdict(inputs, record, seconds):
    builder, roles = inputs["builder"], inputs["roles"]
    for case, report in _reports(inputs, record):
        if "error" in report:
            return f"{_call(inputs, case)} raised {report['error']}"
        layers = report.get("layers")
        wanted = [kind for _, kind in roles]
        if layers != wanted:
            return (f"{builder}{tuple(case['args'])} has the layers {layers}; the specification has "
                    f"{wanted}, in this order")
        weights = {k: torch.from_numpy(v.astype(np.float64)).requires_grad_(not k.endswith(("mean", "var")))
                   for k, v in case["weights"].items()}
        x = torch.from_numpy(case["x"].astype(np.float64))
        if builder == "build_cnn":
            expected = ref_cnn(weights, x, training=False).detach().numpy()
        else:
            expected = ref_mlp(weights, x).detach().numpy()
        if not _close(report.get("eval"), expected):
            return (f"{builder}'s forward pass in evaluation mode differs from the specification "
                    "(order of the layers, a ReLU after every hidden layer, logits at the end) for "
                    f"{_call(inputs, case)}")
        if "train" in case["modes"]:
            out = ref_cnn(weights, x, training=True)
            if not _close(report.get("train"), out.detach().numpy()):
                return (f"{builder}'s forward pass in training mode differs from the specification "
                        "(batch normalization after each convolution)")
            out.sum().backward()
            grads = report.get("grads")
            for key, tensor in weights.items():
                if tensor.grad is None:
                    continue
                got = grads.get(key) if isinstance(grads, dict) else None
                scale = max(float(w.grad.abs().max()) for w in weights.values() if w.grad is not None)
                if not _close(got, tensor.grad.numpy(), rtol=1e-3, atol=1e-5 * scale):
                    return f"{builder}: the gradient of {key} is wrong or missing (a detached tensor?)"
    return None


# --- train ------------------------------------------------------------------------------------

def probe_train(ns, inputs):
    """In the kernel: call ``train`` on each run with a model of the grader (4 -> 3 classes).

    ``"linear"``: nn.Linear(4, 3) with the grader's weight and bias; ``"bn"``: Linear then
    BatchNorm1d(3), put in evaluation mode before the call; ``"hooked"``: the linear model with a
    hook recording whether .grad held a stale gradient at each backward pass.
    """
    import torch
    from torch import nn

    train = ns.get("train")
    if not callable(train):
        raise NameError("train is not defined")
    results = []
    for run in inputs["runs"]:
        report = {}
        try:
            layer = nn.Linear(4, 3)
            with torch.no_grad():
                layer.weight.copy_(torch.as_tensor(run["weight"]))
                layer.bias.copy_(torch.as_tensor(run["bias"]))
            model = layer
            stale = []
            if run["model"] == "bn":
                model = nn.Sequential(layer, nn.BatchNorm1d(3))
                model.eval()
            if run["model"] == "hooked":
                def hook(grad, layer=layer, stale=stale):
                    stale.append(layer.weight.grad is not None and bool(layer.weight.grad.abs().sum() > 0))

                layer.weight.register_hook(hook)
            losses = train(model, torch.as_tensor(run["x"]), torch.as_tensor(run["y"]), **run["kwargs"])
            report["kind"] = type(losses).__name__
            report["losses"] = [float(v) for v in losses] if isinstance(losses, list) else []
            report["types"] = [type(v).__name__ for v in losses] if isinstance(losses, list) else []
            report["weight"] = layer.weight.detach().cpu()
            report["bias"] = layer.bias.detach().cpu()
            if run["model"] == "bn":
                report["running_mean"] = model[1].running_mean.detach().cpu()
                report["batches_tracked"] = int(model[1].num_batches_tracked)
            if run["model"] == "hooked":
                report["stale"] = stale
        except Exception as error:  # noqa: BLE001
            report["error"] = f"{type(error).__name__}: {error}"[:300]
        results.append(report)
    return results


def _toy(rng, n: int):
    x = rng.standard_normal((n, 4)).astype(np.float32)
    return x, np.argmax(x[:, 1:] @ _TOY_MATRIX, axis=1).astype(np.int64)


def _run(rng, model: str, n: int, **kwargs):
    x, y = _toy(rng, n)
    return {"model": model, "x": x, "y": y, "kwargs": kwargs,
            "weight": rng.uniform(-0.5, 0.5, (3, 4)).astype(np.float32),
            "bias": rng.uniform(-0.5, 0.5, 3).astype(np.float32)}


def adam_full_batch(run) -> tuple[np.ndarray, np.ndarray]:
    """The grader's own training: Adam(lr) on mean cross-entropy, one full batch per epoch."""
    layer = torch.nn.Linear(4, 3)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(run["weight"]))
        layer.bias.copy_(torch.from_numpy(run["bias"]))
    optimizer = torch.optim.Adam(layer.parameters(), lr=run["kwargs"]["lr"])
    x, y = torch.from_numpy(run["x"]), torch.from_numpy(run["y"])
    for _ in range(run["kwargs"]["epochs"]):
        optimizer.zero_grad()
        F.cross_entropy(layer(x), y).backward()
        optimizer.step()
    return layer.weight.detach().numpy(), layer.bias.detach().numpy()


def _runs(inputs, record):
    if not isinstance(record, list) or len(record) != len(inputs["runs"]) or \
            not all(isinstance(r, dict) for r in record):
        raise ValueError("incomplete record")
    for report in record:
        if "error" in report:
            return f"train raised {report['error']}"
    return None


def _count(report, expected: int) -> str | None:
    if report.get("kind") != "list" or len(report.get("losses", [])) != expected:
        return (f"train must return a list with the loss of every batch ({expected} here), got "
                f"{report.get('kind')} of length {len(report.get('losses', []))}")
    return None


def _same_as_adam(run, report) -> bool:
    weight, bias = adam_full_batch(run)
    return _close(report.get("weight"), weight, 1e-4) and _close(report.get("bias"), bias, 1e-4)


def returns_inputs(rng):
    return {"runs": [_run(rng, "linear", 64, epochs=5, batch_size=64, lr=0.05, seed=0),
                     _run(rng, "linear", 64, epochs=2, batch_size=24, lr=0.01, seed=0)]}


def returns_verdict(inputs, record, seconds):
    problem = _runs(inputs, record) or _count(record[0], 5) or _count(record[1], 6)
    if problem:
        return problem
    report, run = record[0], inputs["runs"][0]
    if report.get("types") != ["float"] * 5:
        return "the losses must be Python floats: append loss.item(), not the tensor"
    with torch.no_grad():
        first = F.cross_entropy(F.linear(torch.from_numpy(run["x"]), torch.from_numpy(run["weight"]),
                                         torch.from_numpy(run["bias"])), torch.from_numpy(run["y"])).item()
    if not abs(report["losses"][0] - first) < 1e-5:
        return ("the first loss is not the mean cross-entropy of the batch before any update: use "
                "F.cross_entropy(model(xb), yb) on the logits")
    if not report["losses"][-1] < 0.8 * report["losses"][0]:
        return "the loss did not go down on an easy problem: check zero_grad -> backward -> step and lr"
    return None


def zero_grad_inputs(rng):
    lr = float(rng.uniform(0.01, 0.05))
    return {"runs": [_run(rng, "hooked", 32, epochs=2, batch_size=8, lr=0.01, seed=0),
                     _run(rng, "linear", int(rng.integers(10, 40)), epochs=3, batch_size=1000, lr=lr,
                          seed=int(rng.integers(1000)))]}


def zero_grad_verdict(inputs, record, seconds):
    problem = _runs(inputs, record)
    if problem:
        return problem
    stale = record[0].get("stale")
    if not isinstance(stale, list) or len(stale) != 8:
        return f"expected 8 backward passes (2 epochs x 4 batches), got {describe_value(stale)}"
    if any(stale) or not _same_as_adam(inputs["runs"][1], record[1]):
        return ("the gradients of earlier batches were still in .grad when a new backward pass ran: "
                "call optimizer.zero_grad() in every step, before loss.backward()")
    return None


def mode_inputs(rng):
    return {"runs": [_run(rng, "bn", int(rng.integers(8, 30)), epochs=1, batch_size=1000, lr=0.0,
                          seed=int(rng.integers(1000)))]}


def mode_verdict(inputs, record, seconds):
    problem = _runs(inputs, record)
    if problem:
        return problem
    run, report = inputs["runs"][0], record[0]
    with torch.no_grad():
        hidden = F.linear(torch.from_numpy(run["x"]), torch.from_numpy(run["weight"]),
                          torch.from_numpy(run["bias"]))
    expected = 0.1 * hidden.mean(dim=0).numpy()  # momentum 0.1 from a running mean of 0
    if report.get("batches_tracked") != 1 or not _close(report.get("running_mean"), expected, 1e-4):
        return ("batch normalization did not update its running statistics during training: the "
                "model ran in evaluation mode. Call model.train() at the start of train")
    return None


def hidden_train_inputs(rng):
    runs = []
    n = int(rng.integers(20, 50))
    batch_size = int(rng.integers(3, n // 2))
    epochs = int(rng.integers(1, 4))
    x, y = _toy(rng, n)
    weight = rng.uniform(-0.5, 0.5, (3, 4)).astype(np.float32)
    bias = rng.uniform(-0.5, 0.5, 3).astype(np.float32)
    seeds = [int(s) for s in rng.choice(1000, size=2, replace=False)]
    for seed in (seeds[0], seeds[0], seeds[1]):
        runs.append({"model": "linear", "x": x, "y": y, "weight": weight, "bias": bias,
                     "kwargs": dict(epochs=epochs, batch_size=batch_size, lr=0.05, seed=seed)})
    for _ in range(2):
        runs.append(_run(rng, "linear", int(rng.integers(5, 40)), epochs=int(rng.integers(2, 5)),
                         batch_size=1000, lr=float(rng.uniform(0.001, 0.1)), seed=int(rng.integers(1000))))
    return {"runs": runs}


def hidden_train_verdict(inputs, record, seconds):
    problem = _runs(inputs, record)
    if problem:
        return problem
    first = inputs["runs"][0]
    kwargs = first["kwargs"]
    if _count(record[0], kwargs["epochs"] * math.ceil(len(first["x"]) / kwargs["batch_size"])):
        return "train returns the wrong number of losses"
    weights = [report.get("weight") for report in record[:3]]
    if not all(isinstance(w, np.ndarray) and w.shape == (3, 4) for w in weights):
        return "train did not leave the model's weights readable"
    if not np.array_equal(weights[0], weights[1]):
        return "two runs with the same seed gave different weights: use the seed argument"
    if np.array_equal(weights[0], weights[2]):
        return "two different seeds gave the same run: shuffle every epoch with a generator seeded by seed"
    for run, report in zip(inputs["runs"][3:], record[3:], strict=True):
        if not _same_as_adam(run, report):
            return "the weights after full-batch epochs are not those of Adam with the given lr"
    return None


# --- evaluate ---------------------------------------------------------------------------------

def probe_evaluate(ns, inputs):
    """In the kernel: ``evaluate`` on the grader's models (linear, or linear + BatchNorm1d left in
    training mode with the grader's running statistics) and data."""
    import torch
    from torch import nn

    evaluate = ns.get("evaluate")
    if not callable(evaluate):
        raise NameError("evaluate is not defined")
    results = []
    for case in inputs["cases"]:
        report = {}
        try:
            k, d = case["weight"].shape
            layer = nn.Linear(d, k)
            with torch.no_grad():
                layer.weight.copy_(torch.as_tensor(case["weight"]))
                layer.bias.copy_(torch.as_tensor(case["bias"]))
            model = layer
            if case.get("running_mean") is not None:
                model = nn.Sequential(layer, nn.BatchNorm1d(k))
                with torch.no_grad():
                    model[1].running_mean.copy_(torch.as_tensor(case["running_mean"]))
                    model[1].running_var.copy_(torch.as_tensor(case["running_var"]))
                model.train()
            result = evaluate(model, torch.as_tensor(case["x"]), torch.as_tensor(case["y"]), k)
            report["kind"] = type(result).__name__
            accuracy, matrix = result
            report["accuracy_type"] = type(accuracy).__name__
            report["accuracy"] = float(accuracy)
            report["matrix_type"] = type(matrix).__name__
            report["matrix"] = torch.as_tensor(matrix).cpu()
        except Exception as error:  # noqa: BLE001
            report["error"] = f"{type(error).__name__}: {error}"[:300]
        results.append(report)
    return results


def _eval_case(rng, n: int, k: int, d: int, bn: bool = False):
    """A model (linear, optionally + BN) and data whose labels are its evaluation-mode predictions
    with 30% replaced by random classes: a fair accuracy well above chance."""
    case = {"x": rng.standard_normal((n, d)).astype(np.float32),
            "weight": rng.standard_normal((k, d)).astype(np.float32),
            "bias": rng.standard_normal(k).astype(np.float32)}
    if bn:
        case["running_mean"] = rng.normal(0, 2, k).astype(np.float32)
        case["running_var"] = rng.uniform(0.1, 5, k).astype(np.float32)
    noisy = rng.random(n) < 0.3
    case["y"] = np.where(noisy, rng.integers(0, k, n), _grader_predictions(case)).astype(np.int64)
    return case


def _grader_predictions(case, training: bool = False) -> np.ndarray:
    with torch.no_grad():
        h = F.linear(torch.from_numpy(case["x"]), torch.from_numpy(case["weight"]),
                     torch.from_numpy(case["bias"]))
        if case.get("running_mean") is not None:
            h = F.batch_norm(h, torch.from_numpy(case["running_mean"]), torch.from_numpy(case["running_var"]),
                             training=training)
    return h.argmax(dim=1).numpy()


def _matrix(y: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(y * k + predicted, minlength=k * k).reshape(k, k)


def evaluate_inputs(rng):
    # the visible test's call on a linear model, and one of the grader's
    return {"cases": [_eval_case(rng, 50, 3, 4), _eval_case(rng, int(rng.integers(20, 80)), 3, 4)]}


def evaluate_mode_inputs(rng):
    """Only the accuracy is judged here (the matrix has its own items)."""
    while True:  # a case where training-mode and evaluation-mode predictions disagree clearly
        case = _eval_case(rng, 40, 3, 4, bn=True)
        if np.mean(_grader_predictions(case, True) != _grader_predictions(case, False)) > 0.2:
            return {"cases": [case], "accuracy_only": True}


def hidden_evaluate_inputs(rng):
    cases = []
    for n, bn in ((int(rng.integers(1, 20)), False), (int(rng.integers(1001, 2500)), True)):
        cases.append(_eval_case(rng, n, int(rng.integers(2, 9)), int(rng.integers(2, 7)), bn=bn))
    return {"cases": cases}


def evaluate_verdict(inputs, record, seconds):
    if not isinstance(record, list) or len(record) != len(inputs["cases"]):
        raise ValueError("incomplete record")
    for case, report in zip(inputs["cases"], record, strict=True):
        k = case["weight"].shape[0]
        if not isinstance(report, dict):
            raise ValueError("malformed record")
        if "error" in report:
            return f"evaluate(model, x of shape {case['x'].shape}, y, {k}) raised {report['error']}"
        predicted = _grader_predictions(case)
        accuracy = float(np.mean(predicted == case["y"]))
        if report.get("accuracy_type") != "float" or not 0 <= report.get("accuracy", -1) <= 1:
            return "the accuracy must be a Python float in [0, 1] (a share, not a percentage or a count)"
        if abs(report["accuracy"] - accuracy) > 1e-6:
            if case.get("running_mean") is not None and abs(
                    report["accuracy"] - np.mean(_grader_predictions(case, True) == case["y"])) < 1e-6:
                return ("evaluate gives the accuracy of the model in training mode (batch statistics): "
                        "call model.eval() before predicting")
            return f"evaluate's accuracy is wrong for x of shape {case['x'].shape}, {k} classes"
        if inputs.get("accuracy_only"):
            continue
        matrix = report.get("matrix")
        if report.get("matrix_type") != "Tensor" or not isinstance(matrix, np.ndarray) or \
                matrix.shape != (k, k):
            return "the matrix must be a tensor of shape (num_classes, num_classes)"
        if not np.array_equal(matrix, _matrix(case["y"], predicted, k)):
            return ("the confusion matrix is wrong: entry [i, j] counts the examples of TRUE class i "
                    "PREDICTED as j (is it transposed?)")
    return None


# --- the graded budget ------------------------------------------------------------------------

def probe_trained(ns, inputs):
    """In the kernel: the trained ``_cnn`` and ``_mlp`` of the graded cell, as role -> array."""
    from torch import nn

    report = {}
    kinds = (nn.Conv2d, nn.BatchNorm2d, nn.BatchNorm1d, nn.Linear)
    for name, roles in (("cnn", inputs["cnn_roles"]), ("mlp", inputs["mlp_roles"])):
        model = ns.get(f"_{name}")
        if not isinstance(model, nn.Module):
            raise TypeError("the graded cell left no trained model")
        leaves = [m for m in model.modules() if isinstance(m, kinds)]
        report[f"{name}_layers"] = [type(m).__name__ for m in leaves]
        if report[f"{name}_layers"] == [kind for _, kind in roles]:
            report[name] = {f"{role}.{key}": tensor.detach().cpu()
                            for (role, _), module in zip(roles, leaves, strict=True)
                            for key, tensor in list(module.named_parameters(recurse=False)) +
                            list(module.named_buffers(recurse=False)) if key != "num_batches_tracked"}
    return report


_TEST_SET: list = []


def _test_set():
    if not _TEST_SET:
        from utils.cifar import fashion_mnist_32

        _TEST_SET.extend(fashion_mnist_32("test"))
    return _TEST_SET


def reference_accuracy(kind: str, weights, indices: np.ndarray) -> float | None:
    """Accuracy of the grader's network ``kind`` with ``weights`` on the test images ``indices``."""
    shapes = cnn_shapes(1, 10) if kind == "cnn" else mlp_shapes(1024, 10)
    if not isinstance(weights, dict) or set(weights) != set(shapes) or any(
            not isinstance(weights[k], np.ndarray) or weights[k].shape != s for k, s in shapes.items()):
        return None
    w = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in weights.items()}
    x, y = _test_set()
    index = torch.from_numpy(indices)
    correct = 0
    with torch.no_grad():
        for start in range(0, len(index), 500):
            batch = index[start:start + 500]
            logits = ref_cnn(w, x[batch], training=False) if kind == "cnn" else ref_mlp(w, x[batch])
            correct += int((logits.argmax(dim=1) == y[batch]).sum())
    return correct / len(index)


def accuracy_inputs(rng):
    return {"cnn_roles": CNN_ROLES, "mlp_roles": MLP_ROLES,
            "indices": np.sort(rng.choice(10_000, 2000, replace=False)).astype(np.int64)}


def accuracy_verdict(inputs, record, seconds):
    if not isinstance(record, dict):
        raise ValueError("malformed record")
    found = {}
    for kind, minimum in (("cnn", CNN_MIN), ("mlp", MLP_MIN)):
        accuracy = reference_accuracy(kind, record.get(kind), inputs["indices"])
        if accuracy is None:
            return (f"the trained {kind.upper()}'s layers do not match the specification, so the grader "
                    "cannot measure its accuracy")
        if accuracy < minimum:
            return (f"your trained {kind.upper()} reaches {accuracy:.1%} on the grader's test images, "
                    f"below {minimum:.0%}")
        found[kind] = accuracy
    if not found["cnn"] > found["mlp"]:
        return (f"on the grader's test images your CNN ({found['cnn']:.1%}) does not beat your MLP "
                f"({found['mlp']:.1%})")
    return None


CHECKS = {
    "test_cnn_shapes": ProbeCheck(cnn_shape_inputs, probe_models, shape_verdict),
    "test_cnn_params": ProbeCheck(cnn_count_inputs, probe_models, count_verdict),
    "test_cnn_forward_hidden": ProbeCheck(cnn_forward_inputs, probe_models, forward_verdict),
    "test_mlp_shapes": ProbeCheck(mlp_shape_inputs, probe_models, shape_verdict),
    "test_mlp_params": ProbeCheck(mlp_count_inputs, probe_models, count_verdict),
    "test_mlp_forward_hidden": ProbeCheck(mlp_forward_inputs, probe_models, forward_verdict),
    "test_train_returns": ProbeCheck(returns_inputs, probe_train, returns_verdict),
    "test_train_zero_grad": ProbeCheck(zero_grad_inputs, probe_train, zero_grad_verdict),
    "test_train_mode": ProbeCheck(mode_inputs, probe_train, mode_verdict),
    "test_train_hidden": ProbeCheck(hidden_train_inputs, probe_train, hidden_train_verdict),
    "test_evaluate": ProbeCheck(evaluate_inputs, probe_evaluate, evaluate_verdict),
    "test_evaluate_mode": ProbeCheck(evaluate_mode_inputs, probe_evaluate, evaluate_verdict),
    "test_evaluate_hidden": ProbeCheck(hidden_evaluate_inputs, probe_evaluate, evaluate_verdict),
    "test_accuracy": ProbeCheck(accuracy_inputs, probe_trained, accuracy_verdict),
}
