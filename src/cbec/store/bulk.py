"""Many rows at once: written with `COPY … FROM STDIN` on PostgreSQL (one executemany elsewhere), and
looked up by many composite keys with one query (`pairs_in`).

Intake writes a dozen append-only rows for every document (events, receipts, lines, parties …). On
PostgreSQL an executemany is still one Bind/Execute per row in the pipeline, and both psycopg and the
server pay per row; COPY streams the rows as one statement and costs a fraction of that on both sides.
Values go through each column's SQLAlchemy bind processor first, so a row is stored exactly as
`session.execute(insert(table), rows)` would store it (JSON serialized the same way, datetimes
normalized to UTC by `UtcDateTime`). SQLite's executemany is already a C loop: it stays.

`insert_new` does the same for new ORM objects that were given their primary key up front (ids allocated
for a chunk): written with COPY, then registered as persistent exactly as a flush registers what it
inserted, so later changes to them are ordinary UPDATEs and the unit of work never inserts them again.

A COPY costs two round trips however few its rows, and a small chunk (an HTTP request's message or two)
writes to eight tables. So the tables of one write with at most `PIPELINE_ROWS` rows each go together
in one pipeline, one round trip for all of them; larger ones keep their COPY. The order of the tables is
kept either way, so rows are written after the rows they point to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
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
    literal,
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


#: a table with at most this many rows in a write goes in the pipeline with the other small ones
PIPELINE_ROWS = 40

Batch = tuple[Table, list[Column[Any]], list[list[Any]]]


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts by column key) into `table` in the order given."""
    insert_tables(session, [(table, rows)])


def insert_tables(session: Session, tables: Sequence[tuple[Table, Sequence[dict[str, Any]]]]) -> None:
    """Insert each table's rows (dicts by column key), the tables in the order given, each table's rows in
    theirs; on PostgreSQL with as few round trips as their sizes allow (`write`)."""
    if session.get_bind().dialect.name != "postgresql":
        for table, rows in tables:
            if rows:
                session.execute(insert(table), list(rows))
        return
    batches: list[Batch] = []
    for table, rows in tables:
        if not rows:
            continue
        keys: dict[str, None] = {}
        for row in rows:
            keys.update(dict.fromkeys(row))
        columns = [table.c[key] for key in keys]
        fill = [_default(column) for column in columns]
        batches.append(
            (
                table,
                columns,
                [[row.get(c.key, d) for c, d in zip(columns, fill, strict=True)] for row in rows],
            )
        )
    write(session, batches)


def insert_new(session: Session, objects: Sequence[Any]) -> list[Any]:
    """Write pending ORM objects that already carry their primary key, and make them persistent in
    `session`: the mapped classes in the order they first appear (a table before the tables that point to
    it), in one `write`. Returns the objects it did not take (no primary key yet): the caller leaves those
    to the unit of work. On databases other than PostgreSQL nothing is taken."""
    if not objects or session.get_bind().dialect.name != "postgresql":
        return list(objects)
    by_class: dict[type, list[Any]] = {}
    for obj in objects:
        by_class.setdefault(type(obj), []).append(obj)
    batches: list[Batch] = []
    ready: list[Any] = []
    for model, group in by_class.items():
        table: Table = model.__table__  # type: ignore[attr-defined]
        primary = [c.key for c in table.primary_key.columns]
        taken = [o for o in group if all(getattr(o, key) is not None for key in primary)]
        if not taken:
            continue
        columns = list(table.columns)
        for column in columns:  # what the unit of work would have filled in: the scalar default, else NULL
            default = _default(column)  # (every column set, so none is left expired after the attach below)
            for obj in taken:
                if column.key not in obj.__dict__:
                    setattr(obj, column.key, default)
        batches.append((table, columns, [[obj.__dict__.get(c.key) for c in columns] for obj in taken]))
        ready.extend(taken)
    if not ready:
        return list(objects)
    write(session, batches)
    # what a flush does after its INSERT: identity keys set, attribute state committed, the rows moved from
    # the session's new objects to its identity map and kept for a rollback to undo
    session._register_persistent({inspect(obj) for obj in ready})
    done = {id(o) for o in ready}
    return [o for o in objects if id(o) not in done]


