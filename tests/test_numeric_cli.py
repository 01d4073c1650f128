"""The command line on numeric sequences: train / eval / explain / info on .ts and .npz files,
--task regress, --task forecast with tinyrnn forecast, and one clear line for bad input."""
import json

import numpy as np
import pytest

from test_cli import run
from tinyrnn.io import load_model

QUICK = ["--epochs", "25", "--log-every", "25", "--hidden", "12"]


def write_ts(path, sequences, labels, classes):
    """A multivariate, unequal-length .ts file (the UEA/UCR archive's format)."""
    lines = ["# generated", "@problemName Generated", "@timeStamps false", "@missing false",
             "@univariate false", f"@dimensions {sequences[0].shape[1]}", "@equalLength false",
             f"@classLabel true {' '.join(classes)}", "@data"]
    for seq, label in zip(sequences, labels):
        dims = [",".join(f"{v:.5f}" for v in seq[:, d]) for d in range(seq.shape[1])]
        lines.append(":".join(dims) + f":{label}")
    path.write_text("\n".join(lines) + "\n")


def memory_sequences(rng, count):
    """Class 'up' when feature 0 starts positive: the rest of each sequence is noise."""
    sequences = [rng.normal(size=(int(rng.integers(4, 9)), 2)) * [1.0, 5.0] + [0.0, 20.0] for _ in range(count)]
    return sequences, ["up" if seq[0, 0] > 0 else "down" for seq in sequences]


@pytest.fixture(scope="module")
def ts_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ts")
    rng = np.random.default_rng(0)
    for name, count in (("train", 240), ("test", 100)):
        write_ts(folder / f"{name}.ts", *memory_sequences(rng, count), ["down", "up"])
    return folder


@pytest.fixture(scope="module")
def classifier(ts_files, tmp_path_factory):
    from tinyrnn.cli import main
    out = tmp_path_factory.mktemp("model") / "m.safetensors"
    status = main(["train", "--train", str(ts_files / "train.ts"), "--test", str(ts_files / "test.ts"),
                   "--out", str(out), "--bidirectional", "--lr", "0.01", *QUICK])
    assert status == 0
    return out


def test_train_eval_info_and_explain_a_numeric_classifier(ts_files, classifier, capsys):
    model = load_model(classifier)
    assert model.config.features == 2 and model.classes == ["down", "up"]
    assert model.buffers["input_mean"][1] == pytest.approx(20.0, abs=1.0)      # fitted on the training data
    status, out, _ = run(capsys, "eval", "--model", classifier, "--data", ts_files / "test.ts", "--json")
    report = json.loads(out)
    assert status == 0 and report["examples"] == 100 and report["accuracy"] >= 0.85
    assert sum(map(sum, report["confusion"])) == 100 and len(report["f1"]) == 2
    status, out, _ = run(capsys, "info", classifier)
    assert status == 0 and "2 numbers per step" in out and "input_mean" in out and "rnn.weight_ih_l0 " in out
    status, out, _ = run(capsys, "explain", "--model", classifier, "--data", ts_files / "test.ts",
                         "--example", "2", "--json")
    facts = json.loads(out)
    length = len(open(ts_files / "test.ts").read().splitlines()[10].split(":")[0].split(","))
    assert status == 0 and np.array(facts["relevance"]).shape == (length, 2)
    assert facts["source"].endswith("test.ts:11") and facts["label"] in ("down", "up")


def test_numeric_training_prints_the_walkthrough_blocks(ts_files, tmp_path, capsys):
    status, out, _ = run(capsys, "train", "--train", ts_files / "train.ts", "--out", tmp_path / "m.safetensors",
                         "--epochs", "2", "--log-every", "1", "--hidden", "4", "--valid-split", "0.2", "--keep-best")
    assert status == 0
    assert "192 training sequences of 2 numbers per step, 4 to 8 steps" in out
    assert "--- Epoch 2" in out and "Valid:\tLoss" in out


