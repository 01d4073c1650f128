"""The command line end to end, in a temporary folder."""
import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tinyrnn.cli import main
from tinyrnn.io import load_model


def run(capsys, *argv):
    """Run the CLI in-process; returns (exit status, stdout, stderr)."""
    try:
        status = main([str(arg) for arg in argv])
    except SystemExit as exit_:                  # argparse's --help and usage errors
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """`tinyrnn train` with every default (the walkthrough's recipe, embedded data), once."""
    folder = tmp_path_factory.mktemp("default")
    result = subprocess.run([sys.executable, "-m", "tinyrnn", "train", "--json-log", "log.jsonl"],
                            cwd=folder, capture_output=True, text=True, timeout=300)
    return folder, result


def test_default_training_reproduces_the_walkthrough_log(default_run):
    folder, result = default_run
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"\d+ unique words found", lines[0])
    epochs = [int(line.split()[-1]) for line in lines if line.startswith("--- Epoch")]
    assert epochs == list(range(100, 1001, 100))
    assert re.fullmatch(r"Train:\tLoss \d\.\d{3} \| Accuracy: \d\.\d{3}", lines[2])
    assert lines[-1].startswith("Test:\tLoss ") and lines[-1].endswith("| Accuracy: 1.000")
    records = [json.loads(line) for line in open(folder / "log.jsonl")]
    assert [r["epoch"] for r in records] == epochs
    assert set(records[0]) == {"epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
                               "train_seconds"}
    assert records[-1]["test_accuracy"] == 1.0
    seconds = [r["train_seconds"] for r in records]
    assert seconds == sorted(seconds) and seconds[0] > 0
    assert (folder / "model.safetensors").exists()


def test_predict_and_eval_with_the_trained_model(default_run, capsys, monkeypatch):
    folder, _ = default_run
    monkeypatch.chdir(folder)
    status, out, err = run(capsys, "predict", "i am not at all happy", "this is not bad")
    assert status == 0 and err == ""
    assert [line.split("\t")[0] for line in out.splitlines()] == ["negative", "positive"]
    status, out, _ = run(capsys, "eval", "--json")
    report = json.loads(out)
    assert status == 0 and report["accuracy"] == 1.0 and report["examples"] >= 20
    assert np.trace(report["confusion"]) == report["examples"]
    status, out, _ = run(capsys, "eval")
    assert "Accuracy: 1.000" in out and "Confusion matrix" in out


