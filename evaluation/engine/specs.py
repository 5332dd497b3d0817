"""Benchmark specifications, as data, and validation of a submission's ``config.json``.

Pure Python (no torch import) so the web platform can list benchmarks and validate configs
without loading the engine: ``SPECS`` maps a benchmark name to its :class:`BenchmarkSpec`;
``validate_config(spec_name, config)`` returns a list of ``(field, message)`` problems (empty
when the config is acceptable).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

# Keys a code submission may add for its own use; passed through unvalidated except for type.
CUSTOM_KEY_PREFIX = "custom_"
MAX_CUSTOM_KEYS = 64
MAX_CUSTOM_TEXT = 200  # characters of a custom key's name or string value
MAX_CONFIG_NUMBER = 1e15  # far beyond any range below; bigger ones are refused before arithmetic
# A submission folder: at most this many files and bytes (the engine refuses more, and so does
# the platform when one is uploaded).
MAX_SUBMISSION_BYTES = 4 << 20
MAX_SUBMISSION_FILES = 64


@dataclass(frozen=True)
class ConfigField:
    """One allowed key of ``config.json``: its type, default and inclusive range."""

    kind: type
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""

    def describe(self) -> dict[str, Any]:
        return {
            "type": self.kind.__name__,
            "default": self.default,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "help": self.help,
        }


def _common_fields(
    *, lr: float, max_layers: int, max_embd: int, n_layer: int, n_head: int, n_embd: int
) -> dict[str, ConfigField]:
    return {
        "lr": ConfigField(float, lr, 1e-5, 1e-1, "peak learning rate"),
        "min_lr_frac": ConfigField(float, 0.1, 0.0, 1.0, "final lr as a fraction of the peak"),
        "warmup_frac": ConfigField(float, 0.05, 0.0, 0.5, "linear warm-up, fraction of steps"),
        "weight_decay": ConfigField(float, 0.1, 0.0, 1.0, "AdamW decoupled weight decay"),
        "beta1": ConfigField(float, 0.9, 0.0, 0.999, "AdamW beta1"),
        "beta2": ConfigField(float, 0.95, 0.0, 0.9999, "AdamW beta2"),
        "grad_clip": ConfigField(float, 1.0, 0.0, 100.0, "global grad-norm clip (0 = off)"),
        "micro_batch_size": ConfigField(
            int,
            0,
            0,
            4096,
            "sequences per forward pass, over all of a run's processes; must divide batch_size "
            "(0 = whole batch)",
        ),
        "n_layer": ConfigField(int, n_layer, 1, max_layers, "reference model: blocks"),
        "n_head": ConfigField(int, n_head, 1, 64, "reference model: attention heads"),
        "n_embd": ConfigField(int, n_embd, 16, max_embd, "reference model: width"),
        "mlp_ratio": ConfigField(int, 4, 1, 8, "reference model: MLP hidden / width"),
    }


@dataclass(frozen=True)
class DataFile:
    """One file of a benchmark's data, as the harness reads it: where, and what it must be."""

    path: str
    sha256: str  # of the file's bytes as stored (a .gz is checked before it is decompressed)
    size: int
    gzip: bool = False  # decompressed when read (the store names files by digest alone)


@dataclass(frozen=True)
class DataFiles:
    """A benchmark's data from files (an imported benchmark folder): the training text, the
    validation text scored on every run, and an optional hidden test text. Only the harness
    reads them; no sandboxed pass can."""

    train: tuple[DataFile, ...]
    validation: tuple[DataFile, ...]
    test: tuple[DataFile, ...] = ()


