"""A day (or several) of import traffic: trades with seasonality, injected faults, arrival order, and the
expected outcome of every declaration list.

Each trade is one sale: an order (CEB311) from the e-commerce enterprise, a payment voucher (CEB411) from
the payment company, a waybill (CEB511) from the logistics company and a declaration list (CEB621) from the
declarant, arriving in that order a few seconds to hours apart. Messages are rendered and handed to a sink
as they are made; each list's `ListRecord` goes to a callback (`output` streams them into the ground truth,
see `truth`) or, for small in-memory uses, into `Generator.records`.

Faults (``FAULTS``). With probability ``faults`` a trade gets one, drawn by weight; a content or group fault
then also gets a transport fault (duplicate, out-of-order, malformed) with the same probability, so high
rates exercise combinations. What each fault does and what the ground truth says:

==========================  ==============================================  =========================
fault                       what is sent                                    expected
==========================  ==============================================  =========================
amount_mismatch             payment amountPaid ≠ order acturalPaid          100, 9101
consignee_mismatch          waybill consignee name and phone ≠ the order's  100, 9104
payer_not_buyer             payment by another person (uncertified          100, 1327
                            platform)
off_list                    one line not on the positive list               100, 9301
single_limit                several articles, tax price over 5,000          100, -621005
indivisible_over_limit      one article (qty 1) over 5,000                  800, full-tax path
annual_limit                one buyer buys 7 lists of 4,200–4,900           the list crossing 26,000:
                                                                            100, -621018
split_order                 a basket over 5,000 split into 2–3 lists,       800 (see below)
                            each under 5,000, same buyer, same day
duplicate                   one message file sent twice (same bytes)        unchanged; 2nd: duplicate
out_of_order                the four documents in another order             unchanged
malformed                   a broken copy of one message (CEB900 -1),       unchanged; a companion
                            then the good copy — or, for a companion,       never sent: 120 waiting
                            sometimes never
==========================  ==============================================  =========================

Order splitting: customs' own rule for detecting split orders is not public, so the ground truth releases
each part unless the annual limit stops it (the parts are ordinary lists under the single limit).

The limits are applied to every list, faulted or not, in decision order (a list is decided when the last of
its four documents arrives, so arrival order matters): tax price P = Σ line totals + freight + insurance;
P > 5,000 with more than one article → -621005; used + P > 26,000 → -621018 (财关税〔2018〕49号); a list
that is released adds P to its buyer's total for the calendar year (China time) of its decision. The
numbers are the public policy numbers, written here again on purpose: the ground truth never calls the
engine.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from cbec.ceb.dxp import CST, wrap
from cbec.ceb.examples import Buyer, Line, Trade, ceb311, ceb411, ceb511, ceb621, stable_guid
from cbec.ceb.model import Message
from cbec.ceb.render import render
from cbec.sim.population import Consumer, Enterprise, Population, Product, build_population, money, weighted

#: single-transaction and annual limits in CNY (财关税〔2018〕49号; policy.md §1.1), both inclusive
SINGLE_LIMIT = Decimal("5000.00")
ANNUAL_LIMIT = Decimal("26000.00")

FAULTS: tuple[str, ...] = (
    "amount_mismatch",
    "consignee_mismatch",
    "payer_not_buyer",
    "off_list",
    "single_limit",
    "indivisible_over_limit",
    "annual_limit",
    "split_order",
    "duplicate",
    "out_of_order",
    "malformed",
)
#: the reason code each content fault must produce (compare.py 91xx, observed 1327; positive_list.py 93xx)
FAULT_CODES: dict[str, str] = {
    "amount_mismatch": "9101",
    "consignee_mismatch": "9104",
    "payer_not_buyer": "1327",
    "off_list": "9301",
}
TRANSPORT_FAULTS = ("duplicate", "out_of_order", "malformed")
_FAULT_WEIGHTS: dict[str, float] = {
    "amount_mismatch": 1.0,
    "consignee_mismatch": 1.0,
    "payer_not_buyer": 1.0,
    "off_list": 1.0,
    "single_limit": 1.0,
    "indivisible_over_limit": 1.0,
    "annual_limit": 0.35,
    "split_order": 0.6,
    "duplicate": 1.0,
    "out_of_order": 1.0,
    "malformed": 1.0,
}
ANNUAL_GROUP = 7

#: orders per hour of the day (China time), an ordinary day: quiet nights, a late-morning and an evening peak
HOURLY = (2.0, 1.2, 0.7, 0.4, 0.3, 0.4, 0.8, 1.8, 3.0, 4.2, 5.0, 5.2,
          4.6, 4.4, 4.8, 4.9, 4.6, 4.2, 4.0, 4.8, 6.0, 6.8, 6.2, 4.0)  # fmt: skip
#: a Double-11-style day: the midnight rush when the sale opens, then a long evening
HOURLY_PEAK = (22.0, 9.0, 3.0, 1.2, 0.6, 0.5, 0.8, 1.5, 2.5, 3.5, 4.5, 5.0,
               4.8, 4.6, 4.8, 5.0, 4.8, 4.6, 4.6, 5.5, 7.0, 8.5, 9.5, 12.0)  # fmt: skip
#: relative volume by weekday (Monday first): weekends shop a little more
WEEKDAY = (0.95, 0.95, 0.95, 1.0, 1.05, 1.1, 1.1)
#: a peak day carries this many ordinary days' volume
PEAK_FACTOR = 6.0
#: one indivisible article on the full-tax path stays below this (so it is not also over the annual limit)
LUXURY_MAX = Decimal("20000")
#: the most a basket of ordinary goods is worth (ordinary trades stay well under the single limit)
ORDINARY_MAX = Decimal("4000")
_LINE_COUNT = weighted((0.55, 0.25, 0.1, 0.06, 0.04))
_AIRLINES = (("CA", "999"), ("MU", "781"), ("CZ", "784"), ("HU", "880"), ("3U", "876"), ("CK", "112"))
_HEADS = {
    "CEB311": "OrderHead",
    "CEB411": "PaymentHead",
    "CEB511": "LogisticsHead",
    "CEB621": "InventoryHead",
}


@dataclass(frozen=True)
class SimConfig:
    """What one run generates; everything follows from it (same config → the same bytes)."""

    lists: int
    seed: int = 1
    #: probability that a trade carries a fault (0..1)
    faults: float = 0.1
    start: date = date(2026, 11, 11)
    days: int = 1
    #: the first day is a Double-11-style peak day
    peak: bool = False
    #: share of trades that are bonded import (1210) from stock in the zone
    bonded: float = 0.3
    #: wrap every message in a DxpMsg envelope
    dxp: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.lists < 10**8:
            raise ValueError("lists must be within 1..99,999,999")
        if not 0 <= self.faults <= 1:
            raise ValueError("faults must be within 0..1")
        if not 0 <= self.bonded <= 1:
            raise ValueError("bonded must be within 0..1")
        if self.days < 1:
            raise ValueError("days must be at least 1")


@dataclass(slots=True)
class ListRecord:
    """What the ground truth needs to know about one generated list (kept in memory; no personal data
    except the buyer's synthetic ID number, which keys the annual total and is never written out)."""

    seq: int
    order_no: str
    ebc_code: str
    trade_mode: str
    zone: str
    buyer_id: str
    tax_price: Decimal
    indivisible: bool
    lines: int
    faults: tuple[str, ...]
    codes: frozenset[str]
    #: file stem of the arrival that completes the list (None: a companion never arrives)
    decision: str | None
    decided_at: datetime | None
    broken: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    #: the group (annual_limit, split_order) the list belongs to, as the seq of its first list
    group: int | None = None

    @property
    def key(self) -> str:
        """The engine's business key of a list: ebcCode|orderNo."""
        return f"{self.ebc_code}|{self.order_no}"

    def json_head(self) -> dict[str, Any]:
        """The ground-truth fields that come before the outcome (split so that `truth` can store them while
        the outcome is not known yet and still write the same bytes as `Expectation.as_json`)."""
        return {
            "key": self.key,
            "seq": self.seq,
            "order_no": self.order_no,
            "ebc_code": self.ebc_code,
            "trade_mode": self.trade_mode,
            "zone": self.zone,
            "lines": self.lines,
            "tax_price": f"{self.tax_price:.2f}",
            "faults": list(self.faults),
            "group": self.group,
        }

    def json_tail(self) -> dict[str, Any]:
        """The ground-truth fields that come after the outcome."""
        return {
            "decided_at": self.decided_at.isoformat() if self.decided_at is not None else None,
            "broken_files": self.broken,
            "duplicate_files": self.duplicates,
        }

    @property
    def year(self) -> int | None:
        """The calendar year (China time) whose annual total the list counts against, once decided."""
        return self.decided_at.astimezone(CST).year if self.decided_at is not None else None


@dataclass(frozen=True, slots=True)
class Expectation:
    """The expected final state of one list."""

    record: ListRecord
    status: str  # 800 | 100 | 120
    state: str  # released | rejected | waiting
    codes: frozenset[str]
    path: str | None  # retail | full for released lists

    def as_json(self) -> dict[str, Any]:
        return {
            **self.record.json_head(),
            **outcome_json(self.status, self.state, self.codes, self.path),
            **self.record.json_tail(),
        }


def outcome_json(status: str, state: str, codes: Iterable[str], path: str | None) -> dict[str, Any]:
    """The outcome fields of a ground-truth line (between `ListRecord.json_head` and `json_tail`)."""
    return {"status": status, "state": state, "codes": sorted(codes), "path": path}


def decide(
    tax_price: Decimal, indivisible: bool, codes: frozenset[str], before: Decimal
) -> tuple[str, str, frozenset[str], str | None]:
    """The expected (status, state, codes, path) of a decided list, given what its buyer had released
    earlier in the same calendar year (`before`). A released list adds `tax_price` to that total."""
    found = set(codes)
    if tax_price > SINGLE_LIMIT and not indivisible:
        found.add("-621005")
    if before + tax_price > ANNUAL_LIMIT:
        found.add("-621018")
    if found:
        return "100", "rejected", frozenset(found), None
    return "800", "released", frozenset(), "full" if tax_price > SINGLE_LIMIT else "retail"


def expectations(records: Iterable[ListRecord]) -> list[Expectation]:
    """The ground truth: every list's expected outcome, by the public rules, in decision order (see the
    module docstring). Returned in generation order (`seq`). Holds every record: for a whole run,
    `truth.GroundTruth` gives the same lines in bounded memory."""
    pending = sorted((r for r in records), key=lambda r: r.seq)
    decided = sorted((r for r in pending if r.decision is not None), key=lambda r: r.decision or "")
    used: dict[tuple[str, int | None], Decimal] = {}
    out: dict[int, Expectation] = {}
    for record in decided:
        year_key = (record.buyer_id, record.year)
        before = used.get(year_key, Decimal("0.00"))
        status, state, codes, path = decide(record.tax_price, record.indivisible, record.codes, before)
        if status == "800":
            used[year_key] = before + record.tax_price
        out[record.seq] = Expectation(record, status, state, codes, path)
    result: list[Expectation] = []
    for record in pending:
        found = out.get(record.seq)
        result.append(found or Expectation(record, "120", "waiting", frozenset(), None))
    return result


# ---- generation ----------------------------------------------------------------------------------------

Sink = Callable[[str, bytes], None]
#: told about each list once its files are out
RecordSink = Callable[[ListRecord], None]


@dataclass(slots=True)
class _Doc:
    """One document of a trade on its way out: which message, built from which trade variant, when."""

    code: str
    trade: Trade
    sender: Enterprise
    at: datetime
    #: send a broken copy first (and then, unless lost, this good copy later)
    broken: bool = False
    lost: bool = False
    duplicate_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Slot:
    """A unit of generation: one trade draw, giving one list or a group of lists (annual_limit,
    split_order). `first_seq` numbers its first list; `remaining` is how many lists were still to make."""

    index: int
    first_seq: int
    remaining: int


@dataclass(frozen=True, slots=True)
class _Head:
    fault: str | None
    mode: str
    at: datetime
    parts: list[list[tuple[Product, int, Decimal]]]
    size: int


@dataclass(slots=True)
class _Order:
    """The commercial content of a trade before it becomes messages."""

    buyer: Consumer
    items: list[tuple[Product, int, Decimal]]  # product, qty, unit price
    mode: str
    at: datetime
    faults: list[str]
    group: int | None = None


class Generator:
    """Makes the traffic of one `SimConfig`, handing each rendered file to a sink as it goes.

    Each list's record goes to `on_record`; without one it is kept in `records` (tests and small runs:
    that list grows with the run, which is why `output.write_set` passes a callback)."""

    def __init__(self, config: SimConfig, on_record: RecordSink | None = None) -> None:
        self.config = config
        #: the random stream of the slot being made (every slot has its own, see `Slot`)
        self.rng = random.Random(0)
        self.pool = max(20, min(config.lists // 3, 200_000))
        self.population: Population = build_population(config.seed, self.pool)
        pop = self.population
        self._zone_cum = weighted([z.weight for z in pop.zones])
        self._payment_cum = weighted([5, 4, 2, 1, 1][: len(pop.payments)])
        days = [config.start + timedelta(days=i) for i in range(config.days)]
        day_weights = [
            WEEKDAY[d.weekday()] * (PEAK_FACTOR if config.peak and i == 0 else 1.0)
            for i, d in enumerate(days)
        ]
        self._days = days
        self._day_cum = weighted(day_weights)
        self._hour_cum = weighted(HOURLY)
        self._peak_hour_cum = weighted(HOURLY_PEAK)
        ordinary = [p for p in pop.products if p.spec.listed and not p.spec.luxury]
        self._goods = {
            "9610": [p for p in ordinary if not p.spec.bonded_only],
            "1210": ordinary,
        }
        self._goods_cum = {
            mode: weighted([p.spec.popularity for p in goods]) for mode, goods in self._goods.items()
        }
        self._premium = {
            mode: [p for p in goods if Decimal("300") <= p.price <= Decimal("4500")]
            for mode, goods in self._goods.items()
        }
        self._luxury = [p for p in pop.products if p.spec.luxury]
        self._off_list = [p for p in pop.products if not p.spec.listed]
        self._fault_names = list(_FAULT_WEIGHTS)
        self._fault_cum = weighted(list(_FAULT_WEIGHTS.values()))
        self._tag = f"{config.seed % 1_000_000:06d}"
        self.records: list[ListRecord] = []
        self.on_record: RecordSink = on_record if on_record is not None else self.records.append
        #: bonded stock the run needs, by (account book, book item)
        self.stock: dict[tuple[str, str], Decimal] = {}
        self.files = 0

    # -- people and time ----------------------------------------------------------------------------------

    def _buyer(self) -> Consumer:
        """A buyer from the pool, skewed so that some people buy again and again."""
        return self.population.consumer(int(self.pool * self.rng.random() ** 1.6))

    def _someone_else(self, seq: int, role: int) -> Consumer:
        """A person outside the buyer pool (role 0 a payer, 1 a consignee, 2 a heavy buyer), fixed by the
        list number so that slots stay independent."""
        capacity = self.population.capacity
        return self.population.consumer(self.pool + (seq * 3 + role) % (capacity - self.pool))

    def _moment(self) -> datetime:
        """When a trade starts: a day by weekday (and peak) weight, an hour by the hourly profile."""
        rng = self.rng
        day_index = bisect.bisect(self._day_cum, rng.random() * self._day_cum[-1])
        peak = self.config.peak and day_index == 0
        cum = self._peak_hour_cum if peak else self._hour_cum
        hour = bisect.bisect(cum, rng.random() * cum[-1])
        # on a peak day the first minutes of the sale are the busiest
        second = int(rng.expovariate(1 / 600)) % 3600 if peak and hour == 0 else rng.randrange(3600)
        day = self._days[min(day_index, len(self._days) - 1)]
        return datetime(day.year, day.month, day.day, tzinfo=CST) + timedelta(
            hours=min(hour, 23), seconds=second, milliseconds=rng.randrange(1000)
        )

    # -- baskets ------------------------------------------------------------------------------------------

    def _pick(self, mode: str) -> Product:
        goods = self._goods[mode]
        cum = self._goods_cum[mode]
        return goods[bisect.bisect(cum, self.rng.random() * cum[-1])]

    def _ordinary(self, mode: str) -> list[tuple[Product, int, Decimal]]:
        """1–5 lines (mostly 1–2) of popular goods, 1 article each mostly, kept under `ORDINARY_MAX`."""
        rng = self.rng
        count = bisect.bisect(_LINE_COUNT, rng.random() * _LINE_COUNT[-1]) + 1
        items: list[tuple[Product, int, Decimal]] = []
        seen: set[str] = set()
        total = Decimal("0")
        for _ in range(count * 2):
            if len(items) == count:
                break
            product = self._pick(mode)
            if product.spec.sku in seen:
                continue
            qty = 1
            while qty < product.spec.max_qty and rng.random() < 0.3:
                qty += 1
            value = product.price * qty
            if total + value > ORDINARY_MAX:
                continue
            seen.add(product.spec.sku)
            items.append((product, qty, product.price))
            total += value
        if not items:
            cheapest = min(self._goods[mode], key=lambda p: p.price)
            items.append((cheapest, 1, cheapest.price))
        return items

    def _fill(self, mode: str, low: Decimal, high: Decimal) -> list[tuple[Product, int, Decimal]]:
        """Articles at catalogue prices, added until the basket is worth `low` or more (never over `high`)."""
        rng = self.rng
        units: dict[str, tuple[Product, int]] = {}
        total = Decimal("0")
        premium = self._premium[mode]
        goods = self._goods[mode]
        for _ in range(200):
            if total >= low:
                break
            room = high - total
            pool = premium if low - total > Decimal("500") else goods
            product = pool[rng.randrange(len(pool))]
            if product.price > room:
                continue
            product_, qty = units.get(product.spec.sku, (product, 0))
            units[product.spec.sku] = (product_, qty + 1)
            total += product.price
        return [(p, q, p.price) for p, q in units.values()]

    def _single_over(self, mode: str) -> list[tuple[Product, int, Decimal]]:
        """Several articles whose total is over the single limit (5,200–15,000)."""
        items = self._fill(mode, Decimal("5200"), Decimal("15000"))
        if len(items) == 1 and items[0][1] == 1:  # never one indivisible article
            product, _qty, price = items[0]
            items = [(product, 2, price)]
        return items

    def _luxury_item(self) -> list[tuple[Product, int, Decimal]]:
        """One indivisible article over the single limit: the full-tax path."""
        rng = self.rng
        product = self._luxury[rng.randrange(len(self._luxury))]
        price = money(product.price * Decimal(str(round(math.exp(rng.gauss(0, 0.15)), 3))))
        price = min(max(price, Decimal("5200.00")), LUXURY_MAX)
        return [(product, 1, price)]

    # -- faults -------------------------------------------------------------------------------------------

    def _draw_fault(self, remaining: int) -> str | None:
        rng = self.rng
        if rng.random() >= self.config.faults:
            return None
        for _ in range(10):
            name = self._fault_names[bisect.bisect(self._fault_cum, rng.random() * self._fault_cum[-1])]
            if name == "annual_limit" and remaining < ANNUAL_GROUP:
                continue
            if name == "split_order" and remaining < 3:
                continue
            return name
        return "amount_mismatch"

    def _transport(self) -> str | None:
        """A transport fault stacked on a content fault, with the same probability."""
        rng = self.rng
        if rng.random() >= self.config.faults:
            return None
        return TRANSPORT_FAULTS[rng.randrange(len(TRANSPORT_FAULTS))]

    # -- the run ------------------------------------------------------------------------------------------

    def slot_rng(self, index: int) -> random.Random:
        """The random stream of slot `index`: slots do not share state, so they can be made in any order
        (or in parallel) and give the same bytes."""
        return random.Random(f"{self.config.seed}:slot:{index}")

    def plan(self) -> Iterator[Slot]:
        """The slots of the run, in order, until `lists` lists are planned (cheap: only the head draws)."""
        total = self.config.lists
        seq, index = 1, 0
        while seq <= total:
            self.rng = self.slot_rng(index)
            remaining = total - seq + 1
            size = self._head(remaining).size
            yield Slot(index, seq, remaining)
            seq += size
            index += 1

    def run(self, sink: Sink) -> list[ListRecord]:
        """Generate every list, writing files through `sink`; the records go to `on_record` (by default kept
        in `records`, which is returned)."""
        for slot in self.plan():
            self.make(slot, sink)
        return self.records

    def make(self, slot: Slot, sink: Sink) -> None:
        """Make the lists of one slot and hand their files to `sink`."""
        self.rng = self.slot_rng(slot.index)
        head = self._head(slot.remaining)
        for offset, order in enumerate(self._orders(head, slot.first_seq)):
            self._emit(order, slot.first_seq + offset, sink)

    def _mode(self) -> str:
        return "1210" if self.rng.random() < self.config.bonded else "9610"

    def _head(self, remaining: int) -> _Head:
        """The first draws of a slot: its fault, mode and time, and for a split order its parts."""
        fault = self._draw_fault(remaining)
        mode = self._mode()
        at = self._moment()
        parts: list[list[tuple[Product, int, Decimal]]] = []
        if fault == "split_order":
            basket = self._fill(mode, Decimal("5200"), Decimal("12000"))
            parts = _split(basket, Decimal("4900"))[: min(remaining, 3)]
        size = ANNUAL_GROUP if fault == "annual_limit" else len(parts) if parts else 1
        return _Head(fault, mode, at, parts, size)

    def _orders(self, head: _Head, first_seq: int) -> Iterator[_Order]:
        """The orders of one slot: one, or a group (annual_limit, split_order)."""
        rng = self.rng
        fault, mode, at = head.fault, head.mode, head.at
        if fault == "annual_limit":
            buyer = self._someone_else(first_seq, 2)
            for i in range(ANNUAL_GROUP):
                when = at + timedelta(minutes=rng.randrange(0, 600) + i * 5)
                extra = self._transport()
                items = self._fill(mode, Decimal("4200"), Decimal("4900"))
                faults = ["annual_limit", *([extra] if extra else [])]
                yield _Order(buyer, items, mode, when, faults, first_seq)
            return
        if fault == "split_order":
            buyer = self._buyer()
            for i, part in enumerate(head.parts):
                extra = self._transport()
                when = at + timedelta(seconds=rng.randrange(5, 120) + 60 * i)
                faults = ["split_order", *([extra] if extra else [])]
                yield _Order(buyer, part, mode, when, faults, first_seq)
            return
        buyer = self._buyer()
        faults = []
        if fault == "single_limit":
            items = self._single_over(mode)
        elif fault == "indivisible_over_limit":
            items = self._luxury_item()
        else:
            items = self._ordinary(mode)
        if fault == "off_list":
            product = self._off_list[rng.randrange(len(self._off_list))]
            entry = (product, 1, product.price)
            if len(items) < 5 and rng.random() < 0.5:
                items.append(entry)
            else:
                items[rng.randrange(len(items))] = entry
        if fault is not None:
            faults.append(fault)
            if fault not in TRANSPORT_FAULTS:
                extra = self._transport()
                if extra is not None:
                    faults.append(extra)
        yield _Order(buyer, items, mode, at, faults)

    def _emit(self, order: _Order, seq: int, sink: Sink) -> None:
        """Turn one order into its trade, faulted messages and files; remember what the ground truth needs."""
        rng = self.rng
        pop = self.population
        zone = pop.zones[bisect.bisect(self._zone_cum, rng.random() * self._zone_cum[-1])]
        ebc = pop.ecommerce[zone.city][rng.randrange(len(pop.ecommerce[zone.city]))]
        platforms = pop.platforms_of[ebc.code]
        ebp = platforms[rng.randrange(len(platforms))]
        payment = pop.payments[bisect.bisect(self._payment_cum, rng.random() * self._payment_cum[-1])]
        carrier = pop.logistics[rng.randrange(len(pop.logistics))]
        declarants = pop.declarants[zone.city]
        agent = declarants[rng.randrange(len(declarants))]
        warehouse = pop.warehouses[zone.city]
        bonded = order.mode == "1210"
        lines = tuple(
            Line(
                item_no=product.spec.sku,
                name=product.spec.name,
                gcode=product.spec.gcode,
                gmodel=product.spec.gmodel,
                qty=Decimal(qty),
                price=price,
                unit=product.spec.unit,
                legal_qty=product.spec.legal * qty,
                legal_unit=product.spec.legal_unit,
                country=product.spec.country,
                bar_code=product.bar_code,
                item_record_no=product.spec.sku if bonded else None,
            )
            for product, qty, price in order.items
        )
        goods = sum((line.total for line in lines), Decimal("0.00"))
        freight = Decimal(rng.choice((0, 0, 0, 5, 8, 10) if bonded else (0, 0, 15, 20, 25, 30)))
        discount = Decimal("0.00")
        if goods >= 199 and rng.random() < 0.3:
            discount = Decimal(rng.choice((5, 10, 20, 30)))
        rates = [product.tax_rate for product, _qty, _price in order.items]
        tax = money(sum((line.total * rate for line, rate in zip(lines, rates, strict=True)), Decimal("0")))
        t0 = order.at
        day = f"{t0:%Y%m%d}"
        airline, prefix = _AIRLINES[rng.randrange(len(_AIRLINES))]
        flight = f"{airline}{rng.randrange(100, 9999)}"
        serial = rng.randrange(10**7)
        # arrival times: order, payment seconds later, waybill minutes to hours later, then the list
        pay_at = t0 + timedelta(seconds=rng.uniform(5, 180))
        way_at = t0 + timedelta(seconds=rng.uniform(120, 2400) if bonded else rng.uniform(1200, 3 * 3600))
        list_at = way_at + timedelta(seconds=rng.uniform(60, 1800))
        base = Trade(
            order_no=f"SO{day}{self._tag}{seq:08d}",
            logistics_no=f"LN{self._tag}{seq:010d}",
            pay_transaction_id=f"PAY{day}{self._tag}{seq:08d}",
            buyer=order.buyer.buyer,
            lines=lines,
            freight=freight,
            discount=discount,
            tax_total=tax,
            trade_mode=order.mode,
            ebp=ebp.party,
            ebc=ebc.party,
            logistics=carrier.party,
            payment=payment.party,
            agent=agent.party,
            area=warehouse.enterprise.party,
            customs_code=zone.customs,
            port_code=zone.customs,
            pay_time=f"{t0 + timedelta(seconds=5):%Y%m%d%H%M%S}",
            ems_no=warehouse.ems_no,
            traf_no=flight,
            voyage_no=f"{flight}-{t0 - timedelta(days=1):%Y%m%d}",
            bill_no=f"{prefix}-{serial:07d}{serial % 7}",
            decl_time=f"{list_at:%Y%m%d}",
        )
        docs = [
            _Doc("CEB311", base, ebc, t0),
            _Doc("CEB411", base, payment, pay_at),
            _Doc("CEB511", base, carrier, way_at),
            _Doc("CEB621", base, agent, list_at),
        ]
        codes: set[str] = set()
        for fault in order.faults:
            code = FAULT_CODES.get(fault)
            if code is not None:
                codes.add(code)
            self._apply(fault, seq, base, docs)
        decl_time = f"{docs[3].at:%Y%m%d}"
        if decl_time != base.decl_time:
            for doc in docs:
                doc.trade = replace(doc.trade, decl_time=decl_time)
        record = ListRecord(
            seq=seq,
            order_no=base.order_no,
            ebc_code=ebc.code,
            trade_mode=order.mode,
            zone=zone.city,
            buyer_id=order.buyer.id_number,
            tax_price=money(goods + freight),
            indivisible=len(lines) == 1 and lines[0].qty == 1,
            lines=len(lines),
            faults=tuple(order.faults),
            codes=frozenset(codes),
            decision=None,
            decided_at=None,
            group=order.group,
        )
        self._write(seq, docs, record, sink)
        if bonded:
            for line in lines:
                key = (warehouse.ems_no, line.item_record_no or "")
                self.stock[key] = self.stock.get(key, Decimal("0")) + line.qty
        self.on_record(record)

    def _apply(self, fault: str, seq: int, base: Trade, docs: list[_Doc]) -> None:
        """Change the documents of a trade for one fault (content faults change a trade variant)."""
        rng = self.rng
        _order, payment, waybill, _listing = docs
        if fault == "amount_mismatch":
            options = [base.paid - base.taxes, base.paid + Decimal("0.01"), base.paid - Decimal("10.00")]
            if base.discount:
                options.append(base.paid + base.discount)
            paid = max(options[rng.randrange(len(options))], Decimal("0.01"))
            if paid == base.paid:
                paid = base.paid + Decimal("1.00")
            payment.trade = replace(payment.trade, actural_paid=paid)
        elif fault == "consignee_mismatch":
            other = self._someone_else(seq, 1)
            buyer = replace(base.buyer, name=other.name, telephone=other.telephone)
            waybill.trade = replace(waybill.trade, buyer=buyer)
        elif fault == "payer_not_buyer":
            other = self._someone_else(seq, 0)
            payer = Buyer(name=other.name, id_number=other.id_number, telephone=other.telephone)
            payment.trade = replace(payment.trade, buyer=payer)
        elif fault == "out_of_order":
            times = sorted(d.at for d in docs)
            order_ = list(range(4))
            while order_ == [0, 1, 2, 3]:
                rng.shuffle(order_)
            for doc, index in zip(docs, order_, strict=True):
                doc.at = times[index]
        elif fault == "duplicate":
            doc = docs[rng.randrange(4)]
            doc.duplicate_at = doc.at + timedelta(seconds=rng.uniform(1, 7200))
        elif fault == "malformed":
            index = rng.randrange(4)
            doc = docs[index]
            doc.broken = True
            doc.lost = index < 3 and rng.random() < 0.25  # a lost companion: the list waits for ever

    def _write(self, seq: int, docs: list[_Doc], record: ListRecord, sink: Sink) -> None:
        """Render each document (plus broken and duplicate copies), name it by arrival, hand it to the sink.

        The list is decided when the last good document arrives; its file stem is the decision key."""
        rng = self.rng
        out: list[tuple[datetime, str, bytes]] = []  # (arrival, kind, bytes); kind ends -broken / -dup
        complete = True
        last_good: datetime | None = None
        for doc in docs:
            message = _build(doc.code, doc.trade)
            # each document carries its own time and sender node; set on the built message (cheaper than
            # a new Trade per document)
            message.documents[0].children[_HEADS[doc.code]][0].values["appTime"] = f"{doc.at:%Y%m%d%H%M%S}"
            message.children["BaseTransfer"][0].values["dxpId"] = doc.sender.dxp_id
            data = render(message, pretty=False)  # the compact form enterprise systems send; less disk
            if self.config.dxp:
                data = wrap(
                    data,
                    sender_id=doc.sender.dxp_id,
                    cop_msg_id=stable_guid("DxpMsg", doc.code, message.guid),
                    create_time=doc.at,
                )
            arrival = doc.at
            if doc.broken:
                out.append((doc.at, f"{doc.code}-broken", _corrupt(data, rng)))
                if doc.lost:
                    complete = False
                    continue
                arrival = doc.at + timedelta(seconds=rng.uniform(30, 1800))  # resent after the CEB900
            out.append((arrival, doc.code, data))
            if doc.duplicate_at is not None:
                out.append((max(doc.duplicate_at, arrival + timedelta(seconds=1)), f"{doc.code}-dup", data))
            if last_good is None or arrival > last_good:
                last_good = arrival
        out.sort(key=lambda item: item[0])
        for k, (arrival, kind, data) in enumerate(out, 1):
            stem = _stem(arrival, seq, k)
            name = f"messages/{arrival:%Y%m%d}/{arrival:%H}/{stem}-{kind}.xml"
            sink(name, data)
            self.files += 1
            if kind.endswith("-broken"):
                record.broken.append(name)
            elif kind.endswith("-dup"):
                record.duplicates.append(name)
            elif complete and arrival == last_good:
                record.decision = stem
                record.decided_at = arrival


def _stem(at: datetime, seq: int, k: int) -> str:
    """File stem that sorts by arrival: CST time to the millisecond, list number, file number."""
    return f"{at:%Y%m%d%H%M%S}{at.microsecond // 1000:03d}-{seq:08d}-{k}"


def _build(code: str, trade: Trade) -> Message:
    if code == "CEB311":
        return ceb311(trade)
    if code == "CEB411":
        return ceb411(trade)
    if code == "CEB511":
        return ceb511(trade)
    return ceb621(trade)


def _corrupt(data: bytes, rng: random.Random) -> bytes:
    """A copy that is not well-formed XML, the way broken files look: cut short, a mangled end tag, or a
    stray '<' in a text."""
    style = rng.randrange(3)
    if style == 0:
        return data[: max(10, int(len(data) * rng.uniform(0.3, 0.9)))]
    if style == 1:
        at = data.rfind(b"</")
        return data[: at + 2] + b"X" + data[at + 2 :]
    at = data.find(b"><", len(data) // 2)
    return data[: at + 1] + b"a<b" + data[at + 1 :]


def _split(
    items: list[tuple[Product, int, Decimal]], cap: Decimal
) -> list[list[tuple[Product, int, Decimal]]]:
    """Split a basket into parts each worth at most `cap` (first fit, most expensive articles first)."""
    units = sorted(((p, price) for p, qty, price in items for _ in range(qty)), key=lambda u: -u[1])
    bins: list[tuple[Decimal, dict[str, tuple[Product, int, Decimal]]]] = []
    for product, price in units:
        for index, (total, lines) in enumerate(bins):
            if total + price <= cap:
                _p, qty, _pr = lines.get(product.spec.sku, (product, 0, price))
                lines[product.spec.sku] = (product, qty + 1, price)
                bins[index] = (total + price, lines)
                break
        else:
            bins.append((price, {product.spec.sku: (product, 1, price)}))
    return [list(lines.values()) for _total, lines in bins]


def generate(config: SimConfig, sink: Sink) -> Generator:
    """Run a generator for `config` through `sink`; the generator keeps the records and the stock needed."""
    generator = Generator(config)
    generator.run(sink)
    return generator
