"""Datasets: loaders for files and the embedded default dataset."""
from importlib import resources

from .loaders import FORMATS, Dataset, load_dataset

__all__ = ["Dataset", "FORMATS", "load_dataset", "default_dataset"]


def default_dataset():
    """The embedded sentiment dataset: (train, test), sentences in the walkthrough's style."""
    folder = resources.files(__name__) / "default"
    with resources.as_file(folder / "train.csv") as train, resources.as_file(folder / "test.csv") as test:
        return load_dataset(str(train)), load_dataset(str(test))
