"""A throw-away single-node Slurm cluster on this machine, for the tests and the benchmark.

Debian's ``slurm-wlm`` and ``munge``: a munge daemon with its own key and socket, ``slurmctld``
and ``slurmd`` on 127.0.0.1 with free ports, their spool, state and logs all under one folder.
Jobs run as the user who submits them, so the daemons need root (as they do on a real cluster).
No cgroups, no accounting database: process tracking by ``/proc``.

    with LocalSlurm(folder) as slurm:
        job = slurm.sbatch(["--array=0-1", "deploy/slurm/grade.sbatch", "a1_conv1d"], env)
        slurm.wait(job)
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from devtools.ports import free_port

READY_TIMEOUT_S = 60.0
DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel")


class SlurmError(RuntimeError):
    """The local cluster cannot start or a command failed; the message holds the daemon logs."""


def missing_programs() -> list[str]:
    return [name for name in DAEMONS if shutil.which(name) is None and not Path(f"/usr/sbin/{name}").exists()]


def _program(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


class LocalSlurm:
    """Controller and one node (this machine, all its CPUs) in ``folder``; a context manager."""

    def __init__(self, folder: Path, cpus: int | None = None) -> None:
        self.folder = Path(folder)
        self.cpus = cpus or os.cpu_count() or 1
        self.node = socket.gethostname().split(".")[0]
        self.conf = self.folder / "slurm.conf"
        self.munge_socket = self.folder / "munge" / "munge.socket"
        self.processes: list[subprocess.Popen] = []

    # --- environment for clients --------------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        """What a client command needs: the configuration file (it names the munge socket)."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def logs(self) -> str:
        parts = []
        for name in ("munged.log", "slurmctld.log", "slurmd.log"):
            path = self.folder / name
            if path.exists():
                parts.append(f"--- {name} ---\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    # --- start and stop -----------------------------------------------------------------------
    def _write_conf(self) -> None:
        spool, state = self.folder / "spool", self.folder / "state"
        for folder in (spool, state):
            folder.mkdir(parents=True, exist_ok=True)
        user = "root" if os.geteuid() == 0 else os.environ.get("USER", "root")
        lines = [
            "ClusterName=cnncourse", f"SlurmctldHost={self.node}(127.0.0.1)",
            f"SlurmUser={user}", f"SlurmdUser={user}",
            f"SlurmctldPort={free_port()}", f"SlurmdPort={free_port()}",
            "AuthType=auth/munge", "CredType=cred/munge", f"AuthInfo=socket={self.munge_socket}",
            f"StateSaveLocation={state}", f"SlurmdSpoolDir={spool}",
            f"SlurmctldPidFile={self.folder / 'slurmctld.pid'}",
            f"SlurmdPidFile={self.folder / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.folder / 'slurmctld.log'}",
            f"SlurmdLogFile={self.folder / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none", "JobCompType=jobcomp/none",
            "MpiDefault=none", "ReturnToService=2", "SchedulerType=sched/builtin",
            "SelectType=select/cons_tres", "SelectTypeParameters=CR_CPU", "MinJobAge=600",
            "SlurmctldTimeout=30", "SlurmdTimeout=30", "InactiveLimit=0", "KillWait=5",
            f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} State=UNKNOWN",
            f"PartitionName=course Nodes={self.node} Default=YES MaxTime=INFINITE State=UP",
        ]
        self.conf.write_text("\n".join(lines) + "\n")

    def _start_munge(self) -> None:
        folder = self.munge_socket.parent
        folder.mkdir(parents=True, exist_ok=True)
        key = folder / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self._run([_program("munged"), "--key-file", str(key), "--socket", str(self.munge_socket),
                   "--pid-file", str(folder / "munged.pid"), "--log-file", str(self.folder / "munged.log"),
                   "--seed-file", str(folder / "munged.seed"), "--force"], "munged")
        self.until(lambda: self.munge_socket.exists(), "munged did not create its socket")

    def start(self) -> LocalSlurm:
        missing = missing_programs()
        if missing:
            raise SlurmError(f"not installed: {', '.join(missing)} (apt-get install slurm-wlm munge)")
        if os.geteuid() != 0:
            raise SlurmError("the local Slurm daemons need root: slurmd starts jobs as their user")
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_conf()
        self._start_munge()
        self.processes.append(subprocess.Popen(
            [_program("slurmctld"), "-D", "-i", "-f", str(self.conf)], env=self.env,
            stdout=subprocess.DEVNULL, stderr=(self.folder / "slurmctld.err").open("wb")))
        self.processes.append(subprocess.Popen(
            [_program("slurmd"), "-D", "-f", str(self.conf), "-N", self.node], env=self.env,
            stdout=subprocess.DEVNULL, stderr=(self.folder / "slurmd.err").open("wb")))
        self.until(self._node_idle, "the node did not become idle")
        return self

    def _node_idle(self) -> bool:
        for process in self.processes:
            if process.poll() is not None:
                raise SlurmError(f"{process.args[0]} exited with {process.returncode}\n{self.logs()}")
        done = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], env=self.env, capture_output=True, text=True)
        return done.returncode == 0 and done.stdout.strip() == "idle"

    def _run(self, command: list[str], what: str) -> str:
        done = subprocess.run(command, env=self.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SlurmError(f"{what} failed ({done.returncode}): {done.stderr.strip()}\n{self.logs()}")
        return done.stdout

    def until(self, ready, what: str, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.3)
        raise SlurmError(f"{what} within {timeout:.0f} s\n{self.logs()}")

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        pid_file = self.munge_socket.parent / "munged.pid"
        if pid_file.exists():
            subprocess.run(["kill", pid_file.read_text().strip()], capture_output=True)

    def __enter__(self) -> LocalSlurm:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- jobs -----------------------------------------------------------------------------------
    def sbatch(self, arguments: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
        """Submit; returns the job id. ``env`` is added to the job's environment (``--export``)."""
        environment = {**self.env, **(env or {})}
        done = subprocess.run(["sbatch", "--parsable", "--export=ALL", *arguments], env=environment,
                              capture_output=True, text=True, cwd=cwd)
        if done.returncode != 0:
            raise SlurmError(f"sbatch {' '.join(arguments)} failed: {done.stderr.strip()}\n{self.logs()}")
        return done.stdout.strip().split(";")[0]

    def active(self, job: str) -> list[str]:
        """``"<task id> <state>"`` of the tasks of ``job`` still pending or running."""
        done = subprocess.run(["squeue", "-h", "-r", "-j", job, "-o", "%K %T"], env=self.env,
                              capture_output=True, text=True)
        return done.stdout.split("\n")[:-1] if done.returncode == 0 else []

    def wait(self, job: str, timeout: float = 900) -> None:
        self.until(lambda: not self.active(job), f"job {job} did not finish", timeout)

    def cancel(self, job: str) -> None:
        self._run(["scancel", job], f"scancel {job}")
