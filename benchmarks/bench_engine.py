"""Engine throughput: the harness against a plain PyTorch loop, and MFU on a GPU.

    python benchmarks/bench_engine.py                 # CPU: demo-cpu's reference model
    python benchmarks/bench_engine.py --device cuda   # + MFU of a GPT-2-small-shaped model
    python benchmarks/bench_engine.py --json out.json

Both sides train the same reference model with the same batch, sequence length, dtype (fp32 on
CPU; bf16 autocast + torch.compile + fused AdamW on CUDA), thread count and number of steps, in
the same run. Bytes/s is measured after step 0 (compilation, warm-up) on both sides. The
harness side is a full ``run_benchmark`` (sandboxed trainer fed over a pipe); its sandbox start
and scoring time are reported apart, not counted in the training bytes/s.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore", message=".*NumPy.*")

import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from evaluation.engine import data, metrics  # noqa: E402
from evaluation.engine.runner import run_benchmark  # noqa: E402
from evaluation.engine.specs import SPECS, BenchmarkSpec, config_resolve  # noqa: E402

REFERENCE = REPO / "evaluation" / "engine" / "reference"


def load_reference() -> Any:
    spec = importlib.util.spec_from_file_location("reference_model", REFERENCE / "model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plain_loop(spec: BenchmarkSpec, config: dict[str, Any], device: str, seed: int) -> float:
    """Hand-written training loop: same model, batch, length, dtype. Returns bytes/s."""
    torch.manual_seed(seed)
    dev = torch.device(device)
    model = load_reference().build_model(256, spec.block_size, config).to(dev)
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=config["lr"],
        betas=(config["beta1"], config["beta2"]),
        weight_decay=config["weight_decay"],
        fused=device == "cuda",
    )
    cuda = device == "cuda"
    step_model = torch.compile(model) if cuda else model
    train, _ = data.corpus_split(spec.corpus)
    corpus = torch.frombuffer(bytearray(train), dtype=torch.uint8)
    micro = config["micro_batch_size"] or spec.batch_size
    accum = spec.batch_size // micro
    generator = torch.Generator().manual_seed(seed)
    t0 = 0.0
    for step in range(spec.steps):
        for _ in range(accum):
            starts = torch.randint(
                0, len(corpus) - spec.block_size - 1, (micro,), generator=generator
            )
            batch = torch.stack([corpus[s : s + spec.block_size + 1] for s in starts.tolist()])
            batch = batch.to(dev, non_blocking=True).long()
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cuda):
                logits = step_model(batch[:, :-1])
            loss = torch.nn.functional.cross_entropy(
                logits.float().reshape(-1, 256), batch[:, 1:].reshape(-1)
            )
            (loss / accum).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config["grad_clip"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step == 0:
            loss.item()
            if cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
    loss.item()
    if cuda:
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - t0
    return (spec.steps - 1) * spec.batch_size * spec.block_size / elapsed


def harness(spec: BenchmarkSpec, device: str, seed: int, unsafe: bool) -> dict[str, Any]:
    result = run_benchmark(
        spec, REFERENCE, seed=seed, device=device, unsafe_no_sandbox=unsafe, progress=None
    )
    if result["status"] != "ok":
        raise SystemExit(f"harness run failed: {result['error']}")
    return result


def compare(
    spec: BenchmarkSpec, device: str, seed: int, unsafe: bool, rounds: int
) -> dict[str, Any]:
    config = config_resolve(spec, {})
    harness_rates, plain_rates, last = [], [], {}
    for _ in range(rounds):  # interleaved, so drift (thermal, neighbours) hits both sides
        started = time.perf_counter()
        last = harness(spec, device, seed, unsafe)
        last["harness_total_s"] = time.perf_counter() - started
        harness_rates.append(last["bytes_per_second"])
        plain_rates.append(plain_loop(spec, config, device, seed))
    best_h, best_p = max(harness_rates), max(plain_rates)
    return {
        "benchmark": spec.name,
        "steps": spec.steps,
        "batch_size": spec.batch_size,
        "block_size": spec.block_size,
        "param_count": last["param_count"],
        "harness_bytes_per_s": harness_rates,
        "plain_bytes_per_s": plain_rates,
        "ratio_best": best_h / best_p,
        "harness_mfu": last["mfu"],
        "val_bits_per_byte": last["val_bits_per_byte"],
        "harness_total_s": last["harness_total_s"],
        "pass_seconds": last["pass_seconds"],
        "sandbox": last["sandbox"],
    }


def print_overhead(spec: BenchmarkSpec, overhead: dict[str, Any]) -> None:
    print(
        f"[{spec.name}] {spec.steps} steps × {spec.batch_size} × {spec.block_size} bytes, "
        f"{overhead['param_count']:,} params\n"
        f"  harness   {max(overhead['harness_bytes_per_s']):>14,.0f} B/s  "
        f"(runs: {', '.join(f'{r:,.0f}' for r in overhead['harness_bytes_per_s'])})\n"
        f"  plain     {max(overhead['plain_bytes_per_s']):>14,.0f} B/s  "
        f"(runs: {', '.join(f'{r:,.0f}' for r in overhead['plain_bytes_per_s'])})\n"
        f"  ratio     {overhead['ratio_best']:.3f}  (goal >= 0.95)\n"
        f"  harness total {overhead['harness_total_s']:.1f} s incl. sandbox start + scoring; "
        f"val_bpb {overhead['val_bits_per_byte']:.4f}; sandbox {overhead['sandbox']}\n"
        f"  {_pass_shares(overhead['pass_seconds'], overhead['harness_total_s'])}"
    )


def _pass_shares(seconds: dict[str, float], total: float) -> str:
    """Each pass's wall time and its share of the whole run (the probe's cost, in particular)."""
    return "passes: " + ", ".join(
        f"{name} {value:.1f} s ({value / total:.0%})" for name, value in seconds.items()
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--steps", type=int, help="steps per side (default: spec's, capped)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--mfu-steps", type=int, default=60)
    parser.add_argument("--mfu-micro-batch", type=int, default=32)
    parser.add_argument("--skip-overhead", action="store_true", help="GPU: MFU part only")
    parser.add_argument("--unsafe-no-sandbox", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    cpu = args.device == "cpu"
    base = SPECS["demo-cpu" if cpu else "gpu-small"]
    steps = args.steps or (150 if cpu else 300)
    spec = base.with_overrides(
        byte_budget=steps * base.batch_size * base.block_size, device=args.device
    )
    machine = {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name() if not cpu else None,
    }
    print(f"machine: {machine}")
    report: dict[str, Any] = {"machine": machine}
    if not (args.skip_overhead and not cpu):
        overhead = compare(spec, args.device, 0, args.unsafe_no_sandbox, args.rounds)
        report["overhead"] = overhead
        print_overhead(spec, overhead)
    if cpu:  # acceptance: the full demo-cpu evaluation of the reference, end to end
        started = time.perf_counter()
        full = harness(base, "cpu", 0, args.unsafe_no_sandbox)
        wall_s = time.perf_counter() - started
        report["demo_cpu_full"] = {
            "wall_s": wall_s,
            "pass_seconds": full["pass_seconds"],
            "probe_share": full["pass_seconds"]["probe"] / wall_s,
            "val_bits_per_byte": full["val_bits_per_byte"],
            "first_loss": full["loss_curve"][0]["loss"],
            "last_loss": full["loss_curve"][-1]["loss"],
        }
        print(f"[demo-cpu, full run] {json.dumps(report['demo_cpu_full'])} (goal < 90 s)")
    else:
        big = base.with_overrides(
            byte_budget=args.mfu_steps * base.batch_size * base.block_size,
            device="cuda",
            eval_windows=64,
        )
        gpt2 = {
            "n_layer": 12,
            "n_head": 12,
            "n_embd": 768,
            "micro_batch_size": args.mfu_micro_batch,
        }
        folder = Path(os.environ.get("TMPDIR", "/tmp")) / "crucible-bench-gpt2"
        folder.mkdir(exist_ok=True)
        (folder / "config.json").write_text(json.dumps(gpt2))
        result = run_benchmark(
            big, folder, seed=0, unsafe_no_sandbox=args.unsafe_no_sandbox, progress=None
        )
        config = config_resolve(big, gpt2)
        plain = plain_loop(big, config, "cuda", 0)
        model = load_reference().build_model(256, big.block_size, config)
        non_embedding = sum(p.numel() for p in model.parameters()) - 256 * 768
        per_byte = metrics.flops_per_byte(
            non_embedding_params=non_embedding,
            n_layer=12,
            n_head=12,
            head_dim=64,
            block_size=big.block_size,
        )
        plain_mfu = metrics.mfu(
            bytes_per_second=plain, flops_per_byte_value=per_byte, device_name=str(machine["gpu"])
        )
        report["mfu"] = {
            "config": gpt2,
            "status": result["status"],
            "error": result["error"],
            "param_count": result["param_count"],
            "harness_bytes_per_s": result["bytes_per_second"],
            "harness_mfu": result["mfu"],
            "plain_bytes_per_s": plain,
            "plain_mfu": plain_mfu,
            "peak_memory_bytes": result["reported"].get("peak_memory_bytes"),
            "pass_seconds": result["pass_seconds"],
        }
        print(f"[MFU, 12×768 GPT, seq 1024, bf16] {json.dumps(report['mfu'])}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
