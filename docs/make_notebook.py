"""Write docs/tutorial.ipynb from docs/tutorial.md: its prose as markdown cells, each ```python
block as a code cell, in order, without outputs. Run it after editing the tutorial:

    python docs/make_notebook.py

(tests/test_docs.py checks that the notebook matches the page, and runs the notebook.)
"""
import json
import pathlib
import re

HERE = pathlib.Path(__file__).parent
FENCE = re.compile(r"```python\n(.*?)```\n?", re.S)


def cells(markdown):
    """[(kind, source)] of the page: "markdown" for the prose between code blocks, "code" for each block."""
    found, position = [], 0
    for block in FENCE.finditer(markdown):
        prose = markdown[position:block.start()].strip("\n")
        if prose:
            found.append(("markdown", prose))
        found.append(("code", block.group(1).rstrip("\n")))
        position = block.end()
    if markdown[position:].strip():
        found.append(("markdown", markdown[position:].strip("\n")))
    return found


def notebook(markdown):
    """The notebook (nbformat 4, as a dict) of the page."""
    def cell(kind, source, number):
        lines = source.splitlines(keepends=True)
        base = {"cell_type": kind, "id": f"cell-{number}", "metadata": {}, "source": lines}
        return {**base, "execution_count": None, "outputs": []} if kind == "code" else base
    return {"cells": [cell(kind, source, i) for i, (kind, source) in enumerate(cells(markdown))],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def main():
    text = (HERE / "tutorial.md").read_text(encoding="utf-8").replace(
        "The same cells are a Jupyter notebook: [tutorial.ipynb](tutorial.ipynb).",
        "The same cells are a page: [tutorial.md](tutorial.md).")
    (HERE / "tutorial.ipynb").write_text(json.dumps(notebook(text), indent=1, ensure_ascii=False) + "\n",
                                         encoding="utf-8")


if __name__ == "__main__":
    main()
