"""Seq2seq models at the command line: translate, eval on sentence pairs, info, plots."""
import io
import json
import random
import select
import struct
import subprocess
import sys

import numpy as np
import pytest
import sacrebleu
from conftest import environment_without

from tinyrnn.cli import main
from tinyrnn.commands.evaluate import SOURCE_LENGTHS, edit_distance
from tinyrnn.data.pairs import read_pairs
from tinyrnn.decoding import translate
from tinyrnn.gradcheck import random_classifier, random_language_model
from tinyrnn.io import load_model, save_model
from tinyrnn.seq2seq import Seq2Seq
from tinyrnn.tasks import encode_pairs, evaluate_pairs
from tinyrnn.vocab import SPECIALS, TARGET_SPECIALS

WORDS = "abcdefgh"


def run(capsys, *argv):
    """Run the CLI in-process; returns (exit status, stdout, stderr)."""
    try:
        status = main([str(arg) for arg in argv])
    except SystemExit as exit_:                  # argparse's usage errors
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def seq2seq_model(seed=3, **settings):
    """A Seq2Seq over words a..h -> w..z with xavier weights from seed: some translations end
    with <eos>, some run to the maximum length."""
    settings = {"embed_size": 4, "attention": "general", **settings}
    source, target = [*SPECIALS, *WORDS], [*TARGET_SPECIALS, *"wxyz"]
    model = Seq2Seq(source, target, settings.pop("hidden_size", 8), settings.pop("cell", "gru"), **settings)
    return model.initialize(np.random.default_rng(seed), "xavier")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("seq2seq") / "m.safetensors"
    save_model(seq2seq_model(), str(path))
    return str(path)


def sentences(count, seed=0, longest=8):
    draw = random.Random(seed)
    return [" ".join(draw.choice(WORDS) for _ in range(draw.randint(1, longest))) for _ in range(count)]


def _stdin(data):
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")


# -- translate -------------------------------------------------------------------------

@pytest.mark.parametrize("options, beam, max_length", [((), 1, None), (("--beam", 3, "--max-length", 6), 3, 6)])
def test_translate_prints_what_decoding_translates_in_order(model_file, capsys, options, beam, max_length):
    texts = sentences(70)                                  # more than one batch of 64
    status, out, err = run(capsys, "translate", "--model", model_file, *options, *texts)
    expected, _ = translate(load_model(model_file), texts, beam, max_length)
    assert status == 0 and err == ""
    assert out.split("\n") == [t.text for t in expected] + [""]
    assert len({t.text for t in expected}) > 3            # the texts are not all alike
    if max_length:
        assert max(len(t.ids) for t in expected) <= max_length


def test_translate_json_has_scores_source_tokens_and_attention(model_file, capsys):
    texts = ["a b c", "H g  f e d c b a a b"]
    status, out, _ = run(capsys, "translate", "--model", model_file, "--json", *texts)
    records = [json.loads(line) for line in out.splitlines()]
    expected, _ = translate(load_model(model_file), texts)
    assert status == 0 and len(records) == 2
    for text, record, translation in zip(texts, records, expected):
        assert set(record) == {"text", "translation", "tokens", "score", "normalized_score", "finished",
                               "attention", "source_tokens"}
        assert record["text"] == text and record["translation"] == translation.text
        assert record["tokens"] == len(translation.ids) and record["finished"] == translation.finished
        assert record["score"] == pytest.approx(translation.score, abs=1e-12)
        assert record["normalized_score"] == pytest.approx(translation.normalized_score, abs=1e-12)
        assert record["source_tokens"] == text.lower().split()
        weights = np.array(record["attention"])              # a row per output step (and <eos>)
        assert weights.shape == (len(translation.ids) + translation.finished, len(record["source_tokens"]))
        np.testing.assert_allclose(weights.sum(axis=1), 1, atol=1e-5)


def test_stdin_lines_one_answer_each_blank_lines_kept_unknown_tokens_warned(model_file, capsys, monkeypatch):
    texts = sentences(30, seed=1)
    lines = texts[:3] + ["", "   ", "a zorbly b"] + texts[3:]
    monkeypatch.setattr(sys, "stdin", _stdin(("\n".join(lines) + "\n").encode()))
    status, out, err = run(capsys, "translate", "--model", model_file)
    model = load_model(model_file)
    expected = [translate(model, [text])[0][0].text if text.strip() else "" for text in lines]
    assert status == 0 and out.split("\n") == expected + [""]      # one line per line, in order
    assert out.split("\n")[3:5] == ["", ""]                         # a blank line gives a blank line
    assert err == "warning: 1 word(s) in the input (<stdin>:6) are not in the vocabulary and read as " \
                  "<unk>: zorbly\n"
    monkeypatch.setattr(sys, "stdin", _stdin(b"a b\n\n"))
    status, out, _ = run(capsys, "translate", "--model", model_file, "--json")
    blank = json.loads(out.splitlines()[1])
    assert blank == {"text": "", "translation": "", "tokens": 0, "score": None, "normalized_score": None,
                     "finished": True, "attention": [], "source_tokens": []}
    status, out, err = run(capsys, "translate", "--model", model_file, "a", "", "b")   # arguments alike
    assert status == 0 and out.split("\n")[1] == "" and out.count("\n") == 3


