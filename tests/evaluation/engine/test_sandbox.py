"""Without a working bubblewrap the engine refuses untrusted code unless told otherwise (the
reference code alone, verified by content, runs: see test_integrity)."""

from __future__ import annotations

from evaluation.engine.runner import run_benchmark


def test_refuses_without_sandbox_and_runs_only_when_opted_out(
    tiny_spec, make_submission, monkeypatch, capfd
) -> None:
    monkeypatch.setenv("CRUCIBLE_BWRAP", "/nonexistent/bwrap")
    model = "def build_model(vocab_size, block_size, config):\n    return nn.Embedding(256, 256)\n"
    folder = make_submission(model)
    refused = run_benchmark(tiny_spec(), folder, seed=0, progress=None)
    assert refused["status"] == "failed"
    assert "cannot sandbox submission code" in refused["error"]
    assert "--unsafe-no-sandbox" in refused["error"]

    unsafe = run_benchmark(tiny_spec(), folder, seed=0, progress=None, unsafe_no_sandbox=True)
    assert unsafe["status"] == "ok", unsafe["error"]
    assert unsafe["sandbox"] == "NONE (unsafe)"
    assert "WITHOUT a sandbox" in capfd.readouterr().err