@dataclass(frozen=True)
class BenchmarkSpec:
    """A benchmark: task, budget, limits and allowed config. Budgets are in training bytes."""

    name: str
    description: str
    corpus: str
    block_size: int
    batch_size: int  # sequences per optimizer step (split into micro-batches)
    byte_budget: int  # predicted training bytes = steps * batch_size * block_size
    train_wall_s: float  # training-loop cap: training stops early, and says so
    startup_grace_s: float  # imports and the model's build, before the first batch
    eval_windows: int  # validation windows of block_size scored
    eval_batch_size: int
    eval_wall_s: float  # hard cap per scoring pass
    seeds: tuple[int, ...]
    device: str = "auto"  # auto | cpu | cuda
    # Processes per run: the training pass runs under ``torchrun --nproc_per_node=gpus``, one
    # GPU each on CUDA (gloo processes on the CPU). Divides batch_size and each micro-batch.
    gpus: int = 1
    # The last step and the checkpoint, after the training cap or the last data served: the
    # most a worker can train past the cap on data it held back or fetched ahead.
    finish_grace_s: float = 10.0
    log_every: int = 10
    max_params: int = 50_000_000
    # Host memory: the address-space limit of each process on CPU runs, and of all of a pass's
    # processes together (tmpfs included) wherever a cgroup holds the pass, CPU and CUDA.
    memory_limit_bytes: int = 8 << 30
    scratch_bytes: int = 512 << 20  # size of the private writable work directory
    max_checkpoint_bytes: int = 512 << 20
    max_output_bytes: int = 4 << 20  # stdout + stderr a submission may print
    causality_atol_cpu: float = 1e-4  # nats, on the log-probability of the true next byte
    causality_atol_cuda: float = 2e-2
    config_fields: dict[str, ConfigField] = field(default_factory=dict)
    # Files instead of the shipped corpus: set for benchmarks imported from a folder.
    data: DataFiles | None = None
    # Its validation/test text is private: what a pass that held it printed is never shown.
    private_text: bool = False

    @property
    def steps(self) -> int:
        return max(1, self.byte_budget // (self.batch_size * self.block_size))

    @property
    def scored_bytes(self) -> int:
        return self.eval_windows * self.block_size

    def with_overrides(self, **changes: Any) -> BenchmarkSpec:
        return replace(self, **changes)

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary, for listings and the web platform."""
        return {
            "name": self.name,
            "description": self.description,
            "corpus": self.corpus,
            "block_size": self.block_size,
            "batch_size": self.batch_size,
            "byte_budget": self.byte_budget,
            "steps": self.steps,
            "train_wall_s": self.train_wall_s,
            "scored_bytes": self.scored_bytes,
            "seeds": list(self.seeds),
            "device": self.device,
            "gpus": self.gpus,
            "max_params": self.max_params,
            "config": {k: f.describe() for k, f in self.config_fields.items()},
        }


SPECS: dict[str, BenchmarkSpec] = {
    "demo-cpu": BenchmarkSpec(
        name="demo-cpu",
        description="Tiny byte-level GPT on Shakespeare; trains and scores in about a minute "
        "on 2 CPU cores.",
        corpus="shakespeare",
        block_size=128,
        batch_size=16,
        byte_budget=16 * 128 * 300,
        train_wall_s=60.0,
        startup_grace_s=30.0,
        eval_windows=256,
        eval_batch_size=32,
        eval_wall_s=60.0,
        seeds=(0, 1, 2),
        device="cpu",
        log_every=25,
        max_params=2_000_000,
        config_fields=_common_fields(
            lr=3e-3, max_layers=4, max_embd=256, n_layer=2, n_head=4, n_embd=128
        ),
    ),
    "gpu-small": BenchmarkSpec(
        name="gpu-small",
        description="Small byte-level GPT on Shakespeare; about 5 minutes on one H100/H200.",
        corpus="shakespeare",
        block_size=1024,
        batch_size=64,
        # 6,500 steps: about 240 s at the 1.8 MB/s measured on one H200 (benchmarks/RESULTS.md),
        # plus about a minute of compilation and scoring.
        byte_budget=64 * 1024 * 6500,
        train_wall_s=330.0,
        startup_grace_s=180.0,
        eval_windows=240,
        eval_batch_size=16,
        eval_wall_s=180.0,
        seeds=(0, 1, 2),
        device="cuda",
        log_every=100,
        max_params=200_000_000,
        memory_limit_bytes=64 << 30,
        finish_grace_s=30.0,  # a checkpoint of up to 2 GiB
        scratch_bytes=4 << 30,
        max_checkpoint_bytes=2 << 30,
        config_fields=_common_fields(
            lr=1.5e-3, max_layers=24, max_embd=1536, n_layer=8, n_head=8, n_embd=512
        ),
    ),
}


def spec_get(name: str) -> BenchmarkSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise KeyError(f"unknown benchmark {name!r}; known: {', '.join(sorted(SPECS))}") from None


def _is_number(value: Any) -> bool:
    """A JSON number within ±1e15 (a 400-digit integer is refused, not converted)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, float) or abs(value) <= MAX_CONFIG_NUMBER


