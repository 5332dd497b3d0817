"""The program that runs *inside* the sandbox, next to untrusted submission code.

It is copied alone into the sandbox (it imports only torch and the standard library, never the
rest of the engine) and started as ``python worker.py {train,logits} ROOT DATA MSG``. ``ROOT``
holds ``job.json``, ``submission/`` and, for ``logits``, ``checkpoint.pt``; all read-only.

A benchmark with ``gpus`` > 1 trains under ``torchrun``: one such process per rank, each with
its own pair of named pipes (``{rank}`` in DATA and MSG is the rank), DistributedDataParallel
over gloo (CPU) or NCCL (one GPU per rank). Each rank receives its share of every micro-batch;
rank 0 reports progress (the loss averaged over the ranks) and sends the checkpoint.

Nothing this process reports is trusted for the score. It talks to the harness over two named
pipes:

- data (harness -> worker, argv[3]): raw bytes. ``train``: this rank's share of one training
  micro-batch, ``micro_batch_size / ranks × (block_size + 1)`` bytes, for each ``R`` frame the
  worker sends; the harness closes the pipe (end of file) at the byte budget or at the
  training deadline, which it keeps itself. ``logits``: validation inputs of
  ``eval_batch_size × block_size`` bytes (no targets).
- messages (worker -> harness, argv[4]): frames
  ``kind (1 byte) | length (8 bytes, little endian) | payload``.
  ``R`` (empty) asks for the next training micro-batch, ``J`` a JSON record (progress, summary,
  error; a flat object of scalars), ``C`` a chunk of the checkpoint, ``L`` the float32 logits of
  one batch.

Whatever this process says about its own training (loss, learning rate, memory, architecture) is
labelled as reported by the submission: submission code shares this address space and could
alter it. The harness counts the bytes and steps it served and the time itself, reads the
parameter count from the checkpoint, and computes the score in another process from the logits
sent back.
"""

from __future__ import annotations

import ctypes
import importlib.util
import io
import json
import math
import os
import resource
import struct
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

warnings.filterwarnings("ignore", message=".*NumPy.*")

import torch  # noqa: E402

DATA_FD = -1  # the named pipes of argv, opened in main()
MSG_FD = -1
VOCAB_SIZE = 256
CHUNK = 1 << 20


class SubmissionError(Exception):
    """A problem the contributor must fix; the message says what."""


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def send(kind: bytes, payload: bytes) -> None:
    _write_all(MSG_FD, kind + struct.pack("<Q", len(payload)))
    if payload:
        _write_all(MSG_FD, payload)


def send_json(record: dict[str, Any]) -> None:
    send(b"J", json.dumps(record).encode())


def request_batch(size: int) -> bytes | None:
    """The next training micro-batch, or None once the harness has stopped serving."""
    send(b"R", b"")
    return read_exact(size)


def read_exact(size: int) -> bytes | None:
    """``size`` bytes from the harness, or None once it has stopped serving."""
    parts: list[bytes] = []
    remaining = size
    while remaining:
        chunk = os.read(DATA_FD, min(remaining, CHUNK))
        if not chunk:
            if remaining == size:
                return None
            raise RuntimeError(
                "the harness stopped serving training data before the budget (mid-batch)"
            )
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def tensor_bytes(tensor: torch.Tensor) -> bytes:
    tensor = tensor.detach().to("cpu", torch.float32).contiguous()
    return ctypes.string_at(tensor.data_ptr(), tensor.numel() * tensor.element_size())


def load_submission(root: Path, job: dict[str, Any]) -> tuple[Any, Any]:
    """Import the submission's model.py (and optimizer.py if present).

    The submission's folder goes *last* on ``sys.path``: its own helper modules import, but a
    file named like a module of the standard library or of torch can never shadow it (and
    everything this worker needs is imported before any submission code runs)."""
    sub = root / "submission"
    sys.path.append(str(sub))

    def load(name: str) -> Any:
        path = sub / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"submission_{name}", path)
        if spec is None or spec.loader is None:
            raise SubmissionError(f"cannot load {name}.py")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise SubmissionError(
                f"importing {name}.py failed: {type(exc).__name__}: {exc}\n"
                + "".join(traceback.format_exc(limit=-3))
            ) from exc
        return module

    model_module = load("model")
    if not callable(getattr(model_module, "build_model", None)):
        raise SubmissionError("model.py must define build_model(vocab_size, block_size, config)")
    optimizer_module = None
    if (sub / "optimizer.py").exists():
        optimizer_module = load("optimizer")
        if not callable(getattr(optimizer_module, "build_optimizer", None)):
            raise SubmissionError("optimizer.py must define build_optimizer(model, config)")
    return model_module, optimizer_module


