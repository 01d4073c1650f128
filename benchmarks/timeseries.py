"""tinyrnn on numeric sequences, run side by side with the plain PyTorch reference
(benchmarks/timeseries_reference.py) on the same data: the UEA/UCR archive files that ship in
aeon's wheel and the Airline passengers series.

`classify`: for each dataset and seed, `tinyrnn train --train <Name>_TRAIN.ts --test
<Name>_TEST.ts --seed S` with its defaults (the `timeseries` preset: one setting for every
dataset), then `tinyrnn eval` of the saved model on the test file: test accuracy and the
training's wall time. `--torch` also runs the PyTorch BiGRU-64 reference on the same files.

`forecast`: `tinyrnn train --task forecast --series Airline.csv --holdout 24 --season 12 --seed S`
(the `forecast` preset), then `tinyrnn eval` on the 24 held-out months: sMAPE, MASE, MAE;
seasonal naive beside it. `--torch` also runs the reference's GRU-64 direct forecaster.

    python benchmarks/timeseries.py classify [--data DIR] [--seeds 0 1 2] [--torch]
    python benchmarks/timeseries.py forecast [--data DIR] [--seeds 0 1 2] [--torch]

DIR holds <Name>/ folders (default: aeon's installed datasets/data; `pip install aeon==1.6.0`).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from timeseries_reference import (DATASETS, classify_dataset, cpu_name, data_dir, forecast_airline,  # noqa: E402
                                  mean_std, read_airline, seasonal_naive, smape)


def tinyrnn(*argv):
    """Run the tinyrnn command line; returns (stdout, wall seconds)."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "tinyrnn", *map(str, argv)], capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"tinyrnn {' '.join(map(str, argv))} failed: {result.stderr.strip()}")
    return result.stdout, time.perf_counter() - started


def classify(folder, names, seeds, work):
    rows = []
    for name in names:
        train, test = folder / name / f"{name}_TRAIN.ts", folder / name / f"{name}_TEST.ts"
        accuracies, seconds = [], []
        for seed in seeds:
            model = os.path.join(work, f"{name}-{seed}.safetensors")
            _, wall = tinyrnn("train", "--train", train, "--test", test, "--seed", seed, "--out", model, "--force")
            report = json.loads(tinyrnn("eval", "--model", model, "--data", test, "--json")[0])
            accuracies.append(report["accuracy"])
            seconds.append(wall)
            print(f"{name} seed {seed}: test accuracy {report['accuracy']:.4f} ({wall:.1f} s)", flush=True)
        rows.append({"dataset": name, "accuracies": accuracies, "seconds": seconds})
    return rows


def forecast(folder, seeds, work):
    series = folder / "Airline" / "Airline.csv"
    figures = []
    for seed in seeds:
        model = os.path.join(work, f"airline-{seed}.safetensors")
        _, wall = tinyrnn("train", "--task", "forecast", "--series", series, "--holdout", 24, "--season", 12,
                          "--seed", seed, "--out", model, "--force")
        report = json.loads(tinyrnn("eval", "--model", model, "--series", series, "--holdout", 24, "--season", 12,
                                    "--json")[0])
        figures.append({**{key: report[key] for key in ("smape", "mase", "mae")}, "seconds": wall})
        print(f"Airline seed {seed}: sMAPE {report['smape']:.2f} % MASE {report['mase']:.3f} "
              f"MAE {report['mae']:.1f} ({wall:.1f} s)", flush=True)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["classify", "forecast"])
    parser.add_argument("--data", help="the folder holding <Name>/ subfolders (default: aeon's datasets/data)")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), metavar="NAME")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--torch", action="store_true", help="also run the PyTorch reference on the same data")
    args = parser.parse_args()
    folder = data_dir(args.data)
    print(f"data: {folder} ({cpu_name()}, {os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory() as work:
        if args.command == "classify":
            rows = classify(folder, args.datasets, args.seeds, work)
            reference = {row["dataset"]: row for row in classify_dataset_all(folder, args)} if args.torch else {}
            print("\n| dataset | tinyrnn test accuracy | seconds per training | PyTorch BiGRU-64 |")
            print("|---|---|---|---|")
            for row in rows:
                torch_row = reference.get(row["dataset"])
                torch_text = _pm(torch_row["accuracies"], 3) if torch_row else "-"
                print(f"| {row['dataset']} | {_pm(row['accuracies'], 3)} | {np.mean(row['seconds']):.0f} | "
                      f"{torch_text} |")
        else:
            figures = forecast(folder, args.seeds, work)
            values = read_airline(folder)
            history, actual = values[:-24], values[-24:]
            naive = smape(actual, seasonal_naive(history))
            print(f"\nseasonal naive: sMAPE {naive:.2f} %")
            print(f"tinyrnn (forecast preset): sMAPE {_pm([f['smape'] for f in figures], 2)} %, MASE "
                  f"{_pm([f['mase'] for f in figures], 3)}, {np.mean([f['seconds'] for f in figures]):.0f} s each")
            if args.torch:
                for title, options in (("validation on the last 12 windows, early stop", {}),
                                       ("tinyrnn's recipe: every window, 600 epochs", {"valid_windows": 0, "epochs": 600})):
                    runs = forecast_airline(folder, args.seeds, log=lambda message: None, **options)["gru"]["runs"]
                    print(f"PyTorch GRU-64 direct forecaster ({title}): sMAPE "
                          f"{_pm([run['smape'] for run in runs], 2)} %, MASE {_pm([run['mase'] for run in runs], 3)}")


def classify_dataset_all(folder, args):
    return [dict(dataset=name, **_accuracies(classify_dataset(folder, name, args.seeds, log=lambda m: None)))
            for name in args.datasets]


def _accuracies(result):
    return {"accuracies": [run["test_accuracy"] for run in result["runs"]]}


def _pm(values, digits):
    mean, std = mean_std(values)
    return f"{mean:.{digits}f} +- {std:.{digits}f}"


if __name__ == "__main__":
    main()
