"""`tinyrnn train --task seq2seq` and `tinyrnn gradcheck --task seq2seq` end to end, in a
temporary folder: every pairs format, the options that choose pairs, the held-out sets, the
JSON log, keep-best, checkpoints and exact resume, and bad input as one line and exit 2."""
import json
import os

import numpy as np
import pytest

from test_cli import run
from tinyrnn.io import load_model

WORDS = "one two three four five six".split()
NUMBERS = "un deux trois quatre cinq six".split()
PAIRS = [(f"{WORDS[i]} {WORDS[j]}", f"{NUMBERS[i]} {NUMBERS[j]}") for i in range(6) for j in range(6)] + \
        [(f"{WORDS[i]} {WORDS[i]} {WORDS[i]}", f"{NUMBERS[i]} {NUMBERS[i]} {NUMBERS[i]}") for i in range(6)]
FAST = ["--task", "seq2seq", "--hidden", "8", "--embed", "4", "--batch-size", "4", "--epochs", "1"]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The same 42 pairs as tab-separated lines (with an attribution column), CSV, JSONL and two
    aligned files."""
    monkeypatch.chdir(tmp_path)
    write("pairs.tsv", [f"{source}\t{target}\tCC-BY 2.0 (France) #{n}" for n, (source, target) in enumerate(PAIRS)])
    write("pairs.csv", ["id,target,source"] + [f"{n},{target},{source}" for n, (source, target) in enumerate(PAIRS)])
    write("pairs.jsonl", [json.dumps({"source": source, "target": target, "id": n})
                          for n, (source, target) in enumerate(PAIRS)])
    write("source.txt", [source for source, _ in PAIRS])
    write("target.txt", [target for _, target in PAIRS])
    return tmp_path


def write(name, lines):
    with open(name, "w", encoding="utf-8") as file:
        file.write("".join(line + "\n" for line in lines))


def train(capsys, *argv, out="m.safetensors"):
    """(status, stdout, stderr) of tinyrnn train --task seq2seq (small and fast) *argv --out out."""
    return run(capsys, "train", *FAST, *argv, "--out", out)


def counts(out):
    """(training, validation, test) pairs as the first line of the log reports them."""
    words = out.splitlines()[0].replace(",", "").split()
    return tuple(int(words[words.index(what) - 1]) for what in ("training", "validation", "test"))


def test_every_pairs_format_gives_the_same_model(folder, capsys):
    models = {}
    for name, data in (("tsv", ["pairs.tsv"]), ("csv", ["pairs.csv"]), ("jsonl", ["pairs.jsonl"]),
                       ("aligned", ["source=source.txt", "target=target.txt"])):
        status, out, err = train(capsys, *[arg for path in data for arg in ("--train", path)], "--steps", "3",
                                 out=f"{name}.safetensors")
        assert status == 0, err
        assert out.startswith("6 source and 6 target words; 34 training, 4 validation, 4 test pairs"), out
        models[name] = load_model(f"{name}.safetensors")
    reference = models["tsv"]
    assert reference.task == "seq2seq" and reference.vocab.words == sorted(WORDS)
    assert reference.target_vocab.words == sorted(NUMBERS)
    for name, model in models.items():
        np.testing.assert_array_equal(model.flat, reference.flat, err_msg=name)


def test_swap_translates_the_other_way(folder, capsys):
    write("swapped.tsv", [f"{target}\t{source}" for source, target in PAIRS])
    assert train(capsys, "--train", "pairs.tsv", "--swap", "--steps", "3", out="swap.safetensors")[0] == 0
    assert train(capsys, "--train", "swapped.tsv", "--steps", "3", out="file.safetensors")[0] == 0
    swapped, reference = load_model("swap.safetensors"), load_model("file.safetensors")
    assert swapped.vocab.words == sorted(NUMBERS) and swapped.target_vocab.words == sorted(WORDS)
    np.testing.assert_array_equal(swapped.flat, reference.flat)


@pytest.mark.parametrize("mode,words", [("accents", [".", "ca", "etait", "ete", "l'ete", "tres"]),
                                        ("letters", [".", "ca", "etait", "ete", "l", "tres"])])
def test_normalize_is_applied_before_the_vocabulary_and_stored_in_the_model(folder, capsys, mode, words):
    write("accents.tsv", ["Ça été\tit was", "Très été\tvery summer", "ÉTAIT ça\twas it", "Ça l'été.\tit the summer."])
    status, out, err = train(capsys, "--train", "accents.tsv", "--valid", "accents.tsv", "--test", "accents.tsv",
                             "--normalize", mode)
    assert status == 0, err
    model = load_model("m.safetensors")
    assert model.config.normalize == mode and model.vocab.words == words
    assert model.normalize("Ça ÉTÉ") == "ca ete"


def test_max_length_and_target_prefix_choose_the_training_pairs(folder, capsys):
    held = ["--valid", "pairs.tsv", "--test", "pairs.tsv"]             # no split: every chosen pair trains
    status, out, err = train(capsys, "--train", "pairs.tsv", *held, "--max-length", "2")
    assert status == 0 and counts(out) == (36, 36, 36), err
    status, out, err = train(capsys, "--train", "pairs.tsv", *held, "--target-prefix", "un ,deux ",
                             "--target-prefix", "six six six")
    assert status == 0 and counts(out) == (7 + 7 + 1, 15, 15), err          # un ..., deux ..., six six six
    status, out, err = train(capsys, "--train", "pairs.tsv", *held, "--max-length", "2", "--target-prefix", "un ")
    assert status == 0 and counts(out) == (6, 6, 6), err
    assert load_model("m.safetensors").target_vocab.words == sorted(NUMBERS)


def test_held_out_sets_from_files_or_splits_of_the_source_sentences(folder, capsys):
    write("valid.tsv", ["one two\tun deux", "two one\tdeux un"])
    write("test.tsv", ["six five\tsix cinq"])
    status, out, err = train(capsys, "--train", "pairs.tsv", "--valid", "valid.tsv", "--test", "test.tsv")
    assert status == 0 and counts(out) == (42, 2, 1), err
    status, out, err = train(capsys, "--train", "pairs.tsv", "--valid-split", "0.25", "--test-split", "0.5")
    assert status == 0 and counts(out) == (16, 5, 21), err
    status, out, err = train(capsys, "--train", "pairs.tsv", "--test", "test.tsv", "--valid-split", "0.5")
    assert status == 0 and counts(out) == (21, 21, 1), err


def test_the_json_log_records_every_figure(folder, capsys):
    status, out, err = train(capsys, "--train", "pairs.tsv", "--epochs", "2", "--json-log", "log.jsonl")
    assert status == 0, err
    records = [json.loads(line) for line in open("log.jsonl")]
    assert [record["epoch"] for record in records] == [1, 2]
    for record in records:
        assert {"tokens_seen", "train_loss", "train_token_accuracy", "train_seconds", "val_loss",
                "val_token_accuracy", "val_exact_match", "val_bleu", "val_chrf", "test_loss",
                "test_exact_match", "test_bleu", "best"} <= set(record)
        assert 0 <= record["val_exact_match"] <= 1 and record["val_loss"] > 0 and record["train_seconds"] > 0
    assert records[1]["tokens_seen"] == 2 * records[0]["tokens_seen"]
    assert 34 * 3 <= records[0]["tokens_seen"] <= 34 * 4              # 34 targets of 2 or 3 words and <eos>
    assert records[1]["train_seconds"] > records[0]["train_seconds"]


def log_without_times(path):
    return [{key: value for key, value in json.loads(line).items() if key != "train_seconds"} for line in open(path)]


def test_keep_best_saves_the_best_validation_epochs_weights(folder, capsys):
    options = ["--train", "pairs.tsv", "--lr", "0.3", "--json-log", "{}.jsonl"]
    status, out, err = train(capsys, *[o.format("best") for o in options], "--epochs", "6", "--keep-best",
                             out="best.safetensors")
    assert status == 0, err
    records = [json.loads(line) for line in open("best.jsonl")]
    kept = max((record for record in records if record["best"]), key=lambda record: record["epoch"])
    assert kept["epoch"] < 6, "the test needs a best epoch before the last"
    assert f"Kept epoch {kept['epoch']}: lowest validation loss {kept['val_loss']:.3f}" in out
    status, out, err = train(capsys, *[o.format("short") for o in options], "--epochs", str(kept["epoch"]),
                             out="short.safetensors")
    assert status == 0, err
    np.testing.assert_array_equal(load_model("best.safetensors").flat, load_model("short.safetensors").flat)


def test_a_run_stopped_by_steps_and_resumed_ends_bit_for_bit_as_an_uninterrupted_one(folder, capsys):
    def go(name, *extra):
        return train(capsys, "--train", "pairs.tsv", "--dropout", "0.2", "--checkpoint-dir", f"{name}.d",
                     "--checkpoint-every", "1", "--json-log", f"{name}.jsonl", *extra, out=f"{name}.safetensors")
    assert go("whole", "--epochs", "3")[0] == 0
    status, out, err = go("part", "--epochs", "3", "--steps", "11")            # 9 batches an epoch: in epoch 2
    assert status == 0 and os.listdir("part.d"), err
    status, out, err = go("part", "--epochs", "3", "--resume")
    assert status == 2 and "steps 11 -> None" in err and err.count("\n") == 1
    status, out, err = go("part", "--epochs", "3", "--resume", "--force")
    assert status == 0 and "resuming from part.d/checkpoint-" in out and "(next: epoch 2, batch 3)" in out, out
    np.testing.assert_array_equal(load_model("part.safetensors").flat, load_model("whole.safetensors").flat)
    whole, part = log_without_times("whole.jsonl"), log_without_times("part.jsonl")
    assert [record["epoch"] for record in part] == [1, 2, 2, 3]   # the stop's own record of epoch 2
    assert part[0] == whole[0] and part[-1] == whole[-1]
    assert part[2]["tokens_seen"] == whole[1]["tokens_seen"] and part[2]["val_loss"] == whole[1]["val_loss"]
    assert go("more", "--epochs", "2")[0] == 0                        # ended at a pass's end, then longer
    assert go("more", "--epochs", "3", "--resume", "--force")[0] == 0
    np.testing.assert_array_equal(load_model("more.safetensors").flat, load_model("whole.safetensors").flat)
    assert log_without_times("more.jsonl") == whole


BAD_RUNS = {
    "pairs line without a tab": ("bad.tsv", ["one\tun", "two deux"], [], "bad.tsv:2: expected source<TAB>target"),
    "empty target": ("bad.tsv", ["one\tun", "two\t  "], [], "bad.tsv:2: empty target"),
    "invalid JSON line": ("bad.jsonl", ['{"source": "a", "target": "b"}', "{oops"], [], "bad.jsonl:2: invalid JSON"),
    "missing JSON key": ("bad.jsonl", ['{"source": "a"}'], [], "bad.jsonl:1: missing key 'target'"),
    "CSV without the column": ("bad.csv", ["source,label", "a,b"], [], "bad.csv:1: no column 'target' in the header"),
    "CSV row of 3 fields": ("bad.csv", ["source,target", "a,b", "a,b,c"], [], "bad.csv:3: expected 2 fields, found 3"),
    "pool": (None, [], ["--pool", "mean"], "--pool applies to --task classify and regress, not seq2seq"),
    "text": (None, [], ["--text", "pairs.tsv"], "--text applies to --task lm, not seq2seq"),
    "folds": (None, [], ["--folds", "3"], "--folds applies to --task classify and regress, not seq2seq"),
    "dot attention of a bidirectional encoder": (None, [], ["--attention", "dot", "--bidirectional"],
                                                 "dot attention needs encoder outputs as wide"),
    "nothing left after filtering": (None, [], ["--max-length", "1"],
                                     "pairs.tsv: no pairs left after --max-length"),
    "nothing left after the prefix": (None, [], ["--target-prefix", "seven"], "pairs.tsv: no pairs left"),
    "valid and valid split": (None, [], ["--valid", "pairs.tsv", "--valid-split", "0.2"],
                              "give either --valid or --valid-split, not both"),
    "test and test split": (None, [], ["--test", "pairs.tsv", "--test-split", "0.2"],
                            "give either --test or --test-split, not both"),
    "source file without target file": (None, [], ["--train", "source=source.txt"],
                                        "--train takes one file of pairs, or source=FILE and target=FILE"),
    "beam 0": (None, [], ["--beam", "0"], "argument --beam: must be >= 1"),
}


@pytest.mark.parametrize("case", BAD_RUNS)
def test_bad_input_is_one_line_and_exit_2_and_writes_nothing(folder, capsys, case):
    name, lines, options, message = BAD_RUNS[case]
    if name:
        write(name, lines)
    data = ["--train", name or "pairs.tsv"] if "--train" not in options else []
    before = sorted(os.listdir(folder))
    status, out, err = train(capsys, *data, *options, "--json-log", "log.jsonl", "--checkpoint-dir", "run.d")
    assert status == 2
    assert err.count("\n") == 1 and message in err, err
    assert "Traceback" not in err
    assert sorted(os.listdir(folder)) == before, "nothing is written"


def test_options_of_seq2seq_are_refused_for_the_other_tasks(folder, capsys):
    for task, option in (("classify", ["--attention", "additive"]), ("lm", ["--swap"]),
                         ("classify", ["--normalize", "accents"])):
        status, _, err = run(capsys, "train", "--task", task, *option, "--out", "m.safetensors")
        assert status == 2 and f"applies to --task seq2seq, not {task}" in err and err.count("\n") == 1
    assert not os.path.exists("m.safetensors")


# -- tinyrnn gradcheck --task seq2seq -------------------------------------------------


def gradcheck(capsys, *argv):
    """(status, stdout, stderr) of tinyrnn gradcheck *argv."""
    return run(capsys, "gradcheck", *argv)


SMALL = ["--hidden", "3", "--vocab", "3", "--batch", "3", "--max-length", "3"]


@pytest.mark.parametrize("options", [["--attention", "dot", "--cell", "lstm"],
                                     ["--attention", "additive", "--bidirectional", "--layers", "2", "--embed", "2"],
                                     ["--attention", "none", "--cell", "gru", "--dropout", "0.3"],
                                     ["--cell", "rnn", "--bidirectional"]])
def test_gradcheck_of_seq2seq_models(capsys, options):
    status, out, err = gradcheck(capsys, "--task", "seq2seq", *SMALL, *options)
    assert status == 0, out + err
    rows = out.splitlines()[1:-1]
    names = [row.split()[0] for row in rows]
    assert names[0] == ("encoder.embedding.weight" if "--embed" in options else "encoder.rnn.weight_ih_l0")
    assert names[-2:] == ["fc.weight", "fc.bias"] and "h0" not in names and all(row.endswith(" ok") for row in rows)
    attention = options[options.index("--attention") + 1] if "--attention" in options else "general"
    assert ("combine.weight" in names) == (attention != "none")
    assert ("attention.v.weight" in names) == (attention == "additive")
    assert ("bridge.weight" in names) == ("--bidirectional" in options)
    assert out.splitlines()[-1] == "gradients match finite differences"


def test_gradcheck_of_seq2seq_fails_on_a_wrong_backward(capsys, monkeypatch):
    from tinyrnn import seq2seq
    attend_backward = seq2seq.attend_backward

    def without_encoder_path(params, grads, run, d_attentional):
        d_decoder, d_outputs = attend_backward(params, grads, run, d_attentional)
        return d_decoder, d_outputs * 0.9
    monkeypatch.setattr(seq2seq, "attend_backward", without_encoder_path)
    status, out, err = gradcheck(capsys, "--task", "seq2seq", *SMALL, "--attention", "general")
    assert status == 1 and "FAIL" in out and out.splitlines()[-1].startswith("mismatch in encoder.")


@pytest.mark.parametrize("options,message", [
    (["--task", "seq2seq", "--attention", "dot", "--bidirectional"], "--attention dot needs encoder outputs"),
    (["--task", "seq2seq", "--pool", "mean"], "--pool applies to --task classify and regress, not seq2seq"),
    (["--attention", "general"], "--attention applies to --task seq2seq, not classify"),
    (["--task", "seq2seq", "--all", "--cell", "gru"], "--all checks every combination itself; drop --cell")])
def test_gradcheck_refuses_what_cannot_be_built(capsys, options, message):
    status, out, err = gradcheck(capsys, *options)
    assert status == 2 and message in err and err.count("\n") == 1 and out == ""


# -- presets, empty sources, sentences that read alike ----------------------------------


def test_a_presets_settings_give_way_to_the_options_given(folder, capsys):
    """--dropout 0 and --no-bidirectional win over the translate preset's 0.3 and two directions."""
    status, _, err = train(capsys, "--train", "pairs.tsv", "--preset", "translate", "--dropout", "0",
                           "--no-bidirectional", "--attention", "dot", "--hidden", "8", "--embed", "4",
                           "--epochs", "1", "--steps", "1")
    assert status == 0, err
    config = load_model("m.safetensors").config
    assert (config.dropout, config.bidirectional, config.attention) == (0.0, False, "dot")
    status, _, err = train(capsys, "--train", "pairs.tsv", "--preset", "translate", "--hidden", "8",
                           "--embed", "4", "--epochs", "1", "--steps", "1", out="p.safetensors")
    config = load_model("p.safetensors").config
    assert status == 0 and (config.dropout, config.bidirectional, config.cell) == (0.3, True, "gru")


