"""Reading a YAML mapping for a config dataclass, every value checked up front (``config_checks``),
with one-line errors naming the file and the field."""
from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path

import yaml

from .config_checks import ConfigError, check_values


def read_config_mapping(path: str | Path, cls: type, overrides: dict | None = None) -> dict:
    """The YAML mapping in ``path`` (updated with ``overrides``, e.g. command-line options) whose
    keys must all be fields of dataclass ``cls``, each value of its field's type and range (nested
    sections are left to ``build_section``); ``FileNotFoundError`` / ``ConfigError`` (one line each)
    otherwise. An empty file is refused (it would silently start the default run)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such config file")
    try:
        raw = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from exc
    if raw is None or raw == {}:
        raise ConfigError(f"{path}: empty config; give at least the run's name and data (see configs/ for examples)")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a config must be a YAML mapping (key: value lines), not a {type(raw).__name__}")
    raw.update(overrides or {})
    known = [f.name for f in fields(cls)]
    unknown = [str(k) for k in raw if k not in known]
    if unknown:
        raise ConfigError(f"{path}: unknown config keys {sorted(unknown)}")
    try:
        return check_values(raw, cls)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def build_section(raw: dict, key: str, cls: type, path: str | Path, nested: dict[str, type] | None = None,
                  prefix: str = "") -> None:
    """Replace the mapping ``raw[key]`` (when present) by ``cls(**raw[key])``, each value checked
    (``check_values``); ``nested`` maps sub-keys to their own section classes. ``ConfigError``
    naming the section and field on a non-mapping, unknown keys or a bad value."""
    if key not in raw:
        return
    name = f"{prefix}{key}"
    sub = raw[key]
    if not isinstance(sub, dict):
        raise ConfigError(f"{path}: {name} must be a mapping (key: value lines), not {sub!r:.60}")
    sub = dict(sub)
    known = [f.name for f in fields(cls)]
    unknown = [str(k) for k in sub if k not in known]
    if unknown:
        raise ConfigError(f"{path}: unknown keys in {name}: {sorted(unknown)}; known: {', '.join(known)}")
    for inner, inner_cls in (nested or {}).items():
        build_section(sub, inner, inner_cls, path, prefix=f"{name}.")
    try:
        sub = check_values(sub, cls, prefix=f"{name}.")
        raw[key] = cls(**sub)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: bad {name} section: {' '.join(str(exc).split())}") from None


class RunConfig:
    """Shared by training configs (dataclasses with ``name`` and ``output_dir``)."""

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name
