"""CPU time of another process, by pid, without psutil.

Read from the process's CPU-time clock (clock_getcpuclockid, nanoseconds) where the C
library offers it, else from /proc/<pid>/stat (clock ticks, 10 ms: too coarse for a
phase of a few hundred milliseconds, fine for a whole run).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import time

__all__ = ["cpu_clock", "cpu_seconds"]


def cpu_clock(pid: int) -> int | None:
    """The id of ``pid``'s CPU-time clock (clock_getcpuclockid), or None if unavailable."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    clock = ctypes.c_int()
    try:
        failed = ctypes.CDLL(name).clock_getcpuclockid(pid, ctypes.byref(clock))
    except (OSError, AttributeError):
        return None
    return None if failed else clock.value


def cpu_seconds(pid: int) -> float:
    """CPU seconds ``pid`` has used, all its threads (ended ones too); 0.0 once it is gone."""
    clock = cpu_clock(pid)
    if clock is not None:
        try:
            return time.clock_gettime(clock)
        except OSError:
            pass
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are fields 14 and 15 of stat(5); after the ")" they are 12 and 13.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
