"""How a solution author writes a graded check whose verdict is taken outside the student's kernel.

Each assignment has ``solutions/<id>/checks.py`` (never released, never copied next to a student's
notebook, never visible in the sandbox) defining ``CHECKS = {grade_id: check}`` for every graded
code cell, and optionally ``POLICY`` (a :class:`KernelPolicy`). A check has three parts:

- ``inputs(rng)``: plain data (numbers, arrays, lists, dicts) drawn by the grader from a fresh seed;
- ``probe``: code that runs **in the kernel**, right after the graded cell: it only calls the
  student's functions on those inputs and returns what they gave (``None`` = :func:`call_each`);
- ``verdict(inputs, record, seconds)``: runs **in the grader**, on the grader's own copy of the
  inputs, with the reference (torch, an analytic result); returns ``None`` (pass) or a message
  that says what is wrong without giving the expected values.

:class:`FunctionCheck` covers the common case (call one function on many cases, compare with a
reference). See docs/CONVENTIONS.md.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Case:
    """One call of the student's function: ``function(*args, **kwargs)``."""

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def describe(self) -> str:
        """``'x (5,), w (3,), stride=2'``: shapes of arrays, values of scalars."""
        parts = [_short(value) for value in self.args]
        parts += [f"{key}={_short(value)}" for key, value in self.kwargs.items()]
        return ", ".join(parts)


def fixed(*cases: Case) -> Callable[[np.random.Generator], list[Case]]:
    """The ``cases`` argument of a check that re-runs a visible test's calls (ignores the rng)."""
    return lambda rng: list(cases)


def _short(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array {value.shape}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class KernelPolicy:
    """What the grading kernel of an assignment may use.

    ``hidden_modules`` cannot be imported (their files are not in the sandbox, and an import hook
    says why); ``forbidden`` are dotted names removed before any student code runs (every module
    attribute bound to them); ``rule`` is the sentence a student sees when they break it.
    """

    hidden_modules: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    rule: str = ""

    def as_env(self) -> dict:
        return {"hidden_modules": list(self.hidden_modules), "forbidden": list(self.forbidden),
                "rule": self.rule}


class Check:
    """A graded check: ``inputs`` (grader), ``probe`` (kernel), ``verdict`` (grader)."""

    probe: Callable | None = None
    max_seconds: float | None = None

    def inputs(self, rng: np.random.Generator) -> Any:
        return {}

    def verdict(self, inputs: Any, record: Any, seconds: float) -> str | None:
        raise NotImplementedError

    def probe_source(self) -> tuple[str, str]:
        """``(source, name)`` of the probe function, sent into the kernel ("" for call_each)."""
        if self.probe is None:
            return "", ""
        return textwrap.dedent(inspect.getsource(self.probe)), self.probe.__name__


class ProbeCheck(Check):
    """A check from three plain functions (see the module docstring)."""

    def __init__(self, inputs: Callable, probe: Callable, verdict: Callable,
                 max_seconds: float | None = None) -> None:
        self._inputs, self.probe, self._verdict = inputs, probe, verdict
        self.max_seconds = max_seconds

    def inputs(self, rng):
        return self._inputs(rng)

    def verdict(self, inputs, record, seconds):
        return self._verdict(inputs, record, seconds)


Compare = Callable[[Any, Any], "str | None"]


def close(rtol: float = 1e-5, atol: float = 1e-8) -> Compare:
    """Compare arrays: same shape, finite, ``|got - ref| <= atol + rtol |ref|`` everywhere."""

    def compare(got, expected) -> str | None:
        expected = np.asarray(expected, dtype=np.float64)
        if isinstance(got, (bool, str, dict)) or got is None:
            return f"returned {describe_value(got)} instead of an array"
        try:
            got = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            return f"returned {describe_value(got)} instead of an array of numbers"
        if got.shape != expected.shape:
            return f"returned shape {got.shape}, expected shape {expected.shape}"
        if not np.all(np.abs(got - expected) <= atol + rtol * np.abs(expected)):
            return "wrong values"
        return None

    return compare


def exact_int(got, expected) -> str | None:
    """An int (Python int or 0-d integer array, not bool) equal to ``expected``."""
    if isinstance(got, bool) or not (isinstance(got, int) or (
            isinstance(got, np.ndarray) and got.shape == () and got.dtype.kind in "iu")):
        return f"returned {describe_value(got)}: return an int"
    if int(got) != int(expected):
        return "wrong value"
    return None


def describe_value(value) -> str:
    """A short description of a recorded value, for messages."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} ({value.dtype})"
    if isinstance(value, dict) and "__type__" in value:
        return f"a {value['__type__']}"
    return f"a {type(value).__name__}"


class FunctionCheck(Check):
    """Call ``function`` on every case, compare each result with ``reference(*args, **kwargs)``.

    ``cases(rng)`` gives the :class:`Case` list (fixed cases ignore ``rng``); ``reference`` runs in
    the grader; ``compare(got, expected)`` returns a message or None. The first failing case
    names the function, the problem and the case's arguments (never the expected values).
    """

    def __init__(self, function: str, cases: Callable[[np.random.Generator], list[Case]],
                 reference: Callable, compare: Compare | None = None, label: str = "",
                 max_seconds: float | None = None, min_cases: int = 1) -> None:
        self.function, self.cases, self.reference = function, cases, reference
        self.compare = compare or close()
        self.label = label or function
        self.max_seconds = max_seconds
        self.min_cases = min_cases

    def inputs(self, rng):
        cases = self.cases(rng)
        if len(cases) < self.min_cases:
            raise ValueError(f"{self.label}: only {len(cases)} cases generated")
        return {"function": self.function,
                "cases": [{"args": list(c.args), "kwargs": dict(c.kwargs)} for c in cases]}

    def verdict(self, inputs, record, seconds):
        results = record if isinstance(record, list) else None
        if results is None or len(results) != len(inputs["cases"]):
            return f"{self.label}: the grader's calls of {self.function} gave no complete result"
        if self.max_seconds is not None and seconds > self.max_seconds:
            return (f"{self.label}: the grader's calls of {self.function} took {seconds:.1f} s, "
                    f"more than the {self.max_seconds:g} s allowed")
        for case, result in zip(inputs["cases"], results, strict=True):
            call = Case(tuple(case["args"]), case["kwargs"])
            if not isinstance(result, dict) or ("value" not in result and "error" not in result):
                return f"{self.label}: malformed result"
            if "error" in result:
                return f"{self.function}({call.describe()}) raised {str(result['error'])[:300]}"
            expected = self.reference(*_copies(call.args), **_copies(call.kwargs))
            problem = self.compare(result["value"], expected)
            if problem:
                return f"{self.function}({call.describe()}) {problem}"
        return None


def _copies(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_copies(v) for v in value)
    if isinstance(value, list):
        return [_copies(v) for v in value]
    if isinstance(value, dict):
        return {k: _copies(v) for k, v in value.items()}
    return value
