"""Metrics computed by the harness: bits per byte from logits, MFU, device peaks."""

from __future__ import annotations

import math

import torch

# Dense bf16 tensor-core peaks (FLOP/s) from the vendors' datasheets, matched by substring of
# torch.cuda.get_device_name(); SXM parts. Unknown devices report no MFU.
PEAK_BF16_FLOPS: tuple[tuple[str, float], ...] = (
    ("H200", 989e12),
    ("H100", 989e12),
    ("GH200", 989e12),
    ("A100", 312e12),
    ("L40S", 362e12),
    ("L4", 121e12),
    ("A10G", 70e12),
    ("RTX 4090", 165e12),
    ("RTX 3090", 71e12),
)


def peak_flops(device_name: str) -> float | None:
    for key, flops in PEAK_BF16_FLOPS:
        if key in device_name:
            return flops
    return None


def flops_per_byte(
    *, non_embedding_params: int, n_layer: int, n_head: int, head_dim: int, block_size: int
) -> float:
    """Training FLOPs per predicted byte, PaLM appendix B: 6N + 12·L·H·Q·T."""
    return 6 * non_embedding_params + 12 * n_layer * n_head * head_dim * block_size


def mfu(*, bytes_per_second: float, flops_per_byte_value: float, device_name: str) -> float | None:
    peak = peak_flops(device_name)
    if peak is None or bytes_per_second <= 0:
        return None
    return bytes_per_second * flops_per_byte_value / peak


def target_log_probs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Natural-log probability of each target byte, in float64: ``[B, T]``."""
    log_probs = torch.log_softmax(logits.to(torch.float64), dim=-1)
    return log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def bits_per_byte(total_log_prob_nats: float, byte_count: int) -> float:
    return -total_log_prob_nats / (byte_count * math.log(2))