def build(root: Path, job: dict[str, Any], device: torch.device) -> tuple[torch.nn.Module, Any]:
    model_module, optimizer_module = load_submission(root, job)
    try:
        model = model_module.build_model(VOCAB_SIZE, job["block_size"], dict(job["config"]))
    except Exception as exc:
        raise SubmissionError(f"build_model raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(model, torch.nn.Module):
        raise SubmissionError(f"build_model must return a torch.nn.Module, got {type(model)}")
    return model.to(device), optimizer_module


def check_logits(logits: Any, batch: int, block: int) -> torch.Tensor:
    expected = (batch, block, VOCAB_SIZE)
    if not isinstance(logits, torch.Tensor):
        raise SubmissionError(f"forward(idx) must return a tensor, got {type(logits).__name__}")
    if tuple(logits.shape) != expected:
        raise SubmissionError(
            f"forward(idx) returned logits of shape {tuple(logits.shape)}; expected "
            f"[batch, block_size, vocab_size] = {list(expected)}"
        )
    return logits


def param_facts(model: torch.nn.Module) -> dict[str, Any]:
    params = sum(p.numel() for p in model.parameters())
    embedding = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Embedding))
    dims = {k: getattr(model, k, None) for k in ("n_layer", "n_head", "head_dim")}
    return {
        "param_count": params,
        "non_embedding_params": params - embedding,
        **{k: v for k, v in dims.items() if isinstance(v, int)},
    }


def lr_factor(step: int, steps: int, warmup_frac: float, min_lr_frac: float) -> float:
    warmup = int(warmup_frac * steps)
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return min_lr_frac + (1 - min_lr_frac) * 0.5 * (1 + math.cos(math.pi * progress))


