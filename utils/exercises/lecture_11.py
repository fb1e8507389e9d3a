"""Lecture 11's "your turn": fold an eval-mode batch normalization into the convolution before it."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import not_attempted, verdict


def _as_pair(answer: object) -> tuple[torch.Tensor, torch.Tensor] | str:
    """(weight, bias) as float tensors, or a message saying what is wrong with ``answer``."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return "answer must be a pair (folded_weight, folded_bias)"
    try:
        return torch.as_tensor(answer[0]).detach().float(), torch.as_tensor(answer[1]).detach().float()
    except Exception as err:  # a wrong answer must not stop Run All
        return f"could not read the answer as two tensors: {err}"


def check_folded_conv(answer: object, conv: nn.Conv2d, bn: nn.BatchNorm2d) -> bool:
    """Check ``answer = (weight, bias)``: ``F.conv2d(x, weight, bias)`` must equal ``bn(conv(x))`` in
    eval mode. weight: (C_out, C_in, k, k) like ``conv.weight``; bias: (C_out,).

    The oracle is the two modules themselves on random inputs (bn in eval mode).
    """
    if isinstance(answer, (tuple, list)) and any(part is None for part in answer):
        answer = None
    if not_attempted(answer):
        return False
    pair = _as_pair(answer)
    if isinstance(pair, str):
        return verdict([pair], "")
    weight, bias = pair
    problems: list[str] = []
    if weight.shape != conv.weight.shape:
        problems.append(f"the weight must keep the convolution's shape {tuple(conv.weight.shape)}, "
                        f"got {tuple(weight.shape)}")
    if bias.shape != (conv.out_channels,):
        problems.append(f"the bias must have one entry per output channel, shape ({conv.out_channels},), "
                        f"got {tuple(bias.shape)}")
    if problems:
        return verdict(problems, "")
    was_training = bn.training
    bn.eval()
    with torch.no_grad():
        x = torch.randn(4, conv.in_channels, 9, 9, generator=torch.Generator().manual_seed(0))
        expected = bn(conv(x))
        got = F.conv2d(x, weight, bias, stride=conv.stride, padding=conv.padding)
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        right_weight = conv.weight * scale[:, None, None, None]
    bn.train(was_training)
    if torch.allclose(got, expected, atol=1e-4, rtol=1e-4):
        return verdict([], "Conv + BN in eval mode is one convolution with these weights and biases.")
    if not torch.allclose(weight, right_weight, atol=1e-5, rtol=1e-4):
        problems.append("the weight is wrong: multiply output channel c of the weight (dim 0) by "
                        "gamma_c / sqrt(running_var_c + eps)")
    with torch.no_grad():
        no_mean = conv.bias * scale + bn.bias
    if torch.allclose(bias, no_mean, atol=1e-5):
        problems.append("the bias forgets the running mean: subtract running_mean from the conv bias "
                        "before scaling")
    elif not problems:
        problems.append("the bias is wrong: it is gamma * (conv bias - running_mean) "
                        "/ sqrt(running_var + eps) + beta")
    return verdict(problems, "")
