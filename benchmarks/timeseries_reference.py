"""Numeric sequences in plain PyTorch: the reference for tinyrnn's series classification and forecasting.

Data: the UEA/UCR archive files that ship inside aeon's wheel (aeon 1.6.0):
<DATA>/<Name>/<Name>_TRAIN.ts and <Name>_TEST.ts, read with tinyrnn's own reader
(tinyrnn.data.series.read_ts: one (T_i, F) float64 array and one label string per series),
and <DATA>/Airline/Airline.csv (Date,Passengers; 144 months, 1949-01 .. 1960-12). <DATA> is
--data, or else aeon's installed data folder, found without importing aeon.

`classify` (classify_dataset), the official train/test split of each dataset:
    x_t = (raw_t - mean) / std          per channel; mean and std over every time step of
                                        every series of the official training set
    h_fwd, h_bwd = BiGRU(x)             one bidirectional GRU layer, 64 units each way; the
                                        final state of each direction (packed sequences:
                                        the forward one after each series' own last step)
    logits = W [h_fwd; h_bwd] + b       Linear(128, classes), cross-entropy
Adam lr 1e-3, batches of 16 (each epoch shuffled), PyTorch's default initialisation,
float32. Validation: a stratified 20 % of the training set (tinyrnn.data.split.
stratified_split, seeded), never trained on. The best epoch is the one with the highest
validation accuracy, ties broken by the lower validation loss; training stops after 20
epochs without a better one or after 300 epochs, and the test accuracy is that of the best
epoch's weights. Batches are padded to their longest series and packed
(pack_padded_sequence), so unequal lengths (JapaneseVowels: 7 to 29 steps) cost nothing
and change nothing. A seed sets the validation split, the batch order and the weights.

`forecast` (forecast_airline): Airline passengers, the last 24 months held out as test,
the first 120 the training part.
    (a) seasonal naive: the last 12 training months repeated twice.
    (b) GRU-64 direct forecaster: a window of the 24 past months -> GRU(1 -> 64) -> the
        last state -> Linear(64, 24): all 24 future months at once. Each window is
        normalised by its own mean and std (inputs and targets alike: (v - mean) / std with
        the input window's statistics), undone on the output. Loss: mean squared error of
        the normalised targets. Windows of 24 + 24 months slide one month at a time over the
        training part: 73 windows, in time order; the last 12 (the forecast origins of the
        training part's last year) are the validation set, the 61 before them train
        (shuffled, batches of 16). Adam lr 1e-3, up to 500 epochs, the weights of the epoch
        with the lowest validation loss, stopping after 50 epochs without a better one.
        The test forecast starts from the training part's last 24 months.
    Why 24 past months, not 36: the training part has only 120 months; a 24-month input
    leaves 73 windows (36: 61, and 49 training windows after validation), and two whole
    years already show the seasonal shape and the level and trend that the per-window
    normalisation takes out. Whole years also keep the window mean free of the season.
    The validation windows' targets overlap the training windows' (months 85 to 108):
    validation then measures the fit to new forecast origins, not to unseen months; the
    24 test months are never seen.
Metrics on the 24 test months (smape, mase, mae): sMAPE = mean 200 |y - f| / (|y| + |f|)
(%), MASE = MAE / mean |y_t - y_{t-12}| over the 120 training months, MAE in thousands of
passengers.

Means +- standard deviations are over seeds (sample std, ddof 1). One thread
(torch.set_num_threads(1), set OMP_NUM_THREADS=1 too), float32.

    OMP_NUM_THREADS=1 python benchmarks/timeseries_reference.py classify [--data DIR] \
        [--datasets JapaneseVowels BasicMotions GunPoint ItalyPowerDemand] [--seeds 0 1 2] [--json OUT]
    OMP_NUM_THREADS=1 python benchmarks/timeseries_reference.py forecast [--data DIR] [--seeds 0 1 2] [--json OUT]
    OMP_NUM_THREADS=1 python benchmarks/timeseries_reference.py all ...      (both)

Each prints a line per seed and then a table; --json OUT writes the results and the machine.
"""
import argparse
import csv
import importlib.util
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from seq2seq_reference import cpu_name  # noqa: E402

