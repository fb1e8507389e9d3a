"""Similarity of the code students wrote in answer cells: every pair, ranked; HTML and CSV report.

Only answer cells count: code cells whose nbgrader metadata says ``solution: true``. A token
covered by a k-gram that occurs anywhere in the release's code cells (starter code, setup,
visible tests) is release code, and every k-gram holding release code is removed, so a
submission equal to the release has nothing left and scores 0. Fingerprints shared by many
submissions (more than ``common`` of the class, and more than 2) are common idiom, not copying,
and are dropped too (as MOSS does). Each cell is fingerprinted on its own, so reordering cells
changes nothing; renaming variables, comments and spacing change nothing either
(``autograder/fingerprint.py``). The score of a pair is the Dice coefficient of their
fingerprint sets, 2|A∩B| / (|A| + |B|), in [0, 1]. Everything runs locally: no code leaves
the machine.
"""

from __future__ import annotations

import csv
import html
import math
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import nbformat

from . import fingerprint as fp

COMMON_SHARE = 0.1


@dataclass
class Cell:
    """One answer cell: where it is, its source, its tokens and k-gram hashes; ``own[i]`` says
    that k-gram i holds no token of release code (only those count and are highlighted)."""

    label: str
    source: str
    tokens: list[fp.Token] = field(default_factory=list)
    hashes: list[int] = field(default_factory=list)
    own: list[bool] = field(default_factory=list)


@dataclass
class Submission:
    """A student's answer cells and their fingerprints (winnowed hashes, release removed)."""

    student: str
    cells: list[Cell]
    fingerprints: set[int] = field(default_factory=set)
    kgrams: set[int] = field(default_factory=set)


@dataclass
class Pair:
    """Two students (a < b), their score, shared fingerprints, and the share of each side's."""

    a: str
    b: str
    score: float
    shared: int
    share_a: float
    share_b: float


@dataclass
class Report:
    """Every pair, ranked; the submissions compared; the files written; the common idiom."""

    pairs: list[Pair]
    submissions: dict[str, Submission]
    html_path: Path | None = None
    csv_path: Path | None = None
    common: set[int] = field(default_factory=set)


def answer_cells(notebook: nbformat.NotebookNode, name: str) -> list[Cell]:
    """Code cells marked ``solution`` by nbgrader -> [Cell]; all code cells if none has metadata."""
    code = [c for c in notebook.cells if c.cell_type == "code"]
    if not any("nbgrader" in c.get("metadata", {}) for c in notebook.cells):
        return [Cell(f"{name} cell {i}", c.source) for i, c in enumerate(code)]
    cells = []
    for i, cell in enumerate(code):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cells.append(Cell(f"{name} {meta.get('grade_id') or f'cell {i}'}", cell.source))
    return cells


def _read(path: Path) -> nbformat.NotebookNode | None:
    """The notebook at ``path``, or None when it is missing or not a notebook."""
    try:
        return nbformat.read(path, as_version=4)
    except Exception:  # invalid JSON or not a notebook: nothing to compare
        return None


def release_kgrams(release_dir: Path, k: int = fp.K) -> set[int]:
    """Hashes of every k-gram of every code cell of the release notebooks in ``release_dir``."""
    hashes: set[int] = set()
    for path in sorted(release_dir.glob("*.ipynb")):
        notebook = _read(path)
        for cell in notebook.cells if notebook else []:
            if cell.cell_type == "code":
                hashes.update(fp.kgram_hashes(fp.normalise(cell.source), k))
    return hashes


def load_submission(student: str, folder: Path, notebooks: list[str], starter: set[int],
                    k: int = fp.K, w: int = fp.W) -> Submission:
    """A student's answer cells from ``folder/<notebook>.ipynb`` with fingerprints minus ``starter``."""
    cells: list[Cell] = []
    for name in notebooks:
        notebook = _read(folder / f"{name}.ipynb")
        if notebook is not None:
            cells.extend(answer_cells(notebook, name))
    return build_submission(student, cells, starter, k, w)


