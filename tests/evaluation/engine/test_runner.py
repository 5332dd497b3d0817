"""Each way a submission can go wrong ends as `failed` (or `rejected`) with a message that says
what to fix; budgets and caps hold."""

from __future__ import annotations

import shutil
from pathlib import Path

from evaluation.engine.passes import REFERENCE_DIR

BASE = """
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(256))

    def forward(self, idx):
        {body}
        return self.bias.expand(*idx.shape, -1)

def build_model(vocab_size, block_size, config):
    return Model()
"""


def model_with(body: str) -> str:
    return BASE.replace("{body}", body)


def test_nan_loss(run, tiny_spec, make_submission) -> None:
    folder = make_submission(
        BASE.replace("return self.bias", "return float('nan') * self.bias").replace("{body}", "")
    )
    result = run(tiny_spec(), folder)
    assert result["status"] == "failed"
    assert "training loss became nan at step 0" in result["error"]
    assert "learning rate" in result["error"]


def test_crash_in_forward(run, tiny_spec, make_submission) -> None:
    result = run(tiny_spec(), make_submission(model_with("raise ValueError('boom at layer 3')")))
    assert result["status"] == "failed"
    assert "ValueError: boom at layer 3" in result["error"]
    assert "model.py" in result["error"]  # the traceback points at the contributor's file


def test_wrong_output_shape(run, tiny_spec, make_submission) -> None:
    folder = make_submission(
        BASE.replace(
            "self.bias.expand(*idx.shape, -1)", "self.bias[:255].expand(*idx.shape, -1)"
        ).replace("{body}", "")
    )
    result = run(tiny_spec(), folder)
    assert result["status"] == "failed"
    assert "returned logits of shape (8, 32, 255)" in result["error"]
    assert "[batch, block_size, vocab_size] = [8, 32, 256]" in result["error"]


def test_import_error(run, tiny_spec, make_submission) -> None:
    result = run(tiny_spec(), make_submission("import flash_attn_9000\n" + model_with("")))
    assert result["status"] == "failed"
    assert "importing model.py failed: ModuleNotFoundError" in result["error"]
    assert "flash_attn_9000" in result["error"]


def test_missing_build_model(run, tiny_spec, make_submission) -> None:
    result = run(tiny_spec(), make_submission("x = 1\n"))
    assert result["status"] == "failed"
    assert "must define build_model" in result["error"]


def test_over_long_run_is_killed(run, tiny_spec, make_submission) -> None:
    spec = tiny_spec(train_wall_s=2.0, startup_grace_s=4.0)
    result = run(spec, make_submission(model_with("while True: pass")))
    assert result["status"] == "failed"
    assert "exceeded the wall-clock limit of 6 s" in result["error"]
    assert result["wall_seconds"] < 20


def test_wall_clock_cap_ends_training_early_and_says_so(run, tiny_spec, make_submission) -> None:
    spec = tiny_spec(byte_budget=8 * 32 * 1000, train_wall_s=1.5, startup_grace_s=20.0)
    result = run(spec, make_submission(model_with("time.sleep(0.1)")))
    assert result["status"] == "ok", result["error"]
    assert result["stopped_early"] is True
    assert 1 <= result["steps"] < 1000
    assert result["bytes_trained"] == result["steps"] * 8 * 32 < result["byte_budget"]
    assert result["val_bits_per_byte"] is not None


def test_invalid_config_is_rejected(run, tiny_spec, make_submission) -> None:
    result = run(tiny_spec(), make_submission(config={"lr": 3.0, "depth": 2}))
    assert result["status"] == "rejected"
    assert "lr: must be <= 0.1" in result["error"] and "depth: unknown key" in result["error"]


def test_the_reference_without_a_config(run, tiny_spec, tmp_path: Path) -> None:
    """config.json is optional: a folder of the reference's model.py alone trains with the
    spec's defaults, as the reference (trusted by content)."""
    shutil.copy(REFERENCE_DIR / "model.py", tmp_path / "model.py")
    result = run(tiny_spec(), tmp_path)
    assert result["status"] == "ok", result["error"]
    assert result["val_bits_per_byte"] is not None


def test_an_empty_or_missing_folder(run, tiny_spec, tmp_path: Path) -> None:
    result = run(tiny_spec(), tmp_path)
    assert result["status"] == "rejected" and "folder is empty" in result["error"]
    result = run(tiny_spec(), tmp_path / "absent")
    assert result["status"] == "failed" and "does not exist" in result["error"]


def test_too_many_parameters(run, tiny_spec, make_submission) -> None:
    result = run(tiny_spec(max_params=1000), make_submission(config={}))
    assert result["status"] == "failed"
    assert "parameters; this benchmark allows 1,000" in result["error"]
