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

A submission is a folder: ``config.json`` (optional: the defaults without it), optionally
``model.py`` with ``build_model(vocab_size, block_size, config) -> nn.Module`` whose
``forward(idx: LongTensor[B, T])`` returns logits ``[B, T, 256]``, and optionally
``optimizer.py`` with ``build_optimizer(model, config) -> torch.optim.Optimizer``. Without
``model.py`` the reference model (``reference/``) is trained.

Result fields: ``status`` (``ok`` | ``rejected`` | ``failed``), ``error`` (what to fix),
``fault`` (``submission`` | ``platform``: whose failure it is), ``val_bits_per_byte``,
``test_bits_per_byte`` (a benchmark folder's hidden test split, scored in the same passes;
None without one),
``loss_curve`` ([{step, bytes, loss, lr, elapsed}]: step, bytes and time the harness's, loss and
lr reported), ``bytes_per_second`` (after step 0), ``train_seconds``, ``mfu`` (CUDA only, PaLM
formula over the device's bf16 peak, per GPU), ``param_count`` (numbers in the trained
checkpoint), ``device``, ``device_name``, ``gpus`` (processes that trained), ``torch_version``,
``bytes_trained``, ``byte_budget``, ``steps``,
``stopped_early`` (the harness stopped serving at the wall-clock cap), ``scored_bytes``,
``causality`` (probe figures), ``pass_seconds`` (train, score, probe), ``sandbox``,
``reported`` (what the submission's process said about itself: steps, peak memory, device,
architecture, final training loss; never used for the score), ``log_tail``, ``wall_seconds``,
``benchmark``, ``seed``. The result is strict JSON: no NaN, no infinity.

Integrity: submission code runs only in ``sandbox.py``'s bubblewrap sandbox (a fresh uid and a
seccomp filter per pass), never in the process that computes the score; see ``README.md`` for
the threat model, ``training.py`` for the harness's accounting and ``probe.py`` for the
causality probe.
"""
