"""The tutorial's code runs as written and prints what the page says."""
import contextlib
import io
import pathlib
import re

import pytest

TUTORIAL = pathlib.Path(__file__).parent.parent / "docs" / "tutorial.md"


def test_tutorial_snippets_run_in_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", TUTORIAL.read_text(), re.S)
    assert len(blocks) >= 6
    namespace, output = {}, io.StringIO()
    with contextlib.redirect_stdout(output):
        for block in blocks:
            exec(compile(block, str(TUTORIAL), "exec"), namespace)
    printed = output.getvalue()
    assert "23 unique words found" in printed
    assert "(1, 2) (1, 1, 64)" in printed
    assert "1000 0.001 1.0" in printed
    assert printed.rstrip().endswith("True")


def test_model_format_reader_needs_only_safetensors_and_numpy(tmp_path, monkeypatch):
    """The page's reader, run on a saved model, agrees with tinyrnn's own prediction."""
    import numpy as np

    from conftest import small_model
    from tinyrnn.io import save_model
    from tinyrnn.vocab import Vocab

    monkeypatch.chdir(tmp_path)
    model = small_model(words=4, classes=2)
    model.vocab = Vocab(["<pad>", "<unk>", "i", "am", "not", "happy"])   # words of the page's sentence
    save_model(model, "model.safetensors")
    page = (TUTORIAL.parent / "model-format.md").read_text()
    code = re.findall(r"```python\n(.*?)```", page, re.S)[0]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, "model-format.md", "exec"), {})
    ids, _ = model.vocab.encode("i am not at all happy".split())
    expected = model.classes[int(np.argmax(model.predict_proba([ids])[0]))]
    assert output.getvalue().strip() == expected


def test_model_format_pytorch_loader_runs_a_gated_model(tmp_path, monkeypatch):
    """The page's PyTorch snippet loads a stacked bidirectional LSTM file; same logits."""
    torch = pytest.importorskip("torch")
    import numpy as np

    from tinyrnn.gradcheck import random_classifier
    from tinyrnn.io import save_model

    monkeypatch.chdir(tmp_path)
    model = random_classifier(np.random.default_rng(0), 5, 3, 2, cell="lstm", num_layers=2,
                              bidirectional=True, embed_size=4)
    save_model(model, "lstm.safetensors")
    page = (TUTORIAL.parent / "model-format.md").read_text()
    code = re.findall(r"```python\n(.*?)```", page, re.S)[1]
    namespace = {}
    exec(compile(code, "model-format.md", "exec"), namespace)
    net, ids = namespace["net"], np.array([[2, 3, 4, 6]])
    with torch.no_grad():
        _, (h_n, _) = net["rnn"](net["embedding"](torch.from_numpy(ids)))
        logits = net["fc"](torch.cat([h_n[-2], h_n[-1]], dim=1)).numpy()
    np.testing.assert_allclose(logits, model.forward(ids, None)[0], rtol=0, atol=1e-12)


def test_readme_library_snippet_runs(capsys):
    """The README's library example runs: a two-layer bidirectional LSTM's loss, predictions
    and initial-state gradient of shape (layers * directions, batch, 2H)."""
    readme = (TUTORIAL.parent.parent / "README.md").read_text()
    code = re.findall(r"## Using the library\n\n```python\n(.*?)```", readme, re.S)[0]
    exec(compile(code, "README.md", "exec"), {})
    loss, rest = capsys.readouterr().out.split(" ", 1)
    assert 0 < float(loss) < 5 and rest.strip().endswith("(4, 2, 64)")


def test_every_test_named_in_the_reliability_document_exists():
    tests = pathlib.Path(__file__).parent
    text = (tests.parent / "docs" / "reliability.md").read_text()
    named = re.findall(r"`(test_\w+\.py)(?:::(test_\w+))?`", text)
    assert len(named) > 30
    for module, test in named:
        source = (tests / module).read_text()
        assert not test or f"def {test}(" in source, f"{module}::{test} is named but does not exist"
