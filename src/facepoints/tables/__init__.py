"""Results as tables: one row per face (``rows``), written and read back as JSON Lines, CSV or
Parquet (``files``), or as a pandas DataFrame (``frame``; pandas is the ``[tables]`` extra)."""
from __future__ import annotations

from .files import FORMATS, TableWriter, read_table, write_table
from .frame import to_dataframe
from .rows import COLUMNS, error_rows, image_rows, schema

__all__ = ["COLUMNS", "FORMATS", "TableWriter", "error_rows", "image_rows", "read_table", "schema", "to_dataframe",
           "write_table"]
