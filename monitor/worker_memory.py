"""The address-space limit of the intake worker (DX_WORKER_MEMORY_MB): set by monitor/intake_worker.py in its own
process, named by monitor/intake.py in the message after a worker stopped. Its own module so that neither of those
two imports the other for it."""
from __future__ import annotations

import os

DEFAULT_MEMORY_MB = 6144


def memory_limit_mb() -> int:
    try:
        value = int(float(os.environ.get("DX_WORKER_MEMORY_MB", DEFAULT_MEMORY_MB)))
    except ValueError:
        value = DEFAULT_MEMORY_MB
    return value if value > 0 else DEFAULT_MEMORY_MB
