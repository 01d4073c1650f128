"""Validation for classifiers: the split, keep-best, early stopping, vocabulary limits."""
import importlib
import json

import numpy as np
import pytest

from conftest import small_model
from test_cli import run
from tinyrnn.data.split import stratified_split
from tinyrnn.tasks import LabelledSequences, train
from tinyrnn.training import TrainConfig
from tinyrnn.vocab import Vocab

SEQUENCES = [np.array([2, 3, 4]), np.array([5, 2]), np.array([4]), np.array([6, 6, 3])]
TARGETS = np.array([0, 2, 1, 2])


def test_split_is_stratified_seeded_disjoint_and_complete():
    labels = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    train_rows, valid_rows = stratified_split(labels, 0.2, np.random.default_rng(4))
    assert sorted([*train_rows, *valid_rows]) == list(range(100)) and not set(train_rows) & set(valid_rows)
    assert [sum(labels[i] == c for i in valid_rows) for c in "abc"] == [10, 6, 4]
    again, _ = stratified_split(labels, 0.2, np.random.default_rng(4))
    other, _ = stratified_split(labels, 0.2, np.random.default_rng(5))
    assert list(again) == list(train_rows) and list(other) != list(train_rows)
    _, small = stratified_split(["x", "x", "y", "y", "y"], 0.1, np.random.default_rng(0))
    assert len(small) == 2, "every class with two or more examples gives at least one"


def scripted_validation(monkeypatch, accuracies, losses):
    """Make evaluate() report the given validation figures epoch after epoch; returns the
    weights seen at each validation."""
    module = importlib.import_module("tinyrnn.tasks.classify")
    seen, real = [], module.evaluate

    def fake(model, data):
        if data is not VALID:
            return real(model, data)
        seen.append(model.flat.copy())
        epoch = len(seen) - 1
        return losses[epoch], accuracies[epoch], None
    monkeypatch.setattr(module, "evaluate", fake)
    return seen


VALID = LabelledSequences(list(SEQUENCES), TARGETS)


def test_keep_best_restores_exactly_the_best_epochs_weights(monkeypatch):
    seen = scripted_validation(monkeypatch, [0.5, 0.75, 0.75, 0.5, 0.25], [0.9, 0.8, 0.7, 0.6, 0.5])
    model = small_model()
    config = TrainConfig(epochs=5, lr=0.1, batch_size=2, keep_best=True)
    history = train(model, LabelledSequences(list(SEQUENCES), TARGETS), config, np.random.default_rng(0),
                    valid_data=VALID)
    assert [stats.best for stats in history] == [True, True, True, False, False]   # ties by loss
    np.testing.assert_array_equal(model.flat, seen[2])
    assert not np.array_equal(seen[2], seen[4])


def test_early_stop_stops_after_n_epochs_without_improvement(monkeypatch):
    scripted_validation(monkeypatch, [0.5, 0.6, 0.6, 0.55, 0.6, 0.7, 0.7, 0.7, 0.65, 0.9],
                        [1.0, 0.9, 0.95, 0.9, 0.85, 0.8, 0.8, 0.85, 0.9, 0.1])
    config = TrainConfig(epochs=10, lr=0.1, early_stop=3)
    history = train(small_model(), LabelledSequences(list(SEQUENCES), TARGETS), config,
                    np.random.default_rng(0), valid_data=VALID)
    assert [stats.epoch for stats in history if stats.best] == [1, 2, 5, 6]   # 5: same accuracy, lower loss
    assert history[-1].epoch == 9 and history[-1].stopped_early and history[-1].logged


def test_keep_best_and_early_stop_need_validation_data():
    with pytest.raises(ValueError, match="validation"):
        train(small_model(), VALID, TrainConfig(epochs=1, keep_best=True), np.random.default_rng(0))


