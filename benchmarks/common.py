"""Shared helpers for the benchmark scripts: timing, optional PyTorch, output."""
import json
import os
import statistics
import sys
import time

THREADS = 2


def load_torch():
    """PyTorch set to the same thread count as NumPy, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(THREADS)
    return torch


def best_of(function, repeats=5, number=1):
    """Smallest mean time of `number` calls, over `repeats` rounds (seconds per call)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(number):
            function()
        times.append((time.perf_counter() - started) / number)
    return min(times)


def calls_for(function, seconds):
    """How many calls of function take about `seconds` (after one warm-up call)."""
    function()
    started = time.perf_counter()
    function()
    once = max(time.perf_counter() - started, 1e-7)
    return max(1, int(seconds / once))


def median(values):
    return statistics.median(values) if values else None


def emit(rows, columns, as_json):
    """Print rows (dicts) as JSON lines, or as a table with the given (key, title, format)."""
    if as_json:
        for row in rows:
            print(json.dumps(row))
        return
    widths = [max(len(title), 10, *(len(str(row.get(key, ""))) for row in rows if fmt == "s"))
              for key, title, fmt in columns]
    print("  ".join(title.rjust(w) for (_, title, _), w in zip(columns, widths)))
    for row in rows:
        cells = []
        for (key, _, fmt), width in zip(columns, widths):
            value = row.get(key)
            cells.append(("-" if value is None else format(value, fmt)).rjust(width))
        print("  ".join(cells))


def machine():
    import numpy as np
    return {"python": sys.version.split()[0], "numpy": np.__version__, "cpus": os.cpu_count()}
