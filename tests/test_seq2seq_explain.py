"""Seeing inside a translation model: explain's attention matrix (text, JSON, PNG) and the
playground's POST /api/translate, both held to decoding.translate."""
import json

import numpy as np
import pytest
from starlette.testclient import TestClient

from tinyrnn.cli import main
from tinyrnn.decoding import translate
from tinyrnn.explain import explain_translation
from tinyrnn.io import save_model
from tinyrnn.seq2seq import Seq2Seq
from tinyrnn.server import Limits, create_app
from tinyrnn.vocab import EOS_ID, SPECIALS, TARGET_SPECIALS, UNK_ID

from test_plots import png_size

SHORT, LONG = "cab 3 ab", "ab 12 c"     # seed 8: greedy "zz" (ends); greedy runs to the limit, beam 3 ends
HOSTS = {"testserver"}


def tiny_seq2seq(attention="general", seed=8):
    """Characters "abc 123" -> "xyz-", a GRU of 8 units with random weights (no <unk> output)."""
    model = Seq2Seq([*SPECIALS, *sorted(set("abc 123"))], [*TARGET_SPECIALS, *"xyz-"], 8, "gru",
                    attention=attention, embed_size=4, tokenizer="chars")
    rng = np.random.default_rng(seed)
    for array in model.params.values():
        array[...] = rng.normal(0, 1.0, array.shape)
    model.params["fc.bias"][UNK_ID] -= 5
    model.params["fc.bias"][EOS_ID] += 1
    return model


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seq2seq")
    paths = {}
    for attention in ("general", "none"):
        paths[attention] = str(folder / f"{attention}.safetensors")
        save_model(tiny_seq2seq(attention), paths[attention])
    return paths


@pytest.mark.parametrize("text, beam", [(SHORT, 1), (LONG, 1), (LONG, 3)])
def test_the_matrix_is_the_attention_of_translate(text, beam):
    model = tiny_seq2seq()
    explanation = explain_translation(model, text, beam)
    (expected,), _ = translate(model, [text], beam)
    assert explanation.translation.text == expected.text
    np.testing.assert_array_equal(explanation.attention, expected.attention)
    np.testing.assert_allclose(explanation.attention.sum(axis=1), 1.0, atol=1e-12)
    assert explanation.source_tokens == list(text)
    rows = list(expected.text) + (["<eos>"] if expected.finished else [])
    assert explanation.output_tokens == rows and explanation.attention.shape == (len(rows), len(text))
    assert explanation.most_attended.tolist() == expected.attention.argmax(axis=1).tolist()
    assert expected.finished == (text == SHORT or beam == 3)          # both ends are covered


def test_empty_and_overlong_texts_are_refused():
    model = tiny_seq2seq()
    with pytest.raises(ValueError, match="no characters to translate"):
        explain_translation(model, "")
    with pytest.raises(ValueError, match="21 characters; translating reads at most 20"):
        explain_translation(model, "a" * 21, max_tokens=20)


def test_explain_json_text_and_png(files, tmp_path, capsys):
    model, path = tiny_seq2seq(), files["general"]
    assert main(["explain", "--model", path, "--json", SHORT + "q"]) == 0
    captured = capsys.readouterr()
    record = json.loads(captured.out)
    (expected,), _ = translate(model, [SHORT + "q"])
    assert record["text"] == SHORT + "q" and record["translation"] == expected.text
    assert record["source_tokens"] == list(SHORT + "q") and record["known"] == [True] * len(SHORT) + [False]
    assert record["output_tokens"] == [*expected.text, "<eos>"] and record["finished"] is True
    matrix = np.array(record["attention"])
    np.testing.assert_allclose(matrix, expected.attention, atol=1e-6)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-5)
    assert record["score"] == pytest.approx(expected.score) and "'q'" in captured.err

    assert main(["explain", "--model", path, LONG]) == 0
    lines = capsys.readouterr().out.splitlines()
    (greedy,), _ = translate(model, [LONG])
    assert lines[0].split("\t") == [greedy.text, f"{greedy.normalized_score:.3f}", LONG]
    assert lines[2][8:].startswith(LONG + "   most attended")           # the source across
    rows = lines[3:3 + len(greedy.ids)]
    assert [row[0] for row in rows] == list(greedy.text)                 # no <eos>: it ran to the limit
    for row, weights in zip(rows, greedy.attention):
        top = int(weights.argmax())
        assert row.endswith(f"{LONG[top]!r} {weights[top]:.2f}")
        assert row[8 + top] == " .:-=+*#%@"[min(int(weights[top] * 10), 9)]   # the shade in its column
    assert "without <eos>" in lines[-1]

    png = tmp_path / "attention.png"
    assert main(["explain", "--model", path, SHORT, "--png", str(png)]) == 0
    assert png_size(png) == (1000, 750)
    assert main(["explain", "--model", path, SHORT, "--png", str(png)]) == 0    # its own PNG: replaced
    foreign = tmp_path / "photo.png"
    foreign.write_bytes(b"not tinyrnn's")
    assert main(["explain", "--model", path, SHORT, "--png", str(foreign)]) == 2
    assert foreign.read_bytes() == b"not tinyrnn's"


