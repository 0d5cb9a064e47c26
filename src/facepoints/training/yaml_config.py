"""The root of the training config tree (``RunConfig``: the fields every run has) and its one
loader: a YAML mapping (or command-line values) checked field by field up front
(``config_checks``), with one-line errors naming the file and the field."""
from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import ClassVar

import yaml

from .config_checks import ConfigError, check_values


def read_yaml_mapping(path: str | Path) -> dict:
    """The YAML mapping in ``path``; ``FileNotFoundError`` / ``ConfigError`` (one line each)
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
    return raw


def at_place(where: str | Path | None, message: str) -> str:
    return f"{where}: {message}" if where is not None else message


def checked_mapping(raw: dict, cls: type, where: str | Path | None = None) -> dict:
    """``raw`` whose keys must all be fields of dataclass ``cls``, each value of its field's type
    and range (nested sections are left to ``build_section``); ``ConfigError`` naming ``where``
    (a file, or ``None`` for command-line values) and the field otherwise."""
    known = [f.name for f in fields(cls)]
    unknown = [str(k) for k in raw if k not in known]
    if unknown:
        raise ConfigError(at_place(where, f"unknown config keys {sorted(unknown)}"))
    try:
        return check_values(raw, cls)
    except ConfigError as exc:
        raise ConfigError(at_place(where, str(exc))) from None


def build_section(raw: dict, key: str, cls: type, path: str | Path | None, nested: dict[str, type] | None = None,
                  prefix: str = "") -> None:
    """Replace the mapping ``raw[key]`` (when present) by ``cls(**raw[key])``, each value checked
    (``check_values``); ``nested`` maps sub-keys to their own section classes. ``ConfigError``
    naming the section and field on a non-mapping, unknown keys or a bad value."""
    if key not in raw:
        return
    name = f"{prefix}{key}"
    sub = raw[key]
    if not isinstance(sub, dict):
        raise ConfigError(at_place(path, f"{name} must be a mapping (key: value lines), not {sub!r:.60}"))
    sub = dict(sub)
    known = [f.name for f in fields(cls)]
    unknown = [str(k) for k in sub if k not in known]
    if unknown:
        raise ConfigError(at_place(path, f"unknown keys in {name}: {sorted(unknown)}; known: {', '.join(known)}"))
    for inner, inner_cls in (nested or {}).items():
        build_section(sub, inner, inner_cls, path, prefix=f"{name}.")
    try:
        sub = check_values(sub, cls, prefix=f"{name}.")
        raw[key] = cls(**sub)
    except ConfigError as exc:
        raise ConfigError(at_place(path, str(exc))) from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(at_place(path, f"bad {name} section: {' '.join(str(exc).split())}")) from None


@dataclass(kw_only=True)
class RunConfig:
    """The fields every training run has; each objective's config (``TrainConfig``,
    ``BranchConfig``, ``FinetuneConfig``) adds its own, with its own defaults. ``objective`` says
    which one a YAML file is (``facepoints train`` reads all three)."""

    objective: str = "landmarks"  # landmarks | branches | finetune
    name: str | None = "run"
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 2
    output_dir: str = "runs"

    #: nested sections: key -> (section class, {sub-key: its section class})
    SECTIONS: ClassVar[dict[str, tuple[type, dict[str, type]]]] = {}

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def run_name(self) -> str:
        return str(self.name)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.run_name

    def check(self, where: str | Path | None) -> None:
        """Fields that must agree with each other (``ConfigError``, one line); none here."""

    @classmethod
    def sections(cls, raw: dict) -> dict[str, tuple[type, dict[str, type]]]:
        """The nested sections of ``raw`` (a subclass may pick them by another field's value)."""
        return cls.SECTIONS

    @classmethod
    def from_mapping(cls, raw: dict, where: str | Path | None = None) -> "RunConfig":
        """The config of mapping ``raw`` (a YAML file's, or command-line values), every value
        checked up front: ``ConfigError`` (a ``ValueError``, one line naming ``where`` and the field)."""
        raw = checked_mapping(dict(raw), cls, where)
        objective = raw.get("objective", cls.objective)  # (a field's default is its class attribute)
        if objective != cls.objective:
            raise ConfigError(at_place(where, f"objective is {objective!r}, but this is a {cls.objective} config"))
        for key, (section, nested) in cls.sections(raw).items():
            build_section(raw, key, section, where, nested)
        missing = [f.name for f in fields(cls) if f.name not in raw and f.default is MISSING
                   and f.default_factory is MISSING]
        if missing:
            raise ConfigError(at_place(where, f"missing config keys {missing}"))
        cfg = cls(**raw)
        cfg.check(where)
        return cfg

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: dict | None = None) -> "RunConfig":
        """The config in YAML file ``path`` with ``overrides`` (field -> value) applied, every
        value checked up front: ``ConfigError`` (a ``ValueError``, one line naming the field)."""
        raw = read_yaml_mapping(path)
        raw.update(overrides or {})
        return cls.from_mapping(raw, path)

