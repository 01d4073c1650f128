"""`tinyrnn train --folds K` on numeric sequences: K models, each tested on one fold (stratified
by label for classes, random for real targets), their figures and the mean +- standard deviation."""
import sys

import numpy as np

from ..data.split import stratified_folds
from ..errors import DataError
from .common import JsonLog, draw_training_plot
from .numeric_data import validation_split


def cross_validate(args, dataset, fit):
    """fit(train, valid, test, json_log) -> (trainer, report, history) trains one fold's model."""
    folds = args.folds
    if folds > len(dataset):
        raise DataError(f"{dataset.sources[0]}: {len(dataset)} sequences cannot make {folds} folds")
    rng = np.random.default_rng([args.seed, 4])
    parts = stratified_folds(dataset.labels, folds, rng) if dataset.labels is not None else \
        np.array_split(rng.permutation(len(dataset)), folds)
    key = "accuracy" if args.task == "classify" else "rmse"
    scores, records = [], []
    with JsonLog(args.json_log) as log:
        for number, test_rows in enumerate(parts, start=1):
            train_rows = np.setdiff1d(np.arange(len(dataset)), test_rows)
            train_set, valid_set = dataset.subset(train_rows), None
            if args.valid_split:
                train_set, valid_set = validation_split(train_set, args.valid_split, args.seed + number)
            print(f"=== Fold {number}/{folds}: {len(train_set)} training, {len(test_rows)} test sequences")
            trainer, _, _ = fit(train_set, valid_set, dataset.subset(np.sort(test_rows)), None)
            figures = trainer.task.evaluate(trainer.model, trainer.task.test)
            scores.append(figures[key])
            print(f"Fold {number}: test {key} {figures[key]:.4g} (loss {figures['loss']:.4g})")
            records.append({"fold": number, "test_loss": figures["loss"], f"test_{key}": figures[key]})
            log.write_record(records[-1])
        mean, std = float(np.mean(scores)), float(np.std(scores, ddof=1)) if folds > 1 else 0.0
        print(f"Cross-validation over {folds} folds: {key} {mean:.4f} +- {std:.4f} (mean +- standard deviation "
              f"of the folds)")
        plural = "accuracies" if key == "accuracy" else "rmses"
        log.write_record({"folds": folds, plural: scores, f"mean_{key}": mean, f"std_{key}": std})
    print("cross-validation saves no model; train without --folds to save one", file=sys.stderr)
    if args.task == "classify":
        draw_training_plot(args.plot, records, f"{folds}-fold cross-validation: accuracy {mean:.3f} +- {std:.3f}")
    return 0
