"""Every lecture and solution notebook's execution time in a fresh kernel (target <= 60 s each).

Notebooks are found by glob (``lectures/*.ipynb``, ``solutions/*/*.ipynb``) and run one at a
time with ``devtools.notebooks.execute_notebook`` (nbclient, the course's kernel, the notebook's
folder as working directory), so each has the machine to itself. A notebook that fails is
reported with its error and counted as missing the target.

    python bench/notebooks.py [--only PATTERN] [--env KEY=VALUE ...] [--json out.json]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO  # noqa: E402

TARGET_S = 60.0


def discover() -> list[Path]:
    return sorted(REPO.glob("lectures/*.ipynb")) + sorted(REPO.glob("solutions/*/*.ipynb"))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="*", help="glob on the path relative to the repo")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the kernel")
    parser.add_argument("--timeout", type=int, default=600, help="per-cell timeout (s)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    from devtools.notebooks import NotebookError, execute_notebook

    env = dict(item.split("=", 1) for item in args.env)
    result = {}
    for path in discover():
        rel = str(path.relative_to(REPO))
        if not fnmatch.fnmatch(rel, args.only):
            continue
        try:
            run = execute_notebook(path, timeout=args.timeout, env=env)
            entry = {"seconds": round(run.seconds, 1), "ok": True}
        except NotebookError as err:
            entry = {"seconds": None, "ok": False, "error": str(err)[-1500:]}
        except Exception as err:  # kernel death, timeouts outside cells
            entry = {"seconds": None, "ok": False, "error": f"{type(err).__name__}: {err}"[-1500:]}
        result[rel] = entry
        if entry["ok"]:
            mark = "ok" if entry["seconds"] <= TARGET_S else "MISSES target"
            print(f"{rel:55s} {entry['seconds']:6.1f} s  {mark}", flush=True)
        else:
            print(f"{rel:55s}  FAILED: {entry['error'].splitlines()[-1][:200]}", flush=True)
        if args.json:  # after every notebook, so an interrupted run keeps its figures
            args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