def test_min_count_and_max_vocab():
    texts = [["a", "b", "c"], ["a", "b"], ["a", "d"], ["e", "e"]]
    assert Vocab.build(texts).words == ["a", "b", "c", "d", "e"]
    assert Vocab.build(texts, min_count=2).words == ["a", "b", "e"]
    assert Vocab.build(texts, max_size=2).words == ["a", "b"]        # a: 3, then b and e (2): b first
    assert Vocab.build(texts, min_count=2, max_size=5).words == ["a", "b", "e"]


def test_cli_validation_keep_best_and_vocabulary_summary(tmp_path, capsys):
    log, out = tmp_path / "log.jsonl", tmp_path / "m.safetensors"
    status, stdout, _ = run(capsys, "train", "--preset", "fast", "--valid-split", "0.25", "--keep-best",
                            "--early-stop", "4", "--max-vocab", "15", "--log-every", "1", "--json-log", log,
                            "--out", out)
    assert status == 0
    lines = stdout.splitlines()
    assert lines[0].endswith("unique words found") and lines[1].startswith("kept 15 words") and "<unk>" in lines[1]
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert all("valid_accuracy" in r for r in records) and records[-1].get("stopped_early")
    assert not any(r.get("target_reached") for r in records), "with validation the test set only reports"
    best = max(r["epoch"] for r in records if r["best"])
    assert f"Kept epoch {best}: best validation accuracy" in stdout and "Valid:" in stdout


@pytest.mark.parametrize("argv,message", [
    (["--keep-best"], "needs validation data"), (["--early-stop", "2"], "needs validation data"),
    (["--valid-split", "0.2", "--valid", "x.csv"], "either --valid or --valid-split"),
    (["--valid-split", "1"], "below 1"), (["--task", "lm", "--valid", "x.csv"], "--valid applies to --task classify")])
def test_bad_validation_options(tmp_path, capsys, argv, message):
    status, _, err = run(capsys, "train", *argv, "--out", tmp_path / "m.safetensors")
    assert status == 2 and message in err and err.count("\n") == 1


