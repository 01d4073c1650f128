"""Issue 20, "nothing lost, nothing hangs": options that gave tracebacks, default outputs that
replaced another task's model, a closed standard output, models with huge finite weights,
--init-from against a preset's sizes, a run's last record, the plot's kept epoch, a README
example that stayed at chance, a log with an astronomical integer."""
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

from conftest import small_model
from tinyrnn.cli import main
from tinyrnn.data import default_dataset
from tinyrnn.io import load_model, save_model
from tinyrnn.tasks import ClassifyTask, LabelledSequences
from tinyrnn.training import Listener, TrainConfig, Trainer


def run(capsys, *argv):
    try:
        status = main(list(argv))
    except SystemExit as stop:                       # a usage error, from argparse
        status = stop.code
    out, err = capsys.readouterr()
    return status, out, err


def one_line_error(status, err, words):
    assert status == 2 and err.count("\n") == 1 and words in err and "Traceback" not in err, err


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("argv,words", [
    (["train", "--nesterov", "--epochs", "0"], "--nesterov needs --momentum"),
    (["train", "--momentum", "1", "--epochs", "0"], "below 1"),
    (["gradcheck", "--eps", "1e300"], "--eps"),
    (["gradcheck", "--eps", "1e-300"], "--eps"),
    (["train", "--epoch", "0"], "--epoch"),                   # no abbreviation of --epochs
    (["predict", "--mod", "x.safetensors", "hi"], "--mod"),   # nor in any command
])
def test_options_that_gave_tracebacks_or_wrong_answers_are_one_line(folder, capsys, argv, words):
    status, _, err = run(capsys, *argv)
    one_line_error(status, err, words)
    assert not list(folder.iterdir()), "nothing written"


def test_tinyrnn_alone_lists_its_commands(capsys):
    status, _, err = run(capsys)
    one_line_error(status, err, "COMMAND")
    assert all(name in err for name in ("train", "predict", "generate", "translate", "forecast", "serve"))


