"""Runs you can trust: diverging training stops cleanly (exit 3, nothing saved); outputs
never replace what the user owns; saves survive kills; locks; temporary files."""
import builtins
import errno
import json
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

from test_cli import run
from tinyrnn import files
from tinyrnn.errors import DivergenceError
from tinyrnn.gradcheck import random_classifier
from tinyrnn.guard import DivergenceGuard
from tinyrnn.io import load_model, save_model
from tinyrnn.tasks import LabelledSequences, train
from tinyrnn.training import RunState, TrainConfig


@pytest.mark.parametrize("task_args,where", [
    (("--epochs", "5"), "at epoch 1:"),                                              # walkthrough recipe, float64 SGD
    (("--task", "lm", "--text", "TEXT", "--steps", "200", "--log-every", "20"), " (epoch 1): "),
    (("--task", "seq2seq", "--dtype", "float64", "--epochs", "1", "--steps", "30"), "at epoch 1:"),   # embedded dates
])
def test_a_huge_learning_rate_stops_with_one_line_exit_3_and_nothing_saved(tmp_path, capsys, task_args, where):
    text = tmp_path / "text.txt"
    text.write_text("the quick brown fox jumps over the lazy dog\n" * 40)
    out_path = tmp_path / "model.safetensors"
    argv = [arg if arg != "TEXT" else text for arg in task_args]
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # a NumPy overflow warning would raise here
        status, out, err = run(capsys, "train", *argv, "--lr", "1e6", "--out", out_path)
    assert status == 3 and err.count("\n") == 1, err
    assert "diverged" in err and where in err and "learning rate 1e+06" in err and "gradient norm" in err
    assert not out_path.exists()


def classifier_and_data(seed=0):
    model = random_classifier(np.random.default_rng(seed), 6, 4, 2)
    rng = np.random.default_rng(seed)
    sequences = [rng.integers(2, 6, size=rng.integers(2, 6)) for _ in range(12)]
    return model, LabelledSequences(sequences, rng.integers(0, 2, size=12))


def test_a_nan_loss_stops_at_its_step_with_the_learning_rate_and_gradient_norm():
    model, data = classifier_and_data()
    model.params["Whh"][0, 0] = np.nan
    with pytest.raises(DivergenceError, match=r"at epoch 1, step 1: the loss became nan "
                                              r"\(learning rate 0.02, last gradient norm nan\)"):
        train(model, data, TrainConfig(epochs=3), np.random.default_rng(0))


def test_weights_that_stop_being_finite_stop_training_even_when_the_loss_does_not_show_it():
    model, data = classifier_and_data()
    unused = model.vocab.index["w5"]                      # a word no example contains
    model.params["Wxh"][:, unused] = np.inf
    with pytest.raises(DivergenceError, match="at epoch 1: the weights are no longer finite"):
        train(model, data, TrainConfig(epochs=3), np.random.default_rng(0))


def test_the_explosion_reference_is_at_least_chance_level():
    """A run that starts from trained weights (first loss near 0) and then has an ordinary
    loss is not taken for divergence; 100 times chance level is."""
    model, _ = classifier_and_data()
    guard = DivergenceGuard(model, RunState())
    guard.check_step(0.001, "epoch 1, step 1", 0.1)
    guard.check_mean(0.9, "epoch 1", 0.1)                 # > 100 x 0.001, < 100 x ln 2
    with pytest.raises(DivergenceError, match="epoch 2: the mean loss is 70"):
        guard.check_mean(70.0, "epoch 2", 0.1)


# --- Outputs: nothing the user owns is replaced by surprise (promise 9) ---

CSV = "text,label\ngood film,pos\nbad film,neg\nfine,pos\nawful,neg\n"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.csv").write_text(CSV)
    (tmp_path / "notes.csv").write_text("keep me\n")
    (tmp_path / "corpus.txt").write_text("to be or not to be\n" * 30)
    return tmp_path


TRAIN = ["train", "--train", "data.csv", "--epochs", "2"]
LM = ["train", "--task", "lm", "--text", "corpus.txt", "--steps", "3", "--hidden", "8"]