def test_regression_from_npz(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = np.full((200, 6, 1), np.nan)
    targets = np.zeros(200)
    for row in range(200):
        length = int(rng.integers(3, 7))
        X[row, :length, 0] = rng.normal(2.0, 1.0, size=length)
        targets[row] = 100 + 10 * np.nanmean(X[row, :, 0])
    np.savez(tmp_path / "train.npz", X=X[:150], y=targets[:150])
    np.savez(tmp_path / "test.npz", X=X[150:], y=targets[150:])
    status, out, err = run(capsys, "train", "--task", "regress", "--train", tmp_path / "train.npz", "--test",
                           tmp_path / "test.npz", "--out", tmp_path / "r.safetensors", "--pool", "mean",
                           "--lr", "0.01", "--epochs", "40", "--log-every", "40", "--hidden", "12")
    assert status == 0, err
    assert "Test:\tLoss" in out and "R^2" in out
    status, out, _ = run(capsys, "eval", "--model", tmp_path / "r.safetensors", "--data", tmp_path / "test.npz",
                         "--json")
    report = json.loads(out)
    assert status == 0 and report["r2"] > 0.8 and report["examples"] == 50
    model = load_model(tmp_path / "r.safetensors")
    assert model.task == "regress" and model.buffers["target_mean"][0] == pytest.approx(120, abs=3)


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    folder = tmp_path_factory.mktemp("series")
    steps = np.arange(96)
    values = 50 + 0.5 * steps + 8 * np.sin(2 * np.pi * steps / 12)
    rows = [f"{1990 + step // 12}-{step % 12 + 1:02d},{value:.4f}" for step, value in zip(steps, values)]
    (folder / "series.csv").write_text("month,sales\n" + "\n".join(rows) + "\n")
    return folder / "series.csv"


def test_forecast_train_eval_and_forecast(series, tmp_path, capsys):
    model_path = tmp_path / "f.safetensors"
    status, out, err = run(capsys, "train", "--task", "forecast", "--series", series, "--window", "24",
                           "--horizon", "12", "--holdout", "12", "--season", "12", "--epochs", "60",
                           "--log-every", "60", "--hidden", "16", "--lr", "0.005", "--out", model_path)
    assert status == 0, err
    assert "49 training windows of 24 steps -> 12" in out and "sMAPE" in out
    status, out, _ = run(capsys, "eval", "--model", model_path, "--series", series, "--holdout", "12",
                         "--season", "12", "--json")
    report = json.loads(out)
    actual = np.array(report["actual"])
    naive = np.mean(np.abs(actual - np.array([float(line.split(",")[1]) for line in
                                              open(series).read().splitlines()[-24:-12]])))
    assert status == 0 and report["values"] == 12 and report["mae"] < naive     # beats seasonal naive
    status, out, _ = run(capsys, "forecast", "--model", model_path, "--series", series, "--json")
    forecast = json.loads(out)["forecast"]
    assert status == 0 and len(forecast) == 12 and all(isinstance(value, float) for value in forecast)
    status, out, _ = run(capsys, "forecast", "--model", model_path, "--series", series, "--horizon", "20")
    lines = out.splitlines()
    assert status == 0 and lines[0] == "step\tsales" and len(lines) == 21 and lines[-1].startswith("t+20\t")
    assert [line.split("\t")[1] for line in lines[1:13]] == [f"{value:.6g}" for value in forecast]


def test_forecast_resumes_bit_for_bit(series, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    options = ["train", "--task", "forecast", "--series", series, "--window", "12", "--horizon", "6",
               "--valid-split", "0.2", "--keep-best", "--epochs", "8", "--log-every", "2", "--hidden", "6"]
    assert run(capsys, *options, "--out", "whole.safetensors")[0] == 0
    assert run(capsys, *options[:-6], "--epochs", "4", "--log-every", "2", "--hidden", "6", "--checkpoint-dir",
               "c", "--checkpoint-every", "1", "--out", "part.safetensors")[0] == 0
    status, out, err = run(capsys, *options, "--checkpoint-dir", "c", "--resume", "--force", "--out",
                           "resumed.safetensors")
    assert status == 0, err
    np.testing.assert_array_equal(load_model("resumed.safetensors").flat, load_model("whole.safetensors").flat)


@pytest.mark.parametrize("content, message", [
    ("@problemName x\n@univariate true\n@classLabel true a b\n@data\n1,2,nan3:a\n", "f.ts:5"),
    ("@problemName x\n@univariate true\n@classLabel true a b\n@data\n1,2,3:c\n", "f.ts:5"),
    ("@problemName x\n@dimensions two\n@data\n1,2:a\n", "f.ts:2"),
    ("@problemName x\n@dimensions 2\n@classLabel true a b\n@data\n1,2,3:a\n", "f.ts:5"),
    ("@problemName x\n@univariate true\n@classLabel true a b\n@data\n1,?,3:a\n", "f.ts:5"),
])
def test_bad_ts_files_get_one_line_with_file_and_line(tmp_path, capsys, content, message):
    (tmp_path / "f.ts").write_text(content)
    status, out, err = run(capsys, "train", "--train", tmp_path / "f.ts", "--out", tmp_path / "m.safetensors")
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "m.safetensors").exists()


@pytest.mark.parametrize("argv, message", [
    (["train", "--task", "forecast"], "needs --series"),
    (["train", "--task", "forecast", "--series", "{series}", "--window", "90"], "no window of 90 steps"),
    (["train", "--task", "forecast", "--series", "{series}", "--holdout", "96"], "leaves no training values"),
    (["train", "--task", "forecast", "--series", "{series}", "--embed", "4"], "--embed applies to texts"),
    (["train", "--train", "{train}", "--loss", "huber"], "--loss applies to --task regress"),
    (["train", "--train", "{train}", "--preset", "fast"], "is for texts"),
    (["train", "--train", "{train}", "--min-count", "2"], "--min-count applies to texts"),
    (["train", "--series", "{series}"], "--series applies to --task forecast"),
    (["train", "--train", "{train}", "--test", "{series}"], "no column 'series'"),
])
def test_bad_numeric_options_are_one_line(ts_files, series, tmp_path, capsys, argv, message):
    argv = [arg.format(series=series, train=ts_files / "train.ts") for arg in argv]
    status, _, err = run(capsys, *argv, "--out", tmp_path / "m.safetensors")
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "m.safetensors").exists()


