"""Pictures: train --plot, tinyrnn plot, explain --png; the optional matplotlib."""
import json
import struct
import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest
from conftest import environment_without

from tinyrnn.cli import main
from tinyrnn.gradcheck import random_classifier
from tinyrnn.io import save_model


def png_size(path):
    """(width, height) from the PNG header; the file must also decode as an image."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (height, width) and pixels.std() > 0      # decodes, not blank
    return width, height


def test_train_plot_for_a_classifier_with_validation(tmp_path, capsys):
    plot, log = tmp_path / "curves.png", tmp_path / "log.jsonl"
    assert main(["train", "--epochs", "12", "--preset", "fast", "--valid-split", "0.2", "--keep-best",
                 "--out", str(tmp_path / "m.safetensors"), "--plot", str(plot), "--json-log", str(log)]) == 0
    assert f"saved {plot}" in capsys.readouterr().err
    assert png_size(plot) == (1000, 450)
    assert main(["plot", str(log)]) == 0                      # default: the log's name with .png
    assert png_size(tmp_path / "log.png") == (1000, 450)
    assert main(["plot", str(log), "--out", str(plot)]) == 0  # replaces its own picture


def test_train_plot_for_a_language_model_and_for_folds(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text("the quick brown fox jumps over the lazy dog\n" * 40)
    assert main(["train", "--task", "lm", "--text", str(text), "--steps", "30", "--log-every", "10",
                 "--hidden", "8", "--sample-every", "0", "--out", str(tmp_path / "lm.safetensors"),
                 "--plot", str(tmp_path / "lm.png")]) == 0
    assert png_size(tmp_path / "lm.png") == (1000, 450)
    assert main(["train", "--folds", "3", "--epochs", "3", "--preset", "fast", "--plot",
                 str(tmp_path / "folds.png"), "--json-log", str(tmp_path / "folds.jsonl")]) == 0
    assert png_size(tmp_path / "folds.png") == (1000, 450)
    capsys.readouterr()
    assert main(["train", "--epochs", "0", "--out", str(tmp_path / "m0.safetensors"), "--plot",
                 str(tmp_path / "none.png")]) == 0                       # nothing to draw: a note
    assert "nothing to plot" in capsys.readouterr().err and not (tmp_path / "none.png").exists()


def test_explain_png(tmp_path, capsys):
    path = str(tmp_path / "m.safetensors")
    save_model(random_classifier(np.random.default_rng(0), 7, 6, 2, 0.5, cell="gru", bidirectional=True), path)
    assert main(["explain", "--model", path, "w1 w2 w3 w4", "--png", str(tmp_path / "e.png")]) == 0
    assert png_size(tmp_path / "e.png") == (1000, 750)
    capsys.readouterr()


@pytest.mark.parametrize("content, message", [
    (b"", "(the log is empty)"),
    (b'{"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.5}\nnot json\n', "log.jsonl:2: not JSON"),
    (b'{"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.5}\n[1, 2]\n', "log.jsonl:2: not a JSON object"),
    (b'{"something": "else"}\n', "no classifier epochs"),
    (b'{"fold": 1, "test_accuracy": "x"}\n', 'log.jsonl:1: test_accuracy is "x", not a number'),
    (b'{"step": {}, "train_loss": 1}\n', "log.jsonl:1: step is {}, not a count"),
    (b'{"epoch": true, "train_loss": 1, "train_accuracy": 0.5}\n', "log.jsonl:1: epoch is true, not a count"),
    (b'{"epoch": 1, "train_loss": 1, "train_accuracy": 0.5}\n{"epoch": 1, "step": 5, "train_loss": 1}\n',
     "log.jsonl:2: a record of a language model in a log of a classifier; a log holds one run"),
    (b'{"epoch": 1, "train_loss": NaN, "train_accuracy": Infinity}\n', "train_loss is NaN, which no run writes"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "log.jsonl:1: not JSON"),
])
def test_plot_refuses_what_is_not_a_log(tmp_path, capsys, content, message):
    log = tmp_path / "log.jsonl"
    log.write_bytes(content)
    assert main(["plot", str(log)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "log.png").exists()


def test_plot_outputs_follow_the_output_rules(tmp_path, capsys):
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps({"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.5}) + "\n")
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n someone else's picture")
    assert main(["plot", str(log), "--out", str(photo)]) == 2
    assert "not a PNG picture written by tinyrnn" in capsys.readouterr().err
    assert photo.read_bytes().endswith(b"someone else's picture")
    assert main(["plot", str(log), "--out", str(log)]) == 2          # never its own input
    assert "is the LOG input" in capsys.readouterr().err
    assert main(["plot", str(log), "--out", str(photo), "--force"]) == 0
    assert png_size(photo) == (1000, 450)
    assert main(["plot", str(tmp_path / "missing.jsonl")]) == 2
    assert "no such log file" in capsys.readouterr().err
    for wrong in ("curves.pdf", "curves"):                  # it writes PNG, so it is named .png
        assert main(["plot", str(log), "--out", str(tmp_path / wrong)]) == 2
        assert "what is written here is a PNG picture; give it a name ending .png" in capsys.readouterr().err
        assert not (tmp_path / wrong).exists()
    model = tmp_path / "m.safetensors"
    save_model(random_classifier(np.random.default_rng(0)), str(model))
    assert main(["plot", str(model), "--out", str(tmp_path / "m.png")]) == 2
    assert "a tinyrnn model file, not a log" in capsys.readouterr().err


def test_without_matplotlib_one_clear_line_before_any_work(tmp_path):
    env = environment_without(tmp_path, "matplotlib")
    out = tmp_path / "m.safetensors"
    for argv in (["train", "--out", str(out), "--plot", str(tmp_path / "p.png")],
                 ["plot", str(tmp_path / "log.jsonl")]):
        result = subprocess.run([sys.executable, "-m", "tinyrnn", *argv], capture_output=True, text=True,
                                env=env, timeout=120)
        assert result.returncode == 2
        assert result.stderr.strip().endswith("plotting needs matplotlib: python -m pip install matplotlib "
                                              "(or the plot extra, '.[plot]' in a checkout of tinyrnn)")
        assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert not out.exists()
