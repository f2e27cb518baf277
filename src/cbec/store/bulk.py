"""Many rows at once: written with `COPY … FROM STDIN` on PostgreSQL (one executemany elsewhere), and
looked up by many composite keys with one query (`keys_bound`).

Intake writes a dozen append-only rows for every document (events, receipts, lines, parties …). On
PostgreSQL an executemany is still one Bind/Execute per row in the pipeline, and both psycopg and the
server pay per row; COPY streams the rows as one statement and costs a fraction of that on both sides.
Values go through each column's SQLAlchemy bind processor first, so a row is stored exactly as
`session.execute(insert(table), rows)` would store it (JSON serialized the same way, datetimes
normalized to UTC by `UtcDateTime`). SQLite's executemany is already a C loop: it stays.

`insert_new` does the same for new ORM objects that were given their primary key up front (ids allocated
for a chunk): written with COPY, then registered as persistent exactly as a flush registers what it
inserted, so later changes to them are ordinary UPDATEs and the unit of work never inserts them again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts by column key) into `table` in the order given."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), list(rows))
        return
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    columns = [table.c[key] for key in keys]
    fill = [_default(column) for column in columns]
    _copy(
        session,
        table,
        columns,
        ([row.get(c.key, d) for c, d in zip(columns, fill, strict=True)] for row in rows),
    )


def insert_new(session: Session, objects: Sequence[Any]) -> list[Any]:
    """Write pending ORM objects of one mapped class that already carry their primary key, and make them
    persistent in `session`. Returns the objects it did not take (no primary key yet): the caller leaves
    those to the unit of work. On databases other than PostgreSQL nothing is taken."""
    if not objects or session.get_bind().dialect.name != "postgresql":
        return list(objects)
    table: Table = type(objects[0]).__table__
    primary = [c.key for c in table.primary_key.columns]
    ready = [o for o in objects if all(getattr(o, key) is not None for key in primary)]
    if not ready:
        return list(objects)
    columns = list(table.columns)
    for column in columns:  # what the unit of work would have filled in: the scalar default, else NULL
        default = _default(column)  # (every column set, so none is left expired after the attach below)
        for obj in ready:
            if column.key not in obj.__dict__:
                setattr(obj, column.key, default)
    _copy(session, table, columns, ([obj.__dict__.get(c.key) for c in columns] for obj in ready))
    # what a flush does after its INSERT: identity keys set, attribute state committed, the rows moved from
    # the session's new objects to its identity map and kept for a rollback to undo
    session._register_persistent({inspect(obj) for obj in ready})
    taken = {id(o) for o in ready}
    return [o for o in objects if id(o) not in taken]


def _copy(session: Session, table: Table, columns: list[Column[Any]], values: Any) -> None:
    dialect = session.get_bind().dialect
    processors: list[Processor] = [c.type._cached_bind_processor(dialect) for c in columns]
    names = ", ".join(f'"{c.name}"' for c in columns)
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in values:
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


def keys_values(dialect: str, keys: Sequence[tuple[Any, ...]], name: str = "keys") -> dict[str, Any]:
    """The parameters of a `keys_bound` condition for `keys` (non-empty, all of the condition's arity)."""
    if dialect != "postgresql":
        return {name: list(keys)}
    return {f"{name}_{label}": [k[i] for k in keys] for i, label in enumerate(_labels(len(keys[0])))}


def _labels(n: int) -> list[str]:
    return [chr(ord("a") + i) for i in range(n)]
