"""The similarity report's pure parts: normalised tokens, winnowing, scores, the ranking of a
class with planted copies, and the HTML (student code is hostile: always escaped)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import similarity_class as sc
import torch
import torch.nn.functional as F

from autograder import fingerprint as fp
from autograder import similarity as sim

ORIGINAL = """\
def smooth(signal, width=3):
    # moving average, edges padded with zeros
    kernel = np.ones(width) / width
    padded = np.pad(signal, width // 2)
    return np.array([padded[i:i + width] @ kernel for i in range(len(signal))])
"""
DISGUISED = """\
def smooth(signal, width=3):
    taps = np.ones(width)/width     # renamed, respaced, another comment


    z = np.pad(signal,   width//2)
    return np.array([z[j:j+width]@taps for j in range(len(signal))])
"""


def texts(source: str) -> list[str]:
    """The normalised token texts of ``source``."""
    return [t.text for t in fp.normalise(source)]


def test_renamed_variables_comments_and_spacing_give_the_same_tokens():
    assert texts(ORIGINAL) == texts(DISGUISED)
    assert texts(ORIGINAL).count("V") >= 10, "identifiers the student chose become V"
    assert "pad" in texts(ORIGINAL) and "range" in texts(ORIGINAL), "attributes and builtins are kept"


def test_another_library_call_or_literal_kind_changes_the_tokens():
    assert texts("y = np.pad(x, 1)") != texts("y = np.zeros(x, 1)"), "attribute names are kept"
    assert texts("y = f(1)") == texts("q = g(2.5e3)"), "numbers are N"
    assert texts("y = f('a')") == texts('y = f(f"{x} b")'), "strings, f-strings included, are S"
    assert texts("y = f('a')") != texts("y = f(1)")


def test_magics_and_broken_code_do_not_raise():
    assert texts("%timeit f(x)\n!pip install torch\ny = 1") == texts("y = 1")
    partial = texts("y = f(1)\nz = (")
    assert partial[:6] == ["V", "=", "V", "(", "N", ")"], "tokens before the error are kept"


def test_kgrams_and_winnowing_basics():
    tokens = fp.normalise("a = b + c * d - e / f ** g")
    hashes = fp.kgram_hashes(tokens, k=4)
    assert len(hashes) == len(tokens) - 4 + 1
    assert fp.kgram_hashes(tokens, k=len(tokens) + 1) == []
    assert hashes == fp.kgram_hashes(fp.normalise("x = y + z * u - v / w ** q"), k=4)
    assert fp.winnow([]) == {}
    selected = fp.winnow([5, 3, 9, 3, 7, 8, 1], w=3)
    assert selected == {3: [1, 3], 1: [6]}, "rightmost minimum of each window, each position once"


def test_winnowing_guarantee_and_noise_threshold():
    """A shared run of k + w - 1 tokens always shares a fingerprint; nothing under k ever does."""
    rng = random.Random(0)
    k, w = fp.K, fp.W

    def stream(n: int) -> list[fp.Token]:
        """``n`` random, almost surely distinct tokens."""
        return [fp.Token(f"t{rng.randrange(10**9)}", 1, i, 1, i + 1) for i in range(n)]

    for trial in range(50):
        common = stream(k + w - 1)
        a = stream(rng.randrange(0, 40)) + common + stream(rng.randrange(0, 40))
        b = stream(rng.randrange(0, 40)) + common + stream(rng.randrange(0, 40))
        fa = set(fp.winnow(fp.kgram_hashes(a, k), w))
        fb = set(fp.winnow(fp.kgram_hashes(b, k), w))
        assert fa & fb, f"trial {trial}: a shared run of k+w-1 tokens was missed"
        short = common[:k - 1]
        c = stream(30) + short + stream(30)
        assert not set(fp.kgram_hashes(a, k)) & set(fp.kgram_hashes(c, k)), "run shorter than k matched"


def test_score_and_common_fingerprints():
    assert sim.score_pair(set(), {1, 2}) == (0.0, 0)
    assert sim.score_pair({1, 2, 3, 4}, {3, 4, 5, 6}) == (0.5, 2)
    assert sim.score_pair({1, 2}, {1, 2}) == (1.0, 2)
    subs = [sim.Submission(f"s{i}", [], fingerprints=set(f)) for i, f in
            enumerate([{1, 2}, {1, 2}, {1, 3}, {4}])]
    assert sim.common_fingerprints(subs, share=0.1) == {1}, "in 3 of 4 (> 2): common; 2 in 2: not"
    assert sim.common_fingerprints(subs, share=1.0) == set()


def run_answers(notebook: nbformat.NotebookNode) -> dict:
    """Execute the setup and answer cells of an a1_conv1d notebook -> its namespace."""
    namespace: dict = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and not meta.get("grade"):
            exec(cell.source, namespace)
    return namespace


@pytest.mark.parametrize("student", [s for s in sc.STUDENTS if s != "release_copy"])
def test_every_solution_of_the_class_is_correct(student):
    """The independent solutions (and their copies) are correct: torch is the oracle."""
    ns = run_answers(sc.submission(student))
    rng = np.random.default_rng(1)
    for length, k, stride, padding, dilation in [(10, 3, 1, 0, 1), (13, 4, 2, 3, 2), (9, 3, 2, 5, 1)]:
        x, w = rng.standard_normal(length), rng.standard_normal(k)
        args = (stride, padding, dilation)
        ref = F.conv1d(torch.tensor(x)[None, None], torch.tensor(w)[None, None], stride=stride,
                       padding=padding, dilation=dilation)[0, 0].numpy()
        assert ns["conv_output_length"](length, k, *args) == len(ref)
        np.testing.assert_allclose(ns["corr1d"](x, w, *args), ref, atol=1e-12)
        np.testing.assert_allclose(ns["conv1d_matrix"](length, w, *args) @ x, ref, atol=1e-12)
        flipped = F.conv1d(torch.tensor(x)[None, None], torch.tensor(w[::-1].copy())[None, None],
                           padding=padding)[0, 0].numpy()
        np.testing.assert_allclose(ns["convolve1d"](x, w, padding), flipped, atol=1e-12)
        xs, ws, bias = (rng.standard_normal((2, 3, length)), rng.standard_normal((4, 3, k)),
                        rng.standard_normal(4))
        layer = F.conv1d(torch.tensor(xs), torch.tensor(ws), torch.tensor(bias), stride=stride,
                         padding=padding, dilation=dilation).numpy()
        np.testing.assert_allclose(ns["conv1d_layer"](xs, ws, bias, *args), layer, atol=1e-12)


def class_report(tmp_path: Path, share: float) -> sim.Report:
    """The class of tests/similarity_class.py written to ``tmp_path`` and compared."""
    sc.write_class(tmp_path)
    starter = sim.release_kgrams(sc.RELEASE.parent)
    subs = {s: sim.load_submission(s, tmp_path / s / "a1_conv1d", ["conv1d"], starter)
            for s in sc.STUDENTS}
    return sim.compare(subs, share)


@pytest.mark.parametrize("share", [sim.COMMON_SHARE, 1.0])
def test_planted_copies_rank_above_every_independent_pair(tmp_path, share):
    """With the common-idiom filter (default) and without it (share 1.0: nothing is common)."""
    report = class_report(tmp_path, share)
    planted = [p for p in report.pairs if (p.a, p.b) in sc.PLANTED]
    independent = [p for p in report.pairs if (p.a, p.b) not in sc.PLANTED]
    assert len(planted) == 3 and len(independent) == 25
    assert min(p.score for p in planted) > max(p.score for p in independent), report.pairs[:6]
    assert [(p.a, p.b) for p in report.pairs[:3]] == sorted(sc.PLANTED)
    assert min(p.score for p in planted) >= 0.9, "renames, reordering, comments, spacing: same code"
    assert max(p.score for p in independent) <= 0.3, "independent solutions share little"


def test_release_copy_scores_zero_against_everyone(tmp_path):
    report = class_report(tmp_path, 1.0)
    assert report.submissions["release_copy"].fingerprints == set(), "all of it is release code"
    theirs = [p for p in report.pairs if "release_copy" in (p.a, p.b)]
    assert len(theirs) == 7 and all(p.score == 0 and p.shared == 0 for p in theirs)


def test_answer_cells_skip_tests_and_fall_back_without_metadata():
    notebook = sc.submission("ana")
    labels = [c.label for c in sim.answer_cells(notebook, "conv1d")]
    assert labels == [f"conv1d {f}" for f in sc.FUNCTIONS]
    stripped = sc.submission("ana")
    for cell in stripped.cells:
        cell.metadata = {}
    code = [c for c in stripped.cells if c.cell_type == "code"]
    assert len(sim.answer_cells(stripped, "conv1d")) == len(code), "no metadata: every code cell"


HOSTILE = "def f(x):\n    s = '</pre><script>alert(1)</script>'  # <b>bold</b> & co\n    return s\n"


def test_render_line_escapes_and_marks():
    line = "y = a < b and '<script>'"
    html = sim.render_line(line, [(4, 9), (0, 1)])
    assert html == "<mark>y</mark> = <mark>a &lt; b</mark> and &#x27;&lt;script&gt;&#x27;"
    assert sim.render_line("<i>", []) == "&lt;i&gt;"


def test_html_report_escapes_student_code_and_highlights_matches(tmp_path):
    cells = [sim.Cell("nb f", HOSTILE), sim.Cell("nb g", "def g(v):\n    return v * 2 + 1\n")]
    subs = {student: sim.build_submission(student, [sim.Cell(c.label, c.source) for c in cells], set())
            for student in ("mal", "lory")}
    report = sim.compare(subs, 1.0)
    page = sim.write_html(report, "a<x>", tmp_path / "r.html", 5).read_text()
    assert "<script" not in page.lower() and "&lt;script&gt;" in page
    assert "<b>" not in page and "&lt;b&gt;bold&lt;/b&gt; &amp; co" in page
    assert "a&lt;x&gt;" in page and "Content-Security-Policy" in page
    assert page.count("<mark>") >= 4, "the shared code is highlighted on both sides"
    assert len(re.findall(r"<pre>", page)) == 4, "both cells of both sides"
    csv_text = sim.write_csv(report, tmp_path / "r.csv").read_text().splitlines()
    assert csv_text[0].startswith("rank,student_a,student_b,score")
    assert csv_text[1].startswith("1,lory,mal,1.0000")


STARTER = 'def f(x, scale=2):\n    """Return x scaled and shifted (an array of the same shape)."""\n'


def test_release_code_next_to_student_code_neither_counts_nor_is_marked():
    """k-grams that straddle the given signature/docstring and the answer are not the student's."""
    release = STARTER + "    # YOUR CODE HERE\n    raise NotImplementedError()"
    starter = set(fp.kgram_hashes(fp.normalise(release)))
    bodies = {"a": "    return x * scale + 1.0 - x.mean()\n",
              "b": "    y = [v for v in x]\n    return sorted(y)\n",
              "c": "    return x * scale + 1.0 - x.mean()\n"}
    subs = {s: sim.build_submission(s, [sim.Cell("nb f", STARTER + body)], starter)
            for s, body in bodies.items()}
    report = sim.compare(subs, 1.0)
    scores = {(p.a, p.b): p.score for p in report.pairs}
    assert scores == {("a", "c"): 1.0, ("a", "b"): 0.0, ("b", "c"): 0.0}
    spans = sim.marked_lines(subs["a"].cells[0], subs["c"].kgrams, set())
    assert spans[0] == [] and spans[1] == [], "signature and docstring are release code: unmarked"
    assert spans[2], "the answer line both wrote is marked"
    assert not any(sim.marked_lines(subs["a"].cells[0], subs["b"].kgrams, set()))


def test_functions_reordered_inside_one_cell_still_match():
    """Two functions in one answer cell, swapped and renamed: only the k-grams across the seam differ."""
    first = "def corr1d(x, w, stride=1, padding=0, dilation=1):\n" + sc.BODIES["ana"]["corr1d"] + "\n"
    second = ("def matrix(length, w, stride=1, padding=0, dilation=1):\n"
              + sc.BODIES["ana"]["conv1d_matrix"] + "\n")
    swapped = second.replace("rows", "r_idx").replace("n_out", "count") + "\n\n" + first
    subs = {s: sim.build_submission(s, [sim.Cell("nb cell", source)], set())
            for s, source in (("a", first + second), ("b", swapped))}
    score = sim.compare(subs, 1.0).pairs[0].score
    assert score >= 0.8, score