def test_a_tiny_temperature_is_the_most_likely_token_without_a_warning():
    from tinyrnn.sampling import pick
    logits = np.array([0.0, 0.0, 1.0, 3.0, 2.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert {pick(logits, np.random.default_rng(seed), 1e-320) for seed in range(20)} == {3}


def test_each_task_trains_into_its_own_default_file(folder, capsys):
    from tinyrnn.options import build_parser
    assert run(capsys, "train", "--epochs", "0")[0] == 0
    assert run(capsys, "train", "--task", "lm", "--epochs", "0")[0] == 0
    assert sorted(os.listdir(folder)) == ["lm.safetensors", "model.safetensors"]
    assert load_model("model.safetensors").task == "classify" and load_model("lm.safetensors").task == "lm"
    parser = build_parser()
    defaults = {command: parser.parse_args([command, *rest]).model for command, rest in
                (("generate", []), ("translate", []), ("forecast", ["--series", "s.csv"]), ("predict", []),
                 ("eval", []), ("serve", []), ("export", ["--format", "torch", "--out", "x"]))}
    assert defaults == {"generate": "lm.safetensors", "translate": "translator.safetensors",
                        "forecast": "forecaster.safetensors", "predict": "model.safetensors",
                        "eval": "model.safetensors", "serve": "model.safetensors", "export": "model.safetensors"}
    from tinyrnn.train_options import DEFAULT_OUT
    assert DEFAULT_OUT == {"classify": "model.safetensors", "lm": "lm.safetensors", "seq2seq": "translator.safetensors",
                           "regress": "regressor.safetensors", "forecast": "forecaster.safetensors"}
    before = open("model.safetensors", "rb").read()
    status, _, err = run(capsys, "train", "--task", "lm", "--epochs", "0", "--out", "model.safetensors")
    one_line_error(status, err, "is a classifier (task classify); this run writes a language model")
    assert open("model.safetensors", "rb").read() == before
    assert run(capsys, "train", "--task", "lm", "--epochs", "0", "--out", "model.safetensors", "--force")[0] == 0
    assert load_model("model.safetensors").task == "lm"


def _closed_stdout(*argv, cwd):
    return subprocess.run([sys.executable, "-m", "tinyrnn", *argv], cwd=cwd, stdin=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=60, preexec_fn=lambda: os.close(1))


def test_a_closed_standard_output_is_refused_before_any_work(folder, capsys):
    assert run(capsys, "train", "--epochs", "0", "--out", "kept.safetensors")[0] == 0
    for argv in (["train", "--epochs", "1"], ["predict", "--model", "kept.safetensors", "good"],
                 ["info", "kept.safetensors"], ["gradcheck"]):
        done = _closed_stdout(*argv, cwd=folder)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, (argv, done.stderr)
        assert "standard output is closed" in done.stderr
    assert sorted(os.listdir(folder)) == ["kept.safetensors"], "training did not start"


def _huge(path, out):
    model = load_model(path)
    for array in model.params.values():
        array[...] = np.finfo(model.dtype).max / 4
    save_model(model, out)


def test_huge_finite_weights_are_refused_in_one_line_without_warnings(folder, capsys):
    from starlette.testclient import TestClient
    from tinyrnn.server import create_app
    run(capsys, "train", "--task", "lm", "--epochs", "0")
    run(capsys, "train", "--epochs", "0")
    _huge("lm.safetensors", "lm-huge.safetensors")
    _huge("model.safetensors", "huge.safetensors")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for prime in ("", "ab"):
            status, out, err = run(capsys, "generate", "--model", "lm-huge.safetensors", "--prime", prime,
                                   "--length", "5")
            one_line_error(status, err, "not finite numbers")
            assert out == "", "nothing half-written"
        for name, endpoint, body in (("huge.safetensors", "/api/explain", {"text": "good day"}),
                                     ("lm-huge.safetensors", "/api/generate", {"prompt": "ab", "length": 3})):
            answer = TestClient(create_app(load_model(name), name, ["testserver"])).post(endpoint, json=body)
            assert answer.status_code == 422 and "not finite numbers" in answer.json()["error"]
        for argv in (["predict", "--model", "huge.safetensors", "good"],
                     ["eval", "--model", "huge.safetensors"]):
            status, out, err = run(capsys, *argv)
            one_line_error(status, err, "not finite numbers")
            assert out == "", argv


def test_init_from_takes_the_files_sizes_unless_the_user_gives_them(folder, capsys):
    assert run(capsys, "train", "--epochs", "0", "--hidden", "16", "--out", "o.safetensors")[0] == 0
    status, _, err = run(capsys, "train", "--epochs", "1", "--init-from", "o.safetensors", "--out", "p.safetensors")
    assert status == 0, err
    assert load_model("p.safetensors").hidden_size == 16
    status, _, err = run(capsys, "train", "--epochs", "1", "--hidden", "32", "--init-from", "o.safetensors",
                         "--out", "q.safetensors")
    one_line_error(status, err, "--hidden 32 disagrees")


def test_a_run_stopped_by_minutes_while_an_epoch_end_is_evaluated_logs_that_epoch():
    """The minutes run out during an unlogged evaluation point: that record, whose weights are
    saved, is logged (with the test set) before the run ends."""
    data = LabelledSequences([np.array([2, 3]), np.array([4, 5, 6]), np.array([7])], np.array([0, 1, 2]))
    heard = []

    class SlowListener(Listener):
        def on_record(self, record):
            heard.append((record.epoch, record.logged))
            if not record.logged and record.epoch == 2:
                time.sleep(0.7)                      # past the limit of 0.01 minutes

    config = TrainConfig(epochs=None, minutes=0.01, log_every=100)
    trainer = Trainer(small_model(), ClassifyTask(data, test=data), config, np.random.default_rng(0),
                      listener=SlowListener())
    history = trainer.run()
    assert history[-1].epoch == 2 and history[-1].logged and history[-1].test is not None
    assert heard[-1] == (2, True)


def test_the_plot_marks_a_best_epoch_only_when_its_weights_were_saved_and_epochs_are_whole(tmp_path):
    from tinyrnn.plots import _classifier_curves, require_matplotlib
    records = [{"epoch": e, "train_loss": 1 / e, "train_accuracy": 0.5, "valid_loss": 1 / e, "valid_accuracy": 0.5,
                "best": e == 2, "train_seconds": e} for e in (1, 2, 3)]
    pyplot = require_matplotlib()
    for saved, marked in ((None, False), ("last", False), ("best", True)):
        figure = pyplot.figure()
        _classifier_curves(figure, [{**record, "weights_saved": saved} if saved else record for record in records])
        labels = [line.get_label() for line in figure.axes[0].get_lines()]
        assert ("best: epoch 2" in labels) == marked, (saved, labels)
        figure.canvas.draw()
        ticks = figure.axes[0].get_xticks()
        assert all(float(tick).is_integer() for tick in ticks), ticks
        pyplot.close(figure)


def test_train_json_log_says_which_weights_were_saved(folder, capsys):
    import json
    for keep, saved in ((["--keep-best"], "best"), ([], "last")):
        status, _, err = run(capsys, "train", "--preset", "fast", "--epochs", "3", "--valid-split", "0.2",
                             *keep, "--json-log", f"{saved}.jsonl", "--out", f"{saved}.safetensors")
        assert status == 0, err
        records = [json.loads(line) for line in open(f"{saved}.jsonl")]
        assert records and all(record["weights_saved"] == saved for record in records)


def test_the_readme_batch_example_that_stays_at_chance_says_so(folder, capsys):
    train_set, _ = default_dataset()
    for label, name in (("positive", "good.txt"), ("negative", "bad.txt")):
        (folder / name).write_text("\n".join(text for text, given in zip(train_set.texts, train_set.labels)
                                             if given == label) + "\n")
    status, _, err = run(capsys, "train", "--train", "pos=good.txt", "--train", "neg=bad.txt", "--epochs", "200",
                         "--batch-size", "16")
    assert status == 0
    assert "chance level" in err and "--preset fast" in err, err
    status, _, err = run(capsys, "train", "--train", "pos=good.txt", "--train", "neg=bad.txt", "--epochs", "60",
                         "--preset", "fast", "--out", "fast.safetensors")
    assert status == 0 and "chance level" not in err


def test_a_log_with_an_integer_of_thousands_of_digits_is_one_line(folder, capsys):
    pytest.importorskip("matplotlib")
    (folder / "log.jsonl").write_text('{"epoch": 1, "train_loss": ' + "9" * 5000 + "}\n")
    status, _, err = run(capsys, "plot", "log.jsonl")
    one_line_error(status, err, "log.jsonl:1: a number too long")
    assert not (folder / "log.png").exists()


def test_info_describes_a_checkpoint_and_where_its_run_stands(folder, capsys):
    assert run(capsys, "train", "--epochs", "2", "--checkpoint-dir", "ck", "--checkpoint-every", "1",
               "--out", "m.safetensors")[0] == 0
    status, out, _ = run(capsys, "info", "--json", "ck/checkpoint-00000002.safetensors")
    facts = json.loads(out)
    assert status == 0 and facts["format"] == "tinyrnn-checkpoint/1" and facts["task"] == "classify"
    assert facts["checkpoint"]["epoch"] == 2 and facts["checkpoint"]["finished"] is True
    status, out, _ = run(capsys, "info", "ck/checkpoint-00000002.safetensors")
    assert status == 0 and "resume it with train --resume" in out


def test_a_validation_split_that_leaves_little_to_train_on_is_said(folder, capsys):
    status, _, err = run(capsys, "train", "--valid-split", "0.9", "--epochs", "1", "--out", "m.safetensors")
    assert status == 0 and "warning: --valid-split holds out" in err and "to train on" in err
    status, _, err = run(capsys, "train", "--valid-split", "0.1", "--epochs", "1", "--out", "n.safetensors")
    assert status == 0 and "--valid-split holds out" not in err
