"""A language model's reading of a text as one self-contained HTML page (web/reading.html):
every character coloured by its surprisal, or by one hidden unit's activation, and the
units that follow quotes, line breaks and brackets. Nothing is loaded from elsewhere: the
data (activations as 8-bit codes, one scale per unit) and the script are in the page."""
import base64
import json

import numpy as np

from .files import atomic_write_bytes
from .vocab import CHARS
from .web import asset


def reading_page(reading, description, correlations, tokenizer=CHARS):
    """The HTML text of the page for an explain.TextReading; description names the model;
    correlations: explain.unit_correlations of the reading ({} for none)."""
    hidden = np.asarray(reading.hidden, dtype=np.float64)
    scales = np.abs(hidden).max(axis=0)
    scales[scales == 0] = 1.0
    codes = np.round(hidden / scales * 127).astype(np.int8)                  # (N, H), row per token
    data = {"model": description, "tokens": reading.tokens, "known": reading.known,
            "unit_name": tokenizer.unit, "separator": tokenizer.separator,
            "surprisal": [round(float(s), 4) for s in reading.surprisal],
            "mean_surprisal": reading.mean_surprisal, "units": int(hidden.shape[1]),
            "scales": [round(float(s), 6) for s in scales],
            "activations": base64.b64encode(codes.tobytes()).decode("ascii"),
            "correlations": {name: [[unit, round(r, 4)] for unit, r in units]
                             for name, units in correlations.items()}}
    embedded = json.dumps(data, ensure_ascii=True)
    for char in "<>&":                                    # inert inside <script>, whatever the text
        embedded = embedded.replace(char, f"\\u{ord(char):04x}")
    return asset("reading.html").replace("__READING__", embedded)


def write_reading_page(path, reading, description, correlations, tokenizer=CHARS):
    atomic_write_bytes(path, reading_page(reading, description, correlations, tokenizer).encode("utf-8"))