DATASETS = ("JapaneseVowels", "BasicMotions", "GunPoint", "ItalyPowerDemand")
HIDDEN = 64
SEASON = 12                       # months
HORIZON = 24                      # test months, forecast all at once
WINDOW = 24                       # past months the forecaster reads
FORECAST_VALID_WINDOWS = 12       # the last windows of the training part
NO_DATA = "install aeon==1.6.0 for its datasets or give --data DIR"


# ---------------------------------------------------------------- data

def aeon_data_dir():
    """aeon's installed datasets/data folder (without importing aeon), or None."""
    try:
        spec = importlib.util.find_spec("aeon")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent / "datasets" / "data"
    return folder if folder.is_dir() else None


def data_dir(given=None):
    """The folder holding <Name>/ subfolders: `given`, or aeon's; SystemExit with one line if neither exists."""
    folder = Path(given) if given else aeon_data_dir()
    if folder is None or not folder.is_dir():
        where = f"{given}: no such folder; " if given else "aeon is not installed: "
        raise SystemExit(f"error: {where}{NO_DATA}")
    return folder


def load_split(folder, name):
    """(train, test) NumericSets of <folder>/<name>/<name>_TRAIN.ts and _TEST.ts."""
    from tinyrnn.data.series import read_ts
    from tinyrnn.errors import DataError
    paths = [Path(folder) / name / f"{name}_{part}.ts" for part in ("TRAIN", "TEST")]
    for path in paths:
        if not path.is_file():
            raise SystemExit(f"error: {path}: not found; {NO_DATA}")
    try:
        return read_ts(paths[0], task="classify"), read_ts(paths[1], task="classify")
    except DataError as error:
        raise SystemExit(f"error: {error}") from None


def read_airline(folder):
    """Monthly passengers (thousands) of <folder>/Airline/Airline.csv, float64, in file order."""
    path = Path(folder) / "Airline" / "Airline.csv"
    if not path.is_file():
        raise SystemExit(f"error: {path}: not found; {NO_DATA}")
    with open(path, newline="") as file:
        return np.array([float(row["Passengers"]) for row in csv.DictReader(file)])


def channel_stats(series):
    """Per-channel mean and std (float64, (F,)) over every time step of every series."""
    steps = np.concatenate([np.asarray(s, dtype=np.float64) for s in series], axis=0)
    std = steps.std(axis=0)
    return steps.mean(axis=0), np.where(std > 0, std, 1.0)


def padded(series, mean, std):
    """Series -> z-normalised float32 (N, T_max, F) padded with zeros, lengths int64 (N,)."""
    lengths = np.array([len(s) for s in series], dtype=np.int64)
    out = np.zeros((len(series), lengths.max(), len(mean)), dtype=np.float32)
    for row, s in enumerate(series):
        out[row, :len(s)] = (np.asarray(s, dtype=np.float64) - mean) / std
    return out, lengths


# ---------------------------------------------------------------- metrics

def smape(actual, forecast):
    """Symmetric MAPE in %: mean 200 |y - f| / (|y| + |f|)."""
    actual, forecast = np.asarray(actual, dtype=np.float64), np.asarray(forecast, dtype=np.float64)
    return float(np.mean(200.0 * np.abs(actual - forecast) / (np.abs(actual) + np.abs(forecast))))


def mae(actual, forecast):
    return float(np.mean(np.abs(np.asarray(actual, dtype=np.float64) - np.asarray(forecast, dtype=np.float64))))


def mase(actual, forecast, history, season=SEASON):
    """MAE scaled by the in-sample mean absolute seasonal difference of `history`."""
    history = np.asarray(history, dtype=np.float64)
    return mae(actual, forecast) / float(np.mean(np.abs(history[season:] - history[:-season])))


def mean_std(values):
    """(mean, sample std with ddof 1; 0 for one value)."""
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


# ---------------------------------------------------------------- PyTorch

def _torch(threads=1):
    try:
        import torch
    except ImportError:
        raise SystemExit("PyTorch is not installed: python -m pip install '.[bench]'") from None
    torch.set_num_threads(threads)
    return torch