@pytest.mark.parametrize("argv,message", [
    (TRAIN + ["--out", "notes.csv"], "--out notes.csv exists and is not a tinyrnn model"),
    (TRAIN + ["--json-log", "notes.csv"], "--json-log notes.csv exists and is not a tinyrnn JSON log"),
    (TRAIN + ["--out", "data.csv", "--force"], "--out data.csv is the --train input of this run"),
    (TRAIN + ["--json-log", "data.csv", "--force"], "--json-log data.csv is the --train input"),
    (TRAIN + ["--test", "notes.csv", "--out", "./notes.csv", "--force"], "is the --test input"),
    (TRAIN + ["--out", "x.safetensors", "--json-log", "x.safetensors"], "--json-log and --out both name"),
    (LM + ["--out", "corpus.txt", "--force"], "--out corpus.txt is the --text input"),
    (LM + ["--json-log", "notes.csv"], "is not a tinyrnn JSON log"),
])
def test_outputs_never_replace_inputs_other_outputs_or_foreign_files(workdir, capsys, argv, message):
    before = {path.name: path.read_bytes() for path in workdir.iterdir()}
    status, out, err = run(capsys, *argv)
    assert status == 2 and message in err and err.count("\n") == 1, err
    assert {path.name: path.read_bytes() for path in workdir.iterdir()} == before


def test_a_run_that_stops_before_its_first_record_leaves_an_earlier_log_as_it_was(workdir, capsys):
    (workdir / "log.jsonl").write_text('{"epoch": 5, "train_loss": 0.5}\t\n')         # a log tinyrnn wrote (its mark)
    status, out, err = run(capsys, *TRAIN, "--lr", "1e6", "--json-log", "log.jsonl")
    assert status == 3 and (workdir / "log.jsonl").read_text() == '{"epoch": 5, "train_loss": 0.5}\t\n'


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_outputs_are_regular_files_even_with_force(workdir, capsys, kind):
    os.mkfifo("special") if kind == "fifo" else os.mkdir("special")
    status, out, err = run(capsys, *TRAIN, "--json-log", "special", "--force")
    assert status == 2 and ("not a regular file" in err or "is a folder" in err)
    status, out, err = run(capsys, *TRAIN, "--out", "m.safetensors", "--checkpoint-dir", "m.safetensors")
    assert status == 2 and "--checkpoint-dir and --out both name m.safetensors" in err


def test_json_log_may_not_name_the_init_from_model_but_out_may(workdir, capsys):
    assert run(capsys, *TRAIN, "--out", "first.safetensors")[0] == 0
    status, out, err = run(capsys, *TRAIN, "--init-from", "first.safetensors", "--json-log", "first.safetensors",
                           "--force")
    assert status == 2 and "--json-log first.safetensors is the --init-from input of this run" in err
    assert run(capsys, *TRAIN, "--init-from", "first.safetensors", "--out", "first.safetensors")[0] == 0


def test_force_replaces_a_foreign_file_and_tinyrnn_files_are_replaced_without_it(workdir, capsys):
    assert run(capsys, *TRAIN, "--out", "notes.csv", "--force")[0] == 0
    assert load_model("notes.csv").task == "classify"
    for _ in range(2):                              # the second run replaces its own model and log
        status, out, err = run(capsys, *TRAIN, "--json-log", "log.jsonl")
        assert status == 0, err
    assert len((workdir / "log.jsonl").read_text().splitlines()) == 1


