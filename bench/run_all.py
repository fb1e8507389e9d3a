"""Run every benchmark (``make bench``) and write the figures into docs/benchmarks.md.

Each benchmark runs in its own process, one after the other (nothing else should run on the
machine meanwhile), prints its table, and leaves its figures as JSON; this script then
rewrites the measured section of ``docs/benchmarks.md`` with the date and the machine.
``bench/grading.py`` (the grading benchmark, owned by the autograder) is run when present.

    python bench/run_all.py [--skip notebooks,widgets,...] [--no-docs]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, machine_description  # noqa: E402

BENCH = REPO / "bench"
DOC = REPO / "docs" / "benchmarks.md"
BEGIN, END = "<!-- measured:begin -->", "<!-- measured:end -->"

#: name -> script and extra arguments; each accepts ``--json PATH``.
BENCHMARKS = {
    "conv": ("conv_numpy_vs_torch.py", []),
    "lenet": ("train_lenet.py", []),
    "mnist1d": ("train_mnist1d.py", []),
    "widgets": ("widget_redraw.py", []),
    "notebooks": ("notebooks.py", []),
    "grading": ("grading.py", []),
}


def run(name: str, out_dir: Path) -> dict | None:
    script, extra = BENCHMARKS[name]
    path = BENCH / script
    if not path.exists():
        print(f"== {name}: {script} not present, skipped")
        return None
    out = out_dir / f"{name}.json"
    print(f"== {name}: python bench/{script}", flush=True)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(path), *extra, "--json", str(out)], cwd=REPO,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    print(f"== {name}: {time.perf_counter() - start:.0f} s, exit {proc.returncode}\n", flush=True)
    if out.exists():
        try:
            return json.loads(out.read_text())
        except json.JSONDecodeError:
            return None
    return {"failed": f"exit status {proc.returncode}"}


def fmt(value, spec: str = ".1f", none: str = "—") -> str:
    return none if value is None else format(value, spec)


def conv_section(data: dict) -> list[str]:
    lines = [f"### NumPy reference convolutions ÷ torch ({data['threads']} thread each, float32)",
             "", f"NumPy code: the instructor solution `{data['source']}`, executed from the "
             "notebook. Targets: vectorized forward ≤ 2x, backward ≤ 4x.", "",
             "| layer shape | loop (batch) | vectorized forward | backward |",
             "|---|---|---|---|"]
    for shape, f in data["shapes"].items():
        lines.append(
            f"| {shape} | {f['loop']['ratio']:.0f}x ({f['loop']['numpy_ms']:.0f} ms vs "
            f"{f['loop']['torch_ms']:.2f} ms, batch {f['loop']['batch']}) | "
            f"**{f['forward']['ratio']:.1f}x** ({f['forward']['numpy_ms']:.2f} vs "
            f"{f['forward']['torch_ms']:.2f} ms) | **{f['backward']['ratio']:.1f}x** "
            f"({f['backward']['numpy_ms']:.2f} vs {f['backward']['torch_ms']:.2f} ms) |")
    auto = data.get("openblas_autodetected")
    if auto:
        lines += ["", f"This machine's environment sets `OPENBLAS_CORETYPE`, so NumPy's OpenBLAS "
                  f"ran its `{data['openblas_core']}` kernels above. The same run in a subprocess "
                  f"without the variable (OpenBLAS's own choice: `{auto['openblas_core']}`):", "",
                  "| layer shape | vectorized forward | backward |", "|---|---|---|"]
        for shape, f in auto["shapes"].items():
            lines.append(f"| {shape} | **{f['forward']['ratio']:.1f}x** "
                         f"({f['forward']['numpy_ms']:.2f} vs {f['forward']['torch_ms']:.2f} ms) | "
                         f"**{f['backward']['ratio']:.1f}x** ({f['backward']['numpy_ms']:.2f} vs "
                         f"{f['backward']['torch_ms']:.2f} ms) |")
    return lines + [""]


def lenet_section(data: dict) -> list[str]:
    took = data.get("seconds_to_target")
    verdict = ("meets" if took is not None and took <= 60 else "misses")
    curve = ", ".join(f"{h['epoch']}: {h['test_acc']:.1%} @ {h['seconds']:.0f} s"
                      for h in data["history"])
    return [f"### LeNet-5 on Fashion-MNIST ({data['device']}, {data['threads']} threads)", "",
            f"- seconds to 90% test accuracy: **{fmt(took)} s** (target ≤ 60 s: {verdict})",
            f"- final test accuracy after {data['epochs']} epochs: {data['final_acc']:.2%} in "
            f"{data['total_seconds']:.0f} s (data loading {data['load_seconds']:.1f} s, not "
            "counted)",
            f"- per epoch (epoch: accuracy @ time): {curve}", ""]


def mnist1d_section(data: dict) -> list[str]:
    lines = ["### MNIST-1D CNN", "", "| model | parameters | final test accuracy | best | "
             "seconds |", "|---|---|---|---|---|"]
    for name, r in data.items():
        lines.append(f"| {name} | {r['parameters']} | **{r['final_acc']:.1%}** | "
                     f"{r['best_acc']:.1%} | {r['seconds']:.1f} s |")
    verdicts = [f"{name} {'meets' if r['final_acc'] >= 0.95 and r['seconds'] <= 30 else 'misses'}"
                for name, r in data.items() if name != "paper"]
    lines += ["", f"Target ≥ 95% in ≤ 30 s on the CPU: {', '.join(verdicts)}; "
              "the paper reports 94%."]
    return lines + [""]


def widgets_section(data: dict) -> list[str]:
    lines = ["### Widget redraw per control change (no browser)", "",
             "| visualizer | render (median) | set value → rendered (median / max) | changes |",
             "|---|---|---|---|"]
    walls = []
    for name, r in data.items():
        if "skipped" in r or "failed" in r:
            lines.append(f"| {name} | {r.get('skipped') or 'FAILED: ' + r['failed']} | | |")
            continue
        if r["wall_median_ms"] is not None:
            walls.append(r["wall_median_ms"])
        lines.append(f"| {name} | {fmt(r['render_median_ms'])} ms | "
                     f"{fmt(r['wall_median_ms'])} / {fmt(r['wall_max_ms'])} ms | {r['changes']} |")
    if walls:
        walls.sort()
        median = walls[len(walls) // 2] if len(walls) % 2 else \
            (walls[len(walls) // 2 - 1] + walls[len(walls) // 2]) / 2
        lines += ["", f"Median over visualizers {median:.1f} ms, slowest {max(walls):.1f} ms "
                  f"(target ≤ 100 ms median: {'meets' if median <= 100 else 'misses'})."]
    return lines + [""]


def notebooks_section(data: dict) -> list[str]:
    lines = ["### Notebooks in a fresh kernel (nbclient, one at a time)", "",
             "| notebook | seconds | ≤ 60 s |", "|---|---|---|"]
    for rel, r in data.items():
        if r["ok"]:
            lines.append(f"| `{rel}` | {r['seconds']:.1f} | {'yes' if r['seconds'] <= 60 else '**no**'} |")
        else:
            last = r["error"].strip().splitlines()[-1][:120].replace("|", "\\|")
            lines.append(f"| `{rel}` | FAILED | {last} |")
    return lines + [""]


def browser_section() -> list[str]:
    report = REPO / "test-artifacts" / "browser-report.json"
    if not report.exists():
        return []
    data = json.loads(report.read_text())
    lines = ["### Browser suite (last run of `make test-browser`)", "",
             f"Whole suite: {data.get('suite_seconds', '—')} s, {data.get('parallel')} "
             "notebooks at a time.", "",
             "| lecture | Run All (wall) | kernel busy | widgets | key press → new picture |",
             "|---|---|---|---|---|"]
    for name, r in data.get("lectures", {}).items():
        seconds = [s for w in r.get("widgets", []) for s in w.get("seconds", [])]
        redraw = f"median {sorted(seconds)[len(seconds) // 2]:.2f} s" if seconds else "—"
        lines.append(f"| {name} | {fmt(r.get('run_all_seconds'))} s | "
                     f"{fmt(r.get('kernel_seconds'))} s | {len(r.get('widgets', []))} | {redraw} |")
    return lines + [""]


def write_docs(results: dict, stamp: str, total: float) -> None:
    body = [BEGIN, f"Measured {stamp} on {machine_description()} by `make bench` "
            f"({total:.0f} s in all).", ""]
    for name, section in (("conv", conv_section), ("lenet", lenet_section),
                          ("mnist1d", mnist1d_section), ("widgets", widgets_section),
                          ("notebooks", notebooks_section)):
        data = results.get(name)
        if data and "failed" not in data:
            body += section(data)
        elif data:
            body += [f"### {name}: FAILED ({data['failed']})", ""]
    if results.get("grading") and "failed" not in results["grading"]:
        body += ["### Grading (bench/grading.py)", "", "```",
                 json.dumps(results["grading"], indent=1)[:3000], "```", ""]
    body += browser_section() + [END]
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n\n" + BEGIN + "\n" + END + "\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(head + "\n".join(body) + tail)
    print(f"figures written into {DOC.relative_to(REPO)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", default="", help="comma-separated: " + ",".join(BENCHMARKS))
    parser.add_argument("--only", default="", help="comma-separated subset to run")
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument("--results", type=Path, help="keep each benchmark's JSON in this folder")
    parser.add_argument("--docs-only", action="store_true",
                        help="rewrite the docs from the JSON already in --results")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    only = set(filter(None, args.only.split(",")))
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"benchmarks {stamp} on {machine_description()}\n")
    results, start = {}, time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = args.results or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in BENCHMARKS:
            if name in skip or (only and name not in only):
                continue
            if args.docs_only:
                path = out_dir / f"{name}.json"
                results[name] = json.loads(path.read_text()) if path.exists() else None
            else:
                results[name] = run(name, out_dir)
    if not args.no_docs:
        write_docs({k: v for k, v in results.items() if v is not None}, stamp,
                   time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
