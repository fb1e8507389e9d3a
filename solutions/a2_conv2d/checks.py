"""Graded checks of a2_conv2d, decided by the grader outside the student's kernel.

Visible items re-run the visible tests' calls; hidden items draw fresh random configurations
(the distributions of the former in-kernel hidden tests). The references are torch, run here in
the grader: ``F.conv2d``, ``F.max_pool2d``, ``F.avg_pool2d``, autograd of ``F.conv2d`` and the
parameters of ``nn.Conv2d``. The speed item is decided by the grader's clock (the wall time of its
calls). The grading kernel is NumPy only: torch and scipy are not in it.
"""

import numpy as np
import torch
import torch.nn.functional as F

from autograder.verdict import Case, FunctionCheck, KernelPolicy, close, describe_value, exact_int, fixed

POLICY = KernelPolicy(
    hidden_modules=("torch", "scipy"),
    rule="assignment a2 is NumPy only: no torch or scipy",
)


def _tensor(array):
    return torch.from_numpy(np.array(array, dtype=np.float64))


def ref_conv2d(x, weight, bias, stride=1, padding=0, dilation=1):
    return F.conv2d(_tensor(x), _tensor(weight), _tensor(bias), stride, padding, dilation).numpy()


def ref_maxpool(x, kernel_size, stride=None):
    return F.max_pool2d(_tensor(x), kernel_size, stride).numpy()


def ref_avgpool(x, kernel_size, stride=None):
    return F.avg_pool2d(_tensor(x), kernel_size, stride).numpy()


def ref_backward(dout, x, weight, stride=1, padding=0):
    """(dx, dweight, dbias) by autograd of F.conv2d."""
    x, weight = _tensor(x).requires_grad_(), _tensor(weight).requires_grad_()
    bias = torch.zeros(weight.shape[0], dtype=torch.float64, requires_grad=True)
    F.conv2d(x, weight, bias, stride, padding).backward(_tensor(dout))
    return x.grad.numpy(), weight.grad.numpy(), bias.grad.numpy()


def ref_param_count(in_channels, out_channels, kernel_size, bias=True):
    layer = torch.nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias, device="meta")
    return sum(p.numel() for p in layer.parameters())


def gradients(compare):
    """Compare a (dx, dweight, dbias) triple, each with ``compare``."""

    def compare_all(got, expected):
        if not isinstance(got, (tuple, list)) or len(got) != 3:
            return f"returned {describe_value(got)} instead of a tuple (dx, dweight, dbias)"
        for name, one, reference in zip(("dx", "dweight", "dbias"), got, expected, strict=True):
            problem = compare(one, reference)
            if problem:
                return f"{name}: {problem}"
        return None

    return compare_all


def call_each_stopped(namespace, inputs):
    """The speed item's probe (runs in the kernel): call_each, each call stopped after
    ``inputs["stop_seconds"]`` by SIGALRM, so that a pixel loop (about 20 s) ends early."""
    import signal

    def stop(signum, frame):
        raise TimeoutError("stopped by the grader: far too slow")

    function, results = namespace.get(inputs["function"]), []
    for case in inputs["cases"]:
        if not callable(function):
            results.append({"error": f"NameError: {inputs['function']} is not defined"})
            continue
        previous = signal.signal(signal.SIGALRM, stop)
        signal.setitimer(signal.ITIMER_REAL, inputs["stop_seconds"])
        try:
            results.append({"value": function(*case["args"], **case["kwargs"])})
        except Exception as error:  # noqa: BLE001  (the student's code: any error is a result)
            results.append({"error": f"{type(error).__name__}: {error}"[:400]})
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return results


class SpeedCheck(FunctionCheck):
    """A FunctionCheck timed by the grader, whose probe stops each call after ``max_seconds``."""

    probe = staticmethod(call_each_stopped)

    def inputs(self, rng):
        return {**super().inputs(rng), "stop_seconds": self.max_seconds}

    def verdict(self, inputs, record, seconds):
        problem = super().verdict(inputs, record, seconds)
        if problem and seconds > self.max_seconds:
            problem += (": it is not vectorized; loop over the kernel offsets only, never over "
                        "pixels, images or channels")
        return problem



