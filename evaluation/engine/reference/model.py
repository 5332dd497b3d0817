"""The platform's reference model: a small modern GPT over bytes.

RMSNorm, rotary position embeddings, ``scaled_dot_product_attention`` (causal), a GELU MLP and
tied input/output embeddings. It is a submission folder like any other: ``build_model`` is the
entry point the harness calls.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - the PyTorch idiom
from torch import nn


def _rotary_tables(block_size: int, head_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    inv_freq = 1.0 / (10000 ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    angles = torch.outer(torch.arange(block_size, dtype=torch.float32), inv_freq)
    return angles.cos(), angles.sin()


def _apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    # x: [B, H, T, D]; rotate pairs (first half, second half)
    x1, x2 = x.chunk(2, dim=-1)
    cos = cos[: x.size(-2)].to(x.dtype)
    sin = sin[: x.size(-2)].to(x.dtype)
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)


class Attention(nn.Module):
    def __init__(self, n_embd: int, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.qkv = nn.Linear(n_embd, 3 * n_embd, bias=False)
        self.proj = nn.Linear(n_embd, n_embd, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(x).split(width, dim=-1)
        shape = (batch, length, self.n_head, width // self.n_head)
        q, k, v = (t.view(shape).transpose(1, 2) for t in (q, k, v))
        q, k = _apply_rotary(q, cos, sin), _apply_rotary(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(batch, length, width))


class Block(nn.Module):
    def __init__(self, n_embd: int, n_head: int, mlp_ratio: int) -> None:
        super().__init__()
        self.norm1 = nn.RMSNorm(n_embd)
        self.attn = Attention(n_embd, n_head)
        self.norm2 = nn.RMSNorm(n_embd)
        self.fc = nn.Linear(n_embd, mlp_ratio * n_embd, bias=False)
        self.out = nn.Linear(mlp_ratio * n_embd, n_embd, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), cos, sin)
        return x + self.out(F.gelu(self.fc(self.norm2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        block_size: int,
        n_layer: int,
        n_head: int,
        n_embd: int,
        mlp_ratio: int = 4,
    ) -> None:
        super().__init__()
        # Read by the harness for the MFU formula (PaLM: 6N + 12·L·H·Q·T).
        self.n_layer, self.n_head, self.head_dim = n_layer, n_head, n_embd // n_head
        self.embed = nn.Embedding(vocab_size, n_embd)
        blocks = [Block(n_embd, n_head, mlp_ratio) for _ in range(n_layer)]
        self.blocks = nn.ModuleList(blocks)
        self.norm = nn.RMSNorm(n_embd)
        cos, sin = _rotary_tables(block_size, n_embd // n_head)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        self.apply(self._init)
        for block in blocks:  # scaled init of residual projections (GPT-2)
            nn.init.normal_(block.attn.proj.weight, std=0.02 / (2 * n_layer) ** 0.5)
            nn.init.normal_(block.out.weight, std=0.02 / (2 * n_layer) ** 0.5)

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.embed(idx)
        for block in self.blocks:
            x = block(x, self.cos, self.sin)
        return F.linear(self.norm(x), self.embed.weight)  # tied embeddings


def build_model(vocab_size: int, block_size: int, config: dict[str, Any]) -> nn.Module:
    return GPT(
        vocab_size,
        block_size,
        n_layer=int(config.get("n_layer", 2)),
        n_head=int(config.get("n_head", 4)),
        n_embd=int(config.get("n_embd", 128)),
        mlp_ratio=int(config.get("mlp_ratio", 4)),
    )
