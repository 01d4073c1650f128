"""A model told to people: one line (describe) and a dict of facts (summary), for
tinyrnn info, explain, serve, import and the training commands' messages."""
from .model_config import ARCHITECTURE, ModelConfig

_SCORES = {"dot": "e_ts = d_t . o_s", "general": "e_ts = d_t . W_a o_s",
           "additive": "e_ts = v . tanh(W_q d_t + W_k o_s + b_k)"}       # nn/attention.py


def summary(model):
    """What the model is, for people and pages: {fact: value}, JSON-ready."""
    config = model.config
    if config.task == "seq2seq":
        return _seq2seq_summary(model)
    facts = {"task": config.task, **_recurrent_facts(config)}
    if config.features:
        facts.update(features=list(model.feature_names), normalisation=_normalisation(model))
    else:
        facts.update(vocabulary=len(model.vocab))
    facts.update(parameters=int(model.flat.size), dtype=config.dtype)
    if not config.features:
        facts["tokenizer"] = model.tokenizer.describe()
    if config.cell == "rnn":
        facts["nonlinearity"] = config.nonlinearity
    if config.task == "classify":
        facts.update(classes=list(model.classes), pool=config.pool)
    if config.task == "regress":
        facts.update(targets=list(model.target_names), pool=config.pool)
    if config.task == "forecast":
        facts.update(series=list(model.series_names), window=config.window, horizon=config.horizon,
                     scaling=config.scaling)
    return _with_training_settings(facts, model)


def _normalisation(model):
    """How numbers are standardised before the network reads them (and its outputs read back)."""
    stats = {name: [round(float(value), 6) for value in array] for name, array in model.buffers.items()}
    if model.config.task == "forecast" and model.config.scaling == "window":
        return {"inputs and outputs": "x' = (x - m_w) / s_w, m_w and s_w each window's own mean and "
                                      "standard deviation", **stats}
    return {"inputs": "x' = (x - input_mean) / input_std per feature", **stats}


def _recurrent_facts(config, directions=None):
    return {"cell": config.cell, "layers": config.num_layers,
            "directions": config.directions if directions is None else directions,
            "hidden_size": config.hidden_size,
            "input": numbers_per_step(config.features) if config.features else
            f"embedding of size {config.embed_size}" if config.embed_size else "one-hot"}


def _with_training_settings(facts, model):
    config = model.config
    facts.update(dropout=config.dropout, embedding_dropout=config.embed_dropout,   # training only
                 weight_drop=config.weight_drop)
    facts["tensors"] = {name: list(array.shape) for name, array in model.params.items()}
    return facts


def _seq2seq_summary(model):
    """An encoder-decoder's facts: each stack, the attention and the bridge with their sizes,
    the normalisation and both vocabularies."""
    config = model.config
    facts = {"task": "seq2seq", "encoder": _recurrent_facts(config), "decoder": _recurrent_facts(config, 1),
             "attention": attention_facts(model), "bridge": bridge_facts(model), "normalize": config.normalize,
             "source_vocabulary": len(model.vocab), "target_vocabulary": len(model.target_vocab),
             "parameters": int(model.flat.size), "dtype": config.dtype, "tokenizer": model.tokenizer.describe()}
    if config.cell == "rnn":
        facts["nonlinearity"] = config.nonlinearity
    return _with_training_settings(facts, model)


def attention_facts(model):
    """{"kind", "score", "query_size" H, "key_size" K (an encoder output), "attention_size" A
    (additive), "output_size" H of ~h_t = tanh(W_c [c_t; d_t])}; {"kind": "none"} without."""
    config = model.config
    if config.attention == "none":
        return {"kind": "none"}
    H = config.hidden_size
    facts = {"kind": config.attention, "score": _SCORES[config.attention], "query_size": H,
             "key_size": H * config.directions}
    if config.attention == "additive":
        facts["attention_size"] = config.attention_size or H
    facts["output_size"] = H
    return facts