def test_init_from_keeps_the_saved_models_settings_whatever_the_preset(folder, capsys):
    status, _, err = train(capsys, "--train", "pairs.tsv", "--cell", "lstm", "--no-bidirectional", "--steps", "1")
    assert status == 0, err
    status, _, err = run(capsys, "train", "--task", "seq2seq", "--train", "pairs.tsv", "--init-from", "m.safetensors",
                         "--epochs", "1", "--steps", "1", "--out", "n.safetensors")
    assert status == 0, err
    assert load_model("n.safetensors").config == load_model("m.safetensors").config


def test_a_source_with_no_tokens_is_named_with_its_line(folder, capsys):
    write("odd.tsv", ["one two\tun deux", "12 34\tdouze", "three\ttrois"])
    status, _, err = train(capsys, "--train", "odd.tsv", "--normalize", "letters", "--valid", "pairs.tsv",
                           "--test", "pairs.tsv")
    assert status == 0 and "odd.tsv:2: empty source after letters normalisation" in err, err
    write("ctrl.tsv", ["one two\tun deux", "\x01\tz", "three\ttrois"])
    status, _, err = train(capsys, "--train", "ctrl.tsv", "--valid", "pairs.tsv", "--test", "pairs.tsv")
    assert status == 2 and err.count("\n") == 1 and "ctrl.tsv:2: the source has no words" in err, err


def test_sources_that_read_alike_are_held_out_together(folder, capsys):
    """"Go." and "GO ." are the same tokens: a split by source never puts one in training and
    the other in the test set."""
    lines = [f"{case} {WORDS[i % 6]}\t{NUMBERS[i % 6]} {i}" for i in range(60) for case in ("Go", "GO")]
    write("alike.tsv", lines)
    status, out, err = train(capsys, "--train", "alike.tsv", "--test-split", "0.25", "--valid-split", "0.25",
                             "--epochs", "0")
    assert status == 0, err
    assert counts(out) == (60, 20, 40)      # 6 sources of 20 pairs: 2 test, 1 validation (as text: 30 test)
