"""Many rows at once: written with `COPY … FROM STDIN` on PostgreSQL (one executemany elsewhere), and
looked up by many composite keys with one query (`keys_bound`).

Intake writes a dozen append-only rows for every document (events, receipts, lines, parties …). On
PostgreSQL an executemany is still one Bind/Execute per row in the pipeline, and both psycopg and the
server pay per row; COPY streams the rows as one statement and costs a fraction of that on both sides.
Values go through each column's SQLAlchemy bind processor first, so a row is stored exactly as
`session.execute(insert(table), rows)` would store it (JSON serialized the same way, datetimes
normalized to UTC by `UtcDateTime`). SQLite's executemany is already a C loop: it stays.

`write` does the same for new ORM objects that were given their primary key up front (ids allocated
for a chunk): written the same way, then registered as persistent exactly as a flush registers what it
inserted, so later changes to them are ordinary UPDATEs and the unit of work never inserts them again.

A COPY costs two round trips and a statement the server parses afresh, whatever its size: for the few rows
a table gets from a small chunk (an HTTP server's group commit under light load: one to a few messages)
that was most of the write. Tables given fewer than `COPY_FROM` rows are therefore written together, each
with one multi-row INSERT, in one pipeline: one round trip for all of them (`_steps`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    Table,
    Text,
    bindparam,
    func,
    insert,
    inspect,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

Processor = Callable[[Any], Any] | None
M = TypeVar("M")


def new_object(model: type[M], **values: Any) -> M:
    """A new (transient) ORM object with these column values, built the way the ORM's loader builds one:
    the values go straight into the instance's dict instead of through an instrumented attribute set
    each, which is most of what constructing a 25-column row costs. Nothing listens for those sets on a
    new object (no history is kept before its INSERT); changes made afterwards are tracked as usual."""
    obj: M = model.__mapper__.class_manager.new_instance()  # type: ignore[attr-defined]
    obj.__dict__.update(values)
    return obj


#: tables given at least this many rows are written with COPY, the rest together in one pipeline
COPY_FROM = 24


@dataclass(frozen=True)
class _Write:
    table: Table
    columns: list[Column[Any]]
    values: Iterable[Sequence[Any]]
    rows: int


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts by column key) into `table` in the order given."""
    write(session, rows=[(table, rows)])


def write(
    session: Session,
    objects: Sequence[Sequence[Any]] = (),
    rows: Sequence[tuple[Table, Sequence[dict[str, Any]]]] = (),
) -> list[Any]:
    """Write, in this order, each group of `objects` (pending ORM objects of one mapped class that already
    carry their primary key), made persistent in `session`, and each batch of `rows` (dicts by column key)
    into its table. Returns the objects not taken (no primary key yet), left to the unit of work; on
    databases other than PostgreSQL no object is taken, and the rows go in with one executemany a table."""
    rows = [(table, batch) for table, batch in rows if batch]
    if session.get_bind().dialect.name != "postgresql":
        for table, batch in rows:
            session.execute(insert(table), list(batch))
        return [o for group in objects for o in group]
    left: list[Any] = []
    writes: list[_Write] = []
    taken: list[Any] = []
    for group in objects:
        if not group:
            continue
        mapped: Table = type(group[0]).__table__
        primary = [c.key for c in mapped.primary_key.columns]
        ready = [o for o in group if all(getattr(o, key) is not None for key in primary)]
        ids = {id(o) for o in ready}
        left.extend(o for o in group if id(o) not in ids)
        if not ready:
            continue
        columns = list(mapped.columns)
        for column in columns:  # what the unit of work would have filled in: the scalar default, else NULL
            default = _default(column)  # (every column set, so none is left expired after the attach below)
            for obj in ready:
                if column.key not in obj.__dict__:
                    setattr(obj, column.key, default)
        writes.append(_Write(mapped, columns, _from_objects(ready, columns), len(ready)))
        taken.extend(ready)
    for table, batch in rows:
        keys: dict[str, None] = {}
        for row in batch:
            keys.update(dict.fromkeys(row))
        columns = [table.c[key] for key in keys]
        writes.append(_Write(table, columns, _from_dicts(batch, columns), len(batch)))
    _write(session, writes)
    # what a flush does after its INSERT: identity keys set, attribute state committed, the rows moved from
    # the session's new objects to its identity map and kept for a rollback to undo
    if taken:
        session._register_persistent({inspect(obj) for obj in taken})
    return left


def _from_dicts(rows: Sequence[dict[str, Any]], columns: Sequence[Column[Any]]) -> Iterator[list[Any]]:
    fill = [_default(column) for column in columns]
    for row in rows:
        yield [row.get(c.key, d) for c, d in zip(columns, fill, strict=True)]


def _from_objects(objects: Sequence[Any], columns: Sequence[Column[Any]]) -> Iterator[list[Any]]:
    for obj in objects:
        yield [obj.__dict__.get(c.key) for c in columns]


