"""Graded checks of a3_receptive_fields, decided by the grader outside the student's kernel.

Visible items re-run the visible tests' calls; hidden items draw fresh random stacks. The
reference is always measured with torch autograd here, in the grader: for ``receptive_field`` on
1-D stacks of all-ones convolutions, for ``measure_receptive_field`` on the very models the probe
built in the kernel (the grader runs the same probe with its own measurement in place of the
student's function). The kernel may use torch; it may not import the lecture's widget code
``utils.viz_receptive``, which computes both answers.
"""

import torch
import torch.nn.functional as F

from autograder.verdict import Case, FunctionCheck, KernelPolicy, ProbeCheck, exact_int, fixed

POLICY = KernelPolicy(
    hidden_modules=("utils.viz_receptive",),
    rule="utils.viz_receptive is the lecture's widget, not an answer: write your own code",
)

#: 1-D input long enough for every stack drawn below (largest field: 1 + 12 * 121 = 1453)
_LENGTH = 1700


def ref_receptive_field(layers) -> int:
    """Support (first to last non-zero input) of the gradient of output 0 of 1-D all-ones convs.

    layers: [(kernel_size, stride, dilation), ...]. Returns an int.
    """
    x = torch.zeros(1, 1, _LENGTH, dtype=torch.float64, requires_grad=True)
    h = x
    for kernel_size, stride, dilation in layers:
        h = F.conv1d(h, torch.ones(1, 1, kernel_size, dtype=torch.float64), None, stride, 0, dilation)
    h[0, 0, 0].backward()
    support = torch.nonzero(x.grad.flatten()).flatten()
    return int(support[-1] - support[0] + 1)


def random_stacks(rng) -> list[Case]:
    """40 random stacks of 1 to 5 layers, kernel 1-5, stride 1-3, dilation 1-3."""
    return [Case(([tuple(row) for row in rng.integers(low=[1, 1, 1], high=[6, 4, 4],
                                                       size=(depth, 3)).tolist()],))
            for depth in rng.integers(1, 6, size=40).tolist()]



# --- measure_receptive_field --------------------------------------------------------------
# A model is described as plain data: {"layers": [...], "input_shape": (C, H, W), "seed": int}
# with layers ["conv", in_channels, out_channels, kernel, stride, padding, dilation],
# ["relu"] or ["avgpool", kernel, stride]; its weights and biases are drawn in (0.1, 1) from
# torch.Generator().manual_seed(seed).


def probe_measure(ns, inputs):
    """In the kernel (and, with the reference, in the grader): build each model, measure it."""
    import torch
    from torch import nn

    def build(layers, seed):
        modules = []
        for layer in layers:
            if layer[0] == "conv":
                _, c_in, c_out, kernel, stride, padding, dilation = layer
                modules.append(nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding,
                                         dilation=dilation))
            elif layer[0] == "relu":
                modules.append(nn.ReLU())
            elif layer[0] == "avgpool":
                modules.append(nn.AvgPool2d(layer[1], layer[2]))
            else:
                raise ValueError(f"unknown layer {layer[0]!r}")
        model = nn.Sequential(*modules)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.copy_(0.1 + 0.9 * torch.rand(parameter.shape, generator=generator))
        return model

    function = ns.get("measure_receptive_field")
    results = []
    for case in inputs["models"]:
        if not callable(function):
            results.append({"error": "NameError: measure_receptive_field is not defined"})
            continue
        model = build(case["layers"], case["seed"])
        try:
            results.append({"value": function(model, tuple(case["input_shape"]))})
        except Exception as error:  # noqa: BLE001  (the student's code: any error is a result)
            results.append({"error": f"{type(error).__name__}: {error}"[:400]})
    return results


