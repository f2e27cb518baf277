"""The columnar copy for national volumes: Parquet partitioned by month, queried with DuckDB.

Layout (Hive-style, so Spark, Trino/Presto and DuckDB all discover the partitions unchanged)::

    DIR/month=2025-01/part-00000.parquet
    DIR/month=2025-02/part-00000.parquet …

Columns: list_id int64, day date32 (China time), zone, park, direction, mode, country, chapter,
enterprise (strings), value decimal128(19, 5). Values stay exact decimals end to end: DuckDB sums them as
DECIMAL and hands back `Decimal`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from cbec.stats.errors import ExportExists, NoParquet
from cbec.stats.model import DailyRow, check
from cbec.stats.sql import Fact

COLUMNS = ("list_id", "day", "zone", "park", "direction", "mode", "country", "chapter", "enterprise", "value")
ROWS_PER_FILE = 1_000_000


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            ("list_id", pa.int64()),
            ("day", pa.date32()),
            ("zone", pa.string()),
            ("park", pa.string()),
            ("direction", pa.string()),
            ("mode", pa.string()),
            ("country", pa.string()),
            ("chapter", pa.string()),
            ("enterprise", pa.string()),
            ("value", pa.decimal128(19, 5)),
        ]
    )


def export(facts: Iterable[Fact], folder: Path) -> dict[str, int]:
    """Write `facts` (ordered by day) under `folder` partitioned by month; rows written per month.

    Refuses a folder that already holds month partitions: a second export into the same place would count
    every line twice."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if folder.exists() and any(folder.glob("month=*")):
        raise ExportExists(
            f"{folder} 已有按月分区的导出，请换一个目录或先清空",
            f"{folder} already holds month partitions; use another folder or empty it first",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportExists(
            f"无法创建导出目录 {folder}：{exc.strerror}",
            f"cannot create the export folder {folder}: {exc.strerror}",
        ) from exc
    schema = _schema()
    written: dict[str, int] = {}
    buffer: list[Fact] = []
    parts: dict[str, int] = {}

    def flush() -> None:
        if not buffer:
            return
        month = f"{buffer[0].day.year:04d}-{buffer[0].day.month:02d}"
        columns = {name: [getattr(f, name) for f in buffer] for name in COLUMNS}
        table = pa.Table.from_pydict(columns, schema=schema)
        target = folder / f"month={month}"
        target.mkdir(exist_ok=True)
        part = parts.get(month, 0)
        pq.write_table(table, target / f"part-{part:05d}.parquet", compression="zstd")
        parts[month] = part + 1
        written[month] = written.get(month, 0) + len(buffer)
        buffer.clear()

    current: tuple[int, int] | None = None
    for fact in facts:
        month_key = (fact.day.year, fact.day.month)
        if current is not None and (month_key != current or len(buffer) >= ROWS_PER_FILE):
            flush()
        current = month_key
        buffer.append(fact)
    flush()
    return written


def _files(folder: Path) -> str:
    if not folder.is_dir() or not any(folder.glob("month=*/*.parquet")):
        raise NoParquet(
            f"{folder} 中没有按月分区的 Parquet 文件（先运行 cbec stats export --parquet {folder}）",
            f"no month-partitioned Parquet files in {folder} "
            f"(run cbec stats export --parquet {folder} first)",
        )
    return str(folder / "month=*" / "*.parquet")


def daily_rows(
    folder: Path,
    dimension: str,
    *,
    start: date | None = None,
    end: date | None = None,
    zone: str | None = None,
) -> list[DailyRow]:
    """The same daily rows as `cbec.stats.sql.daily_rows`, computed by DuckDB over the Parquet copy.

    Month partitions outside [start, end] are pruned by DuckDB from the ``month`` key."""
    import duckdb

    check(dimension, "day")
    key = {"total": "'all'", "direction": "direction"}.get(dimension, dimension)
    where = ["TRUE"]
    params: list[Any] = [_files(folder)]
    if start is not None:
        where.append("day >= ? AND month >= ?")
        params += [start, f"{start.year:04d}-{start.month:02d}"]
    if end is not None:
        where.append("day <= ? AND month <= ?")
        params += [end, f"{end.year:04d}-{end.month:02d}"]
    if zone is not None:
        where.append("zone = ?")
        params.append(zone)
    sql = (
        f"SELECT day, {key} AS key, SUM(value) AS value, COUNT(DISTINCT list_id) AS lists, COUNT(*) AS lines "
        "FROM read_parquet(?, hive_partitioning = true, hive_types = {'month': VARCHAR}) "
        f"WHERE {' AND '.join(where)} GROUP BY ALL"
    )
    with duckdb.connect() as con:
        result = con.execute(sql, params).fetchall()
    rows = [
        DailyRow(day, str(k), Decimal(value).quantize(Decimal("0.00001")), int(lists), int(lines))
        for day, k, value, lists, lines in result
    ]
    return sorted(rows, key=lambda r: (r.day, r.key))