def classifier(features, classes, hidden=HIDDEN):
    """BiGRU(features -> hidden each way) -> [final forward; final backward] -> Linear(2 hidden, classes)."""
    torch = _torch()
    nn = torch.nn

    class BiGRUClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(features, hidden, batch_first=True, bidirectional=True)
            self.out = nn.Linear(2 * hidden, classes)

        def forward(self, x, lengths):
            """x (B, T, F) float32 padded, lengths (B,) int64 on the CPU -> logits (B, classes)."""
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            _, h_n = self.gru(packed)                       # (2, B, H): forward, backward
            return self.out(torch.cat([h_n[0], h_n[1]], dim=1))

    return BiGRUClassifier()


def _evaluate(model, x, lengths, y, batch=256):
    """(mean cross-entropy, accuracy) of model on padded x, lengths, integer labels y (numpy)."""
    torch = _torch()
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(y), batch):
            rows = slice(start, start + batch)
            width = int(lengths[rows].max())
            logits = model(torch.from_numpy(x[rows, :width]), torch.from_numpy(lengths[rows]))
            target = torch.from_numpy(y[rows])
            loss += float(torch.nn.functional.cross_entropy(logits, target, reduction="sum"))
            correct += int((logits.argmax(1) == target).sum())
    return loss / len(y), correct / len(y)