def device_facts(device: torch.device) -> dict[str, Any]:
    facts: dict[str, Any] = {"device": str(device), "torch_version": torch.__version__}
    if device.type == "cuda":
        facts["device_name"] = torch.cuda.get_device_name(device)
        facts["peak_memory_bytes"] = torch.cuda.max_memory_allocated(device)
    else:
        facts["device_name"] = "cpu"
        facts["peak_memory_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return facts


class Ranks:
    """This process's place in a multi-process run (``torchrun`` sets ``WORLD_SIZE``, ``RANK``
    and ``LOCAL_RANK``); one process is rank 0 of 1, and every method is then a no-op."""

    def __init__(self) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local = int(os.environ.get("LOCAL_RANK", "0"))

    @property
    def first(self) -> bool:
        return self.rank == 0

    def join(self, device: torch.device) -> torch.device:
        """Join the process group; the device this rank trains on (its own GPU on CUDA)."""
        if self.world == 1:
            return device
        if device.type == "cuda":
            device = torch.device("cuda", self.local)
            torch.cuda.set_device(device)
        torch.distributed.init_process_group(
            backend="nccl" if device.type == "cuda" else "gloo",
            device_id=device if device.type == "cuda" else None,
        )
        return device

    def wrap(self, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        if self.world == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        if self.world == 1:
            return value
        total = value.detach().clone()
        torch.distributed.all_reduce(total)
        return total / self.world

    def leave(self) -> None:
        if self.world > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def train(root: Path, job: dict[str, Any]) -> None:
    ranks = Ranks()
    device = ranks.join(torch.device(job["device"]))
    torch.manual_seed(job["seed"])
    if device.type == "cuda":
        torch.cuda.manual_seed(job["seed"])
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    config = job["config"]
    model, optimizer_module = build(root, job, device)
    facts = param_facts(model)
    if facts["param_count"] > job["max_params"]:
        raise SubmissionError(
            f"model has {facts['param_count']:,} parameters; this benchmark allows "
            f"{job['max_params']:,}"
        )
    if optimizer_module is not None:
        try:
            optimizer = optimizer_module.build_optimizer(model, dict(config))
        except Exception as exc:
            raise SubmissionError(f"build_optimizer raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise SubmissionError("build_optimizer must return a torch.optim.Optimizer")
    else:
        decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
        no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
        optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": config["weight_decay"]},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=config["lr"],
            betas=(config["beta1"], config["beta2"]),
            fused=device.type == "cuda",
        )
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    raw_model = model
    model = ranks.wrap(model, device)
    parallel = model  # gradients are averaged over the ranks at each step's last micro-batch
    use_cuda = device.type == "cuda"
    if use_cuda and job.get("compile", True):
        model = torch.compile(model)  # type: ignore[assignment]
    model.train()

    block, steps = job["block_size"], job["steps"]
    micro = job["micro_batch_size"] // ranks.world  # this rank's share
    accum = job["batch_size"] // job["micro_batch_size"]
    window = block + 1
    log_every = job["log_every"]
    loss_sum = torch.zeros((), device=device)
    done = 0  # optimizer steps taken
    logged = -1

    def report(step: int, step_loss: torch.Tensor) -> None:
        value = ranks.mean(step_loss).item()
        if not math.isfinite(value) or not math.isfinite(loss_sum.item()):
            raise SubmissionError(
                f"training loss became {value} at step {step}: lower the learning rate, "
                "check the initialisation or clip gradients"
            )
        if ranks.first:
            send_json(
                {
                    "type": "progress",
                    "step": step,
                    "loss": value,
                    "lr": optimizer.param_groups[0]["lr"],
                }
            )

    last_loss = torch.zeros((), device=device)
    for step in range(steps):
        factor = lr_factor(step, steps, config["warmup_frac"], config["min_lr_frac"])
        for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
            group["lr"] = base * factor
        step_loss = torch.zeros((), device=device)
        served = True
        for micro_step in range(accum):
            # The harness serves whole steps only: it stops (end of file) at the budget or at its
            # training deadline, before the first micro-batch of a step (for every rank at once).
            data = request_batch(micro * window)
            if data is None:
                if micro_step:
                    raise RuntimeError("the harness stopped serving in the middle of a step")
                served = False
                break
            batch = torch.frombuffer(bytearray(data), dtype=torch.uint8).view(micro, window)
            batch = batch.to(device, non_blocking=True).long()
            x, y = batch[:, :-1], batch[:, 1:]
            if parallel is not raw_model:
                parallel.require_backward_grad_sync = micro_step == accum - 1
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_cuda):
                logits = model(x)
            if step == 0:
                check_logits(logits, micro, block)
            loss = torch.nn.functional.cross_entropy(
                logits.float().reshape(-1, VOCAB_SIZE), y.reshape(-1)
            )
            (loss / accum).backward()
            step_loss += loss.detach() / accum
        if not served:
            break
        if config["grad_clip"] > 0:
            torch.nn.utils.clip_grad_norm_(raw_model.parameters(), config["grad_clip"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss_sum += step_loss
        last_loss = step_loss
        done = step + 1
        if step % log_every == 0 or done == steps:
            report(step, step_loss)
            logged = step
    if done == 0:
        raise RuntimeError("the harness served no training data")
    if logged != done - 1:  # the harness stopped us between two log steps
        report(done - 1, last_loss)
    if use_cuda:
        torch.cuda.synchronize(device)
    ranks.leave()
    if not ranks.first:
        return
    buffer = io.BytesIO()
    torch.save(raw_model.state_dict(), buffer)
    payload = buffer.getbuffer()
    for offset in range(0, len(payload), CHUNK):
        send(b"C", bytes(payload[offset : offset + CHUNK]))
    send_json(
        {
            "type": "summary",
            "steps": done,
            **{k: v for k, v in facts.items() if k in ("n_layer", "n_head", "head_dim")},
            **device_facts(device),
        }
    )


def logits(root: Path, job: dict[str, Any]) -> None:
    device = torch.device(job["device"])
    model, _ = build(root, job, device)
    try:
        state = torch.load(root / "checkpoint.pt", map_location=device, weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:
        raise SubmissionError(
            f"the trained checkpoint does not load into a fresh build_model(): {exc}"
        ) from exc
    model.eval()
    batch, block = job["eval_batch_size"], job["block_size"]
    use_cuda = device.type == "cuda"
    with torch.no_grad():
        while True:
            data = read_exact(batch * block)
            if data is None:
                break
            rows = len(data) // block
            x = torch.frombuffer(bytearray(data), dtype=torch.uint8).view(rows, block)
            x = x.to(device).long()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_cuda):
                out = check_logits(model(x), rows, block)
            send(b"L", tensor_bytes(out))
    send_json({"type": "summary", **device_facts(device)})


def main() -> int:
    global DATA_FD, MSG_FD
    mode, root_arg = sys.argv[1], sys.argv[2]
    rank = os.environ.get("RANK", "0")
    DATA_FD = os.open(sys.argv[3].replace("{rank}", rank), os.O_RDONLY)
    MSG_FD = os.open(sys.argv[4].replace("{rank}", rank), os.O_WRONLY)
    root = Path(root_arg)
    job = json.loads((root / "job.json").read_text())
    threads = job.get("threads")
    if threads:
        torch.set_num_threads(int(threads))
    try:
        if mode == "train":
            train(root, job)
        elif mode == "logits":
            logits(root, job)
        else:
            raise SystemExit(f"unknown mode {mode}")
    except SubmissionError as exc:
        send_json({"type": "error", "message": str(exc)})
        return 3
    except Exception as exc:  # noqa: BLE001 - the contributor's code raised: report it
        tail = "".join(traceback.format_exception(exc, limit=-4))
        send_json({"type": "error", "message": f"{type(exc).__name__}: {exc}\n{tail}"})
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(main())
