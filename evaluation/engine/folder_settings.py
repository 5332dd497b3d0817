"""The settings part of a benchmark folder (``benchmark.toml``'s ``[settings]`` and
``[settings.config.KEY]``), checked by name, and the spec a stored definition makes.

Pure Python, no Django; ``folders.py`` reads folders and files, this module judges values.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .layout import layout_problem
from .specs import SPECS, BenchmarkSpec, ConfigField, DataFile, DataFiles, config_errors

SPLITS = ("train", "validation", "test")
MAX_NUMBER = 10**15
# Spec fields a folder may set, and what each must be. Everything else of a spec (its name,
# the shipped corpus, the data) comes from the folder itself.
_INTS = {
    "block_size": (2, 1 << 20),
    "batch_size": (1, 1 << 20),
    "byte_budget": (1, MAX_NUMBER),
    "eval_windows": (1, 8192),  # the probe lays out every pass in Python: quadratic
    "eval_batch_size": (1, 1 << 16),
    "log_every": (1, 1 << 30),
    "max_params": (1, MAX_NUMBER),
    "memory_limit_bytes": (64 << 20, 1 << 50),
    "scratch_bytes": (1 << 20, 1 << 50),
    "max_checkpoint_bytes": (1 << 10, 1 << 50),
    "max_output_bytes": (1 << 10, 1 << 40),
    "gpus": (1, 64),
}
_FLOATS = {
    "train_wall_s": (0.1, 7 * 86400.0),
    "startup_grace_s": (0.1, 86400.0),
    "eval_wall_s": (0.1, 86400.0),
    "finish_grace_s": (0.1, 3600.0),
    "causality_atol_cpu": (1e-9, 10.0),
    "causality_atol_cuda": (1e-9, 10.0),
}
DEVICES = ("auto", "cpu", "cuda")


class BenchmarkFolderError(ValueError):
    """The folder cannot be a benchmark; the message names the key or file."""


def check_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Spec settings by name, each checked; returns them JSON-ready."""
    checked: dict[str, Any] = {}
    for key, value in settings.items():
        where = f"settings.{key}"
        if key in _INTS:
            low, high = _INTS[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise BenchmarkFolderError(f"{where}: a whole number from {low:,} to {high:,}")
            checked[key] = value
        elif key in _FLOATS:
            low_f, high_f = _FLOATS[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or not low_f <= value <= high_f
            ):
                raise BenchmarkFolderError(f"{where}: a number of seconds from {low_f} to {high_f}")
            checked[key] = float(value)
        elif key == "seeds":
            if (
                not isinstance(value, list)
                or not 1 <= len(value) <= 32
                or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
                or any(not 0 <= v < 1 << 31 for v in value)
                or len(set(value)) != len(value)
            ):
                raise BenchmarkFolderError(
                    f"{where}: a list of 1 to 32 different whole numbers from 0 to 2^31-1"
                )
            checked[key] = list(value)
        elif key == "device":
            if value not in DEVICES:
                raise BenchmarkFolderError(f"{where}: one of {', '.join(DEVICES)}")
            checked[key] = value
        else:
            known = sorted([*_INTS, *_FLOATS, "seeds", "device", "config"])
            raise BenchmarkFolderError(f"{where}: unknown setting; known: {', '.join(known)}")
    return checked


def check_config(spec: BenchmarkSpec, config: Any) -> dict[str, dict[str, Any]]:
    """``[settings.config.KEY]`` tables: a config key's default, minimum and maximum."""
    if not isinstance(config, dict):
        raise BenchmarkFolderError("settings.config: a table of config keys")
    checked: dict[str, dict[str, Any]] = {}
    for key, table in config.items():
        where = f"settings.config.{key}"
        current = spec.config_fields.get(key)
        if current is None:
            raise BenchmarkFolderError(
                f"{where}: not a config key of {spec.name}; known: " + ", ".join(spec.config_fields)
            )
        if not isinstance(table, dict) or not table:
            raise BenchmarkFolderError(f"{where}: a table with default, minimum and/or maximum")
        for part, value in table.items():
            if part not in ("default", "minimum", "maximum"):
                raise BenchmarkFolderError(
                    f"{where}.{part}: unknown; use default, minimum or maximum"
                )
            ok = (
                not isinstance(value, bool)
                and isinstance(value, int | float)
                and math.isfinite(value)
                and abs(value) <= MAX_NUMBER
                and (current.kind is float or isinstance(value, int))
            )
            if not ok:
                raise BenchmarkFolderError(f"{where}.{part}: a {current.kind.__name__}")
        merged = _config_field(current, table)
        low = merged.minimum if merged.minimum is not None else -math.inf
        high = merged.maximum if merged.maximum is not None else math.inf
        if not low <= merged.default <= high:
            raise BenchmarkFolderError(f"{where}: needs minimum <= default <= maximum")
        # A folder narrows the spec's range, never widens it: the spec's bounds are what its
        # model and harness are known to handle.
        spec_low = current.minimum if current.minimum is not None else -math.inf
        spec_high = current.maximum if current.maximum is not None else math.inf
        if low < spec_low or high > spec_high:
            raise BenchmarkFolderError(
                f"{where}: within {spec.name}'s range, {current.minimum} to {current.maximum}"
            )
        checked[key] = dict(table)
    return checked


def _config_field(current: ConfigField, table: dict[str, Any]) -> ConfigField:
    values = {k: current.kind(v) for k, v in table.items()}
    return replace(current, **values)


def spec_from_definition(definition: dict[str, Any], locate: Callable[[str], str]) -> BenchmarkSpec:
    """The spec of a stored definition; ``locate(sha256)`` gives each data file's path."""
    base = SPECS[definition["spec"]]
    settings = dict(definition.get("settings") or {})
    if "seeds" in settings:
        settings["seeds"] = tuple(settings["seeds"])
    config_fields = dict(base.config_fields)
    for key, table in (definition.get("config") or {}).items():
        config_fields[key] = _config_field(config_fields[key], table)
    data = None
    if definition.get("data"):
        listed = definition["data"]
        data = DataFiles(
            **{
                split: tuple(
                    DataFile(
                        path=locate(f["sha256"]),
                        sha256=f["sha256"],
                        size=f["size"],
                        gzip=bool(f.get("gzip")),
                    )
                    for f in listed.get(split, [])
                )
                for split in SPLITS
            }
        )
    spec = replace(
        base,
        name=definition["slug"],
        description=definition.get("description") or base.description,
        config_fields=config_fields,
        data=data,
        private_text=data is not None and not definition.get("practice", False),
        **settings,
    )
    if spec.batch_size % spec.gpus:
        raise BenchmarkFolderError(
            f"settings.gpus: must divide batch_size ({spec.batch_size}): each of the run's "
            "processes takes an equal share of every batch"
        )
    if spec.byte_budget < spec.batch_size * spec.block_size:
        raise BenchmarkFolderError(
            "settings.byte_budget: less than one step "
            f"(batch_size × block_size = {spec.batch_size * spec.block_size:,} bytes)"
        )
    problems = config_errors(spec, {k: f.default for k, f in spec.config_fields.items()})
    if problems:
        key, message = problems[0]
        raise BenchmarkFolderError(
            f"settings.config: the defaults do not make a valid config ({key}: {message})"
        )
    if spec.eval_windows < 2 * spec.eval_batch_size:
        raise BenchmarkFolderError(
            "settings.eval_windows: at least twice eval_batch_size, so that no scored batch "
            "holds neighbouring windows"
        )
    return spec


def check_layout(spec: BenchmarkSpec) -> None:
    """The causality probe can lay out the spec's scored windows (validation and test) in its
    batches: tried on made-up text when a folder is imported (a red-team find: settings that
    passed every other check made each run an engine error)."""
    scored = spec.eval_windows * (2 if spec.data is not None and spec.data.test else 1)
    problem = layout_problem(windows=scored, block=spec.block_size, batch=spec.eval_batch_size)
    if problem:
        raise BenchmarkFolderError(
            f"settings.eval_windows: the causality probe splices every one of the "
            f"{spec.block_size - 1:,} cut positions into {scored:,} scored windows and cannot lay "
            f"them out in batches of {spec.eval_batch_size} ({problem}); score more windows"
        )
