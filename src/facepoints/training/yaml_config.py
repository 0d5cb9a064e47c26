"""Reading a flat YAML mapping for a config dataclass, with clear errors."""
from __future__ import annotations

from dataclasses import asdict, fields
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


def build_section(raw: dict, key: str, cls: type, path: str | Path, convert: dict | None = None) -> None:
    """Replace the mapping ``raw[key]`` (when present) by ``cls(**raw[key])``; ``convert`` maps
    sub-keys to callables applied first (e.g. a nested section). ``ValueError`` naming the section
    on unknown keys or a non-mapping."""
    if key not in raw:
        return
    try:
        sub = dict(raw[key])
        for name, fn in (convert or {}).items():
            if name in sub:
                sub[name] = fn(sub[name])
        raw[key] = cls(**sub)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: bad {key!r} section: {exc}") from exc


class RunConfig:
    """Shared by training configs (dataclasses with ``name`` and ``output_dir``)."""

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name