def write(session: Session, batches: Sequence[Batch]) -> None:
    """Write (table, columns, rows) batches in their order on PostgreSQL: consecutive batches of at most
    `PIPELINE_ROWS` rows as INSERTs in one pipeline (one round trip), larger ones with COPY."""
    dialect = session.get_bind().dialect
    driver = session.connection().connection.driver_connection
    assert driver is not None
    small: list[Batch] = []
    for batch in batches:
        if len(batch[2]) <= PIPELINE_ROWS:
            small.append(batch)
            continue
        _pipeline(driver, dialect, small)
        small = []
        _copy(driver, dialect, *batch)
    _pipeline(driver, dialect, small)


def _processed(dialect: Any, columns: list[Column[Any]], rows: list[list[Any]]) -> Iterator[list[Any]]:
    """Each row's values through its column's bind processor, as the ORM would send them."""
    processors: list[Processor] = [c.type._cached_bind_processor(dialect) for c in columns]
    for row in rows:
        yield [v if p is None else p(v) for p, v in zip(processors, row, strict=True)]


def _names(columns: list[Column[Any]]) -> str:
    return ", ".join(f'"{c.name}"' for c in columns)


def _pipeline(driver: Any, dialect: Any, batches: list[Batch]) -> None:
    if not batches:
        return
    with driver.pipeline(), driver.cursor() as cursor:
        for table, columns, rows in batches:
            marks = ", ".join(["%s"] * len(columns))
            sql = f'INSERT INTO "{table.name}" ({_names(columns)}) VALUES ({marks})'
            cursor.executemany(sql, list(_processed(dialect, columns, rows)))


def _copy(driver: Any, dialect: Any, table: Table, columns: list[Column[Any]], rows: list[list[Any]]) -> None:
    with (
        driver.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({_names(columns)}) FROM STDIN') as copy,
    ):
        for row in _processed(dialect, columns, rows):
            copy.write_row(row)


def _default(column: Column[Any]) -> Any:
    """A column's scalar Python-side default (None when it has none); a callable default is refused,
    because COPY cannot run it the way the ORM would."""
    default = column.default
    if default is None:
        return None
    if not default.is_scalar:
        raise ValueError(f"{column} has a non-scalar default; bulk insert cannot apply it")
    return default.arg  # type: ignore[attr-defined]


def pairs_in(
    session: Session, first: Any, second: Any, pairs: Sequence[tuple[Any, Any]]
) -> ColumnElement[bool]:
    """``(first, second) IN pairs``. On PostgreSQL as a semi-join against ``unnest`` of two arrays: a list
    of row constructors is planned as one OR branch a pair — with a few hundred pairs that costs tens of
    milliseconds of planning and rechecking each time, the arrays a millisecond. Elsewhere the plain form."""
    if session.get_bind().dialect.name != "postgresql":
        return tuple_(first, second).in_(list(pairs))
    types = [ARRAY(Integer) if isinstance(c.type, Integer) else ARRAY(Text) for c in (first, second)]
    keys = (
        func.unnest(literal([p[0] for p in pairs], types[0]), literal([p[1] for p in pairs], types[1]))
        .table_valued("a", "b")
        .render_derived()
    )
    return tuple_(first, second).in_(select(keys.c.a, keys.c.b))


def pairs_bound(dialect: str, first: Any, second: Any, name: str = "pairs") -> ColumnElement[bool]:
    """`pairs_in` with the pairs left to execution, for a statement built once and run many times (on
    `dialect`): building a statement and computing its cache key cost several times the CPU of running it.
    Run it with `pairs_values(dialect, pairs, name)` as (part of) its parameters; never with no pairs."""
    if dialect != "postgresql":
        return tuple_(first, second).in_(bindparam(name, expanding=True))
    types = [ARRAY(Integer) if isinstance(c.type, Integer) else ARRAY(Text) for c in (first, second)]
    keys = (
        func.unnest(bindparam(f"{name}_a", type_=types[0]), bindparam(f"{name}_b", type_=types[1]))
        .table_valued("a", "b")
        .render_derived()
    )
    return tuple_(first, second).in_(select(keys.c.a, keys.c.b))


def pairs_values(dialect: str, pairs: Sequence[tuple[Any, Any]], name: str = "pairs") -> dict[str, Any]:
    """The parameters of a `pairs_bound` condition for `pairs` (non-empty)."""
    if dialect != "postgresql":
        return {name: list(pairs)}
    return {f"{name}_a": [p[0] for p in pairs], f"{name}_b": [p[1] for p in pairs]}