def test_a_model_without_attention_still_translates(files, capsys):
    path = files["none"]
    (expected,), _ = translate(tiny_seq2seq("none"), [SHORT])
    assert main(["explain", "--model", path, SHORT]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t")[0] == expected.text and len(lines) == 2 and "no attention" in lines[1]
    assert main(["explain", "--model", path, "--json", SHORT]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["attention"] is None and record["translation"] == expected.text


def test_explain_refuses_what_a_translation_model_cannot_do(files, tmp_path, capsys):
    path, text_file = files["general"], tmp_path / "t.txt"
    text_file.write_text("ab")
    for argv, message in [(["--model", path], "give the TEXT to translate"),
                          (["--model", path, "--text", str(text_file)], "translation model"),
                          (["--model", path, ""], "no characters to translate"),
                          (["--model", files["none"], "ab", "--png", str(tmp_path / "o.png")], "no attention")]:
        assert main(["explain", *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "o.png").exists()


# ---- the playground's API --------------------------------------------------------------------

@pytest.fixture(scope="module")
def client():
    limits = Limits(max_body_bytes=2000, max_text_chars=300, max_source_tokens=50, max_beam=4)
    return TestClient(create_app(tiny_seq2seq(), "t.safetensors", HOSTS, limits))


@pytest.mark.parametrize("beam", [1, 3])
def test_translate_endpoint_answers_what_translate_computes(client, beam):
    answer = client.post("/api/translate", json={"text": LONG, "beam": beam})
    assert answer.status_code == 200
    body = answer.json()
    (expected,), _ = translate(tiny_seq2seq(), [LONG], beam)
    assert body == {"text": LONG, "beam": beam, **json.loads(json.dumps(
        explain_translation(tiny_seq2seq(), LONG, beam).to_json()))}
    assert body["translation"] == expected.text and body["source_tokens"] == list(LONG)
    np.testing.assert_allclose(body["attention"], expected.attention, atol=1e-6)


def test_translate_endpoint_stops_at_max_length(client):
    (greedy,), _ = translate(tiny_seq2seq(), [LONG])
    body = client.post("/api/translate", json={"text": LONG, "max_length": 3}).json()
    assert body["output_tokens"] == list(greedy.text[:3]) and body["finished"] is False
    assert len(body["attention"]) == 3


@pytest.mark.parametrize("body, message", [
    ({"text": ""}, "no characters to translate"),
    ({"beam": 2}, "'text' must be a string (it is required)"),
    ({"text": "a" * 301}, "the limit is 300"),
    ({"text": "a" * 51}, "51 characters; translating reads at most 50"),
    ({"text": "ab", "beam": 0}, "'beam' must be an integer from 1 to 4"),
    ({"text": "ab", "beam": 5}, "'beam' must be an integer from 1 to 4"),
    ({"text": "ab", "beam": "2"}, "'beam' must be an integer"),
    ({"text": "ab", "beam": True}, "'beam' must be an integer"),
    ({"text": "ab", "max_length": 0}, "'max_length' must be an integer from 1 to 110 or null"),
    ({"text": "ab", "max_length": 111}, "'max_length' must be an integer from 1 to 110 or null"),
])
def test_bad_translation_requests_get_422(client, body, message):
    answer = client.post("/api/translate", json=body)
    assert answer.status_code == 422 and message in answer.json()["error"]


def test_the_index_leads_to_the_translation_page_and_other_endpoints_say_where_to_go(client):
    index = client.get("/", follow_redirects=False)
    assert index.status_code == 303 and index.headers["location"] == "/translate"
    page = client.get("/")
    assert page.status_code == 200 and 'id="attention"' in page.text and "translate.js" in page.text
    assert client.get("/static/translate.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/api/info").json()["task"] == "seq2seq"
    for endpoint in ("/api/explain", "/api/generate"):
        answer = client.post(endpoint, json={"text": "ab"})
        assert answer.status_code == 404 and "POST /api/translate" in answer.json()["error"]
