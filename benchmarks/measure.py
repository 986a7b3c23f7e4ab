"""Run one command on a file of input and measure that process alone."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
import typing as t

if t.TYPE_CHECKING:
    from pathlib import Path

# ru_maxrss is in kilobytes on Linux and in bytes on macOS.
_MAXRSS_PER_MB = 2**20 if sys.platform == "darwin" else 2**10


@dataclasses.dataclass(frozen=True)
class Usage:
    """What one finished process cost."""

    cpu_seconds: float  # user + sys
    wall_seconds: float
    max_rss_mb: float
    returncode: int


def run_measured(command: list[str], stdin: Path, stdout: Path, stderr: Path) -> Usage:
    """Run ``command`` reading ``stdin``, and return the CPU, wall time and peak RSS.

    ``os.wait4`` reports the resource usage of exactly this child, where
    ``RUSAGE_CHILDREN``'s ru_maxrss is a high-water mark over every child this
    process ever had, so one big run would hide a smaller one after it.

    Args:
        command: The program and its arguments.
        stdin: File fed to its standard input.
        stdout: File that receives its standard output.
        stderr: File that receives its standard error.

    Returns:
        Its usage, whatever its exit status.
    """
    with stdin.open("rb") as fin, stdout.open("wb") as fout, stderr.open("wb") as ferr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdin=fin, stdout=fout, stderr=ferr)  # noqa: S603
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return Usage(
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        wall_seconds=wall,
        max_rss_mb=usage.ru_maxrss / _MAXRSS_PER_MB,
        returncode=process.returncode,
    )
