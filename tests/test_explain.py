"""tinyrnn explain and the measurements behind it (explain.py), checked against independent
computations: predict, the model run on each shortened text, finite differences."""
import json

import numpy as np
import pytest

from tinyrnn.cli import main
from tinyrnn.explain import explain_text, read_text, text_features, unit_correlations
from tinyrnn.gradcheck import random_classifier
from tinyrnn.io import save_model
from tinyrnn.models import LanguageModel
from tinyrnn.nn.functional import log_softmax, softmax
from tinyrnn.vocab import SPECIALS

ARCHITECTURES = {
    "walkthrough": dict(cell="rnn"),
    "gru-bi-embed-mean": dict(cell="gru", bidirectional=True, embed_size=4, pool="mean"),
    "lstm-2-layers-max": dict(cell="lstm", num_layers=2, pool="max"),
    "rnn-bi-2-layers": dict(cell="rnn", num_layers=2, bidirectional=True),
    "lstm-embed-bi": dict(cell="lstm", embed_size=3, bidirectional=True),
}
TEXT = "w3 w0 w5 w2 w6"                          # distinct words: one position per word
REPEATED = "w3 w0 w3 w2 w3 w5"


def model_of(name, seed=0):
    return random_classifier(np.random.default_rng(seed), 7, 5, 3, 0.7, **ARCHITECTURES[name])


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_the_trajectory_reads_every_prefix_and_ends_at_predict(name):
    model = model_of(name)
    explanation = explain_text(model, TEXT)
    words = TEXT.split()
    for t in range(len(words)):                  # each prefix alone, as its own text
        alone = model.predict_proba(model.encode([" ".join(words[:t + 1])])[0])[0]
        np.testing.assert_allclose(explanation.trajectory[t], alone, rtol=0, atol=1e-12)
    assert explanation.label == model.classes[int(explanation.probabilities.argmax())]


def test_the_last_step_equals_the_predict_command(tmp_path, capsys):
    path = str(tmp_path / "m.safetensors")
    save_model(model_of("gru-bi-embed-mean"), path)
    assert main(["predict", "--model", path, "--json", TEXT]) == 0
    predicted = json.loads(capsys.readouterr().out)
    assert main(["explain", "--model", path, "--json", TEXT]) == 0
    explained = json.loads(capsys.readouterr().out)
    assert explained["label"] == predicted["label"]
    for name, p in predicted["probabilities"].items():
        assert explained["words"][-1]["probabilities"][name] == pytest.approx(p, abs=1e-12)
        assert explained["probabilities"][name] == pytest.approx(p, abs=1e-12)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_occlusion_is_the_drop_without_the_word(name):
    model = model_of(name)
    explanation = explain_text(model, TEXT)
    words, c = TEXT.split(), explanation.predicted
    full = model.predict_proba(model.encode([TEXT])[0])[0, c]
    for t in range(len(words)):
        shorter = " ".join(words[:t] + words[t + 1:])
        without = model.predict_proba(model.encode([shorter])[0])[0, c]
        assert explanation.occlusion[t] == pytest.approx(full - without, abs=1e-12)


def test_a_one_word_text_is_compared_with_the_empty_text():
    model = model_of("walkthrough")
    explanation = explain_text(model, "w4")
    c = explanation.predicted
    empty = softmax(model.params["by"][None])[0, c]           # h_n = h_0 = 0: p = softmax(b)
    assert explanation.occlusion[0] == pytest.approx(explanation.probabilities[c] - empty, abs=1e-12)


def _log_p(model, text, c):
    return float(np.log(model.predict_proba(model.encode([text])[0])[0, c]))


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_gradient_x_input_matches_finite_differences(name):
    """Scaling word w's input x_t by (1 + e): for one-hot inputs the column W_ih[:, w] of layer 0
    (every direction), for an embedding the row E[w]. d ln p_c / de at e = 0 is x_t . grad."""
    model = model_of(name)
    explanation = explain_text(model, TEXT)
    c, eps = explanation.predicted, 1e-6
    for t, word in enumerate(TEXT.split()):
        w = model.vocab.index[word]
        if model.config.embed_size:
            views = [model.params["embedding.weight"][w]]
        else:
            views = [model.params[layer.names["weight_ih"]][:, w] for layer in model.stack.layers[0]]
        saved = [view.copy() for view in views]
        values = []
        for sign in (1, -1):
            for view, original in zip(views, saved):
                view[...] = original * (1 + sign * eps)
            values.append(_log_p(model, TEXT, c))
        for view, original in zip(views, saved):
            view[...] = original
        numeric = (values[0] - values[1]) / (2 * eps)
        assert explanation.gradient[t] == pytest.approx(numeric, rel=1e-6, abs=1e-9), (name, t)


@pytest.mark.parametrize("name", ["walkthrough", "lstm-embed-bi"])
def test_a_repeated_word_gets_a_value_at_each_place_that_sum_to_the_words(name):
    """Scaling the word's one input scales it at every place: the derivative is the sum."""
    model = model_of(name)
    explanation = explain_text(model, REPEATED)
    c, eps, words = explanation.predicted, 1e-6, REPEATED.split()
    w = model.vocab.index["w3"]
    views = [model.params["embedding.weight"][w]] if model.config.embed_size else \
        [model.params[layer.names["weight_ih"]][:, w] for layer in model.stack.layers[0]]
    saved, values = [view.copy() for view in views], []
    for sign in (1, -1):
        for view, original in zip(views, saved):
            view[...] = original * (1 + sign * eps)
        values.append(_log_p(model, REPEATED, c))
    places = [t for t, word in enumerate(words) if word == "w3"]
    assert len(set(explanation.gradient[places].round(8))) == 3                 # each its own value
    assert explanation.gradient[places].sum() == pytest.approx((values[0] - values[1]) / (2 * eps), rel=1e-6)