def first_word_task(tmp_path, count, seed):
    """Sentences of 30 words whose label is their first word: memory across 29 steps."""
    rng = np.random.default_rng(seed)
    path = tmp_path / f"task{seed}.csv"
    rows = ["text,label"]
    for _ in range(count):
        label = rng.choice(["pos", "neg"])
        filler = " ".join(f"w{i}" for i in rng.integers(0, 20, size=29))
        rows.append(f"{'alpha' if label == 'pos' else 'beta'} {filler},{label}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_text_preset_learns_long_memory_that_the_vanilla_default_does_not(tmp_path, capsys):
    train_file, test_file = first_word_task(tmp_path, 200, 0), first_word_task(tmp_path, 100, 1)

    def test_accuracy(*options):
        status, out, _ = run(capsys, "train", "--train", train_file, "--test", test_file, "--epochs", "12",
                             "--out", tmp_path / f"{options[1]}.safetensors", *options)   # a model each
        assert status == 0
        return float(out.split("Test:\tLoss")[-1].split("Accuracy:")[1].split()[0])
    assert test_accuracy("--preset", "text") >= 0.95
    assert test_accuracy("--log-every", "12") <= 0.7               # the walkthrough's recipe


def test_folds_partition_the_data_by_class():
    from tinyrnn.data.split import stratified_folds
    labels = ["a"] * 23 + ["b"] * 12 + ["c"] * 5
    folds = stratified_folds(labels, 5, np.random.default_rng(2))
    together = np.concatenate(folds)
    assert sorted(together.tolist()) == list(range(40)), "disjoint and complete"
    assert sorted(len(fold) for fold in folds) == [8] * 5
    for label, total in (("a", 23), ("b", 12), ("c", 5)):
        shares = [sum(labels[i] == label for i in fold) for fold in folds]
        assert max(shares) - min(shares) <= 1 and sum(shares) == total
    again = stratified_folds(labels, 5, np.random.default_rng(2))
    assert all(np.array_equal(x, y) for x, y in zip(folds, again))


def test_cli_cross_validation_reports_each_fold_and_the_mean(tmp_path, capsys):
    log, out = tmp_path / "cv.jsonl", tmp_path / "m.safetensors"
    status, stdout, err = run(capsys, "train", "--folds", "3", "--epochs", "2", "--log-every", "2",
                              "--json-log", log, "--out", out)
    assert status == 0 and not out.exists() and "saves no model" in err
    accuracies = [float(line.split("test accuracy ")[1].split()[0]) for line in stdout.splitlines()
                  if line.startswith("Fold ")]
    summary = json.loads(log.read_text().splitlines()[-1])
    assert len(accuracies) == 3 and summary["folds"] == 3
    np.testing.assert_allclose(summary["accuracies"], accuracies, atol=5e-4)
    assert abs(summary["mean_accuracy"] - np.mean(summary["accuracies"])) < 1e-12
    assert f"accuracy {summary['mean_accuracy']:.4f} +- {summary['std_accuracy']:.4f}" in stdout
    status, _, err = run(capsys, "train", "--folds", "3", "--test", "x.csv", "--out", out)
    assert status == 2 and "--folds" in err


def test_pretrained_embeddings_start_the_table_and_can_be_frozen(tmp_path, capsys):
    from tinyrnn.io import load_model
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("3 4\nhappy 1 2 3 4\nSad -1 -2 -3 -4\nzebra 9 9 9 9\n")     # word2vec header
    out = tmp_path / "m.safetensors"
    status, stdout, _ = run(capsys, "train", "--preset", "fast", "--embeddings", vectors, "--out", out)
    model = load_model(str(out))
    table, index = model.params["embedding.weight"], model.vocab.index
    assert status == 0 and table.shape[1] == 4 and "2 of 23 words (8.7%)" in stdout
    assert not np.allclose(table[index["happy"]], [1, 2, 3, 4]), "not frozen: it learns"
    status, _, _ = run(capsys, "train", "--preset", "fast", "--embeddings", vectors, "--freeze-embeddings",
                       "--out", out)
    table, index = load_model(str(out)).params["embedding.weight"], model.vocab.index
    np.testing.assert_array_equal(table[index["happy"]], [1, 2, 3, 4])
    np.testing.assert_array_equal(table[index["sad"]], [-1, -2, -3, -4])   # looked up as tokenized


@pytest.mark.parametrize("content,message", [("happy 1 2 x\n", ":1: the vector of 'happy' is not all numbers"),
                                              ("happy 1 2\nsad 1\n", ":2: expected a word and 2 numbers"),
                                              ("happy 1 nan\n", "NaN or infinite"), ("3 4\n", "no word vectors"),
                                              ("5 2\nhappy 1 2\n", ":1: the header declares 5 vectors; the file holds 1"),
                                              ("1 3\nhappy 1 2\n", ":2: expected a word and 3 numbers, got 2")])
def test_bad_embedding_files_name_file_and_line(tmp_path, capsys, content, message):
    vectors = tmp_path / "vectors.txt"
    vectors.write_text(content)
    status, _, err = run(capsys, "train", "--embeddings", vectors, "--out", tmp_path / "m.safetensors")
    assert status == 2 and message in err and err.count("\n") == 1


def test_one_fold_alone_is_that_fold_of_the_whole_cross_validation(tmp_path, capsys):
    data = first_word_task(tmp_path, 60, 3)
    common = ["train", "--train", data, "--folds", "3", "--preset", "fast", "--epochs", "3", "--valid-split", "0.2"]
    status, whole, _ = run(capsys, *common, "--json-log", tmp_path / "all.jsonl")
    assert status == 0
    status, alone, _ = run(capsys, *common, "--fold", "2", "--json-log", tmp_path / "two.jsonl")
    assert status == 0 and "Fold 1" not in alone and "Fold 3" not in alone
    folds = [json.loads(line) for line in open(tmp_path / "all.jsonl")]
    assert [json.loads(line) for line in open(tmp_path / "two.jsonl")] == [folds[1]]
    status, _, err = run(capsys, *common, "--fold", "4")
    assert status == 2 and "--fold 4 of --folds 3: there is no such fold" in err