def forward_cases(rng):
    cases = []
    for n, ci, co, h, w, kh, kw, sh, sw, ph, pw, dh, dw, as_int in rng.integers(
            low=[1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0],
            high=[4, 5, 5, 13, 13, 5, 5, 4, 4, 3, 3, 3, 3, 2], size=(70, 14)).tolist():
        if as_int:
            sw, pw, dw, kw = sh, ph, dh, kh
        if h + 2 * ph < dh * (kh - 1) + 1 or w + 2 * pw < dw * (kw - 1) + 1:
            continue
        options = (dict(stride=sh, padding=ph, dilation=dh) if as_int else
                   dict(stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw)))
        cases.append(Case((rng.standard_normal((n, ci, h, w)), rng.standard_normal((co, ci, kh, kw)),
                           rng.standard_normal(co)), options))
    return cases


def speed_cases(rng):
    """The visible speed test's shapes (padding 1, 3x3 filters), float32."""
    cases = []
    for shape, filters in (((8, 3, 96, 96), 8), ((1, 1, 768, 768), 1)):
        x, w, b = (rng.standard_normal(s).astype(np.float32)
                   for s in (shape, (filters, shape[1], 3, 3), (filters,)))
        cases.append(Case((x, w, b), dict(stride=1, padding=1)))
    return cases


def pool_cases(shift):
    """Random pools; ``shift`` is added to the images (max pooling: mostly negative values)."""

    def cases(rng):
        found = []
        for n, c, h, w, kh, kw, default, sh, sw in rng.integers(
                low=[1, 1, 1, 1, 1, 1, 0, 1, 1], high=[3, 4, 12, 12, 4, 4, 2, 4, 4],
                size=(60, 9)).tolist():
            if h >= kh and w >= kw:
                found.append(Case((rng.standard_normal((n, c, h, w)) + shift, (kh, kw),
                                   None if default else (sh, sw))))
        return found

    return cases