def build_submission(student: str, cells: list[Cell], starter: set[int], k: int = fp.K,
                     w: int = fp.W) -> Submission:
    """Fingerprint ``cells`` (filling their tokens, hashes, ``own``) -> the student's Submission.

    A token is release code when a k-gram of the release covers it; k-grams that hold any such
    token (e.g. the end of a given docstring and the first student line) are not the student's.
    """
    submission = Submission(student, cells)
    for cell in cells:
        cell.tokens = fp.normalise(cell.source)
        cell.hashes = fp.kgram_hashes(cell.tokens, k)
        given = [False] * len(cell.tokens)
        for i, h in enumerate(cell.hashes):
            if h in starter:
                given[i:i + k] = [True] * k
        cell.own = [not any(given[i:i + k]) for i in range(len(cell.hashes))]
        submission.kgrams.update(h for h, own in zip(cell.hashes, cell.own, strict=True) if own)
        submission.fingerprints.update(h for h, places in fp.winnow(cell.hashes, w).items()
                                       if any(cell.own[i] for i in places))
    return submission


def common_fingerprints(submissions: list[Submission], share: float = COMMON_SHARE) -> set[int]:
    """Fingerprints held by more than max(2, share * class size) submissions (common idiom)."""
    limit = max(2, math.floor(share * len(submissions)))
    counts: dict[int, int] = {}
    for submission in submissions:
        for h in submission.fingerprints:
            counts[h] = counts.get(h, 0) + 1
    return {h for h, n in counts.items() if n > limit}


def score_pair(a: set[int], b: set[int]) -> tuple[float, int]:
    """Dice coefficient 2|a∩b| / (|a| + |b|) of two fingerprint sets (0 if either is empty)."""
    if not a or not b:
        return 0.0, 0
    shared = len(a & b)
    return 2 * shared / (len(a) + len(b)), shared


def compare(submissions: dict[str, Submission], share: float = COMMON_SHARE) -> Report:
    """Every pair of ``submissions`` scored and ranked (highest score first, then by names)."""
    common = common_fingerprints(list(submissions.values()), share)
    pairs = []
    for a, b in combinations(sorted(submissions), 2):
        fa = submissions[a].fingerprints - common
        fb = submissions[b].fingerprints - common
        score, shared = score_pair(fa, fb)
        pairs.append(Pair(a, b, round(score, 4), shared, round(shared / len(fa), 4) if fa else 0.0,
                          round(shared / len(fb), 4) if fb else 0.0))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return Report(pairs, submissions, common=common)


def similarity(root: Path, assignment: str, out_dir: Path | None = None, top: int = 30,
               share: float = COMMON_SHARE) -> Report:
    """Compare the class's submissions of ``assignment``; write similarity.html and .csv."""
    from .course import load_course, safe_id

    course = load_course(Path(root))
    release = course.release / assignment
    notebooks = sorted(p.stem for p in release.glob("*.ipynb"))
    if not notebooks:
        raise SystemExit(f"no release of {assignment} in {release}: run "
                         f"`python -m autograder release {assignment}` first")
    starter = release_kgrams(release)
    submissions = {}
    for base in (course.submitted, course.autograded):
        for folder in sorted(base.glob(f"*/{assignment}")) if base.is_dir() else []:
            student = folder.parent.name
            if folder.is_dir() and safe_id(student) and student not in submissions:
                submissions[student] = load_submission(student, folder, notebooks, starter)
    report = compare(submissions, share)
    out = Path(out_dir or course.reports / assignment)
    out.mkdir(parents=True, exist_ok=True)
    report.csv_path = write_csv(report, out / "similarity.csv")
    report.html_path = write_html(report, assignment, out / "similarity.html", top)
    return report


