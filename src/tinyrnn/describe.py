"""A model told to people: one line (describe) and a dict of facts (summary), for
tinyrnn info, explain, serve, import and the training commands' messages."""
from .model_config import ARCHITECTURE, ModelConfig


def summary(model):
    """What the model is, for people and pages: {fact: value}, JSON-ready."""
    config = model.config
    facts = {"task": config.task, "cell": config.cell, "layers": config.num_layers,
             "directions": config.directions, "hidden_size": config.hidden_size,
             "input": f"embedding of size {config.embed_size}" if config.embed_size else "one-hot",
             "vocabulary": len(model.vocab), "parameters": int(model.flat.size), "dtype": config.dtype,
             "tokenizer": model.tokenizer.describe()}
    if config.cell == "rnn":
        facts["nonlinearity"] = config.nonlinearity
    if config.task == "classify":
        facts.update(classes=list(model.classes), pool=config.pool)
    facts.update(dropout=config.dropout, embedding_dropout=config.embed_dropout,   # training only
                 weight_drop=config.weight_drop)
    facts["tensors"] = {name: list(array.shape) for name, array in model.params.items()}
    return facts


def describe(model, short=False):
    """One line: 'a 1-layer GRU classifier, 64 hidden units, bidirectional, ...'; short:
    only the first two parts."""
    config = model.config
    cell = {"rnn": f"{config.nonlinearity} RNN", "lstm": "LSTM", "gru": "GRU"}[config.cell]
    what = "classifier" if config.task == "classify" else "language model"
    parts = [f"a {config.num_layers}-layer {cell} {what}", f"{config.hidden_size} hidden units"]
    if short:
        return ", ".join(parts)
    if config.bidirectional:
        parts.append("bidirectional")
    parts.append(f"{len(model.vocab.words):,} {model.tokenizer.unit}s in the vocabulary")
    if config.task == "classify":
        parts.append(f"classes {', '.join(model.classes)}")
    return ", ".join(parts) + f" ({model.flat.size:,} parameters)"


def representation(model):
    """repr(model): the cell, the settings that differ from their defaults, the sizes."""
    config, defaults = model.config, ModelConfig(model.config.task, model.config.hidden_size)
    settings = ", ".join(f"{key}={getattr(config, key)!r}" for key in ARCHITECTURE
                         if key == "cell" or getattr(config, key) != getattr(defaults, key))
    return (f"{type(model).__name__}({settings}, hidden_size={config.hidden_size}, "
            f"vocab={len(model.vocab)}, outputs={model.params[model.output_bias].shape[0]}, "
            f"parameters={model.flat.size}, dtype={config.dtype})")
