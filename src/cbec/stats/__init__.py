"""Statistical monitoring (统计监测) of cleared cross-border trade.

* `model` — pure: dimensions, periods, roll-up of daily rows, month-on-month and year-on-year growth, top-N;
* `sql` — daily rows from the operational store (SQLite or PostgreSQL) with SQLAlchemy;
* `parquet` — the columnar export partitioned ``month=YYYY-MM/`` and the DuckDB path over it;
* `national` — the GACC national series as reference data (preliminary and survey kept apart);
* `charts` — PNG charts (matplotlib, Agg);
* `cli` — ``cbec stats …``.

Both engines produce the same daily rows, and everything above a day is computed once in `model`, so the
operational database and DuckDB agree by construction on roll-ups and growth, and a test checks the rows.
"""
