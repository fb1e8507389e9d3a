"""Lecture 12's "find the bug" exercise: a classic MNIST network whose ``forward`` has two bugs.

``buggy_forward_source(call, log_softmax)`` writes the network's ``forward`` as text with the two
spots filled in, ``network_with_forward`` compiles that text into a working ``nn.Module``, and
``expect_error`` runs a function that must fail and returns the exception it raised (it raises
``AssertionError`` when nothing, or something unexpected, was raised), like ``pytest.raises``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import nn

FORWARD_TEMPLATE = """
def forward(self, x):
    x = F.relu(self.conv1(x))
    x = F.max_pool2d(x, 2, 2)
    x = F.relu(self.conv2(x))
    x = F.max_pool2d(x, 2, 2)
    x = x.view(-1, 4*4*20)
    x = F.relu(self.fc1{call})
    x = self.fc2(x)
    return F.{log_softmax}(x, dim=1)
"""


class TwentyFilterNet(nn.Module):
    """The classic "20 filters, 500 hidden units" MNIST network's layers, without a ``forward``.

    Input (N, 1, 28, 28): conv 1->20 (5x5) -> 24x24, pool -> 12x12, conv 20->20 (5x5) -> 8x8,
    pool -> 4x4, so fc1 reads 4*4*20 = 320 numbers; fc2 gives (N, 10).
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5, 1)
        self.conv2 = nn.Conv2d(20, 20, 5, 1)
        self.fc1 = nn.Linear(4 * 4 * 20, 500)
        self.fc2 = nn.Linear(500, 10)


def buggy_forward_source(call: str = "", log_softmax: str = "logsoftmax") -> str:
    """The ``forward`` method as text; ``call="(x)"`` fixes bug 1, ``log_softmax="log_softmax"`` bug 2."""
    return FORWARD_TEMPLATE.format(call=call, log_softmax=log_softmax)


def network_with_forward(source: str) -> nn.Module:
    """A ``TwentyFilterNet`` whose ``forward`` is compiled from ``source`` (text defining ``forward``).

    The text runs with ``F`` (torch.nn.functional) in scope; errors in it surface only when the
    forward pass runs, as they would in a hand-written class.
    """
    namespace: dict[str, object] = {"F": F}
    exec(source, namespace)  # the text is this module's own template, never user input
    net = TwentyFilterNet()
    net.forward = namespace["forward"].__get__(net)  # type: ignore[attr-defined]
    return net


def expect_error(function: Callable[[], object], expected: type[BaseException]) -> BaseException:
    """Run ``function()``, which must raise ``expected``; return the exception it raised.

    Raises ``AssertionError`` if ``function`` returns normally or raises another exception type,
    so a notebook cell that uses it checks that the failure really happened.
    """
    try:
        function()
    except expected as err:
        return err
    except Exception as err:  # noqa: BLE001 - reported as a failed expectation
        raise AssertionError(f"expected {expected.__name__}, got {type(err).__name__}: {err}") from err
    raise AssertionError(f"expected {expected.__name__}, but nothing was raised")