def test_numeric_models_refuse_the_wrong_data(ts_files, classifier, series, tmp_path, capsys):
    status, _, err = run(capsys, "eval", "--model", classifier)
    assert status == 2 and "give --data FILE" in err
    status, _, err = run(capsys, "eval", "--model", classifier, "--series", series, "--holdout", "3")
    assert status == 2 and "apply to forecasters" in err
    status, _, err = run(capsys, "forecast", "--model", classifier, "--series", series)
    assert status == 2 and "needs a forecaster" in err
    status, _, err = run(capsys, "explain", "--model", classifier, "some text")
    assert status == 2 and "give --data FILE" in err
    np.savez(tmp_path / "three.npz", X=np.ones((2, 4, 3)), y=np.array(["up", "down"]))
    status, _, err = run(capsys, "eval", "--model", classifier, "--data", tmp_path / "three.npz")
    assert status == 2 and "3 numbers per step" in err


def test_predict_numeric_sequences_with_or_without_labels(ts_files, classifier, tmp_path, capsys):
    status, out, _ = run(capsys, "predict", "--model", classifier, "--data", ts_files / "test.ts", "--json")
    answers = [json.loads(line) for line in out.splitlines()]
    status_eval, report, _ = run(capsys, "eval", "--model", classifier, "--data", ts_files / "test.ts", "--json")
    truth = [line.rsplit(":", 1)[1] for line in open(ts_files / "test.ts").read().splitlines()[9:]]
    accuracy = np.mean([answer["label"] == label for answer, label in zip(answers, truth)])
    assert status == 0 and len(answers) == 100 and accuracy == pytest.approx(json.loads(report)["accuracy"])
    assert answers[0]["source"].endswith("test.ts:10") and sum(answers[0]["probabilities"].values()) == \
        pytest.approx(1.0)
    unlabelled = [line.rsplit(":", 1)[0] if line[:1] not in "#@" else
                  "@classLabel false" if line.startswith("@classLabel") else line
                  for line in open(ts_files / "test.ts").read().splitlines()]
    (tmp_path / "unlabelled.ts").write_text("\n".join(unlabelled) + "\n")
    status, out, err = run(capsys, "predict", "--model", classifier, "--data", tmp_path / "unlabelled.ts", "--json")
    assert status == 0, err
    assert [json.loads(line)["label"] for line in out.splitlines()] == [answer["label"] for answer in answers]
    status, _, err = run(capsys, "train", "--train", tmp_path / "unlabelled.ts", "--out", tmp_path / "m.safetensors")
    assert status == 2 and "no labels or targets" in err


