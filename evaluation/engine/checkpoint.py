"""The trained checkpoint, read by the harness: checked before it is loaded, counted, and
re-saved clean for the scoring passes. Everything in it came from submission code."""

import os
import zipfile
from pathlib import Path

import torch

from .passes import VOCAB_SIZE, RunFailedError

MAX_KEY_CHARS = 200  # one state_dict name
MAX_KEYS_CHARS = 64 << 10  # all the names together: no room to smuggle weights in them
MAX_PICKLE_BYTES = 8 << 20  # the checkpoint's data.pkl: names and tensor descriptions only
MAX_TENSORS = 20_000
MAX_DIMS = 8


def _check_zip(path: Path) -> None:
    """``torch.save``'s zip, checked before anything is read from it: every record stored
    uncompressed (no zip bomb can inflate in the harness), sizes that add up to the file, and a
    bounded pickle."""
    try:
        with zipfile.ZipFile(path) as archive:
            records = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(f"it is not a torch.save file ({exc})") from None
    size = path.stat().st_size
    if sum(r.file_size for r in records) > size:
        raise CheckpointError("its records claim more bytes than the file holds")
    for record in records:
        if record.compress_type != zipfile.ZIP_STORED or record.file_size != record.compress_size:
            raise CheckpointError(f"record {record.filename[:80]!r} is compressed")
        if record.filename.endswith("data.pkl") and record.file_size > MAX_PICKLE_BYTES:
            raise CheckpointError(f"its pickle is larger than {MAX_PICKLE_BYTES >> 20} MiB")


class CheckpointError(ValueError):
    """The trained checkpoint is refused; the message says why (the submission's fault)."""


def checkpoint_load(path: Path) -> dict[str, torch.Tensor]:
    """The trained checkpoint, read by the harness itself and safely: the zip checked first,
    then ``torch.load(weights_only=True, mmap=True)`` (tensors and plain containers only, data
    mapped rather than read); a flat dict of short names to dense CPU tensors, or
    :class:`RunFailedError` (the submission's fault) saying what is wrong."""
    try:
        _check_zip(path)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except Exception as exc:  # noqa: BLE001 - any refusal of an untrusted file
            raise CheckpointError(str(exc)[:300]) from None
        if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
        ):
            raise CheckpointError("it must be a flat state_dict: names to tensors")
        if any(len(k) > MAX_KEY_CHARS for k in state) or sum(map(len, state)) > MAX_KEYS_CHARS:
            raise CheckpointError(
                f"its names are too long (at most {MAX_KEY_CHARS} characters each, "
                f"{MAX_KEYS_CHARS >> 10} Ki in all)"
            )
        if len(state) > MAX_TENSORS:
            raise CheckpointError(f"it holds more than {MAX_TENSORS:,} tensors")
        for name, tensor in state.items():
            if (
                tensor.layout != torch.strided
                or tensor.is_nested
                or tensor.is_quantized
                or tensor.device.type != "cpu"
            ):
                raise CheckpointError(f"{name[:80]!r} is not a dense tensor")
            # A tensor is exactly its storage: no view that is larger than what is stored
            # (an expanded one would fill gigabytes when copied), no empty tensor whose shape
            # could carry numbers, no more dimensions than a model uses.
            stored = tensor.untyped_storage().nbytes()
            if (
                not tensor.is_contiguous()
                or tensor.storage_offset() != 0
                or tensor.numel() * tensor.element_size() != stored
                or tensor.numel() == 0
                or tensor.dim() > MAX_DIMS
            ):
                raise CheckpointError(
                    f"{name[:80]!r} must be a whole, contiguous, non-empty tensor of at most "
                    f"{MAX_DIMS} dimensions (as a module's state_dict() gives)"
                )
    except CheckpointError as exc:
        raise RunFailedError("failed", f"the trained checkpoint is refused: {exc}") from None
    return state


def checkpoint_numbers(state: dict[str, torch.Tensor]) -> tuple[int, int]:
    """(parameters stored, of which outside the ``[256, ·]`` byte embedding and output matrices,
    for the MFU formula) in a loaded checkpoint.

    Each storage is counted once (tied weights share one) and whole (a view cannot hide the rest
    of its storage), as its elements or its bytes / 4, whichever is more: a float64 or complex
    element holds more than one float32's worth and counts as such."""
    seen: set[tuple[int, int]] = set()
    total = embedding = 0
    for tensor in state.values():
        storage = tensor.untyped_storage()
        key = (storage.data_ptr(), storage.nbytes())
        if key in seen:
            continue
        seen.add(key)
        numbers = max(storage.nbytes() // max(1, tensor.element_size()), storage.nbytes() // 4)
        total += numbers
        if tensor.dim() == 2 and VOCAB_SIZE in tensor.shape:
            embedding += numbers
    return total, total - embedding


def checkpoint_save_clean(state: dict[str, torch.Tensor], path: Path) -> None:
    """What the scoring passes load: a fresh ``torch.save`` of the tensors alone, so nothing
    else the trainer put in its file (extra zip records, bytes after the pickle, the unused rest
    of a storage) reaches them."""
    clean = {name: tensor.contiguous().clone() for name, tensor in state.items()}
    fresh = path.with_suffix(".clean")
    torch.save(clean, fresh)
    os.replace(fresh, path)  # the mapped original stays readable until it is unmapped
