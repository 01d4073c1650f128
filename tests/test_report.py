"""The language model's reading page (explain --html): self-contained, and its data right."""
import base64
import json
import re

import numpy as np

from tinyrnn.cli import main
from tinyrnn.explain import read_text
from tinyrnn.io import save_model
from tinyrnn.models import LanguageModel
from tinyrnn.vocab import SPECIALS

TEXT = 'He said "stop" (twice)\nand left </script> [quietly]\n'


def char_model(text=TEXT, cell="lstm", hidden=7):
    model = LanguageModel([*SPECIALS, *sorted(set(text))], hidden, cell, "float64", "chars")
    rng = np.random.default_rng(3)
    for array in model.params.values():
        array[...] = rng.normal(0, 0.5, array.shape)
    return model


def page_data(html):
    found = re.search(r'<script id="reading" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_the_page_is_self_contained_and_carries_the_reading(tmp_path, capsys):
    model = char_model()
    model_path, text_path, page = tmp_path / "lm.safetensors", tmp_path / "t.txt", tmp_path / "page.html"
    save_model(model, str(model_path))
    text_path.write_text(TEXT)
    assert main(["explain", "--model", str(model_path), "--text", str(text_path), "--html", str(page)]) == 0
    html = page.read_text()
    assert not re.search(r"https?:|//[a-z]|<link|@import|\bsrc=|url\(", html, re.I), "must load nothing"
    assert '<meta name="generator" content="tinyrnn">' in html
    data = page_data(html)                                   # "</script>" in the text did not end it
    reading = read_text(model, TEXT)
    assert "".join(data["tokens"]) == TEXT
    np.testing.assert_allclose(data["surprisal"], reading.surprisal, atol=1e-4)
    codes = np.frombuffer(base64.b64decode(data["activations"]), np.int8).reshape(len(TEXT), 7)
    decoded = codes / 127 * np.array(data["scales"])
    np.testing.assert_allclose(decoded, reading.hidden, atol=max(data["scales"]) / 254 + 1e-6)
    assert set(data["correlations"]) == {"inside quotes", "line break", "inside brackets", "position in line"}
    assert all(0 <= unit < 7 and -1 <= r <= 1 for units in data["correlations"].values() for unit, r in units)
    assert "saved" in capsys.readouterr().err
    # A second run may replace its own page, never someone else's.
    assert main(["explain", "--model", str(model_path), "--text", str(text_path), "--html", str(page)]) == 0
    other = tmp_path / "notes.html"
    other.write_text("<html>my notes</html>")
    assert main(["explain", "--model", str(model_path), "--text", str(text_path), "--html", str(other)]) == 2
    assert "not a page written by tinyrnn" in capsys.readouterr().err
    assert other.read_text() == "<html>my notes</html>"
