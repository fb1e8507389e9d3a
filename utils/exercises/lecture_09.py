"""Your-turn check for lecture 09: predict receptive fields, checked by autograd."""

from __future__ import annotations

from ..viz_receptive import parse_stack, receptive_field_size
from . import not_attempted, verdict

#: The stacks of the exercise (same notation as ``utils.viz_receptive``).
STACKS = ("conv5 pool2 conv3 conv3", "conv3s2 conv3d2")


def check_receptive_fields(answer: object) -> bool:
    """answer: dict {stack: receptive-field side} for every stack in ``STACKS``. The oracle
    measures the field with autograd (``utils.viz_receptive.receptive_field_size``)."""
    if not_attempted(answer):
        return False
    if not isinstance(answer, dict) or set(answer) != set(STACKS):
        return verdict([f"give a dict with exactly these keys: {list(STACKS)}"], "")
    problems = []
    for spec in STACKS:
        layers = parse_stack(spec)
        measured = receptive_field_size(layers)
        if answer[spec] != measured:
            no_jump = 1 + sum((layer.kernel - 1) * layer.dilation for layer in layers)
            hint = ("that is the size without the jump: after a stride or a pooling, each later "
                    "layer's reach is multiplied by the product of the strides so far"
                    if answer[spec] == no_jump else
                    "go layer by layer: r grows by (k - 1) * dilation * jump, jump *= stride")
            problems.append(f"'{spec}': {answer[spec]} is not what autograd measures ({hint})")
    return verdict(problems, "both fields agree with the gradient measured by autograd.")