def test_cross_validation_of_numeric_sequences(ts_files, tmp_path, capsys):
    status, out, err = run(capsys, "train", "--train", ts_files / "train.ts", "--folds", "3", "--epochs", "3",
                           "--log-every", "3", "--hidden", "4", "--json-log", tmp_path / "folds.jsonl",
                           "--out", tmp_path / "m.safetensors")
    assert status == 0, err
    records = [json.loads(line) for line in open(tmp_path / "folds.jsonl")]
    assert [record.get("fold") for record in records[:3]] == [1, 2, 3] and len(records[-1]["accuracies"]) == 3
    assert records[-1]["mean_accuracy"] == pytest.approx(np.mean(records[-1]["accuracies"]))
    assert out.count("=== Fold") == 3 and "Cross-validation over 3 folds: accuracy" in out
    assert not (tmp_path / "m.safetensors").exists()
    status, _, err = run(capsys, "train", "--train", ts_files / "train.ts", "--folds", "3", "--test",
                         ts_files / "test.ts", "--out", tmp_path / "m.safetensors")
    assert status == 2 and "--folds makes each fold the test set" in err


def test_regression_of_texts(tmp_path, capsys):
    rng = np.random.default_rng(3)
    worth = {"good": 1.0, "great": 2.0, "bad": -1.0, "awful": -2.0, "the": 0.0, "movie": 0.0, "plot": 0.0}
    rows = []
    for _ in range(300):
        words = list(rng.choice(list(worth), size=int(rng.integers(2, 7))))
        rows.append(f"{' '.join(words)},{sum(worth[word] for word in words)}")
    (tmp_path / "train.csv").write_text("text,score\n" + "\n".join(rows[:240]) + "\n")
    (tmp_path / "test.csv").write_text("text,score\n" + "\n".join(rows[240:]) + "\n")
    model = tmp_path / "r.safetensors"
    status, out, err = run(capsys, "train", "--task", "regress", "--train", tmp_path / "train.csv", "--test",
                           tmp_path / "test.csv", "--label-column", "score", "--embed", "8", "--pool", "mean",
                           "--lr", "0.01", "--epochs", "30", "--log-every", "30", "--hidden", "16", "--out", model)
    assert status == 0, err
    assert "240 training texts, 2 to 6 words; 7 words in the vocabulary" in out
    status, out, _ = run(capsys, "eval", "--model", model, "--data", tmp_path / "test.csv", "--label-column",
                         "score", "--json")
    assert status == 0 and json.loads(out)["r2"] > 0.9
    status, out, _ = run(capsys, "predict", "--model", model, "great great movie", "awful plot", "--json")
    predictions = [json.loads(line)["prediction"]["score"] for line in out.splitlines()]
    assert status == 0 and predictions[0] > 2.5 and predictions[1] < -1.0
    (tmp_path / "bad.csv").write_text("text,score\ngood movie,1\nbad movie,lots\n")
    status, _, err = run(capsys, "train", "--task", "regress", "--train", tmp_path / "bad.csv", "--label-column",
                         "score", "--out", tmp_path / "bad.safetensors")
    assert status == 2 and "bad.csv:3: score 'lots' is not a number" in err
    for command in (["export", "--format", "torch", "--out", tmp_path / "x.safetensors"], ["serve"], ["explain", "good"]):
        status, _, err = run(capsys, command[0], "--model", model, *command[1:])
        assert status == 2 and "regressor" in err, command


def test_import_a_forecaster_state_dict_without_metadata(series, tmp_path, capsys):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file
    from tinyrnn.export_torch import torch_state_dict
    model_path = tmp_path / "f.safetensors"
    assert run(capsys, "train", "--task", "forecast", "--series", series, "--window", "12", "--horizon", "6",
               "--epochs", "2", "--hidden", "4", "--out", model_path)[0] == 0
    state = {name: torch.from_numpy(np.ascontiguousarray(array))
             for name, array in torch_state_dict(load_model(model_path)).items()}
    save_file(state, tmp_path / "plain.safetensors")                     # as PyTorch saves it: no metadata
    status, _, err = run(capsys, "import", "--state-dict", tmp_path / "plain.safetensors", "--out", tmp_path / "i")
    assert status == 2 and "forecaster" in err
    status, _, err = run(capsys, "import", "--state-dict", tmp_path / "plain.safetensors", "--task", "forecast",
                         "--window", "12", "--out", tmp_path / "i.safetensors")
    assert status == 0, err
    imported, original = load_model(tmp_path / "i.safetensors"), load_model(model_path)
    history = np.linspace(10.0, 40.0, 20)[:, None]
    np.testing.assert_array_equal(imported.forecast(history), original.forecast(history))
    assert imported.window == 12 and imported.horizon == 6
    status, _, err = run(capsys, "import", "--state-dict", tmp_path / "plain.safetensors", "--window", "12",
                         "--out", tmp_path / "j.safetensors")
    assert status == 2 and "--task forecast" in err