def write_csv(report: Report, path: Path) -> Path:
    """One row per pair, ranked: rank, students, score, shared fingerprints, each side's share."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rank", "student_a", "student_b", "score", "shared_fingerprints",
                         "share_of_a", "share_of_b", "fingerprints_a", "fingerprints_b"])
        for rank, p in enumerate(report.pairs, 1):
            sizes = [len(report.submissions[s].fingerprints - report.common) for s in (p.a, p.b)]
            writer.writerow([rank, p.a, p.b, f"{p.score:.4f}", p.shared, f"{p.share_a:.4f}",
                             f"{p.share_b:.4f}", *sizes])
    return path


def marked_lines(cell: Cell, other: set[int], excluded: set[int], k: int = fp.K) -> list[list[tuple]]:
    """Per source line, the (start, end) character spans covered by a k-gram also in ``other``.

    cell: an answer cell with tokens, hashes and ``own``; other: the other side's k-gram hashes;
    excluded: hashes never highlighted (common idiom); k-grams with release code never are.
    -> one list of spans per line.
    """
    lines = cell.source.split("\n")
    spans: list[list[tuple]] = [[] for _ in lines]
    covered = [False] * len(cell.tokens)
    for i, h in enumerate(cell.hashes):
        if cell.own[i] and h in other and h not in excluded:
            covered[i:i + k] = [True] * k
    for token, hit in zip(cell.tokens, covered, strict=False):
        if not hit:
            continue
        for line in range(token.line, token.end_line + 1):
            if 0 < line <= len(lines):
                start = token.start if line == token.line else 0
                end = token.end if line == token.end_line else len(lines[line - 1])
                spans[line - 1].append((start, end))
    return spans


def render_line(text: str, spans: list[tuple]) -> str:
    """One source line as HTML: escaped, with ``spans`` (merged) wrapped in <mark>."""
    out, position = [], 0
    for start, end in sorted(spans):
        start = max(start, position)
        if end <= start:
            continue
        out.append(html.escape(text[position:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        position = end
    out.append(html.escape(text[position:]))
    return "".join(out)


def _side(submission: Submission, other: Submission, excluded: set[int]) -> str:
    """HTML of one side of a pair: each answer cell, escaped, code ``other`` also has marked."""
    parts = [f"<h4>{html.escape(submission.student)}</h4>"]
    for cell in submission.cells:
        spans = marked_lines(cell, other.kgrams, excluded)
        body = "\n".join(render_line(line, s) for line, s in zip(cell.source.split("\n"), spans,
                                                                  strict=True))
        parts.append(f"<div class='cell'><div class='label'>{html.escape(cell.label)}</div>"
                     f"<pre>{body}</pre></div>")
    return "".join(parts)


STYLE = """body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}.pair{display:flex;gap:1em}
.pair>div{flex:1;min-width:0}pre{background:#f7f7f7;padding:6px;overflow-x:auto;margin:0}
mark{background:#ffd54f}.label{font-size:small;color:#555;margin-top:6px}"""


def write_html(report: Report, assignment: str, path: Path, top: int) -> Path:
    """The ranked table of all pairs, then the ``top`` pairs side by side with matches marked.

    Every piece of student text is HTML-escaped, and the page's Content-Security-Policy forbids
    scripts, so code in a submission is shown, never run.
    """
    excluded = report.common
    rows = []
    for rank, p in enumerate(report.pairs, 1):
        name = (f"<a href='#pair{rank}'>{html.escape(p.a)} / {html.escape(p.b)}</a>"
                if rank <= top else f"{html.escape(p.a)} / {html.escape(p.b)}")
        rows.append(f"<tr><td>{rank}</td><td>{name}</td><td>{p.score:.3f}</td>"
                    f"<td>{p.share_a:.0%}</td><td>{p.share_b:.0%}</td></tr>")
    details = []
    for rank, p in enumerate(report.pairs[:top], 1):
        a, b = report.submissions[p.a], report.submissions[p.b]
        details.append(f"<h3 id='pair{rank}'>#{rank}: {html.escape(p.a)} / {html.escape(p.b)}, "
                       f"score {p.score:.3f}</h3><div class='pair'><div>{_side(a, b, excluded)}"
                       f"</div><div>{_side(b, a, excluded)}</div></div>")
    title = f"Similarity of answer cells: {html.escape(assignment)}"
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">"
        f"<title>{title}</title><style>{STYLE}</style></head><body><h1>{title}</h1>"
        f"<p>{len(report.submissions)} submissions, {len(report.pairs)} pairs. Score: Dice "
        "coefficient of the winnowed fingerprints of answer cells (release code and idiom common "
        "to many submissions removed), 0 = nothing shared, 1 = same code up to names, comments, "
        "spacing and cell order. Highlighted: code the other side also has. A high score is a "
        "reason to look, not a verdict.</p>"
        "<table><tr><th>rank</th><th>pair</th><th>score</th><th>share of first</th>"
        f"<th>share of second</th></tr>{''.join(rows)}</table>{''.join(details)}</body></html>")
    path.write_text(page, encoding="utf-8")
    return path


def format_top(report: Report, n: int = 10) -> str:
    """The ``n`` highest-scoring pairs as text lines (printed by the CLI)."""
    lines = [f"{'rank':>4s}  {'score':>6s}  pair"]
    for rank, p in enumerate(report.pairs[:n], 1):
        lines.append(f"{rank:4d}  {p.score:6.3f}  {p.a} / {p.b}")
    return "\n".join(lines)
