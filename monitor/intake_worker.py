"""The worker process that validates and loads what データ取込 receives, so that a huge or hostile upload can never
take the Streamlit server down: `python -m monitor.intake_worker JOB.json`, started by monitor/intake.py.

It caps its own address space first (RLIMIT_AS = DX_WORKER_MEMORY_MB), then runs exactly what the CLI runs
(etl.load.Batch.prepare, etl.load.load_files) on the saved files, prints each progress message as a JSON line on stdout and
writes its result as JSON to the job's result file. A worker killed for memory leaves no result and, as every load
writes a copy and swaps it in, the database as it was. Nothing here imports Streamlit."""
from __future__ import annotations

import datetime as dt
import json
import os
import resource
import sys
from pathlib import Path

from monitor.worker_memory import DEFAULT_MEMORY_MB, memory_limit_mb  # noqa: F401  (the limit it sets)


def _limit_memory() -> None:
    limit = memory_limit_mb() * 1024 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def report_dict(report) -> dict:
    return {"files": [{"file_name": f.file_name, "sha256": f.sha256, "error": f.error, "warnings": f.warnings}
                      for f in report.files],
            "tables": [t.__dict__ for t in report.tables],
            "problems": [p.__dict__ for p in report.problems],
            "loaded": report.loaded, "notes": report.notes,
            "as_of": report.as_of.isoformat() if getattr(report, "as_of", None) else None,
            "as_of_source": getattr(report, "as_of_source", None)}


def _progress(message) -> None:
    """One progress report (etl.load.Progress) as a JSON line: its Japanese text and its stage."""
    print(json.dumps({"progress": str(message), "stage": message.stage}, ensure_ascii=False), flush=True)


def run(job: dict) -> dict:
    # imported after the memory limit is set (main), so DuckDB's allocator starts under it
    from etl.load import Batch, DatabaseUnreadable, LoadBusy, ScopeRefused, WriteFailed, load_files  # noqa: PLC0415
    names = {Path(p): name for p, name in job["files"]}
    db = Path(job["db"])
    as_of = dt.date.fromisoformat(job["as_of"]) if job.get("as_of") else None
    # the session's scope, set by monitor/intake.py from monitor.access (None: unrestricted)
    scope = tuple(job["scope"]) if job.get("scope") is not None else None
    try:
        if job["action"] == "validate":
            batch = Batch.prepare(list(names), db, names=names, progress=_progress, as_of=as_of,
                                  scope=scope)
            try:
                rejected = batch.rejected_records()     # the page makes them tables (monitor.intake._frames)
            finally:
                batch.close()
            return {"ok": True, "report": report_dict(batch.report), "rejected": rejected}
        from etl.versions import PAGE_ACTOR  # noqa: PLC0415  (as above)
        report = load_files(list(names), db, accept_valid=True, names=names, progress=_progress, as_of=as_of,
                            who=PAGE_ACTOR, scope=scope)
        return {"ok": True, "report": report_dict(report)}
    except LoadBusy as e:
        return {"ok": False, "error": "busy", "message": str(e)}
    except (DatabaseUnreadable, WriteFailed, ScopeRefused) as e:
        return {"ok": False, "error": "fault", "message": str(e)}
    except MemoryError:
        return {"ok": False, "error": "memory", "message": ""}
    except Exception as e:  # noqa: BLE001 - duckdb.OutOfMemoryException and the like: one message, no traceback
        kind = "memory" if "memory" in type(e).__name__.lower() or "out of memory" in str(e).lower() else "fault"
        return {"ok": False, "error": kind, "message": f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"}


def main(argv: list[str]) -> int:
    _limit_memory()
    job_path = Path(argv[0])
    job = json.loads(job_path.read_text(encoding="utf-8"))
    result = run(job)
    tmp = Path(job["result"] + ".part")
    tmp.write_text(json.dumps(result, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, job["result"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