def validate_config(spec_name: str, config: Any) -> list[tuple[str, str]]:
    """Check a submission's config against the benchmark's allowed keys and ranges.

    Returns ``(field, message)`` pairs; an empty list means the config is valid. ``field`` is
    ``"__all__"`` for problems with the whole document.
    """
    try:
        spec = spec_get(spec_name)
    except KeyError as exc:
        return [("__all__", str(exc.args[0]))]
    return config_errors(spec, config)


def config_errors(spec: BenchmarkSpec, config: Any) -> list[tuple[str, str]]:
    """Like :func:`validate_config`, for a spec object (tests define their own specs)."""
    if not isinstance(config, dict):
        return [("__all__", "config must be a JSON object")]
    errors: list[tuple[str, str]] = []
    fields = spec.config_fields
    custom = [key for key in config if isinstance(key, str) and key.startswith(CUSTOM_KEY_PREFIX)]
    if len(custom) > MAX_CUSTOM_KEYS:
        return [("__all__", f"at most {MAX_CUSTOM_KEYS} {CUSTOM_KEY_PREFIX}* keys")]
    for key, value in config.items():
        if not isinstance(key, str):
            errors.append(("__all__", f"key {key!r} is not a string"))
            continue
        if key.startswith(CUSTOM_KEY_PREFIX):
            if len(key) > MAX_CUSTOM_TEXT:
                errors.append(("__all__", f"custom key names are at most {MAX_CUSTOM_TEXT} long"))
            elif not (value is None or isinstance(value, str | bool) or _is_number(value)):
                errors.append((key, "custom keys must hold a number, string, boolean or null"))
            elif isinstance(value, str) and len(value) > MAX_CUSTOM_TEXT:
                errors.append((key, f"at most {MAX_CUSTOM_TEXT} characters"))
            continue
        spec_field = fields.get(key)
        if spec_field is None:
            allowed = ", ".join(sorted(fields))
            errors.append(
                (
                    key,
                    f"unknown key; allowed: {allowed} (or keys starting with "
                    f"{CUSTOM_KEY_PREFIX!r} for your own model code)",
                )
            )
            continue
        if spec_field.kind is int:
            ok = _is_number(value) and float(value).is_integer()
        else:
            ok = _is_number(value) and math.isfinite(float(value))
        if not ok:
            errors.append(
                (key, f"must be {'an integer' if spec_field.kind is int else 'a number'}")
            )
            continue
        if spec_field.minimum is not None and value < spec_field.minimum:
            errors.append((key, f"must be >= {spec_field.minimum}"))
        elif spec_field.maximum is not None and value > spec_field.maximum:
            errors.append((key, f"must be <= {spec_field.maximum}"))
    if not errors:
        micro = int(config.get("micro_batch_size", 0) or 0)
        if micro and spec.batch_size % micro:
            errors.append(("micro_batch_size", f"must divide batch_size ({spec.batch_size})"))
        elif micro % spec.gpus:
            errors.append(
                (
                    "micro_batch_size",
                    f"must be a multiple of the benchmark's {spec.gpus} processes (each takes "
                    "an equal share of every micro-batch)",
                )
            )
        n_embd = int(config.get("n_embd", fields["n_embd"].default))
        n_head = int(config.get("n_head", fields["n_head"].default))
        if n_embd % n_head or (n_embd // n_head) % 2:
            errors.append(("n_head", "n_embd / n_head must be an even integer (rotary embedding)"))
    return errors


def config_resolve(spec: BenchmarkSpec, config: dict[str, Any]) -> dict[str, Any]:
    """Defaults filled in, ints as ints: the config the trainer actually uses."""
    resolved: dict[str, Any] = {}
    for key, spec_field in spec.config_fields.items():
        value = config.get(key, spec_field.default)
        resolved[key] = int(value) if spec_field.kind is int else float(value)
    for key, value in config.items():
        if key.startswith(CUSTOM_KEY_PREFIX):
            resolved[key] = value
    return resolved