class FillsUp:
    """A file whose disk fills up in the middle of its second write."""

    def __init__(self, path):
        self.stream, self.writes = builtins.open(path, "wb"), 0

    def write(self, data):
        self.writes += 1
        if self.writes == 2:
            self.stream.write(data[:len(data) // 2])
            self.stream.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.stream.write(data)

    def __getattr__(self, name):
        return getattr(self.stream, name)


def test_a_full_disk_names_the_file_and_leaves_no_partial_output(workdir, capsys, monkeypatch):
    from tinyrnn.commands import common
    monkeypatch.setattr(common, "open", lambda path, mode: FillsUp(path), raising=False)
    status, out, err = run(capsys, *TRAIN, "--log-every", "1", "--json-log", "log.jsonl")
    assert status == 2 and err == "tinyrnn train: error: log.jsonl: cannot write the JSON log (No space left on device)\n"
    assert [json.loads(line)["epoch"] for line in open("log.jsonl")] == [1]      # whole lines only
    assert not (workdir / "model.safetensors").exists()
    monkeypatch.delattr(common, "open")
    previous = (workdir / "old.safetensors")
    save_model(random_classifier(np.random.default_rng(1), 3, 2, 2), str(previous))
    kept = previous.read_bytes()

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(files.os, "fsync", disk_full)
    status, out, err = run(capsys, *TRAIN, "--out", "old.safetensors", "--force")   # another architecture
    assert status == 2 and "old.safetensors: No space left on device" in err and err.count("\n") == 1
    assert previous.read_bytes() == kept and sorted(p.name for p in workdir.iterdir() if ".tmp" in p.name) == []


def test_a_second_run_on_the_same_output_is_refused_and_a_killed_holder_leaves_no_stuck_lock(workdir, capsys):
    with files.OutputLock("model.safetensors", "--out"):
        status, out, err = run(capsys, *TRAIN)
        assert status == 2 and "--out model.safetensors is in use by another tinyrnn run" in err
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from tinyrnn.files import OutputLock\n"
                               "with OutputLock('model.safetensors', '--out'):\n print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    assert run(capsys, *TRAIN)[0] == 2
    holder.kill()
    holder.wait()
    status, out, err = run(capsys, *TRAIN)
    assert status == 0, err
    assert not any(name.endswith(".lock") for name in os.listdir(workdir))


def test_temporaries_of_dead_processes_are_removed_by_the_next_save(workdir):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = workdir / f".m.safetensors.{dead.stdout.strip()}.abc123.tmp"
    alive = workdir / f".m.safetensors.{os.getppid()}.def456.tmp"       # a running process's
    stale.write_bytes(b"half a model")
    alive.write_bytes(b"being written")
    save_model(random_classifier(np.random.default_rng(1), 3, 2, 2), "m.safetensors")
    assert not stale.exists() and alive.exists() and load_model("m.safetensors").task == "classify"


# --- Saves survive kills (promises 3 and 11) ---

SAVER = """
import sys, numpy as np
from tinyrnn.cli import main
from tinyrnn.gradcheck import random_classifier
from tinyrnn.io import save_model
models = [random_classifier(np.random.default_rng(seed), 300, 120, 2) for seed in (1, 2)]
if sys.argv[1] == "term":                      # SIGTERM arrives inside the CLI's handling
    import tinyrnn.commands.predict as predict
    def run(args):
        print("ready", flush=True)
        while True:
            for model in models:
                save_model(model, "m.safetensors")
    predict.run = run
    sys.exit(main(["predict", "--model", "x", "y"]))
print("ready", flush=True)
while True:
    for model in models:
        save_model(model, "m.safetensors")
"""


def test_sigkill_during_repeated_saves_never_leaves_a_corrupt_file(tmp_path):
    rng = np.random.default_rng(0)
    for kill in range(50):
        saver = subprocess.Popen([sys.executable, "-c", SAVER, "kill"], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
        assert saver.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0, 0.03))
        saver.kill()
        saver.wait()
        if (tmp_path / "m.safetensors").exists():
            assert load_model(str(tmp_path / "m.safetensors")).hidden_size == 120   # whole, checksum included
    assert load_model(str(tmp_path / "m.safetensors"))
    save_model(random_classifier(rng, 3, 2, 2), str(tmp_path / "m.safetensors"))
    assert [name for name in os.listdir(tmp_path) if name.endswith(".tmp")] == []


@pytest.mark.parametrize("signum,status,name", [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "Ctrl-C")])
def test_a_signal_during_a_save_removes_the_temporary_file_and_exits_128_plus_its_number(tmp_path, signum,
                                                                                         status, name):
    for delay in (0.0, 0.01, 0.02, 0.05):
        folder = tmp_path / str(delay)
        folder.mkdir()
        saver = subprocess.Popen([sys.executable, "-c", SAVER, "term"], cwd=folder, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        assert saver.stdout.readline() == "ready\n"
        time.sleep(delay)
        saver.send_signal(signum)
        assert saver.wait() == status
        err = saver.stderr.read()
        saved = (folder / "m.safetensors").exists()
        said = "m.safetensors was saved before it" if saved else "nothing was saved"
        assert err == f"tinyrnn predict: error: interrupted by {name}; {said}\n"
        assert [name for name in os.listdir(folder) if name.endswith(".tmp")] == []
        assert not saved or load_model(str(folder / "m.safetensors")).hidden_size == 120


# --- Streams: predict answers line by line with bounded memory (promise 12) ---

@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("stream") / "m.safetensors"
    save_model(random_classifier(np.random.default_rng(0), 4, 3, 2), str(path))
    return str(path)


def predict_process(model_file, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "tinyrnn", "predict", "--model", model_file],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def test_predict_answers_each_line_as_it_arrives(model_file):
    process = predict_process(model_file, stdin=subprocess.PIPE)
    for word in ("w0 w1", "w2"):
        process.stdin.write(f"{word}\n".encode())
        process.stdin.flush()                       # stdin stays open: the answer must come anyway
        assert process.stdout.readline().decode().endswith(f"\t{word}\n")
    process.stdin.close()
    assert process.wait(timeout=30) == 0


@pytest.mark.parametrize("source", ["/dev/zero", "long line"])
def test_an_endless_or_huge_line_is_refused_after_a_bounded_read(model_file, tmp_path, source):
    if source == "long line":
        source = tmp_path / "long.txt"
        source.write_bytes(b"w0 " * 2_000_000 + b"\n")         # 6 MB on one line
    with open(source, "rb") as stdin:
        process = predict_process(model_file, stdin=stdin)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 2 and err == b"tinyrnn predict: error: <stdin>:1: line is longer than " \
                                              b"the limit of 1,000,000 characters\n"


def test_closed_stdin_and_stdout_closed_early_end_quietly(model_file):
    process = predict_process(model_file, stdin=subprocess.DEVNULL, preexec_fn=lambda: os.close(0))
    out, err = process.communicate(timeout=30)
    assert process.returncode == 2 and err == b"tinyrnn predict: error: standard input is closed; " \
                                              b"give the texts as arguments\n"
    process = predict_process(model_file, stdin=subprocess.PIPE)
    process.stdin.write(b"w0 w1\n" * 1000)
    process.stdin.flush()
    assert process.stdout.readline()                # like `| head -1`: one line, then the pipe closes
    process.stdout.close()
    try:
        while True:                                 # an endless producer, until predict is gone
            process.stdin.write(b"w0 w1\n" * 1000)
            process.stdin.flush()
    except BrokenPipeError:
        pass
    assert process.wait(timeout=30) == 141 and process.stderr.read() == b""


def test_a_terminal_with_no_input_gets_a_one_line_hint(model_file):
    import pty
    controller, terminal = pty.openpty()
    process = predict_process(model_file, stdin=terminal)
    os.close(terminal)
    os.write(controller, b"w0\n\x04")               # one line, then Ctrl-D
    out, err = process.communicate(timeout=30)
    os.close(controller)
    assert process.returncode == 0 and out.decode().endswith("\tw0\n")
    assert err.decode().startswith("reading texts from the terminal") and err.count(b"\n") == 1


def test_gradcheck_refuses_at_once_a_size_that_would_take_hours(capsys):
    started = time.perf_counter()
    status, out, err = run(capsys, "gradcheck", "--hidden", "2000")
    assert status == 2 and "checking 4,034,003 numbers would take about" in err and "hours" in err
    assert time.perf_counter() - started < 20 and out == ""


def test_an_output_folder_that_vanishes_mid_run_is_one_line_naming_the_output(workdir, capsys, monkeypatch):
    import shutil

    import tinyrnn.commands.train_classifier as command
    (workdir / "out").mkdir()
    real_train = command.run_trainer

    def train_then_remove_the_folder(*args, **kwargs):
        history = real_train(*args, **kwargs)
        shutil.rmtree(workdir / "out")
        return history
    monkeypatch.setattr(command, "run_trainer", train_then_remove_the_folder)
    status, out, err = run(capsys, *TRAIN, "--out", "out/model.safetensors")
    assert status == 2 and err == "tinyrnn train: error: out/model.safetensors: No such file or directory\n"


def test_a_model_with_a_header_over_a_megabyte_is_still_recognised_as_ours(workdir):
    model = random_classifier(np.random.default_rng(0), 150_000, 1, 2)     # a 2 MB vocabulary header
    save_model(model, "big.safetensors")
    assert files.is_tinyrnn_file("big.safetensors", "model")
    assert not files.is_tinyrnn_file("big.safetensors", "checkpoint") and not files.is_tinyrnn_file("data.csv", "model")
    files.check_outputs({"--out": ("big.safetensors", "model")}, [])


def test_training_goes_on_when_its_output_is_closed_early(workdir):
    process = subprocess.Popen([sys.executable, "-m", "tinyrnn", "train", "--train", "data.csv", "--epochs", "300",
                                "--log-every", "1", "--out", "m.safetensors"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.readline()                # like `| head -1`
    process.stdout.close()
    assert process.wait(timeout=120) == 0 and process.stderr.read() == b"saved m.safetensors\n"
    assert load_model("m.safetensors").task == "classify"
