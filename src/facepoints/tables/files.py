"""Row tables on disk (schema: :mod:`facepoints.tables.rows`): JSON Lines (one row object per
line, lists as JSON), CSV (lists as compact JSON text in their cell, ``None`` as an empty cell)
and Parquet (the Arrow schema ``rows.schema()``; needs ``pyarrow``, the ``[tables]`` extra).
Each reads back to the rows that were written."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from .rows import COLUMNS, NESTED, SCALARS, to_table

FORMATS = ("jsonl", "csv", "parquet")
EXTRA_HINT = "pip install 'facepoints[tables]'"


class TableFormatError(ValueError):
    """A table format that does not exist, or a file that is not such a table."""


def table_format(path: str | Path, format: str | None = None) -> str:
    """``format``, or the one ``path``'s suffix names."""
    name = format or Path(path).suffix.lower().lstrip(".")
    if name not in FORMATS:
        raise TableFormatError(f"{path}: table format must be one of {', '.join(FORMATS)}, got {name!r}")
    return name


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(f"Parquet tables need pyarrow, which is not installed: {EXTRA_HINT}") from None
    return pa, pq


class TableWriter:
    """Writes rows to ``path``: JSON Lines and CSV line by line, flushed (a run that stops keeps
    what it wrote), Parquet in one go when closed; nothing at all when no row is written."""

    def __init__(self, path: str | Path, format: str | None = None) -> None:
        self.path = Path(path)
        self.format = table_format(self.path, format)
        self.rows = 0
        self._kept: list[dict] = []
        self._file = None
        if self.format == "parquet":
            _pyarrow()  # missing pyarrow: one line before any work

    def write(self, rows: Iterable[dict]) -> None:
        """Add rows (the file is created by the first call: no rows, no file)."""
        rows = list(rows)
        self.rows += len(rows)
        if self.format == "parquet":
            self._kept += rows
            return
        if self._file is None:
            self._file = self.path.open("w", encoding="utf-8", newline="")
            self._csv = csv.writer(self._file)
            if self.format == "csv":
                self._csv.writerow(COLUMNS)
        for row in rows:
            if self.format == "jsonl":
                self._file.write(json.dumps({k: row.get(k) for k in COLUMNS}, allow_nan=False,
                                            separators=(",", ":")) + "\n")
            else:
                self._csv.writerow([_cell(row.get(k), k in NESTED) for k in COLUMNS])
        self._file.flush()

    def close(self) -> None:
        if self.format == "parquet" and self.rows:
            _, pq = _pyarrow()
            pq.write_table(to_table([{k: r.get(k) for k in COLUMNS} for r in self._kept]), str(self.path))
            self._kept = []
        elif self._file is not None:
            self._file.close()

    def __enter__(self) -> "TableWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _cell(value, nested: bool) -> str:
    if value is None:
        return ""
    return json.dumps(value, allow_nan=False, separators=(",", ":")) if nested else str(value)


def _parse(name: str, text: str):
    if text == "":
        return None
    return json.loads(text) if name in NESTED else SCALARS[name](text)


def write_table(rows: Iterable[dict], path: str | Path, format: str | None = None) -> Path:
    """Write ``rows`` to ``path`` (format from its suffix unless given; no rows: no file); returns the path."""
    with TableWriter(path, format) as writer:
        writer.write(rows)
    return writer.path


def read_table(path: str | Path, format: str | None = None) -> list[dict]:
    """The rows of a table these writers wrote, with the values that were written."""
    path = Path(path)
    kind = table_format(path, format)
    if kind == "parquet":
        _, pq = _pyarrow()
        return pq.read_table(str(path)).to_pylist()
    text = path.read_text(encoding="utf-8")
    if kind == "jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header != list(COLUMNS):
        raise TableFormatError(f"{path}: not a facepoints table (its header is not {','.join(COLUMNS)})")
    return [{name: _parse(name, cell) for name, cell in zip(header, line)} for line in reader]


def is_table_file(path: str | Path) -> bool:
    """Whether ``path`` is empty or a table these writers wrote (a run may replace it)."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            return True
        kind = table_format(path)
        if kind == "parquet":
            _, pq = _pyarrow()
            return pq.read_schema(str(path)).names == list(COLUMNS)
        with path.open(encoding="utf-8", newline="") as f:
            first = f.readline()
        if kind == "csv":
            return first.rstrip("\r\n") == ",".join(COLUMNS)
        row = json.loads(first)
        return isinstance(row, dict) and list(row) == list(COLUMNS)
    except (OSError, ValueError, ImportError, UnicodeDecodeError):
        return False