def test_predict_json_stdin_and_unknown_words(tmp_path, capsys, monkeypatch):
    model = _train(tmp_path, capsys, "--epochs", "3")
    monkeypatch.setattr(sys, "stdin", _stdin(b"i am happy\n\nthis is zorbly bad\n"))
    status, out, err = run(capsys, "predict", "--model", model, "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and [r["text"] for r in records] == ["i am happy", "", "this is zorbly bad"]
    assert records[1]["label"] is None                              # a blank line: an empty answer
    assert abs(sum(records[0]["probabilities"].values()) - 1) < 1e-12
    assert "zorbly" in err and err.count("\n") == 1
    status, out, err = run(capsys, "predict", "--model", model, "--strict", "zorbly")
    assert status == 2 and out == "" and "zorbly" in err and err.count("\n") == 1
    monkeypatch.setattr(sys, "stdin", _stdin("good\ncaf\u00e9\n".encode("latin-1")))
    status, out, err = run(capsys, "predict", "--model", model)
    assert status == 2 and "<stdin>:2: cannot decode byte 0xe9" in err
    assert out.endswith("\tgood\n") and out.count("\n") == 1     # line 1 was answered as it came


def _stdin(data):
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")


def _train(folder, capsys, *options, name="m.safetensors"):
    path = str(folder / name)
    status, out, err = run(capsys, "train", "--out", path, *options)
    assert status == 0, err
    return path


def test_same_seed_same_model_bit_for_bit(tmp_path, capsys):
    a = _train(tmp_path, capsys, "--epochs", "5", "--seed", "3", name="a.safetensors")
    b = _train(tmp_path, capsys, "--epochs", "5", "--seed", "3", name="b.safetensors")
    c = _train(tmp_path, capsys, "--epochs", "5", "--seed", "4", name="c.safetensors")
    assert open(a, "rb").read() == open(b, "rb").read()
    assert open(a, "rb").read() != open(c, "rb").read()


def test_epochs_zero_saves_the_initialised_model(tmp_path, capsys):
    path = str(tmp_path / "m.safetensors")
    status, out, _ = run(capsys, "train", "--epochs", "0", "--out", path, "--hidden", "7")
    model = load_model(path)
    assert status == 0 and "Epoch" not in out
    assert model.hidden_size == 7 and not model.params["bh"].any()
    assert 0 < np.abs(model.params["Whh"]).max() < 0.01          # normal / 1000


def test_target_accuracy_stops_early(tmp_path, capsys):
    log = tmp_path / "log.jsonl"
    status, out, _ = run(capsys, "train", "--out", tmp_path / "m.safetensors", "--target-accuracy", "0.75",
                         "--json-log", log, "--batch-size", "8", "--lr", "0.5", "--init", "xavier")
    match = re.search(r"Reached test accuracy (\S+) at epoch (\d+) after (\S+) s of training", out)
    assert status == 0 and match and float(match.group(1)) >= 0.75
    last = json.loads(log.read_text().splitlines()[-1])
    assert last["epoch"] == int(match.group(2)) < 1000 and last["target_reached"]


def test_init_from_continues_a_model(tmp_path, capsys):
    start = _train(tmp_path, capsys, "--epochs", "2", name="start.safetensors")
    runs = [_train(tmp_path, capsys, "--init-from", start, "--epochs", "2", "--no-shuffle",
                   "--seed", seed, name=f"next{seed}.safetensors") for seed in ("1", "2")]
    first, second, original = load_model(runs[0]), load_model(runs[1]), load_model(start)
    np.testing.assert_array_equal(first.flat, second.flat)      # nothing random is left
    assert first.vocab.tokens == original.vocab.tokens
    assert not np.array_equal(first.flat, original.flat)


def test_own_data_files_and_label_files(tmp_path, capsys):
    (tmp_path / "pos.txt").write_text("good\nvery good\nhappy\n")
    (tmp_path / "neg.txt").write_text("bad\nvery bad\nsad\n")
    (tmp_path / "test.jsonl").write_text('{"text": "good", "label": "pos"}\n')
    model = _train(tmp_path, capsys, "--train", f"pos={tmp_path / 'pos.txt'}",
                   "--train", f"neg={tmp_path / 'neg.txt'}", "--test", tmp_path / "test.jsonl",
                   "--epochs", "2", "--log-every", "1")
    assert load_model(model).classes == ["neg", "pos"]
    status, out, _ = run(capsys, "train", "--train", f"pos={tmp_path / 'pos.txt'}",
                         "--train", f"neg={tmp_path / 'neg.txt'}", "--epochs", "1",
                         "--out", tmp_path / "x.safetensors")
    assert status == 0 and "Test:" not in out and out.startswith("5 unique words found")


def test_gradcheck_command(capsys):
    status, out, _ = run(capsys, "gradcheck", "--hidden", "3")
    assert status == 0
    assert [line.split()[0] for line in out.splitlines()[1:7]] == ["Wxh", "Whh", "bh", "Why", "by", "h0"]


def test_gradcheck_of_a_gated_stack_and_of_a_language_model(capsys):
    status, out, _ = run(capsys, "gradcheck", "--cell", "gru", "--layers", "2", "--bidirectional",
                         "--embed", "3", "--hidden", "3")
    names = [line.split()[0] for line in out.splitlines()[1:-1]]
    assert status == 0 and names[0] == "embedding.weight" and "rnn.weight_hh_l1_reverse" in names
    assert names[-1] == "h0" and out.count(" ok") == len(names)
    status, out, _ = run(capsys, "gradcheck", "--task", "lm", "--cell", "lstm", "--dropout", "0.3")
    assert status == 0 and "gradients match finite differences" in out


def test_help_for_every_command(capsys):
    for command in ("train", "predict", "eval", "gradcheck"):
        status, out, _ = run(capsys, command, "--help")
        assert status == 0 and "usage: tinyrnn " + command in out


def test_console_entry_points(tmp_path):
    import sysconfig
    script = os.path.join(sysconfig.get_path("scripts"), "tinyrnn")     # installed by pip
    for argv in ([sys.executable, "-m", "tinyrnn", "--version"], [script, "--version"]):
        result = subprocess.run(argv, capture_output=True, text=True)
        assert result.returncode == 0 and result.stdout.startswith("tinyrnn ")


def test_progress_bar_goes_to_stderr_only_when_asked(tmp_path, capsys):
    status, out, err = run(capsys, "train", "--epochs", "3", "--out", tmp_path / "m.safetensors")
    assert status == 0 and "batch" not in err.lower()
    status, out, err = run(capsys, "train", "--epochs", "3", "--out", tmp_path / "m.safetensors",
                           "--progress")
    total = 3 * 78                                           # one update per sentence, 78 sentences
    assert status == 0 and f"{total}/{total}" in err and "batch" in err and "batch" not in out


def test_long_epochs_log_a_line_every_few_seconds(tmp_path, capsys, monkeypatch):
    """With --log-every-seconds, lines come within an epoch and every epoch is logged."""
    import importlib
    clock = iter(range(0, 10 ** 6, 7))                      # every reading is 7 s later
    monkeypatch.setattr(importlib.import_module("tinyrnn.training.loop").time, "perf_counter", lambda: next(clock))
    status, out, _ = run(capsys, "train", "--epochs", "2", "--log-every-seconds", "20", "--out",
                         tmp_path / "m.safetensors")
    lines = out.splitlines()
    assert status == 0 and "--- Epoch 1" in lines and "--- Epoch 2" in lines
    assert any(line.startswith("    epoch 1, batch ") and "/78: train loss" in line for line in lines)


def test_ctrl_c_during_training_saves_nothing(tmp_path, capsys, monkeypatch):
    import tinyrnn.commands.train_classifier

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(tinyrnn.commands.train_classifier, "run_trainer", interrupted)
    status, _, err = run(capsys, "train", "--out", tmp_path / "m.safetensors")
    assert status == 130 and err == "tinyrnn train: error: interrupted by Ctrl-C; nothing was saved\n"
    assert not (tmp_path / "m.safetensors").exists()


def test_minutes_and_steps_bound_a_classifier_run_too(tmp_path, capsys):
    status, out, err = run(capsys, "train", "--steps", "100", "--log-every", "1", "--json-log",
                           tmp_path / "log.jsonl", "--out", tmp_path / "m.safetensors")
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert status == 0 and [r["epoch"] for r in records] == [1, 2] and "--- Epoch 2" in out   # 78 + 22 updates
    status, out, _ = run(capsys, "train", "--minutes", "0.0001", "--out", tmp_path / "m.safetensors")
    assert status == 0 and out.count("--- Epoch") == 1 and "--- Epoch 1000" not in out