def long_csv(path, sequences, labels, shuffle_rng=None, label=True, extra=True):
    """One row per step: series, step, the two features (and a column the model never reads)."""
    rows = [(f"s{i}", step, *values, label_of) for i, (seq, label_of) in enumerate(zip(sequences, labels))
            for step, values in enumerate(seq)]
    if shuffle_rng is not None:
        rows = [rows[i] for i in shuffle_rng.permutation(len(rows))]
    header = "series,step,a,b" + (",note" if extra else "") + (",label" if label else "")
    lines = [f"{name},{step},{a:.5f},{b:.5f}" + (",x" if extra else "") + (f",{lab}" if label else "")
             for name, step, a, b, lab in rows]
    path.write_text(header + "\n" + "\n".join(lines) + "\n")


def test_long_csv_train_eval_and_predict_with_the_models_features(tmp_path, capsys):
    rng = np.random.default_rng(4)
    sequences, labels = memory_sequences(rng, 200)
    long_csv(tmp_path / "train.csv", sequences[:150], labels[:150], rng)
    long_csv(tmp_path / "test.csv", sequences[150:], labels[150:], rng)
    long_csv(tmp_path / "new.csv", sequences[150:], labels[150:], None, label=False, extra=False)
    model = tmp_path / "m.safetensors"
    status, _, err = run(capsys, "train", "--format", "long", "--train", tmp_path / "train.csv", "--test",
                         tmp_path / "test.csv", "--time-column", "step", "--feature-columns", "a,b", "--lr", "0.01",
                         *QUICK, "--out", model)
    assert status == 0, err
    assert load_model(model).feature_names == ["a", "b"]
    status, out, err = run(capsys, "eval", "--model", model, "--data", tmp_path / "test.csv", "--time-column", "step",
                           "--json")                          # the features default to the model's a, b
    assert status == 0, err
    accuracy = json.loads(out)["accuracy"]
    status, out, err = run(capsys, "predict", "--model", model, "--data", tmp_path / "new.csv", "--time-column",
                           "step", "--json")                  # no label column, no note column
    assert status == 0, err
    predicted = [json.loads(line)["label"] for line in out.splitlines()]
    assert len(predicted) == 50 and np.mean([p == t for p, t in zip(predicted, labels[150:])]) == accuracy


def test_numbers_as_labels_and_unnamed_index_columns(series, tmp_path, capsys):
    np.savez(tmp_path / "real.npz", X=np.random.default_rng(0).normal(size=(60, 5, 1)),
             y=np.random.default_rng(1).normal(size=60))
    status, _, err = run(capsys, "train", "--train", tmp_path / "real.npz", "--out", tmp_path / "m.safetensors")
    assert status == 2 and "60 different labels for 60 sequences, all of them numbers" in err and "--task regress" in err
    lines = open(series).read().splitlines()
    (tmp_path / "indexed.csv").write_text("\n".join([f",{lines[0]}"] + [f"{i},{line}" for i, line in
                                                                           enumerate(lines[1:])]) + "\n")
    status, out, err = run(capsys, "train", "--task", "forecast", "--series", tmp_path / "indexed.csv", "--window",
                           "12", "--horizon", "6", "--epochs", "1", "--time-column", "month",
                           "--out", tmp_path / "f.safetensors")
    assert status == 0, err
    assert "of 1 series (sales)" in out
    status, out, err = run(capsys, "forecast", "--model", tmp_path / "f.safetensors", "--series", series,
                           "--plot", tmp_path / "f.jpg")
    assert status == 2 and "ending .png" in err and out == ""


