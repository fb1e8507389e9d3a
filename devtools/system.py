"""The system parts the course needs beyond Python, found or installed before the long work.

``python3 devtools/system.py test``  every part the test suite needs, except those named in
                                     ``$SKIP`` (e.g. ``SKIP=browser,postgres``); exits 1, before
                                     anything long runs, with the one command to run when a part
                                     is missing and cannot be installed from here.
``python3 devtools/system.py lab``   the parts JupyterLab users benefit from; never fails, says
                                     which optional parts are off and what that means.

On Debian and Ubuntu a missing part is installed with ``apt-get`` when this process may (it is
root, or ``sudo -n`` works), after ``apt-get update`` when the package lists are over a day old.
When everything is there it prints nothing. Standard library only: it runs before the venv exists.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

FASHION_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                       "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
APT_LISTS = Path("/var/lib/apt/lists")
STALE_AFTER_S = 24 * 3600


def fashion_mnist_found() -> bool:
    """Fashion-MNIST in one of the folders ``utils.data`` searches (gzipped or not)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cnn-course"
    folders = [cache / "fashion-mnist", cache, Path("/usr/share/datasets/fashion-mnist")]
    if os.environ.get("CNN_COURSE_DATA"):
        data = Path(os.environ["CNN_COURSE_DATA"])
        folders[:0] = [data / "fashion-mnist", data]
    return any(all((folder / name).exists() or (folder / f"{name}.gz").exists()
                   for name in FASHION_MNIST_FILES) for folder in folders)


def bubblewrap_works() -> bool:
    """``bwrap`` is installed and can make a namespace here (containers may forbid it)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False
    probe = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all", "true"]
    return subprocess.run(probe, capture_output=True).returncode == 0


def chromium_found() -> bool:
    return Path(os.environ.get("CNN_COURSE_CHROMIUM", "/usr/bin/chromium")).exists()


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server's bin folder (Debian installs it per major version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def slurm_found() -> bool:
    """Debian's Slurm daemons and client commands, and munge (``devtools/slurm.py`` runs them)."""
    return all(shutil.which(name) or Path("/usr/sbin", name).exists()
               for name in ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel"))


@dataclass(frozen=True)
class Part:
    """One system part: how to find it, Debian's package for it, what is off without it."""

    name: str
    package: str  # Debian packages, separated by spaces
    present: Callable[[], bool]
    without: str  # what does not work without it, in words


PARTS = (
    Part("data", "dataset-fashion-mnist", fashion_mnist_found,
         "Fashion-MNIST is downloaded (about 30 MB) the first time a lecture needs it"),
    Part("sandbox", "bubblewrap", bubblewrap_works,
         "the grader cannot sandbox student code (`autograder grade --require-sandbox` refuses)"),
    Part("browser", "chromium", chromium_found, "the browser tests cannot run"),
    Part("postgres", "postgresql", lambda: postgres_bin() is not None,
         "the PostgreSQL gradebook test cannot run"),
    Part("slurm", "slurm-wlm munge", slurm_found, "the Slurm job-array grading test cannot run"),
    Part("hub", "node-configurable-http-proxy", lambda: shutil.which("configurable-http-proxy") is not None,
         "the JupyterHub test cannot run (and a Hub cannot start here)"),
)
#: the parts each command needs; the lab needs none of them, it benefits from two
NEEDED = {"test": ("data", "sandbox", "browser", "postgres", "slurm", "hub"), "lab": ()}
WANTED = {"test": NEEDED["test"], "lab": ("data", "sandbox")}


def skipped_parts() -> set[str]:
    """Parts the user asked to leave out: ``SKIP=browser,postgres`` (commas or spaces)."""
    names = set(os.environ.get("SKIP", "").replace(",", " ").split())
    unknown = names - {part.name for part in PARTS} - {"data"}
    if unknown:
        sys.exit(f"SKIP names unknown parts {sorted(unknown)}; known: "
                 f"{', '.join(p.name for p in PARTS if p.name != 'data')}")
    if "data" in names:
        sys.exit("SKIP=data is not possible: lectures and assignments need Fashion-MNIST")
    return names


def privilege_prefix() -> list[str] | None:
    """``[]`` as root, ``["sudo", "-n"]`` when sudo works without a password, else None."""
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n"]
    return None


def lists_are_stale() -> bool:
    lists = glob.glob(str(APT_LISTS / "*Packages*"))
    return not lists or time.time() - max(os.path.getmtime(p) for p in lists) > STALE_AFTER_S


def apt_install(packages: list[str], prefix: list[str]) -> bool:
    """Install Debian packages quietly; True when apt-get succeeded."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"installing Debian packages: {' '.join(packages)}", flush=True)
    if lists_are_stale():
        subprocess.run([*prefix, "apt-get", "update", "-qq"], env=env, check=False)
    done = subprocess.run([*prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends",
                           *packages], env=env, stdout=subprocess.DEVNULL)
    return done.returncode == 0


def ensure(mode: str) -> int:
    """Find or install the parts ``mode`` wants; report and return the exit status."""
    skipped = skipped_parts() if mode == "test" else set()
    wanted = [p for p in PARTS if p.name in WANTED[mode] and p.name not in skipped]
    missing = [p for p in wanted if not p.present()]
    if missing and shutil.which("apt-get"):
        prefix = privilege_prefix()
        if prefix is not None and apt_install([name for p in missing for name in p.package.split()], prefix):
            missing = [p for p in missing if not p.present()]
    needed_missing = [p for p in missing if p.name in NEEDED[mode]]
    for part in missing:
        if part.name not in NEEDED[mode]:
            print(f"note: {part.name} is off ({part.package} not installed): {part.without}.")
    if not needed_missing:
        return 0
    print(f"missing: {', '.join(p.name for p in needed_missing)}.", file=sys.stderr)
    if shutil.which("apt-get"):
        broken = [p for p in needed_missing if subprocess.run(
            ["dpkg", "-s", *p.package.split()], capture_output=True).returncode == 0]
        for part in broken:
            print(f"  {part.package} is installed but {part.name} does not work here "
                  f"({part.without}).", file=sys.stderr)
        to_install = " ".join(p.package for p in needed_missing if p not in broken)
        if to_install:
            print(f"run:  sudo apt-get install -y {to_install}", file=sys.stderr)
    else:
        print("install the equivalents of Debian's "
              f"{' '.join(p.package for p in needed_missing)} for your system.", file=sys.stderr)
    skippable = [p.name for p in needed_missing if p.name != "data"]
    if skippable:
        print(f"or leave them out:  make test SKIP={','.join(skippable)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in NEEDED:
        sys.exit("usage: python3 devtools/system.py {test|lab}")
    sys.exit(ensure(sys.argv[1]))
