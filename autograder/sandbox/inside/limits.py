"""Resource limits and process controls of a student's kernel: each rule written once.

Used on the host by the sandbox launcher (``preexec_fn`` of a fresh kernel) and in the sandbox by
the zygote (in the forked kernel). Standard library only.
"""

import resource
import signal

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 1, 4, 36
FILE_SIZE_LIMIT = 512 << 20


def prctl(option: int, value: int) -> None:
    """Linux ``prctl(option, value)``; a no-op where it does not exist."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def die_with_parent() -> None:
    """SIGKILL this process when its parent dies (``PR_SET_PDEATHSIG``)."""
    prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))


def apply_kernel_limits(memory_mb: int, cpu_s: int, data_limit: bool) -> None:
    """Limit this process (a kernel about to start): memory, CPU time, file size, no core dumps.

    ``data_limit``: limit ``RLIMIT_DATA`` instead of ``RLIMIT_AS`` (CUDA reserves huge address
    ranges, so a GPU kernel cannot live under an address-space limit). 0 means no limit.
    """
    if memory_mb > 0:
        memory = memory_mb << 20
        kind = resource.RLIMIT_DATA if data_limit else resource.RLIMIT_AS
        resource.setrlimit(kind, (memory, memory))
    if cpu_s > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
