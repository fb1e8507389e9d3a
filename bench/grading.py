"""Benchmark: grade N synthetic submissions of a small torch assignment.

Compares, in the same run and on the same course copy, stock serial ``nbgrader autograde``
(one call for the class, the course config, notebook kernel) with ``python -m autograder grade``
at 1, 2 and all cores (sandbox kernel, pre-warmed kernels forked by a zygote per worker), and at
all cores with a fresh sandbox and interpreter per submission (``--fresh-kernels``) and without
the sandbox (``--no-sandbox``). Prints submissions per minute and the ratio to stock.
With ``--slurm`` (root, Debian's slurm-wlm, munge and postgresql), two more rows side by side,
each into a fresh PostgreSQL gradebook: ``grade -j 2`` and the same class graded by
``deploy/slurm/grade.sbatch`` as a 2-task job array (one core per task) on a local single-node
Slurm; their ratio is the array's overhead (submission, scheduling, two zygotes, uneven shares).
Not a test: figures depend on the machine and its load (quoted in docs/grading.md). Every run
must give every submission full marks (the checks in tests/fixtures_grading.py, decided outside
the kernel), or the benchmark stops: a fast run that graded nothing is no figure.

    .venv/bin/python bench/grading.py [N] [--slurm]          (default N = 24)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "grading")]

from fixtures_grading import TORCH_CORRECT, answer, make_course, put, release  # noqa: E402


def _fresh_class(base: Path, n: int) -> Path:
    root = make_course(base, assignments=("torch_demo",))
    notebook = answer(release(root, "torch_demo"), {"smooth": TORCH_CORRECT})
    for i in range(n):
        put(root, f"student{i:03d}", notebook, name="torch_demo", assignment="torch_demo")
    return root


def _full_marks(root: Path, n: int, db_url: str | None = None) -> None:
    """Stop unless all ``n`` submissions scored the 3 points of torch_demo."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url or f"sqlite:///{root / 'autograder' / 'gradebook.db'}") as gradebook:
        scores = [gradebook.find_submission("torch_demo", f"student{i:03d}").score
                  for i in range(n)]
    if scores != [3.0] * n:
        raise SystemExit(f"{root}: not every submission got 3 points: {scores}")


def _timed(cmd: list[str], root: Path, env: dict) -> float:
    started = time.perf_counter()
    result = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stdout[-2000:]}{result.stderr[-4000:]}")
    return time.perf_counter() - started


def _slurm_rows(scratch: Path, n: int, env: dict) -> dict[str, float]:
    """``grade -j 2`` and a 2-task Slurm array, each into a fresh PostgreSQL gradebook."""
    from autograder.grade import in_shard
    from devtools.postgres import LocalPostgres
    from devtools.slurm import LocalSlurm

    shares = [sum(in_shard(f"student{i:03d}", (k, 2)) for i in range(n)) for k in (1, 2)]
    results = {}
    with LocalSlurm(scratch / "slurm") as slurm:
        array = f"Slurm array of 2 tasks ({shares[0]}+{shares[1]}), PostgreSQL"
        for label in ("grade -j 2, PostgreSQL", array):
            base = scratch / ("array" if label.startswith("Slurm") else "j2")
            base.mkdir()
            root = _fresh_class(base, n)
            with LocalPostgres() as url:
                if label.startswith("Slurm"):
                    started = time.perf_counter()
                    job = slurm.sbatch(
                        ["--array=0-1", "--cpus-per-task=1", f"--output={base}/task-%a.log",
                         str(REPO / "deploy" / "slurm" / "grade.sbatch"), "torch_demo"],
                        {"COURSE_ROOT": str(root), "GRADEBOOK_URL": url, "COURSE_PYTHON": sys.executable})
                    slurm.wait(job, timeout=3600)
                    seconds = time.perf_counter() - started
                else:
                    seconds = _timed([sys.executable, "-m", "autograder", "grade", "torch_demo", "-j", "2",
                                      "--db-url", url, "--no-progress"], root, env)
                _full_marks(root, n, url)
            results[label] = seconds
            print(f"{label:40s} {n} submissions in {seconds:6.1f} s = "
                  f"{60 * n / seconds:5.1f} submissions/min", flush=True)
    first, second = results.values()
    print(f"  the array takes x{second / first:4.2f} the time of grade -j 2 (same run)")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=24, help="submissions in the class")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--slurm", action="store_true",
                        help="also grade the class as a 2-task Slurm job array (needs root, slurm-wlm)")
    args = parser.parse_args()
    n = args.n
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    cores = os.cpu_count() or 1
    runs = [("stock nbgrader autograde (serial)", None)]
    runs += [(f"autograder grade -j {j}", j) for j in sorted({1, 2, cores})]
    runs += [(f"autograder grade -j {cores} --fresh-kernels", (cores, "--fresh-kernels")),
             (f"autograder grade -j {cores} --no-sandbox", (cores, "--no-sandbox"))]
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        for label, jobs in runs:
            base = Path(scratch) / label.replace(" ", "_").replace("(", "").replace(")", "")
            base.mkdir()
            root = _fresh_class(base, n)
            if jobs is None:
                stock_env = {**env, "CNN_SANDBOX_MODE": "off"}  # stock: notebook's own kernel
                cmd = [sys.executable, "-m", "nbgrader", "autograde", "torch_demo"]
                seconds = _timed(cmd, root, stock_env)
            else:
                count, *flags = jobs if isinstance(jobs, tuple) else (jobs,)
                cmd = [sys.executable, "-m", "autograder", "grade", "torch_demo", "-j",
                       str(count), "--no-progress", *flags]
                seconds = _timed(cmd, root, env)
            _full_marks(root, n)
            results[label] = seconds
            print(f"{label:40s} {n} submissions in {seconds:6.1f} s = "
                  f"{60 * n / seconds:5.1f} submissions/min", flush=True)
            shutil.rmtree(base, ignore_errors=True)
        if args.slurm:
            results.update(_slurm_rows(Path(scratch), n, env))
    stock = results[runs[0][0]]
    print("\nspeed-up against stock nbgrader (same run):")
    for label, seconds in results.items():
        print(f"  {label:40s} x{stock / seconds:4.2f}")
    if args.json:
        args.json.write_text(json.dumps({
            "submissions": n,
            "runs": {label: {"seconds": round(seconds, 1), "per_min": round(60 * n / seconds, 1),
                             "speedup_vs_stock": round(stock / seconds, 2)}
                     for label, seconds in results.items()}}, indent=1))


if __name__ == "__main__":
    main()
