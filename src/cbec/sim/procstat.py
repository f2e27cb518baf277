"""What the benchmarks read of running processes on this machine (Linux /proc): CPU seconds, memory, the
PostgreSQL backends serving a benchmark. Elsewhere every reading is 0, and the benchmarks still run."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far, 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def memory_mb(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of a process in MB (VmRSS, VmHWM), zeros when it is gone."""
    found = {"VmRSS:": 0, "VmHWM:": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line[:6]
            if key in found:
                found[key] = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return found["VmRSS:"] / 1024, found["VmHWM:"] / 1024


def proportional_mb(pid: int) -> float:
    """A process's proportional set size in MB (Pss: each page shared with other processes counted in
    part), 0 when it is gone or the kernel does not tell. Forked workers share their parent's pages until
    they write to them, so RSS added up over a router and its workers counts those pages several times;
    PSS added up counts each page once."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def backend_pids(pg_url: str, application_name: str) -> list[int]:
    """The PostgreSQL server processes whose clients connected as `application_name` (same machine)."""
    admin = create_engine(pg_url, poolclass=NullPool)
    try:
        with admin.connect() as conn:
            rows = conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                {"name": application_name},
            )
            return [int(r[0]) for r in rows]
    finally:
        admin.dispose()


#: the server settings that decide how a write-heavy run goes, recorded beside its numbers
_SETTINGS = ("autovacuum", "shared_buffers", "max_wal_size", "checkpoint_timeout", "wal_compression")


def server_settings(pg_url: str) -> str:
    """The PostgreSQL server's version and the settings a write-heavy benchmark depends on, as one line
    ("PostgreSQL 15.20; autovacuum off, shared_buffers 128MB, …"). Autovacuum matters most: without it no
    table a run fills is ever analyzed, and a query planned without statistics can read a whole table."""
    admin = create_engine(pg_url, poolclass=NullPool)
    try:
        with admin.connect() as conn:
            version = conn.exec_driver_sql("SHOW server_version").scalar_one()
            values = [f"{name} {conn.exec_driver_sql(f'SHOW {name}').scalar_one()}" for name in _SETTINGS]
    finally:
        admin.dispose()
    return f"PostgreSQL {version.split()[0]}; " + ", ".join(values)
