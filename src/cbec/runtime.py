"""Settings of a long-running intake process as a whole (not of one engine or store)."""

from __future__ import annotations

import gc

#: young-generation allocations between collections (CPython's default is 700)
YOUNG = 50_000


def tune_gc() -> None:
    """Collect cyclic garbage less often, and never look again at what is loaded by now.

    Intake makes hundreds of thousands of short-lived objects a second (parsed messages, ORM rows); with
    CPython's default thresholds the collector runs every 700 of them and its full passes walk every
    long-lived object too (the parsed-message cache, SQLAlchemy's mappers, the reference tables). Measured
    on chunked intake: 10–20 % of the process's CPU, more as a run goes on. Called by the commands that
    take messages (`cbec ingest`, `cbec bench`, the API server), not on import: a library should not
    change the collector of a process it is merely part of."""
    gc.freeze()
    gc.set_threshold(YOUNG, 20, 100)
