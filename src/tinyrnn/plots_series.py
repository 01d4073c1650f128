"""Pictures of numbers: a forecast after its history, and a numeric classifier's relevance of
each time step and feature (matplotlib, as plots.py draws: PNG, written atomically)."""
import numpy as np

from .plots import require_matplotlib, save_png
from .text_output import printable


def plot_forecast(path, history, forecast, names, title):
    """The history (T, C) and the forecast (H, C) after it, one panel per series."""
    pyplot = require_matplotlib()
    figure = pyplot.figure(figsize=(10, 3 + 1.5 * len(names)), layout="constrained")
    panels = np.atleast_1d(figure.subplots(len(names), 1, sharex=True))
    T, H = len(history), len(forecast)
    for column, (axes, name) in enumerate(zip(panels, names)):
        axes.plot(np.arange(T), history[:, column], color="tab:blue", label="history")
        axes.plot(np.arange(T - 1, T + H), np.concatenate([history[-1:, column], forecast[:, column]]),
                  color="tab:orange", marker=".", label="forecast")
        axes.axvline(T - 0.5, color="grey", linewidth=0.8, linestyle=":")
        axes.set_ylabel(name)
        axes.grid(alpha=0.3)
        axes.legend(loc="upper left")
    panels[-1].set_xlabel("step")
    figure.suptitle(printable(title))            # (a file name may hold any bytes)
    save_png(figure, path)


def plot_relevance(path, values, relevance, feature_names, title):
    """A numeric sequence (T, F) (standardised) above the relevance of each step and feature
    (T, F): gradient x input of the explained output."""
    pyplot = require_matplotlib()
    figure = pyplot.figure(figsize=(10, 7), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1.2]})
    steps = np.arange(1, len(values) + 1)                  # steps counted from 1, as explain prints them
    for column, name in enumerate(feature_names[:12]):
        top.plot(steps, values[:, column], label=name, linewidth=1)
    top.set_ylabel("standardised value")
    top.grid(alpha=0.3)
    if len(feature_names) <= 12:
        top.legend(loc="upper right", fontsize="small", ncol=min(len(feature_names), 4))
    top.set_title(printable(title))
    limit = max(float(np.abs(relevance).max()), 1e-12)
    image = bottom.imshow(relevance.T, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest",
                          extent=(0.5, len(values) + 0.5, len(feature_names) - 0.5, -0.5))
    bottom.set_yticks(np.arange(len(feature_names)))
    bottom.set_yticklabels(feature_names, fontsize="small")
    bottom.set_xlabel("time step")
    bottom.set_ylabel("feature")
    figure.colorbar(image, ax=[top, bottom], location="right", shrink=0.6, label="gradient x input")
    save_png(figure, path)
