"""tinyrnn: recurrent neural networks from scratch in NumPy.

The names below are imported on first use (PEP 562), so that `import tinyrnn` is quick and
the `tinyrnn` command can answer Ctrl-C even while NumPy is still loading (launch.py)."""
import importlib

__version__ = "0.1.0"

_HOMES = {
    "Dataset": ".data", "default_dataset": ".data", "load_dataset": ".data",
    "Pairs": ".data.pairs", "read_pairs": ".data.pairs",
    "translate": ".decoding",
    "DataError": ".errors", "ModelFileError": ".errors", "TinyRNNError": ".errors", "TrainingError": ".errors",
    "load_model": ".io", "save_model": ".io",
    "ModelConfig": ".model_config",
    "Classifier": ".models", "LanguageModel": ".models", "build_model": ".models",
    "StaleRunError": ".nn.recurrent",
    "Seq2Seq": ".seq2seq",
    "encode_examples": ".tasks", "encode_pairs": ".tasks", "evaluate": ".tasks", "train": ".tasks",
    "train_language_model": ".tasks", "train_seq2seq": ".tasks",
    "TrainConfig": ".training", "Trainer": ".training",
    "Vocab": ".vocab", "pad_batch": ".vocab", "tokenize": ".vocab",
}

__all__ = sorted(_HOMES)


def __getattr__(name):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'tinyrnn' has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_HOMES})
