"""Up-front checks of config values: each value against its dataclass field's type, then the
field's allowed range (``RULES``: config class name -> field -> rule); one line naming the field.

The network configs' rules live here, beside the checkpoint loader that checks a checkpoint's
model config before building its network; ``training.config_checks`` adds the training configs'
rules to the same table."""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Callable

Rule = tuple[Callable[[Any], bool], object]  # (accepts the typed value, what it must be: str() of it)


class ConfigError(ValueError):
    """A config value of the wrong type or out of range; the message is one line naming the field."""


def at_least(low: float) -> Rule:
    return (lambda v: v >= low), f">= {low}"


def between(low: float, high: float) -> Rule:
    return (lambda v: low <= v <= high), f"in [{low}, {high}]"


def positive() -> Rule:
    return (lambda v: v > 0), "> 0"


def fraction(high_open: bool = False, low_open: bool = False) -> Rule:
    """In [0, 1], with either end open."""
    def ok(v: float) -> bool:
        return (v > 0 if low_open else v >= 0) and (v < 1 if high_open else v <= 1)
    return ok, f"in {'(' if low_open else '['}0, 1{')' if high_open else ']'}"


def one_of(known: Callable[[], typing.Iterable[str]]) -> Rule:
    """A name among ``known()`` (called at check time: registries can grow)."""
    class Known:  # the rule's text lists the names when it is shown
        def __str__(self) -> str:
            return "one of " + ", ".join(sorted(known()))
    return (lambda v: v in set(known())), Known()


def folder_name() -> Rule:
    return (lambda v: v not in ("", ".", "..") and not {"/", "\\"} & set(v)), "a plain folder name (no '/')"


def pair() -> Rule:
    return (lambda v: 0 < v[0] <= v[1]), "[low, high] with 0 < low <= high"


def every(rule: Rule) -> Rule:
    """``rule`` for each item of a list."""
    return (lambda v: all(rule[0](x) for x in v)), f"with every item {rule[1]}"


def non_empty() -> Rule:
    return (lambda v: len(v) > 0), "with at least one item"


def _backbones() -> list[str]:
    from ..models.backbones import BACKBONES
    return list(BACKBONES)


def _atpn_heads() -> list[str]:
    from ..models.capabilities import ATPN_HEADS
    return list(ATPN_HEADS)


def _encoders() -> list[str]:
    from ..models.token_encoders import CNN_PRESETS, VIT_PRESETS
    return [*VIT_PRESETS, *CNN_PRESETS]


def known_schemes() -> list[str]:
    from ..schemes import list_schemes
    return list_schemes()


def known_architectures() -> list[str]:
    from .architectures import ARCHITECTURE_NAMES
    return list(ARCHITECTURE_NAMES)


def _distributions() -> list[str]:
    from ..models.dslpt import DISTRIBUTIONS
    return list(DISTRIBUTIONS)


def _patch_rules() -> list[str]:
    from ..models.dslpt import PATCH_RULES
    return list(PATCH_RULES)


# network sizes have upper bounds too: a checkpoint's config is built before its weights are
# compared, so a hostile one could otherwise ask for a network of terabytes
SEED: Rule = between(0, 2 ** 32 - 1)  # numpy and torch both take it
THREADS: Rule = between(1, 256)
INPUT_SIZE: Rule = (lambda v: 32 <= v <= 1024 and v % 16 == 0), "that is a multiple of 16 in [32, 1024]"
_MODEL = {"num_points": between(1, 10000), "input_size": INPUT_SIZE, "dropout": fraction(high_open=True)}
_SIZES = {"width": between(1, 4096), "embed": between(1, 8192), "dim": between(1, 4096), "heads": between(1, 64),
          "layers": between(1, 64), "mlp_ratio": between(1, 16), "patch_grid": between(1, 64),
          "stages": between(1, 16), "refine_layers": between(1, 64), "refine_grid": between(1, 64)}

#: config class name -> field -> rule (types come from the dataclass fields; a class also takes its base
#: classes' rules); training adds its configs
RULES: dict[str, dict[str, Rule]] = {
    "ATPNConfig": {**_MODEL, **_SIZES, "backbone": one_of(_backbones), "head": one_of(_atpn_heads)},
    "DSLPTConfig": {**_MODEL, **_SIZES, "backbone": one_of(_backbones), "initial_patch": fraction(low_open=True),
                    "distribution": one_of(_distributions), "patch_rule": one_of(_patch_rules),
                    "patch_context": positive(), "patch_clamp": pair()},
    "TUFAConfig": {**_MODEL, **_SIZES, "encoder": one_of(_encoders), "tau": positive(), "prompt_scale": positive(),
                   "keep_fraction": fraction(low_open=True), "plane_to_crop": positive(),
                   "refine_stages": between(0, 16), "refine_patch": positive()},
}


class _Mismatch(Exception):
    pass


def describe(hint: Any) -> str:
    """What a value of type ``hint`` looks like in YAML words (``a whole number``...)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return ("null or " if type(None) in args else "") + \
            " or ".join(describe(a) for a in args if a is not type(None))
    if origin is list or (origin is tuple and args[-1:] == (Ellipsis,)):
        return f"a list of {_plural(describe(args[0]))}"
    if origin is tuple:
        return f"a list of {len(args)} {_plural(describe(args[0]))}"
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}.get(
        hint, "a mapping (key: value lines)" if dataclasses.is_dataclass(hint) else str(hint))


def _plural(text: str) -> str:
    return text.replace("a whole number", "whole numbers").replace("a number", "numbers") \
        .replace("a string", "strings").replace("a list of", "lists of")


def conform(value: Any, hint: Any) -> Any:
    """``value`` as type ``hint`` (ints accepted for floats, lists for tuples); ``_Mismatch`` if not."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or dataclasses.is_dataclass(hint):
        return value  # sections are checked on their own (``check_values`` with their class)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return conform(value, arg)
            except _Mismatch:
                pass
        raise _Mismatch
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif origin is list:
        if isinstance(value, (list, tuple)):
            return [conform(v, args[0]) for v in value]
    elif origin is tuple:
        if isinstance(value, (list, tuple)):
            if args[-1:] == (Ellipsis,):
                return tuple(conform(v, args[0]) for v in value)
            if len(value) == len(args):
                return tuple(conform(v, a) for v, a in zip(value, args))
    else:
        return value
    raise _Mismatch


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_values(values: dict, cls: type, prefix: str = "") -> dict:
    """``values`` (field -> value, a subset of dataclass ``cls``'s fields) typed and range-checked;
    ``ConfigError`` ``<prefix><field> must be <type> <range>, not <value>`` for the first bad one."""
    hints = typing.get_type_hints(cls)
    rules = {k: v for c in reversed(cls.__mro__) for k, v in RULES.get(c.__name__, {}).items()}  # a subclass's win
    out = dict(values)
    for key, value in values.items():
        if key not in hints:
            continue
        hint, rule = hints[key], rules.get(key)
        wanted = describe(hint) + (f" {rule[1]}" if rule else "")
        if rule and hint in (str, str | None):  # a name: its rule says it all
            wanted = ("null or " if hint != str else "") + f"{rule[1]}"
        try:
            typed = conform(value, hint)
        except (_Mismatch, TypeError):
            raise ConfigError(f"{prefix}{key} must be {wanted}, not {_shown(value)}") from None
        if rule is not None and typed is not None and not rule[0](typed):
            raise ConfigError(f"{prefix}{key} must be {wanted}, not {_shown(value)}")
        out[key] = typed
    return out

