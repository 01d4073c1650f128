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
    assert "(7, 1, 64)" in printed
    assert "1000 0.001 1.0" in printed
    assert printed.rstrip().endswith("True")
