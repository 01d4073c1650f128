"""Checkpoints and resume: a run killed anywhere and resumed ends bit for bit where an
uninterrupted run ends (weights and JSON log); resumes that cannot be exact are refused."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from test_cli import run
from tinyrnn import errors, guard
from tinyrnn.checkpoint import CheckpointFolder
from tinyrnn.io import load_model

CLASSIFIER = ["--epochs", "40", "--log-every", "10", "--cell", "gru", "--embed", "8", "--hidden", "24",
              "--dropout", "0.2", "--optimizer", "adam", "--lr", "0.003", "--checkpoint-every", "1"]
LANGUAGE_MODEL = ["--task", "lm", "--text", "text.txt", "--steps", "150", "--log-every", "25", "--hidden", "32",
                  "--cell", "lstm", "--layers", "2", "--dropout", "0.1", "--ema", "0.95", "--checkpoint-every", "10"]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "text.txt").write_text("".join(f"line {i}: the cat sat on the mat, {i * i} times.\n"
                                               for i in range(300)))
    return tmp_path


def train_process(name, options, *extra):
    return subprocess.Popen([sys.executable, "-m", "tinyrnn", "train", *options, "--checkpoint-dir", f"{name}.d",
                             "--out", f"{name}.safetensors", "--json-log", f"{name}.jsonl", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def log_without_times(path):
    return [{key: value for key, value in json.loads(line).items() if key != "train_seconds"}
            for line in open(path)]


def same_run(name, reference):
    np.testing.assert_array_equal(load_model(f"{name}.safetensors").flat, load_model(f"{reference}.safetensors").flat)
    assert log_without_times(f"{name}.jsonl") == log_without_times(f"{reference}.jsonl")


@pytest.mark.parametrize("options", [CLASSIFIER, LANGUAGE_MODEL], ids=["classifier", "language-model"])
def test_sigkill_at_random_points_then_resume_equals_the_uninterrupted_run(folder, options):
    reference = train_process("whole", options)
    assert reference.wait(timeout=120) == 0, reference.stderr.read()
    rng = np.random.default_rng(0)
    for kill in range(2):
        name = f"killed{kill}"
        process = train_process(name, options)
        deadline = time.monotonic() + 60
        while not (os.path.isdir(f"{name}.d") and any(entry.startswith("checkpoint-") for entry in
                                                      os.listdir(f"{name}.d"))) and time.monotonic() < deadline:
            time.sleep(0.01)                                # a first checkpoint to resume from
        time.sleep(rng.uniform(0.0, 0.6))
        process.kill()
        process.wait()
        resumed = train_process(name, options, "--resume")
        out, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, err
        same_run(name, "whole")


def test_ctrl_c_checkpoints_mid_epoch_exits_130_and_resume_is_exact(folder):
    options = ["--epochs", "200", *CLASSIFIER[2:], "--checkpoint-every", "1000", "--batch-size", "2"]
    assert train_process("whole", options).wait(timeout=120) == 0
    process = train_process("stopped", options)
    while process.stdout.readline() != "--- Epoch 10\n":      # well under way, far from the end
        pass
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err == ("tinyrnn train: error: interrupted by Ctrl-C; checkpoint stopped.d/checkpoint-00000001.safetensors "
                   "saved: the same command with --resume goes on from it\n")
    resumed = train_process("stopped", options, "--resume")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0 and ", batch" in out.splitlines()[1], out   # "resuming from ... batch N"
    same_run("stopped", "whole")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])       # SIGHUP: the terminal closed
def test_sigterm_or_sighup_checkpoint_and_exit_128_plus_their_number(folder, signum):
    process = train_process("run", [*LANGUAGE_MODEL[:-1], "100000", "--steps", "100000"])
    process.stdout.readline()
    time.sleep(0.5)
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    name = signal.Signals(signum).name
    assert process.returncode == 128 + signum and f"interrupted by {name}; checkpoint run.d/checkpoint-00000001" in err
    path, model, tensors, record = CheckpointFolder("run.d").latest(pytest.fail)
    assert path.endswith("checkpoint-00000001.safetensors") and record["state"]["steps"] > 0


def short_run(capsys, *extra, name="run"):
    return run(capsys, "train", *CLASSIFIER[:1], "6", *CLASSIFIER[2:], "--checkpoint-dir", f"{name}.d",
               "--out", f"{name}.safetensors", "--json-log", f"{name}.jsonl", *extra)


def test_a_resume_with_other_settings_or_data_is_refused_naming_the_difference(folder, capsys):
    assert short_run(capsys)[0] == 0
    status, out, err = short_run(capsys, "--resume", "--lr", "0.01")
    assert status == 2 and "differs from run.d/checkpoint-00000006.safetensors: lr 0.003 -> 0.01" in err
    (folder / "data.csv").write_text("text,label\ngood,pos\nbad,neg\n")
    status, out, err = short_run(capsys, "--resume", "--train", "data.csv")
    assert status == 2 and "holds another model" in err and "cannot continue with these options or data" in err
    status, out, err = short_run(capsys, "--resume", "--seed", "1")
    assert status == 2 and "seed 0 -> 1" in err and "add --force" in err
    for force in ([], ["--force"]):                 # no --force can continue another model
        status, out, err = short_run(capsys, "--resume", "--hidden", "16", *force)
        assert status == 2 and "cannot continue with these options" in err and "--force" not in err
    status, out, err = short_run(capsys, "--resume", "--epochs", "8", "--force")
    assert status == 0 and "resuming despite a difference (--force): epochs 6 -> 8" in err
    assert "resuming from run.d/checkpoint-00000006.safetensors (next: epoch 7)" in out
    assert [record["epoch"] for record in map(json.loads, open("run.jsonl"))] == [6, 8]


def test_a_finished_run_resumes_as_a_no_op_and_a_damaged_checkpoint_falls_back(folder, capsys):
    assert short_run(capsys)[0] == 0
    before = (folder / "run.safetensors").read_bytes()
    (folder / "run.safetensors").unlink()                  # as if killed before --out was written
    status, out, err = short_run(capsys, "--resume")
    assert status == 0 and "nothing to train: the run checkpointed in run.d/checkpoint-00000006.safetensors " \
                           "finished (at epoch 6)" in out
    assert (folder / "run.safetensors").read_bytes() == before          # its model, written again
    assert short_run(capsys, "--checkpoint-every", "2", name="every2")[0] == 0
    assert sorted(os.listdir("every2.d")) == ["checkpoint-00000002.safetensors", "checkpoint-00000003.safetensors"]
    latest = folder / "every2.d" / "checkpoint-00000003.safetensors"
    latest.write_bytes(latest.read_bytes()[:-5] + b"\0" * 5)                  # damaged weights
    status, out, err = short_run(capsys, "--checkpoint-every", "2", "--resume", name="every2")
    assert status == 0 and "warning: skipping a damaged checkpoint: every2.d/checkpoint-00000003.safetensors:" in err
    assert "resuming from every2.d/checkpoint-00000002.safetensors (next: epoch 5)" in out
    np.testing.assert_array_equal(load_model("every2.safetensors").flat, load_model("run.safetensors").flat)


def test_resume_without_a_checkpoint_and_options_without_a_folder_are_refused(folder, capsys):
    status, out, err = short_run(capsys, "--resume")
    assert status == 2 and "run.d has no checkpoint; run without --resume to start" in err
    for option in (["--resume"], ["--checkpoint-every", "3"]):
        status, out, err = run(capsys, "train", *option)
        assert status == 2 and "needs --checkpoint-dir" in err
    status, out, err = run(capsys, "train", "--checkpoint-dir", "d", "--checkpoint-every", "0")
    assert status == 2 and "argument --checkpoint-every: must be >= 1" in err


def test_two_runs_cannot_share_a_checkpoint_folder(folder, capsys):
    first = train_process("shared", [*LANGUAGE_MODEL[:-1], "100000", "--steps", "100000"])
    first.stdout.readline()
    status, out, err = run(capsys, "train", "--checkpoint-dir", "shared.d", "--out", "other.safetensors")
    first.kill()
    first.wait()
    assert status == 2 and "--checkpoint-dir shared.d is in use by another tinyrnn run" in err


def test_divergence_keeps_the_last_good_checkpoint(folder, capsys, monkeypatch):
    check_mean = guard.DivergenceGuard.check_mean

    def diverge_at_epoch_4(self, mean_loss, where, lr, weights=True):
        if where == "epoch 4" and weights:                  # at the epoch's end
            raise errors.DivergenceError("training diverged at epoch 4: (scripted)")
        check_mean(self, mean_loss, where, lr, weights)
    monkeypatch.setattr(guard.DivergenceGuard, "check_mean", diverge_at_epoch_4)
    status, out, err = short_run(capsys)
    assert status == 3 and sorted(os.listdir("run.d")) == ["checkpoint-00000002.safetensors",
                                                           "checkpoint-00000003.safetensors"]
    assert not os.path.exists("run.safetensors")
    path, model, tensors, record = CheckpointFolder("run.d").latest(pytest.fail)
    assert path.endswith("checkpoint-00000003.safetensors") and record["state"]["epoch"] == 3
    assert np.isfinite(model.flat).all()


def test_init_from_continues_a_language_model(folder, capsys):
    options = ["train", "--task", "lm", "--text", "text.txt", "--steps", "20", "--hidden", "16"]
    assert run(capsys, *options, "--out", "first.safetensors")[0] == 0
    status, out, err = run(capsys, *options, "--init-from", "first.safetensors", "--out", "second.safetensors")
    assert status == 0, err
    first, second = load_model("first.safetensors"), load_model("second.safetensors")
    assert first.vocab.tokens == second.vocab.tokens and not np.array_equal(first.flat, second.flat)
    status, out, err = run(capsys, *options, "--init-from", "first.safetensors", "--hidden", "8")
    assert status == 2 and "--hidden 8 disagrees with first.safetensors (16)" in err


def test_a_new_run_does_not_replace_an_earlier_runs_checkpoints_unless_forced(folder, capsys):
    assert short_run(capsys)[0] == 0
    status, out, err = short_run(capsys)
    assert status == 2 and "run.d holds the checkpoints of an earlier run; add --resume" in err
    (folder / "run.d" / "checkpoint-00000001.safetensors").write_text("not ours")      # a foreign file
    assert short_run(capsys, "--force")[0] == 0
    assert sorted(os.listdir("run.d")) == ["checkpoint-00000001.safetensors", "checkpoint-00000011.safetensors",
                                           "checkpoint-00000012.safetensors"]
    assert (folder / "run.d" / "checkpoint-00000001.safetensors").read_text() == "not ours"


def test_a_changed_digit_in_the_run_metadata_is_noticed(folder, capsys):
    assert short_run(capsys, "--epochs", "3", "--checkpoint-every", "1")[0] == 0
    latest = folder / "run.d" / "checkpoint-00000003.safetensors"
    raw = latest.read_bytes()
    position = raw.index(b'\\"epoch\\": 3')
    latest.write_bytes(raw[:position] + raw[position:].replace(b'\\"epoch\\": 3', b'\\"epoch\\": 1', 1))
    path, model, tensors, record = CheckpointFolder("run.d").latest(lambda message: None)
    assert path.endswith("checkpoint-00000002.safetensors") and record["state"]["epoch"] == 2


def test_by_default_a_checkpoint_comes_every_10_minutes_and_at_the_end(folder, capsys):
    status, out, err = run(capsys, "train", "--task", "lm", "--text", "text.txt", "--steps", "7", "--hidden", "8",
                           "--checkpoint-dir", "lm.d", "--out", "lm.safetensors")
    assert status == 0 and sorted(os.listdir("lm.d")) == ["checkpoint-00000001.safetensors"]


def test_a_hand_edited_run_record_is_one_clear_error(folder, capsys):
    import hashlib
    import struct
    assert short_run(capsys, "--epochs", "2")[0] == 0
    path = folder / "run.d" / "checkpoint-00000002.safetensors"
    raw = path.read_bytes()
    length = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + length])
    record = json.loads(header["__metadata__"]["run"])
    record["state"]["epoch"] = "1"                       # a string where a number belongs
    text = json.dumps(record)
    header["__metadata__"].update(run=text, run_checksum="sha256:" + hashlib.sha256(text.encode()).hexdigest())
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + raw[8 + length:])
    status, out, err = short_run(capsys, "--epochs", "4", "--resume", "--force")
    assert status == 2 and err.endswith("the run metadata is incomplete or malformed (epoch is '1')\n")
    assert err.count("\n") == err.count("warning") + 1
