"""A long benchmark's course, sampled from outside the work: one JSON line a minute (by default) with the
messages handed out so far, each process's memory (RSS, peak RSS, and the proportional set size of all of
them added up: what they hold together) and the CPU seconds of the intake and of its database backends.
A 1 M-list run takes hours; its windows show whether throughput falls or memory grows with volume, and
which windows other load on the machine disturbed."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from cbec.sim.procstat import backend_pids, cpu_seconds, memory_mb, proportional_mb


class Timeline:
    """Samples `processes` (name → pid) every `every` seconds into `path` (appended), in a daemon thread,
    until the `with` block ends (one last sample then)."""

    def __init__(
        self,
        path: Path,
        *,
        processes: dict[str, int],
        done: Callable[[], int],
        pg_url: str | None = None,
        application_name: str | None = None,
        every: float = 60.0,
    ) -> None:
        self.path = path
        self.processes = processes
        self.done = done
        self.pg_url = pg_url
        self.application_name = application_name
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-timeline", daemon=True)
        self._started = 0.0
        #: CPU seconds last read of each process and backend: one that has exited keeps its last reading
        self._cpu: dict[int, float] = {}
        self._db_cpu: dict[int, float] = {}

    def __enter__(self) -> Timeline:
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> dict[str, Any]:
        """Messages so far, memory of the processes still running, CPU seconds of all so far."""
        pids = self.processes
        memory = {name: found for name, pid in pids.items() if (found := memory_mb(pid))[1] > 0}
        backends: list[int] = []
        if self.pg_url is not None and self.application_name is not None:
            try:
                backends = backend_pids(self.pg_url, self.application_name)
            except Exception:  # a sample without the database's share is better than a failed run
                backends = []
        return {
            "utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - self._started, 1),
            "messages": self.done(),
            "rss_mb": {name: round(now, 1) for name, (now, _peak) in memory.items()},
            "peak_mb": {name: round(peak, 1) for name, (_now, peak) in memory.items()},
            "pss_total_mb": round(sum(proportional_mb(pids[name]) for name in memory), 1),
            "cpu_s": round(_latest(self._cpu, pids.values()), 2),
            "db_cpu_s": round(_latest(self._db_cpu, backends), 2),
        }

    def _run(self) -> None:
        with self.path.open("a", encoding="utf-8") as fh:
            while True:
                stopping = self._stop.wait(self.every)
                fh.write(json.dumps(self.sample()) + "\n")
                fh.flush()
                if stopping:
                    return


def _latest(readings: dict[int, float], pids: Iterable[int]) -> float:
    """Update `readings` with the processes' CPU seconds now (a process gone keeps its last) and add up."""
    for pid in pids:
        readings[pid] = max(readings.get(pid, 0.0), cpu_seconds(pid))
    return sum(readings.values())
