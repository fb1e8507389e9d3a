"""Repository hygiene: pins, committed notebooks, the release in step with the solutions."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import tomllib
from course import REPO

from devtools.notebooks import has_outputs

ALL_NOTEBOOKS = sorted(p for folder in ("lectures", "solutions", "assignments")
                       for p in (REPO / folder).rglob("*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts)
ASSIGNMENT_IDS = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir()) \
    if (REPO / "solutions").is_dir() else []
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME", "END MARK SCHEME")


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def pyproject_names() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {_name(r) for r in project["dependencies"]}
    for extra in project.get("optional-dependencies", {}).values():
        names |= {_name(r) for r in extra}
    return names


def environment_yml_pip_lines() -> list[str]:
    lines, in_pip = [], False
    for line in (REPO / "environment.yml").read_text().splitlines():
        stripped = line.strip()
        if stripped == "- pip:":
            in_pip = True
            continue
        if in_pip and stripped.startswith("- "):
            lines.append(stripped[2:].strip())
        elif in_pip and stripped and not stripped.startswith("#"):
            in_pip = False
    return lines


def constraint_pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[_name(name)] = version.strip()
    return pins


def test_environment_yml_and_pyproject_name_the_same_packages():
    from_env = {_name(line) for line in environment_yml_pip_lines() if not line.startswith("-")}
    assert from_env == pyproject_names(), (
        f"only in environment.yml: {sorted(from_env - pyproject_names())}; "
        f"only in pyproject.toml: {sorted(pyproject_names() - from_env)}")
    assert "-c constraints.txt" in environment_yml_pip_lines(), "environment.yml must use the pins"


def test_every_package_is_pinned_once_in_constraints_and_torch_is_2_13():
    pins = constraint_pins()
    missing = sorted(pyproject_names() - set(pins))
    assert not missing, f"not pinned in constraints.txt: {missing}"
    assert pins["torch"] == "2.13.0"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    versioned = [r for r in project["dependencies"] if re.search(r"[<>=~]", r)]
    assert not versioned, f"versions belong in constraints.txt only: {versioned}"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_committed_notebook_has_no_outputs_and_uses_the_course_kernel(path: Path):
    notebook = nbformat.read(path, as_version=4)
    assert not has_outputs(notebook), f"{path} holds outputs: run `make strip`"
    assert notebook.metadata.get("kernelspec", {}).get("name") == "cnn-course", path


@pytest.mark.parametrize("path", sorted(REPO.glob("assignments/*/*.ipynb")),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_release_holds_no_solution_or_hidden_test_marker(path: Path):
    text = path.read_text()
    found = [marker for marker in MARKERS if marker in text]
    assert not found, f"{path} contains {found}: regenerate it with `make release`"


ORACLE_NAMES = ("conv_output_length", "corr1d", "convolve1d", "conv1d_matrix", "conv1d_layer",
                "conv2d_forward", "conv2d_backward", "maxpool2d_forward", "avgpool2d_forward",
                "conv2d_param_count", "receptive_field", "LeNet5", "im2col", "freeze_backbone",
                "replace_head", "build_cnn", "build_mlp")


def test_utils_never_defines_a_graded_function():
    offenders = []
    for path in (REPO / "utils").rglob("*.py"):
        for name in ORACLE_NAMES:
            if re.search(rf"^\s*(def|class)\s+{name}\b", path.read_text(), re.MULTILINE):
                offenders.append(f"{path.relative_to(REPO)}: {name}")
    assert not offenders, offenders
