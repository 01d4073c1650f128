"""Pictures: training curves from a JSON log, and a classifier's explanation of a text.

matplotlib is the optional `plot` extra, imported only here and only when drawing
(require_matplotlib says clearly when it is missing). Files are PNG, written atomically,
with "Software: tinyrnn" in their metadata, so that a later run may replace them.
"""
import io
import logging
import math
import os

from .errors import TinyRNNError
from .files import atomic_write_bytes
from .text_output import printable

SOFTWARE = "tinyrnn"
DPI = 100


def require_matplotlib():
    """matplotlib.pyplot on the non-interactive Agg backend, or a TinyRNNError saying how to get it."""
    os.environ["MPLBACKEND"] = "Agg"                # (a backend named there that cannot load: a traceback)
    logging.getLogger("matplotlib").setLevel(logging.ERROR)   # its set-up warnings (an unwritable
    try:                                                      # MPLCONFIGDIR) are not about the work
        import matplotlib
        matplotlib.rcdefaults()                     # tinyrnn's pictures, whatever a matplotlibrc says
        matplotlib.use("Agg")                       # (text.usetex without LaTeX: a traceback)
        import matplotlib.pyplot as pyplot
    except ImportError:
        raise TinyRNNError("plotting needs matplotlib: python -m pip install matplotlib (or the plot "
                           "extra, '.[plot]' in a checkout of tinyrnn)") from None
    return pyplot


def save_png(figure, path):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": SOFTWARE})
    require_matplotlib().close(figure)
    atomic_write_bytes(path, buffer.getvalue())


def log_kind(records):
    """'folds', 'lm', 'classify' or 'seq2seq': what a JSON log (a list of records) describes;
    None if unknown."""
    if any("fold" in record for record in records):
        return "folds"
    if records and all("step" in record for record in records):
        return "lm"
    if records and all("epoch" in record and "train_accuracy" in record for record in records):
        return "classify"
    if records and all("epoch" in record and "train_token_accuracy" in record for record in records):
        return "seq2seq"
    if records and all("epoch" in record and "train_loss" in record for record in records):
        return "regress"
    return None


NOTHING_TO_PLOT = "no classifier epochs, regression or translation epochs, language-model steps or folds to plot"


def training_plot(records, path, title=None, unit="character"):
    """Draw a JSON log's curves into path (PNG, 1000 x 450 pixels): loss and accuracy per epoch
    for a classifier (train, validation, test; the best validation epoch marked), loss and exact
    match / BLEU per epoch for a translator (the same), bits per character (or word) per step
    for a language model, each fold's accuracy for --folds."""
    pyplot = require_matplotlib()
    kind = log_kind(records)
    if kind is None:
        raise TinyRNNError(NOTHING_TO_PLOT)
    figure = pyplot.figure(figsize=(10, 4.5), layout="constrained")
    if kind == "lm":
        drawn = _lm_curves(figure, records, unit)
    else:
        drawn = {"classify": _classifier_curves, "seq2seq": _translation_curves,
                 "folds": _fold_bars, "regress": _regression_curves}[kind](figure, records)
    if not drawn:
        pyplot.close(figure)
        raise TinyRNNError("no numbers to plot (losses, accuracies, steps and epochs must be finite "
                           "numbers)")
    if title:
        figure.suptitle(printable(title))        # (a file name may hold any bytes)
    save_png(figure, path)


def _legend(axes):
    if axes.get_legend_handles_labels()[0]:
        axes.legend()


def _plain_number(value):
    """A real number fit for an axis (not a bool, a string, NaN, infinite or astronomical)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 1e12


def _series(records, x_key, y_key, scale=1.0):
    points = [(record[x_key], record[y_key] * scale) for record in records
              if _plain_number(record.get(x_key)) and _plain_number(record.get(y_key))]
    return [x for x, _ in points], [y for _, y in points]


_STYLES = {"train": "-", "valid": "--", "val": "--", "test": ":"}


def _epoch_curve(axes, records, key, label, **style):
    """Plot records' key per epoch (if any); returns the number of points drawn."""
    xs, ys = _series(records, "epoch", key)
    if xs:
        axes.plot(xs, ys, _STYLES[key.split("_")[0]], marker="o" if len(xs) < 30 else None, markersize=3,
                  label=label, **style)
    return len(xs)


def _mark_best(records, *axes_list):
    """The kept epoch as a vertical line on each axes, where the run saved the best validation's
    weights (train --keep-best: its records say "weights_saved": "best"); epochs as whole numbers."""
    from matplotlib.ticker import MaxNLocator

    best = [record["epoch"] for record in records if record.get("best") is True
            and record.get("weights_saved") == "best" and _plain_number(record.get("epoch"))]
    for axes in axes_list:
        if best:
            axes.axvline(best[-1], color="grey", linewidth=0.8, linestyle="-.", label=f"best: epoch {best[-1]}")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)


def _classifier_curves(figure, records):
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    drawn = 0
    for split in ("train", "valid", "test"):
        for axes, metric in ((loss_axes, "loss"), (accuracy_axes, "accuracy")):
            drawn += _epoch_curve(axes, records, f"{split}_{metric}", {"valid": "validation"}.get(split, split))
    _mark_best(records, loss_axes, accuracy_axes)
    for axes, name in ((loss_axes, "loss (nats)"), (accuracy_axes, "accuracy")):
        axes.set_ylabel(name)
        _legend(axes)
    accuracy_axes.set_ylim(-0.02, 1.02)
    return drawn