def bridge_facts(model):
    """How the decoder's initial states come from the encoder's final ones: for a bidirectional
    encoder, s_0 = tanh(W_b [s_S; s'_1] + b_b) for each layer (2S -> S), else as they are."""
    if model.config.directions == 1:
        return {"kind": "none", "note": "the decoder starts from the encoder's final states"}
    S = model.encoder.state_size
    return {"kind": "tanh", "note": "s_0 = tanh(W_b [s_S; s'_1] + b_b) for each layer",
            "input_size": 2 * S, "output_size": S}


KINDS = {"classify": "a classifier", "lm": "a language model", "seq2seq": "a seq2seq model", "regress": "a regressor",
         "forecast": "a forecaster"}


def kind(model):
    """'a classifier', 'a language model', ...: what a message calls the model."""
    return KINDS[model.task]


def numbers_per_step(count):
    return f"{count} number{'s' * (count != 1)} per step"


def _cell_name(config):
    return {"rnn": f"{config.nonlinearity} RNN", "lstm": "LSTM", "gru": "GRU"}[config.cell]


def describe(model, short=False):
    """One line: 'a 1-layer GRU classifier, 64 hidden units, bidirectional, ...' (seq2seq: 'a
    1-layer GRU encoder-decoder with general attention, 64 hidden units, ...'); short: only
    the first two parts."""
    config = model.config
    if config.task == "seq2seq":
        attention = "without attention" if config.attention == "none" else f"with {config.attention} attention"
        what = f"encoder-decoder {attention}"
    else:
        what = {"classify": "classifier", "lm": "language model", "regress": "regressor",
                "forecast": "forecaster"}[config.task]
    parts = [f"a {config.num_layers}-layer {_cell_name(config)} {what}", f"{config.hidden_size} hidden units"]
    if short:
        return ", ".join(parts)
    if config.bidirectional:
        parts.append("bidirectional" + (" encoder" if config.task == "seq2seq" else ""))
    if config.features:
        parts.append(numbers_per_step(config.features))
        if config.task == "forecast":
            parts.append(f"{config.window} steps -> the next {config.horizon} of {', '.join(model.series_names)}")
        else:
            parts.append(f"{'classes' if config.task == 'classify' else 'targets'} {', '.join(model.classes)}")
        return ", ".join(parts) + f" ({model.flat.size:,} parameters)"
    unit = model.tokenizer.unit
    if config.task == "seq2seq":
        parts.append(f"{len(model.vocab.words):,} source and {len(model.target_vocab.words):,} target {unit}s")
    else:
        parts.append(f"{len(model.vocab.words):,} {unit}s in the vocabulary")
    if config.task in ("classify", "regress"):
        parts.append(f"{'classes' if config.task == 'classify' else 'targets'} {', '.join(model.classes)}")
    return ", ".join(parts) + f" ({model.flat.size:,} parameters)"


def representation(model):
    """repr(model): the cell, the settings that differ from their defaults, the sizes."""
    config = model.config
    defaults = ModelConfig(config.task, config.hidden_size, features=config.features, horizon=config.horizon,
                           window=config.window)
    keys = ARCHITECTURE + (("attention", "attention_size", "normalize") if config.task == "seq2seq" else ())
    settings = ", ".join(f"{key}={getattr(config, key)!r}" for key in keys
                         if key in ("cell", "attention") or getattr(config, key) != getattr(defaults, key))
    if config.task == "seq2seq":
        sizes = f"vocab={len(model.vocab)}, target_vocab={len(model.target_vocab)}"
    elif config.features:
        sizes = f"features={config.features}, outputs={model.params[model.output_bias].shape[0]}"
    else:
        sizes = f"vocab={len(model.vocab)}, outputs={model.params[model.output_bias].shape[0]}"
    return (f"{type(model).__name__}({settings}, hidden_size={config.hidden_size}, {sizes}, "
            f"parameters={model.flat.size}, dtype={config.dtype})")
