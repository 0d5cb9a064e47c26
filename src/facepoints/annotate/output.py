"""The output folder of ``facepoints annotate``: Parquet parts, written atomically, and what
earlier runs already wrote there (a rerun skips those images)."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

from ..tables.rows import schema, to_table


class OutputError(ValueError):
    """The output folder cannot be used (a file, or a part no one can read)."""


def prepare_output(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder (--out takes a folder for the Parquet parts)")
    out.mkdir(parents=True, exist_ok=True)
    return out


def done_images(out: Path) -> tuple[set[str], list[str]]:
    """Images already in ``out``'s Parquet parts, and the parts that could not be read (a run
    killed while writing: their images are annotated again)."""
    import pyarrow.parquet as pq

    done, broken = set(), []
    for part in sorted(out.glob("*.parquet")):
        try:
            table = pq.read_table(part, columns=["image"])
        except Exception as exc:  # noqa: BLE001 - any unreadable part: say so, redo its images
            broken.append(f"{part.name} ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})")
            continue
        done.update(table.column("image").to_pylist())
    return done, broken


def write_part(out: Path, rows: list[dict]) -> Path:
    """One Parquet part holding ``rows``, written under a temporary name and renamed, so a
    kill never leaves a half-written part behind."""
    import pyarrow.parquet as pq

    name = f"part-{uuid.uuid4().hex[:16]}.parquet"
    tmp = out / f".{name}.tmp"
    pq.write_table(to_table(rows), tmp)
    os.replace(tmp, out / name)
    return out / name


def read_output(out: str | Path):
    """Every row written to ``out`` as one Arrow table (the schema of ``rows.schema``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = sorted(Path(out).glob("*.parquet"))
    tables = [pq.read_table(p).cast(schema()) for p in parts]
    return pa.concat_tables(tables) if tables else schema().empty_table()