def test_unknown_words_are_marked_and_the_hidden_states_are_the_top_layers():
    model = model_of("rnn-bi-2-layers")
    explanation = explain_text(model, "w1 nonsense w2")
    assert explanation.known == [True, False, True]
    assert explanation.hidden.shape == (3, 10) and explanation.directions == 2
    ids = model.encode(["w1 nonsense w2"])[0][0]
    run = model._run(ids[None], None, None, None)
    np.testing.assert_array_equal(explanation.hidden, model.stack.layer_outputs(run, 1)[:, 0])
    with pytest.raises(ValueError, match="no words"):
        explain_text(model, "  ")
    with pytest.raises(ValueError, match="501 words; explain reads at most 500"):
        explain_text(model, "w1 " * 501)


def char_model(seed=0, cell="gru"):
    text = 'say "hi" (now)\nand [then]\n'
    vocab = [*SPECIALS, *sorted(set(text))]
    model = LanguageModel(vocab, 6, cell, "float64", "chars")
    rng = np.random.default_rng(seed)
    for array in model.params.values():
        array[...] = rng.normal(0, 0.6, array.shape)
    return model, text


def test_surprisal_of_each_character_from_its_prefix_alone():
    model, text = char_model()
    reading = read_text(model, text + "~")               # "~" is not in the vocabulary
    ids = model.vocab.encode(list(text + "~"))[0]
    first = log_softmax(model.params["fc.bias"][None])[0, ids[0]]
    assert reading.surprisal[0] == pytest.approx(-first, abs=1e-12)
    for t in range(1, len(ids)):
        logits, _ = model.forward(ids[None, :t])
        expected = -log_softmax(logits[-1])[0, ids[t]]
        assert reading.surprisal[t] == pytest.approx(expected, abs=1e-10)
    assert reading.known == [True] * len(text) + [False]
    assert reading.hidden.shape == (len(ids), 6)


def test_text_features_and_the_units_that_follow_them():
    tokens = list('a "b c" (d [e]) f\ng')
    features = text_features(tokens)
    assert "".join(ch for ch, q in zip(tokens, features["inside quotes"]) if q) == '"b c'
    assert "".join(ch for ch, b in zip(tokens, features["inside brackets"]) if b) == "(d [e]"
    assert features["line break"].tolist() == [float(ch == "\n") for ch in tokens]
    assert features["position in line"][-1] == 1 and features["position in line"][-2] == 0
    rng = np.random.default_rng(1)
    hidden = rng.normal(size=(len(tokens), 4))
    hidden[:, 2] = 0.5 * features["inside quotes"] - 1              # follows the quotes exactly
    hidden[:, 3] = 0.0                                               # never changes
    found = unit_correlations(hidden, features, top=2)
    assert found["inside quotes"][0] == (2, pytest.approx(1.0))
    assert all(unit != 3 for units in found.values() for unit, _ in units)
    quiet = unit_correlations(hidden[:10], text_features(list("plain text")))
    assert quiet["inside quotes"] == [] and quiet["inside brackets"] == []


def test_explain_command_table_and_errors(tmp_path, capsys):
    path = str(tmp_path / "m.safetensors")
    save_model(model_of("walkthrough"), path)
    assert main(["explain", "--model", path, "w1 zz w2"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split("\t")[2] == "w1 zz w2"
    assert [line.split()[0] for line in lines[3:6]] == ["w1", "zz?", "w2"]
    assert "zz" in captured.err and "<unk>" in captured.err
    lm, text = char_model()
    lm_path = str(tmp_path / "lm.safetensors")
    save_model(lm, lm_path)
    for argv, message in [(["explain", "--model", path], "give the TEXT"),
                          (["explain", "--model", path, "x", "--html", str(tmp_path / "o.html")], "classifier"),
                          (["explain", "--model", lm_path, "some text"], "language model"),
                          (["explain", "--model", lm_path], "--text FILE"),
                          (["explain", "--model", path, " \t "], "no words"),
                          (["explain", "--model", str(tmp_path / "none"), "x"], "no such model file")]:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "o.html").exists()


def test_explain_a_language_model_on_a_text_file(tmp_path, capsys):
    lm, text = char_model()
    lm_path, text_path = str(tmp_path / "lm.safetensors"), tmp_path / "t.txt"
    save_model(lm, lm_path)
    text_path.write_text(text * 3)
    assert main(["explain", "--model", lm_path, "--text", str(text_path), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    reading = read_text(lm, text * 3)
    assert record["tokens"] == len(text) * 3
    assert record["mean_surprisal"] == pytest.approx(reading.surprisal[1:].mean())   # each from its text
    assert set(record["units"]) == {"inside quotes", "line break", "inside brackets", "position in line"}
    assert main(["explain", "--model", lm_path, "--text", str(text_path), "--max-chars", "10"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("10 characters") and "first 10 characters" in captured.err
    text_path.write_bytes(b"\xff\xfe bad")
    assert main(["explain", "--model", lm_path, "--text", str(text_path)]) == 2
    assert "not valid utf-8" in capsys.readouterr().err
