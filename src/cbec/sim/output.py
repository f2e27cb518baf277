"""Writing a generated set to a folder: the message files, the ground truth, the reference data, a README.

Layout (everything `cbec ingest DIR` needs, and nothing it would wrongly pick up)::

    DIR/messages/YYYYMMDD/HH/<arrival>-<list>-<n>-CEB311.xml   one file per message, named by arrival
    DIR/expected.jsonl                                         one JSON object per list: the ground truth
    DIR/reference/positive-list.csv                            cbec reference load positive-list …
    DIR/reference/rates.csv                                    cbec reference load rates …
    DIR/reference/stock.csv                                    cbec stock in …
    DIR/reference/enterprises.csv                              who is who (for people reading the files)
    DIR/README.txt

File names sort in arrival order (China time to the millisecond, then list and file number), which is the
order `cbec ingest` reads them in. Files are written as they are made; with several workers, slots of the
run are made in parallel processes and give exactly the bytes one process would.

Memory does not grow with the number of lists: each list's record goes to `truth.GroundTruth` (a temporary
SQLite file) as it is made, and ``expected.jsonl`` is written from there at the end. What stays in memory is
bounded by the configuration, not the run: the population (its people cache holds at most 100,000 persons),
the bonded stock needed (by account book and item), the hour folders made, and, with workers, the chunks in
flight.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

from cbec.sim.traffic import FAULTS, Generator, ListRecord, SimConfig, Slot
from cbec.sim.truth import GroundTruth

EXPECTED = "expected.jsonl"
MESSAGES = "messages"
REFERENCE = "reference"
POSITIVE_LIST = "positive-list.csv"
RATES = "rates.csv"
STOCK = "stock.csv"
ENTERPRISES = "enterprises.csv"
README = "README.txt"
#: the positive list's version is in force from this date (or from the run's first day, if earlier)
LIST_EFFECTIVE = date(2022, 3, 1)
#: below this many lists one process is faster than starting workers
PARALLEL_FROM = 4000
_CHUNK = 200


class FileSink:
    """Writes each file under `root` as it comes (creating the hour folders once)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._prefix = str(root) + os.sep
        self._made: set[str] = set()

    def __call__(self, name: str, data: bytes) -> None:
        folder, _, _file = name.rpartition("/")
        if folder not in self._made:
            (self.root / folder).mkdir(parents=True, exist_ok=True)
            self._made.add(folder)
        # plain os calls: half the cost of Path.write_bytes, and writing files is most of a run's I/O
        fd = os.open(self._prefix + name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


@dataclass
class Written:
    """What `write_set` produced."""

    folder: Path
    config: SimConfig
    lists: int
    files: int
    seconds: float
    workers: int
    statuses: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        """Lists generated per second (files written, ground truth and reference included)."""
        return self.lists / self.seconds if self.seconds > 0 else float("inf")


def default_workers(lists: int) -> int:
    """Worker processes for a run of `lists`: one for small runs, else the CPUs (at most 8)."""
    if lists < PARALLEL_FROM:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def write_set(
    config: SimConfig,
    folder: Path,
    *,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Written:
    """Generate the run of `config` into `folder` (which must not hold messages yet) and write the ground
    truth, reference data and README beside it. `progress` is told how many lists were just made."""
    started = time.perf_counter()
    messages = folder / MESSAGES
    if messages.exists() and any(messages.iterdir()):
        raise FileExistsError(
            f"{messages} 已有报文，请换一个目录或先清空 / {messages} already holds messages; "
            "use another folder or empty it first"
        )
    folder.mkdir(parents=True, exist_ok=True)
    count = workers if workers is not None else default_workers(config.lists)
    with GroundTruth() as truth:
        generator = Generator(config, on_record=truth.add)
        if count <= 1:
            sink = FileSink(folder)
            for slot in generator.plan():
                before = truth.lists
                generator.make(slot, sink)
                if progress is not None:
                    progress(truth.lists - before)
            stock, files = generator.stock, generator.files
        else:
            stock, files = _parallel(config, folder, generator.plan(), count, progress, truth.add)
        truth.write(folder / EXPECTED)
        _write_reference(folder / REFERENCE, generator, stock)
        written = Written(folder, config, truth.lists, files, 0.0, count, truth.statuses, truth.faults)
    (folder / README).write_text(readme(written), encoding="utf-8")
    written.seconds = time.perf_counter() - started
    return written


# ---- parallel generation -----------------------------------------------------------------------------------

_WORKER: tuple[Generator, FileSink] | None = None


def _init_worker(config: SimConfig, folder: Path) -> None:
    global _WORKER
    _WORKER = (Generator(config), FileSink(folder))


def _make_slots(slots: list[Slot]) -> tuple[list[ListRecord], dict[tuple[str, str], Decimal], int]:
    """Make one chunk of slots; what it made goes back to the parent (which keeps none of it)."""
    assert _WORKER is not None
    generator, sink = _WORKER
    made: list[ListRecord] = []
    generator.on_record, generator.stock, generator.files = made.append, {}, 0
    for slot in slots:
        generator.make(slot, sink)
    return made, generator.stock, generator.files


def _chunks(slots: Iterable[Slot]) -> Iterator[list[Slot]]:
    iterator = iter(slots)
    while chunk := list(islice(iterator, _CHUNK)):
        yield chunk


def _parallel(
    config: SimConfig,
    folder: Path,
    slots: Iterable[Slot],
    workers: int,
    progress: Callable[[int], None] | None,
    on_record: Callable[[ListRecord], None],
) -> tuple[dict[tuple[str, str], Decimal], int]:
    """Make the slots in `workers` processes; slots are independent, so the bytes do not depend on it.
    Each chunk's records go to `on_record` as the chunk comes back."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    stock: dict[tuple[str, str], Decimal] = {}
    files = 0
    with context.Pool(workers, initializer=_init_worker, initargs=(config, folder)) as pool:
        for made, needed, count in pool.imap(_make_slots, _chunks(slots)):
            for record in made:
                on_record(record)
            for key, qty in needed.items():
                stock[key] = stock.get(key, Decimal("0")) + qty
            files += count
            if progress is not None:
                progress(len(made))
    return stock, files


# ---- the files beside the messages -------------------------------------------------------------------------


def _write_reference(folder: Path, generator: Generator, stock: dict[tuple[str, str], Decimal]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    population = generator.population
    effective = min(LIST_EFFECTIVE, generator.config.start)
    (folder / POSITIVE_LIST).write_text(population.positive_list_csv(effective), encoding="utf-8")
    (folder / RATES).write_text(population.rates_csv(), encoding="utf-8")
    (folder / ENTERPRISES).write_text(population.enterprises_csv(), encoding="utf-8")
    lines = ["ems_no,item_record_no,qty"]
    lines.extend(f"{ems},{item},{qty}" for (ems, item), qty in sorted(stock.items()))
    (folder / STOCK).write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_expected(folder: Path) -> list[dict[str, Any]]:
    """The ground truth of a generated set, one dict per list."""
    with (folder / EXPECTED).open(encoding="utf-8") as source:
        return [json.loads(line) for line in source if line.strip()]


def readme(written: Written) -> str:
    """The README of a generated set: what it is, how to run it, what the ground truth assumes."""
    c = written.config
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(written.statuses.items()))
    faults = ", ".join(f"{name}: {written.faults[name]}" for name in FAULTS if written.faults[name]) or "—"
    days = f"{c.start.isoformat()} + {c.days - 1} 天/day(s)" if c.days > 1 else c.start.isoformat()
    return f"""cbec simulate — 模拟跨境电商进口报文 / simulated cross-border import traffic
==============================================================================

参数 / parameters: --lists {c.lists} --seed {c.seed} --faults {c.faults} --date {c.start.isoformat()} \
--days {c.days}{" --peak" if c.peak else ""} --bonded {c.bonded}{" --dxp" if c.dxp else ""}
日期 / days: {days}
清单 / lists: {written.lists}; 报文文件 / message files: {written.files}
预期回执状态 / expected list status: {statuses}
注入的故障 / injected faults (per list): {faults}
每笔交易以 --faults 的概率注入一个故障（按权重抽取）；内容或组合故障再以同一概率叠加一个传输故障
（重复、乱序、格式错误）。Each trade gets a fault with probability --faults (drawn by weight); a content or
group fault then also gets a transport fault (duplicate, out-of-order, malformed) with the same probability.

所有企业、人员、证件号、电话、地址均为合成数据；身份证号顺序码为 000（不会发给真人）。
Every company, person, ID number, phone and address is synthetic; ID numbers use sequence 000, which is
never issued to a person. Reference files are labelled "模拟数据，非官方 / simulated data, not official".

运行 / How to run (a FRESH database: the ground truth assumes no earlier quota, stock or documents)
------------------------------------------------------------------------------------------------
    cbec db upgrade
    cbec reference load positive-list {REFERENCE}/{POSITIVE_LIST}
    cbec reference load rates {REFERENCE}/{RATES}
    cbec stock in {REFERENCE}/{STOCK}
    cbec ingest . --outbox ../outbox        # keep the outbox OUTSIDE this folder
或一步完成并比对 / or in one step, with the comparison:
    cbec simulate --lists {c.lists} --seed {c.seed} --faults {c.faults} --check

预期结果 / The ground truth ({EXPECTED})
---------------------------------------
One JSON object per list: key (ebcCode|orderNo), status (800 released / 100 rejected / 120 accepted and
still waiting for a companion), state, codes (the reason codes of a rejection, as a set), path (retail /
full for released lists), faults, and the broken and duplicate files of the list (a broken file must get
a CEB900 with status -1, a duplicate file the 'duplicate' replay). It is derived from the injected faults
and the public limits (5,000 per list, 26,000 per buyer and calendar year, in the order lists are decided:
a list is decided when the last of its four documents arrives), never from the engine.

The ground truth assumes the engine's default settings: no certified platforms (CBEC_CERTIFIED_PLATFORMS
empty, so payer ≠ buyer is refused with 1327), no random inspection (CBEC_INSPECTION_RATE 0), signatures
recorded but not enforced (CBEC_SIGNATURES=record; lists carry a placeholder signature).
Order splitting (split_order): customs' own rule for split orders is not public, so each part is expected
to be released unless it crosses the annual limit.
A list whose companion never arrives stays 'waiting' (120); `cbec expire` refuses it after the companion
window (24 h), which the ground truth does not model.
"""
