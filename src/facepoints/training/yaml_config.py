"""Reading a flat YAML mapping for a config dataclass, with clear errors."""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import yaml


def read_config_mapping(path: str | Path, cls: type) -> dict:
    """The YAML mapping in ``path`` whose keys must all be fields of dataclass ``cls``;
    ``FileNotFoundError`` / ``ValueError`` (one line each) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such config file")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a config must be a YAML mapping")
    unknown = set(raw) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"{path}: unknown config keys {sorted(unknown)}")
    return raw