def test_what_regressors_and_mixed_files_cannot_do(ts_files, classifier, tmp_path, capsys):
    rng = np.random.default_rng(5)
    np.savez(tmp_path / "two.npz", X=rng.normal(size=(40, 5, 2)), y=rng.normal(size=(40, 2)))
    np.savez(tmp_path / "one.npz", X=rng.normal(size=(40, 5, 2)), y=rng.normal(size=40))
    model = tmp_path / "r.safetensors"
    assert run(capsys, "train", "--task", "regress", "--train", tmp_path / "two.npz", "--epochs", "1",
               "--hidden", "4", "--out", model)[0] == 0
    status, out, _ = run(capsys, "predict", "--model", model, "--data", tmp_path / "two.npz", "--json")
    assert status == 0 and len(out.splitlines()) == 40 and set(json.loads(out.splitlines()[0])["prediction"]) == \
        {"y0", "y1"}
    status, _, err = run(capsys, "train", "--task", "regress", "--train", tmp_path / "two.npz", "--train",
                         tmp_path / "one.npz", "--out", tmp_path / "x.safetensors")
    assert status == 2 and "1 targets" in err and "Traceback" not in err
    status, _, err = run(capsys, "train", "--task", "regress", "--train", tmp_path / "one.npz", "--init-from", model,
                         "--out", tmp_path / "x.safetensors")
    assert status == 2 and "predicts 2 targets; the data has 1" in err
    status, _, err = run(capsys, "serve", "--model", classifier)
    assert status == 2 and "the playground serves" in err
    status, _, err = run(capsys, "train", "--preset", "timeseries", "--out", tmp_path / "x.safetensors")
    assert status == 2 and "is for numeric sequences" in err


def test_numeric_classifier_resumes_bit_for_bit(ts_files, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    options = ["train", "--train", ts_files / "train.ts", "--valid-split", "0.2", "--keep-best", "--hidden", "6",
               "--log-every", "2", "--json-log"]
    assert run(capsys, *options, "whole.jsonl", "--epochs", "6", "--out", "whole.safetensors")[0] == 0
    assert run(capsys, *options, "part.jsonl", "--epochs", "3", "--checkpoint-dir", "c", "--checkpoint-every", "1",
               "--out", "part.safetensors")[0] == 0
    status, _, err = run(capsys, *options, "resumed.jsonl", "--epochs", "6", "--checkpoint-dir", "c", "--resume",
                         "--force", "--out", "resumed.safetensors")
    assert status == 0, err
    np.testing.assert_array_equal(load_model("resumed.safetensors").flat, load_model("whole.safetensors").flat)
    assert "warning: resuming despite a difference (--force): epochs 3 -> 6" in err


def test_sizes_and_numbers_beyond_reason_are_refused_before_any_work(series, tmp_path, capsys):
    np.savez(tmp_path / "long.npz", X=np.zeros((1, 100_001, 1)), y=[0.0])
    np.savez(tmp_path / "huge.npz", X=np.full((4, 3, 1), 1e308), y=[0.0, 1.0, 0.0, 1.0])
    cases = [(["train", "--task", "regress", "--train", tmp_path / "long.npz"], "100,001 steps; tinyrnn reads at most"),
             (["train", "--task", "regress", "--train", tmp_path / "huge.npz"], "huge.npz: X at [0, 0, 0] is beyond +-1e+150"),
             (["train", "--hidden", "20000"], "--hidden: must be <= 8,192"),
             (["train", "--layers", "100000"], "--layers: must be <= 64"),
             (["forecast", "--series", series, "--horizon", "1000000"], "--horizon: must be <= 10,000"),
             (["translate", "--beam", "1000000", "a"], "--beam: must be <= 100")]
    for argv, message in cases:
        status, _, err = run(capsys, *argv, *(["--out", tmp_path / "m.safetensors"] if argv[0] == "train" else []))
        assert status == 2 and message in err and err.count("\n") == 1, (argv, err)
    assert not (tmp_path / "m.safetensors").exists()


def test_a_series_without_a_header_and_an_output_that_is_a_link_are_refused(series, tmp_path, capsys):
    (tmp_path / "bare.csv").write_text("".join(f"{value}\n" for value in range(50)))
    status, _, err = run(capsys, "train", "--task", "forecast", "--series", tmp_path / "bare.csv", "--window", "5",
                         "--horizon", "2", "--out", tmp_path / "f.safetensors")
    assert status == 2 and "bare.csv:1: the first row is numbers" in err
    (tmp_path / "target.safetensors").write_bytes(b"mine")
    (tmp_path / "link.safetensors").symlink_to(tmp_path / "target.safetensors")
    status, _, err = run(capsys, "train", "--task", "forecast", "--series", series, "--window", "5", "--horizon", "2",
                         "--epochs", "1", "--out", tmp_path / "link.safetensors", "--force")
    assert status == 2 and "is a symbolic link" in err
    assert (tmp_path / "link.safetensors").is_symlink() and (tmp_path / "target.safetensors").read_bytes() == b"mine"
