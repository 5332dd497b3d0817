"""Crucible's evaluation engine: train a submitted model change under a fixed budget and score it.

Pure PyTorch + standard library; never imports Django or the platform's apps. Runs standalone:

    python -m evaluation.engine list
    python -m evaluation.engine run --benchmark demo-cpu --submission DIR --seed 0 --out result.json

Public API
----------
- ``evaluation.engine.specs``: ``SPECS`` (name -> ``BenchmarkSpec``), ``spec_get(name)``,
  ``validate_config(spec_name, config) -> list[(field, message)]`` (empty = valid),
  ``BenchmarkSpec.describe()`` (JSON-able: budget, limits, allowed config keys and ranges).
  Imports no torch: cheap for the web platform.
- ``evaluation.engine.runner.run_benchmark(spec, submission_dir, *, seed, device=None,
  unsafe_no_sandbox=False, threads=None, progress=print) -> dict``: the result, also what the
  CLI writes as JSON.

A submission is a folder: ``config.json`` (required, ``{}`` for defaults), optionally
``model.py`` with ``build_model(vocab_size, block_size, config) -> nn.Module`` whose
``forward(idx: LongTensor[B, T])`` returns logits ``[B, T, 256]``, and optionally
``optimizer.py`` with ``build_optimizer(model, config) -> torch.optim.Optimizer``. Without
``model.py`` the reference model (``reference/``) is trained.

Result fields: ``status`` (``ok`` | ``rejected`` | ``failed``), ``error`` (what to fix),
``val_bits_per_byte``, ``loss_curve`` ([{step, bytes, loss, lr, elapsed}]),
``bytes_per_second`` (after step 0), ``mfu`` (CUDA only, PaLM formula over the device's bf16
peak), ``peak_memory_bytes``, ``param_count``, ``device``, ``device_name``, ``torch_version``,
``bytes_trained``, ``byte_budget``, ``steps``, ``stopped_early`` (wall-clock cap hit),
``scored_bytes``, ``causality`` (probe figures), ``sandbox``, ``log_tail``, ``wall_seconds``,
``benchmark``, ``seed``.

Integrity: submission code runs only in ``sandbox.py``'s bubblewrap sandbox, never in the
process that computes the score; see ``runner.py`` for the data flow and the causality probe.
"""