def _translation_curves(figure, records):
    """A seq2seq log (train_seq2seq's records): loss per target token (train, validation, test)
    on the left; exact match (0-1) and, on its own axis, BLEU (0-100) on the right."""
    loss_axes, match_axes = figure.subplots(1, 2)
    drawn = sum(_epoch_curve(loss_axes, records, f"{split}_loss", name)
                for split, name in (("train", "train"), ("val", "validation"), ("test", "test")))
    match_axes.set_ylim(-0.02, 1.02)
    bleu_axes = match_axes.twinx()
    bleu_axes.set_ylim(-2, 102)
    for split, name in (("val", "validation"), ("test", "test")):
        drawn += _epoch_curve(match_axes, records, f"{split}_exact_match", f"{name} exact match", color="tab:blue")
        drawn += _epoch_curve(bleu_axes, records, f"{split}_bleu", f"{name} BLEU", color="tab:orange")
    _mark_best(records, loss_axes, match_axes)
    loss_axes.set_ylabel("loss per target token (nats)")
    match_axes.set_ylabel("exact match", color="tab:blue")
    bleu_axes.set_ylabel("BLEU", color="tab:orange")
    _legend(loss_axes)
    handles, labels = match_axes.get_legend_handles_labels()
    more_handles, more_labels = bleu_axes.get_legend_handles_labels()
    if handles or more_handles:
        match_axes.legend(handles + more_handles, labels + more_labels)
    return drawn


def _regression_curves(figure, records):
    """Loss per epoch (train, validation, test) beside RMSE (or sMAPE, for forecasts)."""
    loss_axes, figure_axes = figure.subplots(1, 2)
    drawn = [_epoch_curve(loss_axes, records, f"{part}_loss", part) for part in ("train", "valid", "test")]
    key = "smape" if any("test_smape" in record for record in records) else "rmse"
    drawn += [_epoch_curve(figure_axes, records, f"{part}_{key}", part) for part in ("valid", "test")]
    loss_axes.set_ylabel("loss (standardised)")
    figure_axes.set_ylabel("sMAPE (%)" if key == "smape" else "RMSE")
    _mark_best(records, loss_axes, figure_axes)
    for axes in (loss_axes, figure_axes):
        _legend(axes)
    return any(drawn)


def _lm_curves(figure, records, unit):
    axes = figure.subplots()
    marker = "o" if len(records) < 30 else None
    xs, ys = _series(records, "step", "train_loss", 1 / math.log(2))
    axes.plot(xs, ys, marker=marker, markersize=4, label="train")
    xs, ys = _series(records, "step", "val_bits_per_char")
    if xs:
        axes.plot(xs, ys, "--", marker=marker, markersize=4, label="validation")
        low = min(range(len(ys)), key=ys.__getitem__)
        axes.annotate(f"lowest {ys[low]:.3f}", (xs[low], ys[low]), textcoords="offset points", xytext=(0, 8),
                      ha="center")
    axes.margins(x=0.05, y=0.15)
    axes.set_xlabel("step")
    axes.set_ylabel(f"bits per {unit}")
    axes.grid(alpha=0.3)
    _legend(axes)
    return len(xs) + len(_series(records, "step", "train_loss")[0])


def _fold_bars(figure, records):
    axes = figure.subplots()
    numbers, accuracies = _series(records, "fold", "test_accuracy")
    if not numbers:
        return 0
    axes.bar(numbers, accuracies, color="tab:blue")
    mean = sum(accuracies) / len(accuracies)
    axes.axhline(mean, color="tab:red", label=f"mean {mean:.3f}")
    axes.set_xticks(numbers)
    axes.set_xlabel("fold")
    axes.set_ylabel("test accuracy")
    axes.set_ylim(0, 1)
    _legend(axes)
    return len(numbers)


def explanation_plot(explanation, path):
    """A classifier's reading of one text (explain.TextExplanation) into path (PNG, 1000 x 750
    pixels): the class probabilities after each word above a heatmap of the top layer's
    hidden units over the words."""
    pyplot = require_matplotlib()
    import numpy as np

    figure = pyplot.figure(figsize=(10, 7.5), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1.6]})
    T = len(explanation.tokens)
    steps = np.arange(T)
    for column, name in enumerate(explanation.classes):
        top.plot(steps, explanation.trajectory[:, column], marker="o", label=name)
    top.set_ylim(-0.02, 1.02)
    top.set_ylabel("probability after the word")
    top.set_title(f"prediction: {explanation.label} ({explanation.probabilities[explanation.predicted]:.3f})")
    top.grid(alpha=0.3)
    top.legend(loc="best")
    hidden = explanation.hidden.T                                           # units x words
    limit = max(float(np.abs(hidden).max()), 1e-12)
    image = bottom.imshow(hidden, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                          interpolation="nearest")
    if explanation.directions == 2:
        bottom.axhline(hidden.shape[0] / 2 - 0.5, color="black", linewidth=1)
    bottom.set_ylabel("hidden unit" + (" (forward | reverse)" if explanation.directions == 2 else ""))
    bottom.set_xticks(steps)
    bottom.set_xticklabels([word if known else f"{word}?" for word, known in
                            zip(explanation.tokens, explanation.known)], rotation=45, ha="right")
    figure.colorbar(image, ax=[top, bottom], location="right", shrink=0.6, label="h_t")
    save_png(figure, path)