def backward_cases(rng):
    cases = []
    for n, ci, co, h, w, kh, kw, sh, sw, ph, pw, as_int in rng.integers(
            low=[1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
            high=[4, 4, 4, 11, 11, 4, 4, 3, 3, 3, 3, 2], size=(40, 12)).tolist():
        if as_int:
            kw, sw, pw = kh, sh, ph
        if h + 2 * ph < kh or w + 2 * pw < kw:
            continue
        out = (n, co, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)
        options = dict(stride=sh, padding=ph) if as_int else dict(stride=(sh, sw), padding=(ph, pw))
        cases.append(Case((rng.standard_normal(out), rng.standard_normal((n, ci, h, w)),
                           rng.standard_normal((co, ci, kh, kw))), options))
    return cases


def param_cases(rng):
    return [Case((ci, co, kh if as_int else (kh, kw)), dict(bias=bool(bias)))
            for ci, co, kh, kw, bias, as_int in rng.integers(
                low=[1, 1, 1, 1, 0, 0], high=[300, 300, 8, 8, 2, 2], size=(40, 6)).tolist()]


# The visible tests' arrays (their random ones drawn as in the notebook, from default_rng(0)).
_rng = np.random.default_rng(0)
_x8, _w8, _x5 = (_rng.standard_normal(s) for s in ((2, 3, 8, 8), (4, 3, 3, 3), (2, 3, 5, 5)))
_rng = np.random.default_rng(0)
_xb, _wb = _rng.standard_normal((2, 3, 5, 5)), _rng.standard_normal((4, 3, 3, 3))
_x_pool = np.random.default_rng(0).standard_normal((2, 3, 6, 6))
_w22 = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
_x16 = np.arange(16.0).reshape(1, 1, 4, 4)
_precise = close(rtol=1e-6, atol=1e-8)
_exact = close(rtol=0, atol=1e-10)

CHECKS = {
    "test_conv2d_forward": FunctionCheck(
        "conv2d_forward",
        fixed(Case((_x8, _w8, np.zeros(4))),
               Case((np.arange(1.0, 10.0).reshape(1, 1, 3, 3), _w22, np.zeros(1))),
               Case((_x5, np.zeros((4, 3, 3, 3)), np.arange(1.0, 5.0))),
               Case((np.ones((1, 3, 4, 4)), np.ones((1, 3, 2, 2)), np.zeros(1))),
               Case((np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), np.zeros(1)), dict(padding=1)),
               Case((np.arange(24.0).reshape(1, 1, 4, 6), np.ones((1, 1, 1, 1)), np.zeros(1)),
                    dict(stride=(2, 3))),
               Case((np.arange(25.0).reshape(1, 1, 5, 5),
                     np.array([[1.0, 10.0], [100.0, 1000.0]]).reshape(1, 1, 2, 2), np.zeros(1)),
                    dict(dilation=(2, 1))),
               Case((np.arange(40.0).reshape(1, 2, 5, 4),
                     (np.arange(24.0) % 5 - 2).reshape(2, 2, 3, 2), np.array([0.5, -1.0])),
                    dict(stride=2, padding=(1, 2), dilation=2))),
        ref_conv2d),
    "test_conv2d_forward_hidden": FunctionCheck(
        "conv2d_forward", forward_cases, ref_conv2d, _precise, min_cases=30),
    "test_conv2d_forward_vectorized": SpeedCheck(
        "conv2d_forward", speed_cases, ref_conv2d, close(rtol=0, atol=1e-3), max_seconds=4.0),
    "test_maxpool2d_forward": FunctionCheck(
        "maxpool2d_forward",
        fixed(Case((_x16, 2)), Case((-1.0 - _x16, 2)), Case((_x16, 3), dict(stride=1)),
               Case((np.arange(25.0).reshape(1, 1, 5, 5), 2)), Case((_x_pool, (2, 3)))),
        ref_maxpool),
    "test_maxpool2d_forward_hidden": FunctionCheck(
        "maxpool2d_forward", pool_cases(-3.0), ref_maxpool, _exact, min_cases=30),
    "test_avgpool2d_forward": FunctionCheck(
        "avgpool2d_forward",
        fixed(Case((_x16, 2)), Case((_x16, 3), dict(stride=1)),
               Case((np.arange(8.0).reshape(1, 1, 2, 4), (1, 2)))),
        ref_avgpool),
    "test_avgpool2d_forward_hidden": FunctionCheck(
        "avgpool2d_forward", pool_cases(0.0), ref_avgpool, _exact, min_cases=30),
    "test_conv2d_backward": FunctionCheck(
        "conv2d_backward",
        fixed(Case((np.ones((1, 1, 2, 2)), np.arange(9.0).reshape(1, 1, 3, 3), _w22)),
               Case((np.ones((2, 4, 3, 3)), _xb, _wb)),
               Case((np.ones((2, 4, 5, 5)), _xb, _wb), dict(padding=1)),
               Case((_w22, np.zeros((1, 1, 4, 4)), np.ones((1, 1, 2, 2))), dict(stride=2)),
               Case(((np.arange(24.0) % 7 - 3).reshape(1, 2, 2, 6), np.arange(18.0).reshape(1, 2, 3, 3),
                     (np.arange(16.0) % 5 - 2).reshape(2, 2, 2, 2)),
                    dict(stride=(2, 1), padding=(1, 2)))),
        ref_backward, gradients(close())),
    "test_conv2d_backward_hidden": FunctionCheck(
        "conv2d_backward", backward_cases, ref_backward, gradients(_precise), min_cases=20),
    "test_conv2d_param_count": FunctionCheck(
        "conv2d_param_count",
        fixed(Case((3, 64, 3)), Case((1, 6, 5)), Case((3, 8, (1, 5))),
               Case((3, 8, 3), dict(bias=False))),
        ref_param_count, exact_int),
    "test_conv2d_param_count_hidden": FunctionCheck(
        "conv2d_param_count", param_cases, ref_param_count, exact_int, min_cases=40),
}
