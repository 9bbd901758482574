"""The bounded caches of the read side: a thread-safe LRU of built values keyed by a tuple that includes the database
version (so a new load is never answered from an older file's results), bounded by entries and by bytes. Used for
the query results (monitor/read/queries.py), the filter choices (monitor/ui.py) and the finished report
(monitor/views/report.py)."""
from __future__ import annotations

import threading
from collections import OrderedDict

import pandas as pd


def frame_bytes(df: pd.DataFrame) -> int:
    try:
        return int(df.memory_usage(index=True, deep=True).sum())
    except Exception:  # noqa: BLE001 - an estimate only
        return 0


class _Flight:
    """One build under way: callers waiting for the same key wait on ``done``, then take ``value`` (``ok``) or
    ``error`` (the build's exception, raised to them too: a failing query is not run again by each in turn)."""
    __slots__ = ("done", "value", "ok", "error", "builder", "generation")

    def __init__(self, builder: int, generation: int):
        self.done, self.value, self.ok, self.error = threading.Event(), None, False, None
        self.builder, self.generation = builder, generation


class VersionedCache:
    """A thread-safe LRU of built values keyed by a tuple that includes the database version; bounded by entries
    and (for values whose size ``sizer`` can tell) by bytes. ``cache_clear``/``cache_info`` like functools."""

    def __init__(self, max_entries: int, max_bytes: int | None = None, sizer=None, name: str = ""):
        self.max_entries, self.max_bytes, self.sizer, self.name = max_entries, max_bytes, sizer, name
        self._data: OrderedDict = OrderedDict()        # key → (value, bytes)
        self._bytes = 0
        self._lock = threading.Lock()
        self._flights: dict = {}                       # key → the _Flight of the build under way
        self._generation = 0                           # cache_clear's count
        self.hits = self.misses = 0

    def get_or_build(self, key, build):
        """The value kept for ``key``, else ``build()``'s (kept if it fits). One build per key at a time: a caller
        asking for a key another thread is building waits for that build instead of running the same query again
        (many people open the same default view at once) and gets its value or its exception; a build stopped by
        a BaseException (Streamlit's stop or rerun) leaves the next caller to build."""
        me = threading.get_ident()
        while True:
            with self._lock:
                if key in self._data:
                    self._data.move_to_end(key)
                    self.hits += 1
                    return self._data[key][0]
                flight = self._flights.get(key)
                if flight is None:
                    flight = self._flights[key] = _Flight(me, self._generation)
                    self.misses += 1
                    break
                nested = flight.builder == me
            if nested:                  # a build asking for its own key: built here, not waited for (itself)
                return build()
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            if flight.ok:
                with self._lock:
                    self.hits += 1
                return flight.value
        try:
            value = build()                            # outside the lock: other keys keep going
            size = self.sizer(value) if self.sizer else 0
        except Exception as exc:
            flight.error = exc
            raise
        else:
            with self._lock:
                if flight.generation == self._generation:      # not cleared meanwhile
                    if key in self._data:
                        self._bytes -= self._data.pop(key)[1]
                    if self.max_bytes is None or size <= self.max_bytes:
                        self._data[key] = (value, size)
                        self._bytes += size
                    while self._data and (len(self._data) > self.max_entries
                                          or (self.max_bytes is not None and self._bytes > self.max_bytes)):
                        self._bytes -= self._data.popitem(last=False)[1][1]
            flight.value, flight.ok = value, True
            return value
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()

    def cache_clear(self) -> None:
        with self._lock:
            self._generation += 1                      # a build under way keeps nothing
            self._data.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    def cache_info(self) -> dict:
        with self._lock:
            return {"entries": len(self._data), "bytes": self._bytes, "hits": self.hits, "misses": self.misses}