def _write(session: Session, writes: Sequence[_Write]) -> None:
    """The writes on PostgreSQL: COPY for the large ones, pipelines for the small ones (`_steps`)."""
    if not writes:
        return
    from psycopg import RawCursor

    dialect = session.get_bind().dialect
    driver = session.connection().connection.driver_connection
    assert driver is not None
    for step in _steps(writes):
        if isinstance(step, _Write):
            _copy(driver, dialect, step)
            continue
        with driver.pipeline(), RawCursor(driver) as cursor:
            for w in step:
                processors = _processors(w.columns, dialect)
                values = [
                    v if p is None else p(v) for r in w.values for p, v in zip(processors, r, strict=True)
                ]
                names = tuple(c.name for c in w.columns)
                # not prepared: the statement's text changes with the number of rows
                cursor.execute(_insert_values(w.table.name, names, w.rows), values, prepare=False)


@functools.lru_cache(maxsize=512)
def _insert_values(table: str, columns: tuple[str, ...], rows: int) -> str:
    """One INSERT for `rows` rows, with PostgreSQL's own placeholders: an executemany pays psycopg's
    per-statement work on every row, and a query with psycopg's placeholders is parsed again on every
    execution once it has more than a few dozen parameters."""
    width = len(columns)
    values = ", ".join(
        "(" + ", ".join(f"${r * width + c + 1}" for c in range(width)) + ")" for r in range(rows)
    )
    names = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES {values}'


def _steps(writes: Sequence[_Write]) -> list[_Write | list[_Write]]:
    """The writes as steps: a large write alone (a COPY), small ones together (a pipeline, run in order).

    Every small write goes into the first pipeline unless it refers to a table written by a write before it
    that is not in that pipeline; the others keep their order. So a row still goes in after the rows it
    refers to, and a chunk's writes usually take one pipeline and a COPY for each large table."""
    first: list[_Write] = []
    steps: list[_Write | list[_Write]] = [first]
    late: set[Table] = set()
    for write in writes:
        referred = {fk.column.table for fk in write.table.foreign_keys}
        if write.rows < COPY_FROM and not referred & late:
            first.append(write)
            continue
        late.add(write.table)
        if write.rows >= COPY_FROM:
            steps.append(write)
        elif isinstance(steps[-1], list) and steps[-1] is not first:
            steps[-1].append(write)
        else:
            steps.append([write])
    return [step for step in steps if step]


def _processors(columns: Sequence[Column[Any]], dialect: Any) -> list[Processor]:
    return [c.type._cached_bind_processor(dialect) for c in columns]


def _copy(driver: Any, dialect: Any, write: _Write) -> None:
    processors = _processors(write.columns, dialect)
    names = ", ".join(f'"{c.name}"' for c in write.columns)
    with driver.cursor() as cursor, cursor.copy(f'COPY "{write.table.name}" ({names}) FROM STDIN') as copy:
        for row in write.values:
            copy.write_row([v if p is None else p(v) for p, v in zip(processors, row, strict=True)])


def _default(column: Column[Any]) -> Any:
    """A column's scalar Python-side default (None when it has none); a callable default is refused,
    because COPY cannot run it the way the ORM would."""
    default = column.default
    if default is None:
        return None
    if not default.is_scalar:
        raise ValueError(f"{column} has a non-scalar default; bulk insert cannot apply it")
    return default.arg  # type: ignore[attr-defined]


def keys_bound(dialect: str, columns: Sequence[Any], name: str = "keys") -> ColumnElement[bool]:
    """``(columns…) IN keys`` with the keys left to execution, for a statement built once and run many
    times (on `dialect`): building a statement and computing its cache key cost several times the CPU of
    running it. Run it with `keys_values(dialect, keys, name)` as (part of) its parameters; never with no
    keys.

    On PostgreSQL the keys are a semi-join against ``unnest`` of one array a column: a list of row
    constructors is planned as one OR branch a key, which with a few hundred keys costs tens of
    milliseconds of planning and rechecking each time, the arrays a millisecond. A key that names every
    column of an index lets the planner probe that index for each key even when the table has no
    statistics (never analyzed), where a condition left outside the keys (``kind IN (…)``, say) is
    guessed to be selective and can be chosen to scan with instead. Elsewhere the plain ``IN``."""
    if dialect != "postgresql":
        return tuple_(*columns).in_(bindparam(name, expanding=True))
    labels = _labels(len(columns))
    arrays = [
        bindparam(f"{name}_{label}", type_=ARRAY(Integer) if isinstance(c.type, Integer) else ARRAY(Text))
        for label, c in zip(labels, columns, strict=True)
    ]
    keys = func.unnest(*arrays).table_valued(*labels).render_derived()
    return tuple_(*columns).in_(select(*(keys.c[label] for label in labels)))


def keys_values(
    dialect: str, keys: Sequence[tuple[Any, ...]], name: str = "keys", *, arity: int | None = None
) -> dict[str, Any]:
    """The parameters of a `keys_bound` condition for `keys` (all of the condition's arity): none of them
    only with that `arity` given, for a condition that is one part of a statement (it then finds nothing)."""
    if dialect != "postgresql":
        return {name: list(keys)}
    size = arity if arity is not None else len(keys[0])
    return {f"{name}_{label}": [k[i] for k in keys] for i, label in enumerate(_labels(size))}


def _labels(n: int) -> list[str]:
    return [chr(ord("a") + i) for i in range(n)]
