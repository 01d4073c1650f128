"""The tutorial's code runs as written and prints what the page says."""
import contextlib
import io
import pathlib
import re

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
