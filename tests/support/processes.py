"""A process's children and their memory from /proc (Linux), for tests and benchmarks that watch what the app starts.
A child started from a thread other than the main one (the PDF printer's Chromium, the upload worker) is listed
under that thread's task, so every task is read."""
from __future__ import annotations

from pathlib import Path


def status_kb(pid: int, field: str) -> int:
    """A kB field of /proc/<pid>/status (VmRSS, VmHWM = the process's own peak since exec), 0 when it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    """The direct children of ``pid``, whichever of its threads started them."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``."""
    out, todo = [], [pid]
    while todo:
        for k in children(todo.pop()):
            out.append(k)
            todo.append(k)
    return out


def tree_rss_kb(pid: int) -> int:
    """VmRSS of ``pid`` and every process below it."""
    return status_kb(pid, "VmRSS") + sum(status_kb(k, "VmRSS") for k in descendants(pid))
