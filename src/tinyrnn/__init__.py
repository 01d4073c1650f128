"""tinyrnn: recurrent neural networks from scratch in NumPy."""
__version__ = "0.1.0"

from .data import Dataset, default_dataset, load_dataset          # noqa: E402
from .data.pairs import Pairs, read_pairs                       # noqa: E402
from .decoding import translate                                 # noqa: E402
from .errors import DataError, ModelFileError, TinyRNNError, TrainingError  # noqa: E402
from .io import load_model, save_model                          # noqa: E402
from .model_config import ModelConfig                          # noqa: E402
from .models import Classifier, LanguageModel, build_model      # noqa: E402
from .nn.recurrent import StaleRunError                         # noqa: E402
from .seq2seq import Seq2Seq                                    # noqa: E402
from .tasks import encode_examples, encode_pairs, evaluate, train, train_language_model, train_seq2seq  # noqa: E402
from .training import TrainConfig, Trainer  # noqa: E402
from .vocab import Vocab, pad_batch, tokenize                   # noqa: E402

__all__ = ["Classifier", "Dataset", "DataError", "LanguageModel", "ModelConfig", "ModelFileError", "Pairs", "Seq2Seq",
           "StaleRunError", "TinyRNNError", "TrainConfig", "Trainer", "TrainingError", "Vocab", "build_model",
           "default_dataset", "encode_examples", "encode_pairs", "evaluate", "load_dataset", "load_model", "pad_batch",
           "read_pairs", "save_model", "tokenize", "train", "train_language_model", "train_seq2seq", "translate"]