def ref_measure(model, input_shape) -> int:
    """Row extent of the input gradient of the centre unit of channel 0 (float64 autograd)."""
    model = model.double()
    x = torch.ones((1, *input_shape), dtype=torch.float64, requires_grad=True)
    out = model(x)
    h_out, w_out = out.shape[-2:]
    out[0, 0, h_out // 2, w_out // 2].backward()
    rows = torch.nonzero(x.grad[0].abs().sum(dim=(0, 2))).flatten()
    return int(rows[-1] - rows[0] + 1)


def describe_model(case) -> str:
    """``'conv 3x3 (1->2 channels, padding 1), relu, avgpool 2 on input (1, 32, 32)'``: no answer."""
    parts = []
    for layer in case["layers"]:
        if layer[0] == "conv":
            _, c_in, c_out, kernel, stride, padding, dilation = layer
            text = f"conv {kernel}x{kernel} ({c_in}->{c_out} channels"
            text += "".join(f", {name} {value}" for name, value, default in
                            (("stride", stride, 1), ("padding", padding, 0), ("dilation", dilation, 1))
                            if value != default)
            parts.append(text + ")")
        elif layer[0] == "relu":
            parts.append("relu")
        else:
            parts.append(f"avgpool {layer[1]}" + (f" stride {layer[2]}" if layer[2] != layer[1] else ""))
    return ", ".join(parts) + f" on input {tuple(case['input_shape'])}"


def measure_check(models, label: str, min_models: int = 1) -> ProbeCheck:
    """``measure_receptive_field`` on each model of ``models(rng)``, against the grader's measure."""

    def inputs(rng):
        drawn = models(rng)
        if len(drawn) < min_models:
            raise ValueError(f"{label}: only {len(drawn)} models generated")
        return {"models": drawn}

    def verdict(inputs, record, seconds):
        if not isinstance(record, list) or len(record) != len(inputs["models"]):
            return f"{label}: the grader's calls of measure_receptive_field gave no complete result"
        expected = probe_measure({"measure_receptive_field": ref_measure}, inputs)
        for case, result, reference in zip(inputs["models"], record, expected, strict=True):
            if "error" in reference:
                raise RuntimeError(f"reference failed on {case}: {reference['error']}")
            if not isinstance(result, dict) or ("value" not in result and "error" not in result):
                return f"{label}: malformed result"
            call = f"measure_receptive_field({describe_model(case)})"
            if "error" in result:
                return f"{call} raised {str(result['error'])[:300]}"
            problem = exact_int(result["value"], reference["value"])
            if problem:
                return f"{call} {problem}"
        return None

    return ProbeCheck(inputs, probe_measure, verdict)


def _conv(c_in, c_out, kernel, stride=1, padding=0, dilation=1):
    return ["conv", c_in, c_out, kernel, stride, padding, dilation]


def _model(input_shape, *layers, seed=0):
    return {"layers": list(layers), "input_shape": tuple(input_shape), "seed": seed}


VISIBLE_MODELS = [
    _model((1, 32, 32), _conv(1, 2, 3, padding=1), ["relu"], _conv(2, 1, 3, padding=1)),
    _model((1, 32, 32), _conv(1, 1, 3, padding=1), ["avgpool", 2, 2], _conv(1, 1, 3, padding=1)),
    _model((1, 32, 32), _conv(1, 1, 3, padding=2, dilation=2), _conv(1, 1, 3, padding=2, dilation=2)),
    _model((3, 40, 40), _conv(3, 4, 5, stride=2, padding=2), ["relu"], _conv(4, 2, 3, padding=1)),
]


def random_models(rng) -> list[dict]:
    """32 random stacks of 2-4 layers (average pools, convs with 'same'-like padding + ReLU)."""
    models = []
    for depth in rng.integers(2, 5, size=32).tolist():
        channels = in_channels = int(rng.integers(1, 4))
        layers = []
        for kind, kernel, stride, dilation, c_out in rng.integers(
                low=[0, 1, 1, 1, 1], high=[4, 4, 3, 3, 4], size=(depth, 5)).tolist():
            if kind == 0:
                layers.append(["avgpool", max(kernel, 2), stride])
            else:
                layers += [_conv(channels, c_out, kernel, stride, dilation * (kernel - 1) // 2,
                                 dilation), ["relu"]]
                channels = c_out
        models.append(_model((in_channels, 128, 128), *layers, seed=int(rng.integers(2 ** 31))))
    return models


CHECKS = {
    "test_receptive_field": FunctionCheck(
        "receptive_field",
        fixed(Case(([],)), Case(([(3, 1, 1)],)), Case(([(3, 1, 1), (3, 1, 1)],)),
               Case(([(3, 2, 1), (3, 1, 1)],)), Case(([(3, 1, 1), (2, 2, 1), (3, 1, 1)],)),
               Case(([(3, 1, 2), (3, 1, 4)],)),
               Case(([(5, 2, 1), (3, 2, 2), (3, 1, 1), (2, 2, 1)],))),
        ref_receptive_field, exact_int),
    "test_receptive_field_hidden": FunctionCheck(
        "receptive_field", random_stacks, ref_receptive_field, exact_int, min_cases=40),
    "test_measure_receptive_field": measure_check(
        fixed(*VISIBLE_MODELS), "measure_receptive_field (visible models)"),
    "test_measure_receptive_field_hidden": measure_check(
        random_models, "measure_receptive_field (hidden models)", min_models=32),
}
