"""Operator files as rows of text: CSV (UTF-8, with or without BOM) or XLSX (first sheet), headers mapped to
canonical names so Chinese headers work too."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path

from cbec.zones.errors import BadZoneFile


def read_rows(path: Path, aliases: Mapping[str, str]) -> list[dict[str, str]]:
    """Rows of `path` as dicts keyed by canonical header (`aliases` maps every accepted header to it)."""
    if not path.is_file():
        raise BadZoneFile(f"文件不存在：{path}", f"no such file: {path}")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raw = _xlsx(path)
    else:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BadZoneFile(
                f"{path.name} 不是 UTF-8 编码的 CSV", f"{path.name} is not a UTF-8 CSV file"
            ) from exc
        raw = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not raw:
        raise BadZoneFile(f"{path.name} 是空文件", f"{path.name} is empty")
    header = [aliases.get(h.strip().lower(), aliases.get(h.strip(), "")) for h in raw[0]]
    unknown = [raw[0][i] for i, h in enumerate(header) if not h and raw[0][i].strip()]
    if unknown:
        raise BadZoneFile(
            f"{path.name} 有无法识别的列：{', '.join(unknown)}",
            f"{path.name} has unknown columns: {', '.join(unknown)}",
        )
    rows = []
    for cells in raw[1:]:
        rows.append(
            {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header) if name}
        )
    return rows


def _xlsx(path: Path) -> list[list[str]]:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a broken file
        raise BadZoneFile(
            f"{path.name} 不是有效的 XLSX 文件", f"{path.name} is not a valid XLSX file"
        ) from exc
    sheet = book.worksheets[0]
    rows = []
    for values in sheet.iter_rows(values_only=True):
        cells = ["" if v is None else str(v) for v in values]
        if any(c.strip() for c in cells):
            rows.append(cells)
    book.close()
    return rows


def require(rows: list[dict[str, str]], columns: tuple[str, ...], name: str) -> None:
    """Refuse a file that lacks a required column (checked once, before any row)."""
    present = set(rows[0]) if rows else set()
    missing = [c for c in columns if c not in present]
    if missing:
        raise BadZoneFile(
            f"{name} 缺少必需的列：{', '.join(missing)}",
            f"{name} lacks required columns: {', '.join(missing)}",
        )