def train_classifier(train_x, train_len, train_y, valid_x, valid_len, valid_y, classes, seed=0,
                     epochs=300, patience=20, batch=16, lr=1e-3, hidden=HIDDEN, log=None):
    """Train the BiGRU classifier; keep the weights of the best validation epoch (highest
    accuracy, then lowest loss). Returns (model with those weights, epochs run, best epoch's dict)."""
    torch = _torch()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)                     # batch order
    model = classifier(train_x.shape[2], classes, hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    best, best_state, epoch = None, None, 0
    for epoch in range(1, epochs + 1):
        model.train()
        for rows in np.array_split(rng.permutation(len(train_y)), math.ceil(len(train_y) / batch)):
            width = int(train_len[rows].max())
            logits = model(torch.from_numpy(train_x[rows, :width]), torch.from_numpy(train_len[rows]))
            loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(train_y[rows]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        valid_loss, valid_acc = _evaluate(model, valid_x, valid_len, valid_y)
        record = {"epoch": epoch, "valid_loss": valid_loss, "valid_accuracy": valid_acc}
        if log:
            log(record)
        if best is None or (valid_acc, -valid_loss) > (best["valid_accuracy"], -best["valid_loss"]):
            best, best_state = record, {k: v.clone() for k, v in model.state_dict().items()}
        if epoch - best["epoch"] >= patience:
            break
    model.load_state_dict(best_state)
    return model, epoch, best


def classify_dataset(folder, name, seeds=(0, 1, 2), epochs=300, patience=20, batch=16, log=print):
    """The BiGRU-64 on one dataset's official split, once per seed: a dict with the per-seed results."""
    from tinyrnn.data.split import stratified_split
    train, test = load_split(folder, name)
    classes = sorted(set(train.labels))
    index = {label: i for i, label in enumerate(classes)}
    unknown = sorted(set(test.labels) - set(classes))
    if unknown:
        raise SystemExit(f"error: {name}: test labels {unknown} are not in the training set")
    mean, std = channel_stats(train.series)
    x, lengths = padded(train.series, mean, std)
    test_x, test_len = padded(test.series, mean, std)
    y = np.array([index[label] for label in train.labels], dtype=np.int64)
    test_y = np.array([index[label] for label in test.labels], dtype=np.int64)
    runs = []
    for seed in seeds:
        started = time.perf_counter()
        fit, valid = stratified_split(train.labels, 0.2, np.random.default_rng(seed))
        model, epochs_run, best = train_classifier(x[fit], lengths[fit], y[fit], x[valid], lengths[valid], y[valid],
                                                   len(classes), seed, epochs, patience, batch)
        _, accuracy = _evaluate(model, test_x, test_len, test_y)
        run = {"seed": seed, "test_accuracy": accuracy, "epochs_run": epochs_run, "best_epoch": best["epoch"],
               "valid_accuracy": best["valid_accuracy"], "valid_loss": best["valid_loss"],
               "seconds": time.perf_counter() - started}
        runs.append(run)
        if log:
            log(f"{name} seed {seed}: test accuracy {accuracy:.4f}, best epoch {best['epoch']} of {epochs_run} "
                f"(valid accuracy {best['valid_accuracy']:.3f}, loss {best['valid_loss']:.4f}), "
                f"{run['seconds']:.1f} s")
    return {"dataset": name, "train": len(train.labels), "test": len(test.labels), "classes": len(classes),
            "features": int(x.shape[2]),
            "length": [int(min(lengths.min(), test_len.min())), int(max(lengths.max(), test_len.max()))],
            "fit": len(fit), "valid": len(valid), "runs": runs}


def forecaster(hidden=HIDDEN, horizon=HORIZON):
    """GRU(1 -> hidden) -> last state -> Linear(hidden, horizon)."""
    torch = _torch()
    nn = torch.nn

    class DirectGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(1, hidden, batch_first=True)
            self.out = nn.Linear(hidden, horizon)

        def forward(self, x):
            """x (B, W) normalised past values -> (B, horizon) normalised future values."""
            _, h_n = self.gru(x.unsqueeze(2))
            return self.out(h_n[0])

    return DirectGRU()


def windows(values, window=WINDOW, horizon=HORIZON):
    """Every (past window, following horizon) of values, sliding by one, in time order,
    normalised by each past window's mean and std: float32 inputs (N, window), targets (N, horizon)."""
    count = len(values) - window - horizon + 1
    inputs = np.stack([values[i:i + window] for i in range(count)])
    targets = np.stack([values[i + window:i + window + horizon] for i in range(count)])
    mean, std = inputs.mean(1, keepdims=True), inputs.std(1, keepdims=True)
    return ((inputs - mean) / std).astype(np.float32), ((targets - mean) / std).astype(np.float32)


def gru_forecast(history, seed=0, window=WINDOW, horizon=HORIZON, valid_windows=FORECAST_VALID_WINDOWS,
                 epochs=500, patience=50, batch=16, lr=1e-3, hidden=HIDDEN):
    """Train the direct GRU forecaster on `history` (validation: its last `valid_windows`
    windows; 0: every window trains, for all the epochs, and the last weights are kept, as
    tinyrnn's forecast preset does), then forecast the `horizon` values after it. Returns
    (forecast float64, info)."""
    torch = _torch()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    history = np.asarray(history, dtype=np.float64)
    inputs, targets = windows(history, window, horizon)
    held = valid_windows or len(inputs)                 # no validation: score on the training windows
    fit_x, fit_y = torch.from_numpy(inputs[:len(inputs) - valid_windows]), \
        torch.from_numpy(targets[:len(inputs) - valid_windows])
    valid_x, valid_y = torch.from_numpy(inputs[-held:]), torch.from_numpy(targets[-held:])
    model = forecaster(hidden, horizon)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    best_loss, best_epoch, best_state, epoch = math.inf, 0, None, 0
    for epoch in range(1, epochs + 1):
        model.train()
        for rows in np.array_split(rng.permutation(len(fit_x)), math.ceil(len(fit_x) / batch)):
            rows = torch.from_numpy(rows)
            loss = torch.nn.functional.mse_loss(model(fit_x[rows]), fit_y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            valid_loss = float(torch.nn.functional.mse_loss(model(valid_x), valid_y))
        if valid_loss < best_loss or not valid_windows:
            best_loss, best_epoch, best_state = valid_loss, epoch, {k: v.clone() for k, v in model.state_dict().items()}
        if valid_windows and epoch - best_epoch >= patience:
            break
    model.load_state_dict(best_state)
    model.eval()
    past = history[-window:]
    mean, std = past.mean(), past.std()
    with torch.no_grad():
        normalised = model(torch.from_numpy(((past - mean) / std).astype(np.float32)).unsqueeze(0))[0].numpy()
    info = {"windows_fit": len(fit_x), "windows_valid": len(valid_x), "epochs_run": epoch, "best_epoch": best_epoch,
            "valid_loss": best_loss}
    return normalised.astype(np.float64) * std + mean, info


def seasonal_naive(history, horizon=HORIZON, season=SEASON):
    """The last `season` values of history, repeated over the horizon."""
    history = np.asarray(history, dtype=np.float64)
    return np.resize(history[-season:], horizon)


def forecast_airline(folder, seeds=(0, 1, 2), epochs=500, patience=50, log=print,
                     valid_windows=FORECAST_VALID_WINDOWS):
    """Seasonal naive and the GRU direct forecaster on Airline's last 24 months: a dict of results."""
    values = read_airline(folder)
    history, actual = values[:-HORIZON], values[-HORIZON:]

    def scores(forecast):
        return {"smape": smape(actual, forecast), "mase": mase(actual, forecast, history), "mae": mae(actual, forecast)}

    naive = {"method": "seasonal naive", **scores(seasonal_naive(history))}
    runs = []
    for seed in seeds:
        started = time.perf_counter()
        forecast, info = gru_forecast(history, seed, epochs=epochs, patience=patience, valid_windows=valid_windows)
        run = {"seed": seed, **scores(forecast), **info, "seconds": time.perf_counter() - started}
        runs.append(run)
        if log:
            log(f"Airline GRU-{HIDDEN} seed {seed}: sMAPE {run['smape']:.2f} %, MASE {run['mase']:.3f}, "
                f"MAE {run['mae']:.1f}; best epoch {info['best_epoch']} of {info['epochs_run']}, "
                f"{run['seconds']:.1f} s")
    return {"months": len(values), "train": len(history), "test": HORIZON, "window": WINDOW,
            "seasonal_naive": naive, "gru": {"method": f"GRU-{HIDDEN} direct", "runs": runs}}


# ---------------------------------------------------------------- tables, CLI

def _pm(values, digits):
    mean, std = mean_std(values)
    return f"{mean:.{digits}f} +- {std:.{digits}f}"


def classify_table(results):
    rows = [("dataset", "train/test", "seeds", "test accuracy", "epochs run", "best epoch", "s / seed")]
    for result in results:
        runs = result["runs"]
        rows.append((result["dataset"], f"{result['train']}/{result['test']}", str(len(runs)),
                     _pm([r["test_accuracy"] for r in runs], 3),
                     f"{np.mean([r['epochs_run'] for r in runs]):.0f}",
                     f"{np.mean([r['best_epoch'] for r in runs]):.0f}",
                     f"{np.mean([r['seconds'] for r in runs]):.1f}"))
    return _table(rows)


def forecast_table(result):
    naive, runs = result["seasonal_naive"], result["gru"]["runs"]
    rows = [("method", "seeds", "sMAPE (%)", "MASE", "MAE", "epochs run", "s / seed"),
            (naive["method"], "-", f"{naive['smape']:.2f}", f"{naive['mase']:.3f}", f"{naive['mae']:.1f}", "-", "-"),
            (result["gru"]["method"], str(len(runs)), _pm([r["smape"] for r in runs], 2),
             _pm([r["mase"] for r in runs], 3), _pm([r["mae"] for r in runs], 1),
             f"{np.mean([r['epochs_run'] for r in runs]):.0f}", f"{np.mean([r['seconds'] for r in runs]):.1f}")]
    return _table(rows)


def _table(rows):
    """Rows of strings -> a Markdown table, the first row the header, the first column left-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(row):
        return "| " + " | ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                                 for i, (cell, w) in enumerate(zip(row, widths))) + " |"
    rule = "|" + "|".join((":" if i == 0 else "-") + "-" * w + ("-" if i == 0 else ":")
                          for i, w in enumerate(widths)) + "|"
    return "\n".join([line(rows[0]), rule, *map(line, rows[1:])])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["classify", "forecast", "all"])
    parser.add_argument("--data", help="the folder holding <Name>/ subfolders (default: aeon's datasets/data)")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), metavar="NAME")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--json", metavar="OUT", help="write the results to this JSON file")
    args = parser.parse_args()
    folder = data_dir(args.data)
    torch = _torch()
    machine = {"cpu": cpu_name(), "threads": torch.get_num_threads(), "torch": torch.__version__,
               "numpy": np.__version__, "python": sys.version.split()[0]}
    print(f"data: {folder} ({machine['cpu']}, torch {machine['torch']}, {machine['threads']} thread)", flush=True)
    results = {"command": " ".join(sys.argv), "machine": machine}
    if args.command in ("classify", "all"):
        results["classify"] = [classify_dataset(folder, name, args.seeds, log=lambda m: print(m, flush=True))
                               for name in args.datasets]
        print()
        print(classify_table(results["classify"]))
        print()
    if args.command in ("forecast", "all"):
        results["forecast"] = forecast_airline(folder, args.seeds, log=lambda m: print(m, flush=True))
        print()
        print(forecast_table(results["forecast"]))
        print()
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=1)
            file.write("\n")


if __name__ == "__main__":
    main()
