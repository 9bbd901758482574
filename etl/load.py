"""Load: validated batches into the database, atomically — the public API of the write side.

Two halves, one seam: etl/prepare.py reads, stages and validates files into a ``Batch`` (in memory, nothing
written); etl/write.py writes a prepared batch (lock, copy, apply, swap, marts). ``load_files`` is one then the
other, ``check_files`` the first only. Callers import from here; the names below are re-exported for them.
"""
from __future__ import annotations

import datetime as dt
from contextlib import nullcontext
from pathlib import Path
from typing import Callable, Iterable

from .paths import SAMPLE_DIR
from .scope import ScopeRefused, parse_scope, scope_text  # noqa: F401
from .prepare import (ACTIVITY_MAX, PROGRESS_STAGES, SCHEMA_SQL, STAGING_DIR, STAGING_SCRIPTS,  # noqa: F401
                      WARNING_ROWS_SHOWN, Batch, BatchReport, DatabaseUnreadable, Problem, Progress, TableSummary,
                      change_text, is_sample_db)
from .paths import db_path as default_db_path
from .write import (LOAD_STAGES, LOCK_WAIT_SECONDS, TEMP_INFIX, CopyAhead, LoadBusy, WriteFailed,  # noqa: F401
                    _new_version, _stage_hook, marts_outdated, rebuild_marts, set_data_as_of, write_batch,
                    writer_lock)


def load_files(paths: Iterable[Path], db: Path | None = None, accept_valid: bool = False,
               fresh: bool = False, is_sample: bool = False, names: dict[Path, str] | None = None,
               progress: Callable[[str], None] | None = None, marts_dir: Path | None = None,
               as_of: dt.date | None = None, who: str | None = None,
               scope: tuple[str, ...] | None = None) -> BatchReport:
    """Validate and load; `as_of` states the データ基準日 (else the latest activity up to today), `who` is recorded
    in the history (etl/versions.py), `scope` limits the prefectures the load may change (etl/scope.py; None: any)."""
    if scope is not None and is_sample:
        raise ScopeRefused("サンプルデータの作り直しは範囲を限ってはできません")
    db = Path(db) if db else default_db_path()
    # the copy of the database the load writes is made while the files are read and checked (etl/swap.py)
    # (for the sample database, which a load replaces, the copy is simply not taken: asking is_sample_db here too
    # would open the file once more on every load)
    with (CopyAhead(db) if not (fresh or is_sample) and db.is_file() else nullcontext()) as ahead:
        batch = Batch.prepare(paths, db, names=names, progress=progress, fresh=fresh or is_sample, as_of=as_of,
                              scope=scope)
        try:
            return write_batch(batch, accept_valid=accept_valid, fresh=fresh, is_sample=is_sample, who=who,
                               marts_dir=marts_dir, ahead=ahead)
        finally:
            batch.close()


def check_files(paths: Iterable[Path], db: Path | None = None,
                names: dict[Path, str] | None = None, fresh: bool = False,
                as_of: dt.date | None = None, scope: tuple[str, ...] | None = None) -> BatchReport:
    """Validate only: reads the database (read-only) for known engagements, never creates or changes it."""
    batch = Batch.prepare(paths, db, names=names, fresh=fresh, as_of=as_of, scope=scope)
    batch.close()
    return batch.report


def build_sample_database(db: Path | None = None, progress=None) -> BatchReport:
    """(Re)build the database from the sample programme in data/sample/."""
    report = load_files([SAMPLE_DIR], db, is_sample=True, progress=progress)
    if not report.loaded:
        details = "; ".join(report.unreadable + [f"{p.where()}: {p.reason}" for p in report.errors[:5]])
        raise RuntimeError(f"サンプルデータを読み込めませんでした: {details}")
    return report
