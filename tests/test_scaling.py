"""docs/scaling.md's path: export to PyTorch, DDP fine-tuning in two processes, import back."""
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from tinyrnn.cli import main
from tinyrnn.io import load_model

EXAMPLE = pathlib.Path(__file__).parent.parent / "examples" / "ddp_finetune.py"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_ddp_fine_tuning_round_trip(tmp_path, capsys, dtype):
    pytest.importorskip("torch")
    model, exported, tuned, back = (str(tmp_path / name) for name in
                                    ("m.safetensors", "m.torch.safetensors", "t.torch.safetensors", "t.safetensors"))
    data = tmp_path / "data.csv"
    data.write_text("text,label\n" + "".join(f"{text},{label}\n" for text, label in [
        ("good movie", "pos"), ("great fun", "pos"), ("bad movie", "neg"), ("awful and dull", "neg"),
        ("fun and good", "pos"), ("dull movie", "neg")] * 3))
    tuning = tmp_path / "more.csv"
    tuning.write_text(data.read_text() + "a new word,pos\n")
    assert main(["train", "--train", str(data), "--epochs", "5", "--preset", "fast", "--cell", "gru",
                 "--embed", "4", "--dtype", dtype, "--out", model]) == 0
    assert main(["export", "--model", model, "--format", "torch", "--out", exported]) == 0
    capsys.readouterr()
    result = subprocess.run([sys.executable, str(EXAMPLE), "--weights", exported, "--out", tuned, "--data", str(tuning),
                             "--steps", "6", "--batch-size", "6"], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "2 replicas, identical after 6 steps" in result.stdout
    assert "3 word(s) of the data are not in the model's vocabulary" in result.stdout
    difference = float(result.stdout.split("max |difference| ")[1].split()[0])
    assert difference <= (1e-10 if dtype == "float64" else 1e-5)
    assert main(["import", "--state-dict", tuned, "--out", back]) == 0
    before, after = load_model(model), load_model(back)
    assert after.config == before.config and after.classes == before.classes
    assert after.dtype.name == dtype
    assert not np.array_equal(after.flat, before.flat)                     # it was trained further
