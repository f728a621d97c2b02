"""This process's resource figures, as TaskManagers report them in heartbeats.

Contract: :func:`process_stats` gives plain data: ``rss_bytes`` (resident memory, from
``/proc/self/status``; None where there is no /proc), ``cpu_seconds`` (user + system time of
this process), ``pid``, ``cpu_cores`` and ``physical_memory_bytes`` of the host.
"""

from __future__ import annotations

import os
from typing import Any


def process_stats() -> dict[str, Any]:
    """This process's resident memory (bytes) and CPU time (user + system seconds)."""
    rss = None
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    t = os.times()
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        memory = None
    return {"rss_bytes": rss, "cpu_seconds": t.user + t.system, "pid": os.getpid(),
            "cpu_cores": os.cpu_count(), "physical_memory_bytes": memory}
