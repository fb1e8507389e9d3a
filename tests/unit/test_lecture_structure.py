"""Static checks of every lecture notebook's structure (docs/CONVENTIONS.md, "Lecture form").

Lectures are discovered by glob, so a new lecture is covered the moment it is added. Executing
the notebooks is the notebook tier's job; these checks read the JSON and take milliseconds.

What is recognised, precisely:

- A **widget cell** is a code cell that calls a visualizer class, ``utils.viz_<module>.<Class>(``
  with a capitalised class name. It must be exactly one line matching
  ``utils\\.viz_\\w+\\.\\w+\\(.*\\)``.
- The **self-check section** starts at a markdown heading (``##`` or ``###``) whose text contains
  "Self-check" or "Check yourself" and ends at the next ``##`` heading. In it, a **question** is a
  line that starts (column 0) with a number and a dot, ``1.``, outside any ``<details>`` block. Each
  question must be followed, before the next question, by exactly one
  ``<details><summary>Answer</summary>`` block; at least two questions.
- A **"Your turn" exercise** is a ``## Your turn`` heading followed, before the next ``##`` heading
  that is not another "Your turn", by a code cell that calls ``utils.exercises.lecture_NN.check_...(``
  and a markdown cell with ``<details><summary>Solution</summary>`` holding one python fence.
- **Forbidden words** (in markdown, and in the comments of code cells) name sources students never
  see: ``slide(s)``, ``lecture notes``, ``Seed 0..``, and ``seed(s)`` except in "random seed(s)".
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

LECTURES = Path(__file__).resolve().parents[2] / "lectures"
ALL = sorted(path.stem for path in LECTURES.glob("[0-9][0-9]_*.ipynb"))

#: The worked examples' numbers that the part-2 lectures must assert.
PART2 = {
    "05": ("a2_conv2d", ["[[4, 3, 4], [2, 4, 3], [2, 3, 4]]",
                         "[[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]]",
                         "[[-1, -1, -1, -1], [-1, -1, -2, 1], [-1, -1, -2, 1], [-1, 0, -4, 3]]"]),
    "06": ("a2_conv2d", ["[[4, 3, 4], [2, 4, 3], [2, 3, 4]]", "== 148", "[308, -498, 164]", "-25"]),
    "07": ("a2_conv2d", ["== 760", "== 17", "== 1728"]),
    "08": ("a2_conv2d", ["(1, 16, 75, 75)", ">= 0.5"]),
    "09": ("a3_receptive_fields", ["[3, 5, 7, 9]", "[3, 7, 15, 31]"]),
}

WIDGET_CALL = re.compile(r"utils\.viz_\w+\.[A-Z]\w*\(")
WIDGET_LINE = re.compile(r"utils\.viz_\w+\.\w+\(.*\)")
FORBIDDEN = [re.compile(p) for p in (r"(?<!random )\b[Ss]eeds?\b", r"\b[Ss]lides?\b",
                                     r"[Ll]ecture notes", r"Seed 0")]
ANSWER = "<details><summary>Answer</summary>"
SOLUTION = "<details><summary>Solution</summary>"
CHECK_CALL = re.compile(r"utils\.exercises\.lecture_\d\d\.check_\w+\(")


def _read(stem: str) -> nbformat.NotebookNode:
    return nbformat.read(LECTURES / f"{stem}.ipynb", as_version=4)


def _heading_cells(cells: list, pattern: str) -> list[int]:
    return [i for i, cell in enumerate(cells) if cell.cell_type == "markdown"
            and re.search(pattern, cell.source, re.MULTILINE | re.IGNORECASE)]


def self_check_questions(markdown: str) -> list[str]:
    """The questions of the self-check section, each with the text up to the next question.

    Empty when there is no self-check heading. See the module docstring for the rules.
    """
    start = re.search(r"^#{2,3} [^\n]*(self-check|check yourself)[^\n]*$", markdown,
                      re.MULTILINE | re.IGNORECASE)
    if start is None:
        return []
    section = markdown[start.end():]
    end = re.search(r"^## ", section, re.MULTILINE)
    section = section[:end.start()] if end else section
    # hide the insides of <details> blocks so that numbered answers are not read as questions
    hidden = re.sub(r"<details>.*?</details>",
                    lambda m: m.group(0)[:len(ANSWER)] + re.sub(r"\S", "x", m.group(0)[len(ANSWER):]),
                    section, flags=re.DOTALL)
    starts = [m.start() for m in re.finditer(r"^\d+\.\s", hidden, re.MULTILINE)]
    return [hidden[a:b] for a, b in zip(starts, [*starts[1:], len(hidden)], strict=True)]


def forbidden_words(notebook: nbformat.NotebookNode) -> list[str]:
    """Every forbidden word in markdown or in code comments, as 'cell N: word'."""
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            text = cell.source
        elif cell.cell_type == "code":
            text = "\n".join(m.group(0) for m in re.finditer(r"#[^\n]*", cell.source))
        else:
            continue
        found += [f"cell {index}: {m.group(0)!r}" for p in FORBIDDEN for m in p.finditer(text)]
    return found


@pytest.mark.parametrize("stem", ALL)
def test_lecture_structure(stem):
    notebook = _read(stem)
    cells = notebook.cells
    assert notebook.metadata["kernelspec"] == {
        "name": "cnn-course", "display_name": "Python (cnn-course)", "language": "python"}
    code = [cell for cell in cells if cell.cell_type == "code"]
    markdown = "\n\n".join(cell.source for cell in cells if cell.cell_type == "markdown")
    assert all(not cell.outputs and cell.execution_count is None for cell in code), "strip outputs"
    assert re.search(r"^import utils\b", code[0].source, re.MULTILINE), "first code cell: import utils"

    widget_cells = [cell for cell in code if WIDGET_CALL.search(cell.source)]
    assert widget_cells, "at least one widget cell"
    for cell in widget_cells:
        assert WIDGET_LINE.fullmatch(cell.source.strip()), f"a widget cell is one line: {cell.source!r}"

    assert "$$" in markdown, "the math in LaTeX ($$ ... $$)"
    questions = self_check_questions(markdown)
    assert len(questions) >= 2, "a self-check section with at least two numbered questions"
    for question in questions:
        assert question.count(ANSWER) == 1, \
            f"each question has exactly one hidden answer: {question.splitlines()[0]!r}"

    turns = _heading_cells(cells, r"^## Your turn")
    assert turns, "at least one '## Your turn' exercise"
    for first in turns:
        following = []  # (cell type, text) up to the next "## " heading that is not "Your turn"
        for cell in cells[first + 1:]:
            stop = re.search(r"^## (?!Your turn)", cell.source, re.MULTILINE) \
                if cell.cell_type == "markdown" else None
            following.append((cell.cell_type, cell.source[:stop.start()] if stop else cell.source))
            if stop:
                break
        assert any(kind == "code" and CHECK_CALL.search(text) for kind, text in following), \
            f"'Your turn' in cell {first}: a code cell calling utils.exercises.lecture_NN.check_..."
        solutions = [text for kind, text in following if kind == "markdown" and SOLUTION in text]
        assert solutions and all(text.count("```python") == 1 for text in solutions), \
            f"'Your turn' in cell {first}: a Solution block with one python fence"

    assert _heading_cells(cells, r"^## Further reading"), "a '## Further reading' cell"
    assert cells[-1].cell_type == "markdown" and "## Further reading" in cells[-1].source, \
        "the lecture ends with its Further reading cell"
    assert not forbidden_words(notebook), forbidden_words(notebook)
    assert re.search(r"assignments/(a\d_\w+|<id>)/", markdown), "a pointer to the matching assignment"


@pytest.mark.parametrize("number", sorted(PART2))
def test_part2_lectures_assert_the_worked_examples(number):
    (stem,) = [s for s in ALL if s.startswith(number)]
    notebook = _read(stem)
    assignment, numbers = PART2[number]
    markdown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert f"assignments/{assignment}/" in markdown
    asserts = "\n".join(line for cell in notebook.cells if cell.cell_type == "code"
                        for line in cell.source.splitlines() if line.lstrip().startswith("assert"))
    for number_text in numbers:
        assert number_text in asserts, f"lecture {number} must assert {number_text}"


def test_the_recognisers_on_examples():
    good = ("## 5. Self-check\n\n1. First?\n<details><summary>Answer</summary>\n\n1. yes\n2. no\n"
            "</details>\n\n2. Second?\n   <details><summary>Answer</summary>\n\n   B\n   </details>\n\n"
            "## Next\n3. not a question")
    questions = self_check_questions(good)
    assert len(questions) == 2 and all(q.count(ANSWER) == 1 for q in questions)
    shared = "## Self-check\n\n1. A?\n2. B?\n\n<details><summary>Answer</summary>\n1. a\n2. b\n</details>"
    assert [q.count(ANSWER) for q in self_check_questions(shared)] == [0, 1]
    assert self_check_questions("## Summary\n1. item") == []
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("As the slides show, with random seeds 0-2"),
        nbformat.v4.new_code_cell("utils.seed_everything(0)  # seed 003 example\ntorch.manual_seed(1)")])
    assert [w.split(": ")[1] for w in forbidden_words(notebook)] == ["'slides'", "'seed'"]