def test_strict_makes_unknown_tokens_an_error(model_file, capsys, monkeypatch):
    status, out, err = run(capsys, "translate", "--model", model_file, "--strict", "a zorbly", "quux")
    assert status == 2 and out == ""
    assert err == "tinyrnn translate: error: words not in the model's source vocabulary: quux, zorbly\n"
    monkeypatch.setattr(sys, "stdin", _stdin(b"a b\nc zorbly\nd\n"))
    status, out, err = run(capsys, "translate", "--model", model_file, "--strict")
    assert status == 2 and out.count("\n") == 1                # line 1 was answered as it came
    assert err == "tinyrnn translate: error: <stdin>:2: words not in the model's source vocabulary: zorbly\n"


def test_translate_answers_each_line_as_it_arrives(model_file):
    process = subprocess.Popen([sys.executable, "-m", "tinyrnn", "translate", "--model", model_file],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    model = load_model(model_file)
    for text in ("a b c", "", "h g"):
        process.stdin.write(f"{text}\n".encode())
        process.stdin.flush()                           # stdin stays open: the answer must come anyway
        answer = translate(model, [text])[0][0].text if text else ""
        assert select.select([process.stdout], [], [], 30)[0], "no answer while stdin stays open"
        assert process.stdout.readline().decode() == answer + "\n"
    process.stdin.close()
    assert process.wait(timeout=30) == 0


def test_translate_errors_are_one_line(model_file, tmp_path, capsys):
    classifier, lm = str(tmp_path / "c.safetensors"), str(tmp_path / "lm.safetensors")
    save_model(random_classifier(np.random.default_rng(0)), classifier)
    save_model(random_language_model(np.random.default_rng(0)), lm)
    cases = [(["--model", tmp_path / "none.safetensors", "a"], "no such model file"),
             (["--model", classifier, "a"], f"{classifier} is a classifier; translate needs a seq2seq model "
                                            "(tinyrnn train --task seq2seq); use tinyrnn predict with this one"),
             (["--model", lm, "a"], "is a language model; translate needs a seq2seq model"),
             (["--model", model_file, "--beam", "0", "a"], "argument --beam: must be >= 1, got 0"),
             (["--model", model_file, "--beam", "two", "a"], "argument --beam: expected an integer, got 'two'"),
             (["--model", model_file, "--max-length", "0", "a"], "argument --max-length: must be >= 1")]
    for argv, message in cases:
        status, out, err = run(capsys, "translate", *argv)
        assert status == 2 and out == "" and message in err and err.count("\n") == 1, err
        assert err.startswith("tinyrnn translate: error: ")


def test_translate_and_eval_help(capsys):
    status, out, _ = run(capsys, "translate", "--help")
    assert status == 0 and "usage: tinyrnn translate" in out and "--max-length N" in out
    status, out, _ = run(capsys, "eval", "--help")
    assert status == 0 and "--swap" in out and "--beam K" in out


def test_predict_and_generate_send_a_seq2seq_model_to_translate(model_file, capsys):
    for command in (["predict", "--model", model_file, "a"], ["generate", "--model", model_file]):
        status, out, err = run(capsys, *command)
        assert status == 2 and "seq2seq" in err and "tinyrnn translate" in err and err.count("\n") == 1


# -- eval ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pairs_file(model_file, tmp_path_factory):
    """source<TAB>target lines with sources of every length bucket; every third target is the
    model's own greedy translation (an exact match), the others another text."""
    model, folder = load_model(model_file), tmp_path_factory.mktemp("pairs")
    sources = sentences(30, seed=2, longest=25)
    placeholder = folder / "placeholder.tsv"
    placeholder.write_text("".join(f"{s}\tw\n" for s in sources))
    data, _, _ = encode_pairs(model, read_pairs(placeholder))
    _, found = evaluate_pairs(model, data)                   # translations do not depend on targets
    targets = [t.text if i % 3 == 0 and t.text and "<" not in t.text else "w x y" for i, t in enumerate(found)]
    path = folder / "pairs.tsv"
    path.write_text("".join(f"{s}\t{t}\n" for s, t in zip(sources, targets)))
    return str(path), sources, targets


def test_eval_of_a_seq2seq_model_reports_evaluate_pairs_figures(model_file, pairs_file, capsys):
    path, sources, targets = pairs_file
    model = load_model(model_file)
    data, _, _ = encode_pairs(model, read_pairs(path))
    for beam in (2, 1):                                     # the last: greedy, as pairs_file's matches
        status, out, err = run(capsys, "eval", "--model", model_file, "--data", path, "--json", "--beam", beam)
        report = json.loads(out)
        figures, found = evaluate_pairs(model, data, beam)
        assert status == 0 and err == ""
        assert {key: report[key] for key in figures} == figures and report["pairs"] == 30 and report["beam"] == beam
    hypotheses = [t.text for t in found]
    matches = [h == r for h, r in zip(hypotheses, data.references)]
    assert report["exact_match"] == pytest.approx(np.mean(matches)) and 0 < np.mean(matches) < 1
    lengths = [len(s.split()) for s in sources]
    expected = []
    for low, high in SOURCE_LENGTHS:
        rows = [i for i, n in enumerate(lengths) if low <= n <= (high or 99)]
        if rows:
            bleu = sacrebleu.corpus_bleu([hypotheses[i] for i in rows], [[data.references[i] for i in rows]]).score
            expected.append({"source_tokens": f"{low}-{high}" if high else f"{low}+", "pairs": len(rows),
                             "exact_match": pytest.approx(np.mean([matches[i] for i in rows])),
                             "bleu": pytest.approx(bleu)})
    assert report["by_source_length"] == expected and len(expected) == 4


def _levenshtein(a, b):
    """The textbook table, one cell at a time."""
    table = [[i + j if not i * j else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
    return table[-1][-1]


def test_edit_distance_and_the_worst_translations(model_file, pairs_file, capsys):
    draw = random.Random(0)
    for _ in range(200):
        a, b = ([draw.choice("abc") for _ in range(draw.randint(0, 7))] for _ in range(2))
        assert edit_distance(a, b) == _levenshtein(a, b), (a, b)
    assert edit_distance(list("kitten"), list("sitting")) == 3
    path, sources, targets = pairs_file
    status, out, _ = run(capsys, "eval", "--model", model_file, "--data", path, "--json", "--errors", 4)
    errors = json.loads(out)["errors"]
    model = load_model(model_file)
    found = {s: t.text for s, t in zip(sources, translate(model, sources)[0])}
    assert status == 0 and len(errors) == 4
    rates = [e["token_error_rate"] for e in errors]
    assert rates == sorted(rates, reverse=True)
    for error in errors:
        line = int(error["origin"].rsplit(":", 1)[1])
        assert error["source"] == sources[line - 1] and error["reference"] == targets[line - 1]
        assert error["translation"] != error["reference"]
        assert error["token_error_rate"] == _levenshtein(error["translation"].split(), error["reference"].split()) \
            / len(error["reference"].split())
    worst = max(_levenshtein(found[s].split(), t.split()) / len(t.split()) for s, t in zip(sources, targets))
    assert rates[0] == worst
    status, out, _ = run(capsys, "eval", "--model", model_file, "--data", path, "--errors", 2)
    lines = out.splitlines()
    assert status == 0 and lines[0].startswith("Loss ") and "| BLEU " in lines[0] and "(30 pairs, greedy)" in lines[0]
    assert lines[1] == "By source length:" and lines[2].split() == ["tokens", "pairs", "exact", "match", "BLEU"]
    assert [line.split()[0] for line in lines[3:7]] == ["1-5", "6-10", "11-20", "21+"]
    assert lines[7] == "The 2 worst translation(s), by token error rate:" and lines[9].startswith("  source:      ")


def test_eval_reads_pairs_as_train_does(model_file, pairs_file, tmp_path, capsys):
    path, sources, targets = pairs_file

    def report(*argv):
        status, out, err = run(capsys, "eval", "--model", model_file, "--json", *argv)
        assert status == 0, err
        return json.loads(out)
    whole = report("--data", path)
    (tmp_path / "src.txt").write_text("\n".join(sources) + "\n")
    (tmp_path / "tgt.txt").write_text("\n".join(targets) + "\n")
    assert report("--data", f"source={tmp_path / 'src.txt'}", "--data", f"target={tmp_path / 'tgt.txt'}") == whole
    (tmp_path / "p.csv").write_text("en,fr\n" + "".join(f"{t},{s}\n" for s, t in zip(sources, targets)))
    assert report("--data", tmp_path / "p.csv", "--source-column", "fr", "--target-column", "en") == whole
    (tmp_path / "back.tsv").write_text("".join(f"{t}\t{s}\n" for s, t in zip(sources, targets)))
    assert report("--data", tmp_path / "back.tsv", "--swap") == whole


def test_eval_errors_are_one_line(model_file, tmp_path, capsys):
    (tmp_path / "bad.tsv").write_text("a b\tw x\nc d no tab\n")
    classifier = str(tmp_path / "c.safetensors")
    save_model(random_classifier(np.random.default_rng(0)), classifier)
    cases = [(["--model", model_file, "--data", tmp_path / "bad.tsv"], f"{tmp_path / 'bad.tsv'}:2: expected "
                                                                        "source<TAB>target, found no tab"),
             (["--model", model_file], "a seq2seq model is evaluated on sentence pairs: give --data FILE"),
             (["--model", model_file, "--data", tmp_path / "missing.tsv"], "missing.tsv"),
             (["--model", model_file, "--data", tmp_path / "bad.tsv", "--format", "tsv"],
              f"--format applies to classifiers; {model_file} is a seq2seq model"),
             (["--model", model_file, "--data", "source=x"], "--data takes one file of pairs, or source=FILE"),
             (["--model", classifier, "--beam", "2"], f"--beam applies to seq2seq models; {classifier} is a "
                                                      "classifier"),
             (["--model", model_file, "--data", tmp_path / "bad.tsv", "--beam", "0"], "must be >= 1")]
    for argv, message in cases:
        status, out, err = run(capsys, "eval", *argv)
        assert status == 2 and out == "" and message in err and err.count("\n") == 1, err


def test_eval_without_sacrebleu_notes_how_to_get_bleu(model_file, pairs_file, tmp_path, capsys):
    path = pairs_file[0]
    status, out, _ = run(capsys, "eval", "--model", model_file, "--data", path, "--json")
    full = json.loads(out)
    result = subprocess.run([sys.executable, "-m", "tinyrnn", "eval", "--model", model_file, "--data", path,
                             "--json"], capture_output=True, text=True, env=environment_without(tmp_path, "sacrebleu"),
                            timeout=60)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and result.stderr == (
        "note: BLEU and chrF need sacrebleu: python -m pip install sacrebleu (or the translate extra, "
        "'.[translate]' in a checkout of tinyrnn)\n")
    assert report["bleu"] is None and report["chrf"] is None
    assert {k: report[k] for k in ("loss", "token_accuracy", "exact_match")} == \
        {k: full[k] for k in ("loss", "token_accuracy", "exact_match")}
    assert all(row["bleu"] is None for row in report["by_source_length"])


# -- info, describe --------------------------------------------------------------------

def test_info_of_a_seq2seq_model(tmp_path, capsys):
    model = seq2seq_model(0, cell="lstm", num_layers=2, bidirectional=True, attention="additive",
                          attention_size=5, hidden_size=6, normalize="accents")
    path = tmp_path / "m.safetensors"
    save_model(model, str(path))
    status, out, _ = run(capsys, "info", path, "--json")
    facts = json.loads(out)
    stack = {"cell": "lstm", "layers": 2, "hidden_size": 6, "input": "embedding of size 4"}
    assert status == 0 and facts["task"] == "seq2seq"
    assert facts["encoder"] == {**stack, "directions": 2} and facts["decoder"] == {**stack, "directions": 1}
    assert facts["attention"] == {"kind": "additive", "score": "e_ts = v . tanh(W_q d_t + W_k o_s + b_k)",
                                  "query_size": 6, "key_size": 12, "attention_size": 5, "output_size": 6}
    assert facts["bridge"]["kind"] == "tanh" and facts["bridge"]["input_size"] == 24 \
        and facts["bridge"]["output_size"] == 12                         # [h | c] of both directions
    assert facts["normalize"] == "accents" and facts["source_vocabulary"] == 10 and facts["target_vocabulary"] == 8
    assert facts["parameters"] == model.flat.size == sum(a.size for a in model.params.values())
    assert facts["tensors"] == {name: list(a.shape) for name, a in model.params.items()}
    assert facts["tensors"]["bridge.weight"] == [12, 24] and facts["tensors"]["attention.key.weight"] == [5, 12]
    status, out, _ = run(capsys, "info", path)
    lines = out.splitlines()
    assert lines[0] == ("a 2-layer LSTM encoder-decoder with additive attention, 6 hidden units, bidirectional "
                        f"encoder, 8 source and 4 target words ({model.flat.size:,} parameters)")
    assert "  encoder:           LSTM, 2 layers, 2 directions, 6 hidden units, input: embedding of size 4" in lines
    assert "  decoder:           LSTM, 2 layers, 1 direction, 6 hidden units, input: embedding of size 4" in lines
    assert ("  attention:         additive: e_ts = v . tanh(W_q d_t + W_k o_s + b_k) (decoder states 6, encoder "
            "outputs 12, score width 5), ~h_t = tanh(W_c [c_t; d_t]) of size 6") in lines
    assert "  bridge:            tanh: s_0 = tanh(W_b [s_S; s'_1] + b_b) for each layer (24 -> 12)" in lines
    assert "  normalisation:     accents" in lines
    assert "  source vocabulary: 10 entries (8 words + <pad>, <unk>)" in lines
    assert "  target vocabulary: 8 entries (4 words + <pad>, <unk>, <bos>, <eos>)" in lines
    assert "    attention.v.weight           1 x 5" in lines and "  checksum:          verified" in lines


def test_describe_and_repr_of_seq2seq_models():
    plain = seq2seq_model(0, cell="rnn", attention="none", embed_size=None)
    assert plain.describe() == f"a 1-layer tanh RNN encoder-decoder without attention, 8 hidden units, " \
                               f"8 source and 4 target words ({plain.flat.size:,} parameters)"
    assert plain.summary()["attention"] == {"kind": "none"} and plain.summary()["bridge"]["kind"] == "none"
    model = seq2seq_model()
    assert model.describe(short=True) == "a 1-layer GRU encoder-decoder with general attention, 8 hidden units"
    assert repr(model) == (f"Seq2Seq(cell='gru', embed_size=4, attention='general', hidden_size=8, vocab=10, "
                           f"target_vocab=8, parameters={model.flat.size}, dtype=float64)")


# -- plots -----------------------------------------------------------------------------

def _png_size(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_train_plot_and_plot_command_draw_a_seq2seq_log(tmp_path, capsys):
    draw = random.Random(0)
    lines = []
    for _ in range(40):
        words = [draw.choice(WORDS) for _ in range(draw.randint(1, 5))]
        lines.append(" ".join(words) + "\t" + " ".join(reversed(words)))
    (tmp_path / "p.tsv").write_text("\n".join(lines) + "\n")
    log, plot = tmp_path / "log.jsonl", tmp_path / "train.png"
    status, _, err = run(capsys, "train", "--task", "seq2seq", "--train", tmp_path / "p.tsv", "--epochs", 3,
                         "--hidden", 8, "--batch-size", 8, "--keep-best", "--json-log", log, "--plot", plot,
                         "--out", tmp_path / "m.safetensors")
    assert status == 0 and f"saved {plot}" in err and _png_size(plot) == (1000, 450)
    status, _, err = run(capsys, "plot", log)
    assert status == 0 and _png_size(tmp_path / "log.png") == (1000, 450)


def test_translation_curves_show_loss_exact_match_bleu_and_the_kept_epoch():
    from tinyrnn.plots import _translation_curves, log_kind, require_matplotlib
    records = [{"epoch": e, "tokens_seen": 100 * e, "train_loss": 2 / e, "train_token_accuracy": 0.5,
                "train_seconds": e, "val_loss": 1 + 1 / e, "val_exact_match": e / 10, "val_bleu": 5.0 * e,
                "test_loss": 1.1 + 1 / e, "test_exact_match": e / 11, "test_bleu": 4.0 * e, "best": e == 3,
                "weights_saved": "best"}                 # --keep-best: the best epoch's weights were saved
               for e in range(1, 6)]
    assert log_kind(records) == "seq2seq"
    figure = require_matplotlib().figure()
    assert _translation_curves(figure, records) == 7 * 5
    loss_axes, match_axes, bleu_axes = figure.axes
    labels = [[line.get_label() for line in axes.get_lines()] for axes in figure.axes]
    assert labels[0] == ["train", "validation", "test", "best: epoch 3"]
    assert labels[1] == ["validation exact match", "test exact match", "best: epoch 3"]
    assert labels[2] == ["validation BLEU", "test BLEU"]
    assert list(bleu_axes.get_lines()[0].get_ydata()) == [5.0, 10.0, 15.0, 20.0, 25.0]
    assert bleu_axes.get_ylim()[1] > 100 and match_axes.get_ylim()[1] < 1.1


def test_info_takes_the_model_as_the_other_commands_do(model_file, capsys):
    status, by_option, _ = run(capsys, "info", "--model", model_file)
    assert status == 0 and "encoder-decoder" in by_option
    status, by_position, _ = run(capsys, "info", model_file)
    assert status == 0 and by_position == by_option
