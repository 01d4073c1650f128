"""The pages in a real headless browser: Debian's chromium driven by Playwright (.ci/run
installs chromium when it is missing)."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from playwright.sync_api import sync_playwright

from tinyrnn.cli import main
from tinyrnn.decoding import translate
from tinyrnn.io import save_model
from tinyrnn.sampling import generate

from test_plots import png_size
from test_report import char_model
from test_seq2seq_explain import LONG, SHORT, tiny_seq2seq
from test_server import classifier, language_model

CHROMIUM = os.environ.get("TINYRNN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"no chromium at {CHROMIUM}: install Debian's chromium (bash .ci/run does) or set "
                    f"TINYRNN_CHROMIUM")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


def serve(path):
    process = subprocess.Popen([sys.executable, "-m", "tinyrnn", "serve", "--model", path, "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line = process.stdout.readline()
    assert "serving" in line, process.stderr.read()
    return process, line.split(" at ")[1].split()[0]


def page_errors(page):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    return errors


def test_typing_a_sentence_shows_the_prediction_of_predict(browser, tmp_path, capsys):
    path = str(tmp_path / "m.safetensors")
    save_model(classifier(), path)
    sentence = "w1 w4 w2 w6"
    assert main(["predict", "--model", path, "--json", sentence]) == 0
    expected = json.loads(capsys.readouterr().out)
    process, url = serve(path)
    try:
        page = browser.new_page(viewport={"width": 900, "height": 1200})
        errors = page_errors(page)
        page.goto(url)
        page.wait_for_function("document.getElementById('model').textContent.includes('classifier')")
        assert page.locator("#results").is_hidden()                         # nothing drawn before typing
        page.type("#text", sentence, delay=15)
        page.wait_for_function("document.querySelectorAll('#words tbody tr').length === 4")
        assert page.inner_text("#label") == expected["label"]
        shown = float(page.inner_text("#probability"))
        assert shown == pytest.approx(expected["probabilities"][expected["label"]], abs=5e-4)
        cells = [row.split("\t")[0] for row in page.inner_text("#words tbody").splitlines()]
        assert cells == sentence.split()
        assert page.locator("#trajectory polyline").count() == 3           # one line per class
        page.screenshot(path=str(tmp_path / "playground.png"), full_page=True)
        assert png_size(tmp_path / "playground.png")[0] == 900
        page.type("#text", " w3", delay=15)                             # another answer, one header
        page.wait_for_function("document.querySelectorAll('#words tbody tr').length === 5")
        assert page.locator("#words thead tr").count() == 1
        page.fill("#text", "")
        page.wait_for_function("document.getElementById('label').textContent === '–'")
        assert errors == []
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_generation_in_the_page_streams_the_seeded_sample(browser, tmp_path):
    model = language_model()
    path = str(tmp_path / "lm.safetensors")
    save_model(model, path)
    process, url = serve(path)
    try:
        page = browser.new_page()
        errors = page_errors(page)
        page.goto(url)
        page.wait_for_function("!document.getElementById('generator').hidden")
        page.fill("#prompt", "ab")
        page.fill("#length", "50")
        page.fill("#seed", "7")
        page.fill("#top-k", "4")
        page.click("#generate")
        page.wait_for_function("document.getElementById('generate').disabled === false && "
                               "document.getElementById('output').textContent.length > 2")
        expected = "ab" + "".join(generate(model, np.random.default_rng(7), 50, "ab", 0.8, 4))
        assert page.evaluate("document.getElementById('output').textContent") == expected
        assert page.evaluate("document.getElementById('gen-status').textContent") == ""
        page.fill("#prompt", "aZ")                           # a character the model never saw: said
        page.click("#generate")
        page.wait_for_function("document.getElementById('gen-status').textContent.includes('<unk>')")
        assert page.evaluate("document.getElementById('gen-status').textContent").endswith(': "Z"')
        assert errors == []
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_typing_into_the_translation_page_draws_the_attention(browser, tmp_path):
    model = tiny_seq2seq()
    path = str(tmp_path / "t.safetensors")
    save_model(model, path)
    (greedy,), _ = translate(model, [SHORT])
    (beamed,), _ = translate(model, [LONG], beam=3)
    process, url = serve(path)
    try:
        page = browser.new_page()
        errors = page_errors(page)
        page.goto(url)                                                  # the index leads to /translate
        page.wait_for_function("document.getElementById('model').textContent.includes('t.safetensors')")
        assert page.url.endswith("/translate") and page.locator("#results").is_hidden()
        page.type("#source", SHORT, delay=15)
        rows = len(greedy.ids) + 1                                      # the output tokens, then <eos>
        page.wait_for_function(f"document.querySelectorAll('#attention tbody tr').length === {rows}")
        assert page.inner_text("#translation") == greedy.text
        assert page.locator("#attention thead th").count() == len(SHORT) + 1
        assert page.locator("#attention tbody td").count() == rows * len(SHORT)
        top = int(greedy.attention[0].argmax())
        cell = page.locator("#attention tbody tr").first.locator("td").nth(top)
        assert cell.get_attribute("title").endswith(f"{greedy.attention[0, top]:.3f}")
        page.select_option("#beam", "3")
        page.fill("#source", LONG)
        page.wait_for_function(f"document.getElementById('translation').textContent === {beamed.text!r}")
        page.wait_for_function(f"document.querySelectorAll('#attention tbody tr').length === {len(beamed.ids) + 1}")
        assert errors == []
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_reading_page_shows_a_chosen_unit(browser, tmp_path, capsys):
    model = char_model()
    model_path, text_path, html = tmp_path / "lm.safetensors", tmp_path / "t.txt", tmp_path / "read.html"
    save_model(model, str(model_path))
    text_path.write_text('He said "stop" (twice)\nthen "go"\n')
    assert main(["explain", "--model", str(model_path), "--text", str(text_path), "--html", str(html)]) == 0
    capsys.readouterr()
    page = browser.new_page()
    errors = page_errors(page)
    page.route("**/*", lambda route: route.abort() if not route.request.url.startswith("file:")
               else route.continue_())                                # nothing may come from elsewhere
    page.goto(f"file://{html}")
    spans = page.locator("#text span")
    assert spans.count() == len(text_path.read_text())
    surprisal_colour = spans.nth(3).evaluate("s => s.style.backgroundColor")
    button = page.locator("button.unit").first
    unit = button.inner_text().split()[1]
    button.click()
    assert page.input_value("#unit") == unit
    assert page.locator("input[value=unit]").is_checked()
    assert spans.nth(3).evaluate("s => s.style.backgroundColor") != surprisal_colour or \
        spans.nth(9).evaluate("s => s.style.backgroundColor") != surprisal_colour
    assert errors == []
