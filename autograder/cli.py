"""The instructor CLI: ``python -m autograder COMMAND`` (or ``cnn-course-grade COMMAND``).

Run from the course root (the folder with ``nbgrader_config.py``) or pass ``--root``.

  release  [ID ...]          regenerate assignments/ from solutions/ (nbgrader generate_assignment)
  collect  ID SOURCE          submissions from a <student>/<ID>/ folder or an LMS zip/folder
  grade    ID [-j N] ...      autograde the class in parallel, resumable, sandboxed
  feedback ID                 per-student HTML feedback, hidden tests redacted
  export   ID                 grades.csv, summary.csv, summary.png, canvas.csv, moodle.csv
  similarity ID               pairs of submissions ranked by similarity of their answer cells
  status   ID                 the grading status of every student
  check    NOTEBOOK           grade your own notebook locally (students, self-learners)
  kernels  [--install]        install / show the sandbox kernel

Exit status: 0 done; 1 something failed (``feedback``: files were withheld, see its output);
2 usage error; 3 (``grade``) the class was graded and some submissions were flagged (listed).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

#: ``grade``'s exit status when it graded the class but flagged submissions (not 2: argparse's)
EXIT_FLAGGED = 3

def _root(args) -> Path:
    root = Path(args.root).resolve()
    if args.command not in ("check", "kernels") and not (root / "nbgrader_config.py").exists():
        raise SystemExit(f"{root} has no nbgrader_config.py: run from the course root or "
                         "pass --root")
    return root


def cmd_release(args) -> int:
    from .course import make_api

    api, course = make_api(_root(args))
    ids = args.ids or course.assignments()
    failed = 0
    for assignment in ids:
        result = api.generate_assignment(assignment, force=True, create=True)
        print(f"{assignment}: {'released' if result['success'] else 'FAILED'}")
        if not result["success"]:
            failed += 1
            print(result.get("error") or result.get("log"), file=sys.stderr)
    return 1 if failed else 0


def cmd_collect(args) -> int:
    from .collect import collect_folder, collect_lms
    from .course import load_course

    course = load_course(_root(args))
    source = Path(args.source).resolve()
    layout_folder = source.is_dir() and any(
        (p / args.assignment).is_dir() for p in source.iterdir() if p.is_dir())
    if args.lms or not layout_folder:
        report = collect_lms(course, args.assignment, source, args.regexp)
    else:
        report = collect_folder(course, args.assignment, source)
    for student, files in sorted(report.collected.items()):
        print(f"collected {student}: {', '.join(files)}")
    for name in report.skipped_older:
        print(f"older upload ignored: {name}")
    for name in report.unmatched:
        print(f"UNMATCHED (no student found): {name}")
    print(f"{len(report.collected)} student(s) collected, {len(report.unmatched)} unmatched file(s)")
    return 0


def cmd_grade(args) -> int:
    """Exit 0: every submission graded normally; EXIT_FLAGGED: graded, some flagged (listed)."""
    import sqlalchemy

    from .grade import grade, parse_shard, shard_from_environment
    from .status import State

    try:
        shard = parse_shard(args.shard) if args.shard else shard_from_environment(os.environ)
    except ValueError as error:
        print(f"[autograder] {error}", file=sys.stderr)
        return 2
    if shard and not args.shard:
        print(f"[autograder] grading share {shard[0]}/{shard[1]} (from the job scheduler)", flush=True)
    mode = "off" if args.no_sandbox else ("bwrap" if args.require_sandbox else None)
    try:
        results = grade(_root(args), args.assignment, workers=args.jobs, students=args.student,
                        force=args.force, retry_failed=args.retry_failed,
                        cell_timeout=args.timeout, memory_mb=args.memory_mb,
                        cpu_seconds=args.cpu_seconds, wall_seconds=args.wall_seconds,
                        sandbox_mode=mode, db_url=args.db_url, shard=shard,
                        progress=not args.no_progress, prewarm=not args.fresh_kernels)
    except KeyboardInterrupt:
        return 130
    except sqlalchemy.exc.OperationalError as error:
        where = sqlalchemy.engine.make_url(args.db_url).render_as_string(hide_password=True) \
            if args.db_url else "the gradebook of nbgrader_config.py"
        print(f"[autograder] cannot reach the gradebook at {where}: {str(error.orig).strip()}. Check "
              "--db-url and that the database server runs and accepts this host. Grades already "
              "written are kept; run the same command again: what is graded is skipped.", file=sys.stderr)
        return 2
    counts: dict[str, int] = {}
    for record in results:
        counts[record.status] = counts.get(record.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to grade"
    print(f"graded {len(results)} submission(s): {summary}")
    for record in sorted(results, key=lambda r: r.student_id):
        if record.state != State.OK or args.verbose:
            print(f"  {record.student_id}: {record.status} score={record.score} "
                  f"{record.reason}")
    return EXIT_FLAGGED if any(record.state != State.OK for record in results) else 0


def cmd_feedback(args) -> int:
    from .feedback import generate

    results = generate(_root(args), args.assignment, args.student, args.db_url)
    for student, outcome in results.items():
        print(f"{student}: {outcome}")
    withheld = [s for s, outcome in results.items() if outcome.startswith("removed")]
    failed = [s for s, outcome in results.items() if outcome.startswith("feedback failed")]
    if withheld:
        print(f"[autograder] files withheld from the feedback of {len(withheld)} student(s): "
              "see above", file=sys.stderr)
    if failed:
        print(f"[autograder] no feedback for {len(failed)} student(s): see above", file=sys.stderr)
    return 1 if withheld or failed else 0


def cmd_export(args) -> int:
    from .export import export, format_summary

    lms_options = {"title": args.lms_title, "canvas_id_column": args.canvas_id_column,
                   "canvas_id": args.canvas_assignment_id, "moodle_id_field": args.moodle_id_field,
                   "per_question": args.per_question}
    result = export(_root(args), args.assignment, Path(args.out) if args.out else None,
                    args.db_url, lms_options)
    print(format_summary(result))
    print(f"\nwrote {result.grades_csv}, {result.summary_csv}, {result.plot}")
    print(f"wrote {result.canvas_csv}, {result.moodle_csv}: {len(result.lms_flagged)} flagged "
          "student(s) left out (lms_flagged.csv)")
    return 0


def cmd_similarity(args) -> int:
    from .similarity import format_top, similarity

    report = similarity(_root(args), args.assignment, Path(args.out) if args.out else None,
                        args.top, args.common)
    print(format_top(report))
    print(f"\nwrote {report.html_path}, {report.csv_path}")
    return 0


def cmd_watch(args) -> int:
    """Runs until interrupted (or ``--rounds``): collect, grade, release feedback, repeat."""
    from .watch import watch

    try:
        watch(_root(args), args.assignment, args.interval, args.db_url, args.jobs, args.rounds)
    except KeyboardInterrupt:
        return 130
    return 0


def cmd_status(args) -> int:
    from . import status
    from .course import load_course

    course = load_course(_root(args), args.db_url)
    for student, record in sorted(status.read_all(course.db_url, args.assignment).items()):
        print(f"{student:20s} {record.status:16s} {record.score!s:>6s}/{record.max_score!s:6s} "
              f"{record.reason}")
    return 0


def cmd_check(args) -> int:
    from .check import check, format_report

    repo = Path(args.repo) if args.repo else Path(args.root)
    mode, line, items = check(Path(args.notebook), args.assignment, repo, args.timeout)
    print(format_report(mode, line, items))
    return 0


def cmd_kernels(args) -> int:
    from . import sandbox

    if args.install:
        print(f"installed {sandbox.install_kernelspec(args.prefix)}")
    print(f"sandbox kernel '{sandbox.KERNEL_NAME}': "
          f"{'installed' if sandbox.kernelspec_installed() else 'NOT installed'}")
    bwrap = sandbox.bwrap_path()
    print(f"bubblewrap: {bwrap or 'not available (grading would run unsandboxed)'}")
    print(f"GPU devices: {', '.join(sandbox.gpu_devices()) or 'none'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=os.getcwd(), help="course root (default: cwd)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="regenerate assignments/ from solutions/")
    p.add_argument("ids", nargs="*", help="assignment ids (default: all in solutions/)")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("collect", help="bring submissions into autograder/submitted/")
    p.add_argument("assignment")
    p.add_argument("source", help="folder <student>/<ID>/... or an LMS zip / folder")
    p.add_argument("--lms", action="store_true", help="treat SOURCE as an LMS download")
    p.add_argument("--regexp", help="file-name regexp with student_id, timestamp, file_id groups")
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("grade", help="autograde the class in parallel")
    p.add_argument("assignment")
    p.add_argument("-j", "--jobs", type=int, default=0, help="worker processes (default: cores)")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.add_argument("--force", action="store_true", help="regrade everything")
    p.add_argument("--retry-failed", action="store_true", help="regrade failed submissions")
    p.add_argument("--timeout", type=int, default=None,
                   help="per-cell timeout in s (default: Execute.timeout of the config)")
    p.add_argument("--memory-mb", type=int, help="memory limit per submission kernel")
    p.add_argument("--cpu-seconds", type=int, help="CPU-time limit per submission kernel")
    p.add_argument("--wall-seconds", type=int, help="wall-clock limit per submission kernel")
    p.add_argument("--no-sandbox", action="store_true", help="run student code unconfined")
    p.add_argument("--require-sandbox", action="store_true", help="fail if bwrap does not work")
    p.add_argument("--fresh-kernels", action="store_true",
                   help="start a fresh sandbox and interpreter per submission instead of forking "
                        "pre-warmed kernels (slower; autograder/sandbox/zygote.py)")
    p.add_argument("--db-url", help="gradebook URL (e.g. postgresql://...), overrides config")
    p.add_argument("--shard", help="K/N: grade only the K-th of N shares (several hosts); default: "
                                   "from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX when set")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("watch", help="collect, grade and release feedback as submissions arrive")
    p.add_argument("assignment")
    p.add_argument("--interval", type=float, default=30.0, help="seconds between rounds (default 30)")
    p.add_argument("--rounds", type=int, help="stop after this many rounds (default: run until stopped)")
    p.add_argument("-j", "--jobs", type=int, default=1, help="grading workers (default 1)")
    p.add_argument("--db-url")
    p.set_defaults(func=cmd_watch)

    for name, func, text in (("feedback", cmd_feedback, "per-student HTML feedback"),
                             ("export", cmd_export, "grades CSV and summary"),
                             ("status", cmd_status, "grading status per student")):
        p = sub.add_parser(name, help=text)
        p.add_argument("assignment")
        p.add_argument("--db-url")
        if name == "feedback":
            p.add_argument("--student", action="append")
        if name == "export":
            p.add_argument("--out", help="output folder (default autograder/reports/ID)")
            p.add_argument("--lms-title", help="assignment name in the LMS files (default: ID)")
            p.add_argument("--canvas-id-column", default="SIS Login ID",
                           choices=["ID", "SIS User ID", "SIS Login ID"],
                           help="Canvas column that holds the collected student ids")
            p.add_argument("--canvas-assignment-id",
                           help="id of the Canvas assignment (column 'title (id)'); none: new one")
            p.add_argument("--moodle-id-field", default="idnumber",
                           choices=["idnumber", "email", "username"],
                           help="Moodle user field that the collected student ids are")
            p.add_argument("--per-question", action="store_true",
                           help="one more LMS column per graded item")
        p.set_defaults(func=func)

    p = sub.add_parser("similarity", help="similarity of answer cells, every pair of students")
    p.add_argument("assignment")
    p.add_argument("--out", help="output folder (default autograder/reports/ID)")
    p.add_argument("--top", type=int, default=30, help="pairs shown side by side in the HTML")
    p.add_argument("--common", type=float, default=0.1,
                   help="fingerprints in more than this share of the class (and > 2) are ignored")
    p.set_defaults(func=cmd_similarity)

    p = sub.add_parser("check", help="grade your own notebook locally")
    p.add_argument("notebook")
    p.add_argument("--assignment", help="assignment id (default: the notebook's folder name)")
    p.add_argument("--repo", help="course repository (default: --root / cwd)")
    p.add_argument("--timeout", type=int, default=60, help="per-cell timeout in s")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("kernels", help="install / show the sandbox kernel")
    p.add_argument("--install", action="store_true")
    p.add_argument("--prefix", help="install prefix (default: this Python's sys.prefix)")
    p.set_defaults(func=cmd_kernels)
    return parser


def main(argv: list[str] | None = None) -> int:
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")  # alembic
    args = build_parser().parse_args(argv)
    from .course import quiet_nbgrader_warnings

    quiet_nbgrader_warnings()
    return args.func(args)
