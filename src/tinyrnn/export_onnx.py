"""A model as an ONNX graph with the standard RNN / LSTM / GRU operators, float32, for any
ONNX runtime. onnx is the optional `onnx` extra, imported only here.

    inputs   ids (B, T) int64, lengths (B,) int64 (each >= 1; the padding's ids are ignored)
    x        OneHot(ids, V) or Gather(embedding.weight, ids), time-major (T, B, in)
    layer k  Y, Y_h = RNN | LSTM | GRU (x, W, R, B, sequence_lens = lengths),
             direction forward or bidirectional; x of layer k+1 = [Y_forward | Y_reverse]
    output   classifier: Softmax(fc(features)) (B, C), features the top layer's Y_h of each
             direction (the last real step; the reverse direction's after the first word), or
             the mean / max of its Y over the real steps; language model: Softmax(fc(Y_t)) at
             every step (B, T, V) (steps past a row's length are padding: ignore them)

A seq2seq model is one graph that translates greedily: export_onnx_seq2seq.py. A model that
reads numbers (a classifier, regressor or forecaster) takes float values: export_onnx_numeric.py.

Weights are PyTorch's (docs/model-format.md), regrouped for ONNX: W [D, G*H, in],
R [D, G*H, H], B [D, 2*G*H] = [W_b | R_b]; the gate blocks reordered from the cell's GATES
to ONNX's order, ONNX_GATES (the GRU with linear_before_reset = 1, PyTorch's formulation:
n = tanh(W_n x + b_in + r * (R_n h + b_hn))).
The vocabulary, classes (target vocabulary) and tinyrnn config are in the model's metadata_props.
"""
import numpy as np

from .errors import TinyRNNError
from .export_torch import torch_state_dict
from .files import atomic_write_bytes
from .nn import CELLS
from .io import model_metadata

OPSET = 17
# ONNX's gate order in the cells' gate names: LSTM i, o, f, c (c is g), GRU z, r, h (h is n)
ONNX_GATES = {"lstm": ("i", "o", "f", "g"), "gru": ("z", "r", "n")}
OPERATOR = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def require_onnx():
    try:
        import onnx
    except ImportError:
        raise TinyRNNError("ONNX export needs onnx: python -m pip install onnx (or the onnx extra, "
                           "'.[onnx]' in a checkout of tinyrnn)") from None
    return onnx


def write_onnx_file(model, path):
    atomic_write_bytes(path, onnx_model(model).SerializeToString())


def onnx_model(model):
    """The onnx.ModelProto of a tinyrnn model (checked by onnx.checker)."""
    onnx = require_onnx()
    from onnx import TensorProto, helper, numpy_helper

    state = {name: array.astype(np.float32) for name, array in torch_state_dict(model).items()}
    graph = _Graph(helper, numpy_helper)
    if model.config.features:
        from .export_onnx_numeric import numeric_graph       # it builds on this module's layers
        inputs, outputs = numeric_graph(graph, state, model)
    else:
        graph.node("Cast", ["lengths"], ["lengths32"], to=TensorProto.INT32)
        if model.task == "seq2seq":
            from .export_onnx_seq2seq import translation_graph   # it builds on this module's layers
            outputs = [translation_graph(graph, state, model)]
        else:
            outputs = [_network_graph(graph, state, model)]
        inputs = [helper.make_tensor_value_info("ids", TensorProto.INT64, ["B", "T"]),
                  helper.make_tensor_value_info("lengths", TensorProto.INT64, ["B"])]
        if model.task == "seq2seq":
            inputs.append(helper.make_tensor_value_info("max_length", TensorProto.INT64, []))
    proto = helper.make_model(helper.make_graph(graph.nodes, "tinyrnn", inputs, outputs, graph.constants),
                              producer_name="tinyrnn", opset_imports=[helper.make_opsetid("", OPSET)])
    proto.ir_version = 8                                    # what runtimes of ONNX 1.13 and later read
    helper.set_model_props(proto, model_metadata(model, "tinyrnn-onnx/1"))
    onnx.checker.check_model(proto)
    return proto


def _network_graph(graph, state, model):
    """A classifier's or language model's nodes; returns the output's ValueInfo."""
    from onnx import TensorProto, helper
    arch, H, D = model.config, model.hidden_size, model.stack.directions
    graph.node("Transpose", ["ids"], ["ids_tm"], perm=[1, 0])                              # (T, B)
    x = _embedded(graph, state, arch, "", len(model.vocab), "ids_tm", "x0")
    for k in range(arch.num_layers):
        x, last = _recurrent_layer(graph, state, arch, k, x)
    graph.constant("fc_weight_t", state["fc.weight"].T.copy())
    graph.constant("fc_bias", state["fc.bias"])
    if model.task == "classify":
        features = _features(graph, arch.pool, x, last, H, D)
        graph.node("MatMul", [features, "fc_weight_t"], ["fc_product"])
        graph.node("Add", ["fc_product", "fc_bias"], ["logits"])                          # (B, C)
        shape = ["B", len(model.classes)]
    else:
        graph.node("Transpose", [x], ["outputs_bm"], perm=[1, 0, 2])                       # (B, T, H)
        graph.node("MatMul", ["outputs_bm", "fc_weight_t"], ["fc_product"])
        graph.node("Add", ["fc_product", "fc_bias"], ["logits"])                          # (B, T, V)
        shape = ["B", "T", len(model.vocab)]
    graph.node("Softmax", ["logits"], ["probabilities"], axis=-1)
    return helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, shape)


def _embedded(graph, state, arch, prefix, vocab_size, ids, out):
    """x^0 of ids (any shape; `out` gains the axis E or V): Gather(prefix embedding.weight, ids)
    or OneHot(ids, V)."""
    name = prefix.replace(".", "_")
    if arch.embed_size:
        graph.constant(f"{name}embedding", state[f"{prefix}embedding.weight"])
        graph.node("Gather", [f"{name}embedding", ids], [out])
    else:
        graph.constant(f"{name}onehot_depth", np.array([vocab_size], np.int64))
        graph.constant(f"{name}onehot_values", np.array([0, 1], np.float32))
        graph.node("OneHot", [ids, f"{name}onehot_depth", f"{name}onehot_values"], [out], axis=-1)
    return out


def _recurrent_layer(graph, state, arch, k, x, prefix="", tag="", directions=None, initial=(), lengths="lengths32"):
    """Layer k of the stack of arch (its ModelConfig) whose tensors start with prefix, over x
    (T, B, in): returns (its outputs (T, B, D*H), Y_h (D, B, H)); Y_c{k} (with tag) holds an
    LSTM's c. tag prefixes the graph's names; initial: [initial_h, initial_c] names (else
    zeros); without initial states the real steps are `lengths` (int32; "": every step)."""
    cell, H, D = arch.cell, arch.hidden_size, directions or arch.directions
    gates = CELLS[cell].GATES
    blocks = [gates.index(gate) for gate in ONNX_GATES.get(cell, gates)]     # the cell's blocks, ONNX's order
    suffixes = [f"_l{k}", f"_l{k}_reverse"][:D]

    def regrouped(role):                      # (D, G*H, ...) in ONNX's gate order
        return np.stack([np.concatenate([state[f"{prefix}rnn.{role}{suffix}"][b * H:(b + 1) * H] for b in blocks])
                         for suffix in suffixes])
    W, R, B, Y, Y_h = (f"{tag}{name}{k}" for name in ("W", "R", "B", "Y", "Y_h"))
    graph.constant(W, regrouped("weight_ih"))
    graph.constant(R, regrouped("weight_hh"))
    graph.constant(B, np.concatenate([regrouped("bias_ih"), regrouped("bias_hh")], axis=1))
    attributes = {"hidden_size": H, "direction": "bidirectional" if D == 2 else "forward"}
    if cell == "gru":
        attributes["linear_before_reset"] = 1
    if cell == "rnn":
        attributes["activations"] = ["Relu" if arch.nonlinearity == "relu" else "Tanh"] * D
    lengths = "" if initial else lengths
    graph.node(OPERATOR[cell], [x, W, R, B, lengths, *initial],
               [Y, Y_h] + ([f"{tag}Y_c{k}"] if cell == "lstm" else []), **attributes)
    graph.node("Transpose", [Y], [f"{Y}_tbdh"], perm=[0, 2, 1, 3])                         # (T, B, D, H)
    graph.constant(f"{tag}shape_tb_{k}", np.array([0, 0, D * H], np.int64))
    graph.node("Reshape", [f"{Y}_tbdh", f"{tag}shape_tb_{k}"], [f"{tag}x{k + 1}"])        # (T, B, D*H)
    return f"{tag}x{k + 1}", Y_h


def _features(graph, pool, outputs, last_state, H, D):
    """What fc reads (B, D*H): the last states, or the mean / max of outputs over real steps."""
    if pool == "last":
        graph.node("Transpose", [last_state], ["h_n_bdh"], perm=[1, 0, 2])                # (B, D, H)
        graph.constant("shape_features", np.array([0, D * H], np.int64))
        graph.node("Reshape", ["h_n_bdh", "shape_features"], ["features"])
        return "features"
    graph.node("Shape", [outputs], ["outputs_shape"])
    graph.constant("zero_index", np.array([0], np.int64))
    graph.node("Gather", ["outputs_shape", "zero_index"], ["steps_1"])
    graph.constant("step_axis", np.array([1], np.int64))
    graph.node("Squeeze", ["steps_1"], ["steps"])
    graph.constant("start", np.array(0, np.int64))
    graph.constant("delta", np.array(1, np.int64))
    graph.node("Range", ["start", "steps", "delta"], ["positions"])                        # (T,)
    graph.node("Unsqueeze", ["positions", "step_axis"], ["positions_t1"])                  # (T, 1)
    graph.node("Less", ["positions_t1", "lengths"], ["real"])                             # (T, B)
    graph.constant("feature_axis", np.array([2], np.int64))
    graph.node("Unsqueeze", ["real", "feature_axis"], ["real_tb1"])                       # (T, B, 1)
    if pool == "mean":
        graph.constant("zero", np.array(0, np.float32))
        graph.node("Where", ["real_tb1", outputs, "zero"], ["kept"])
        graph.constant("time_axis", np.array([0], np.int64))
        graph.node("ReduceSum", ["kept", "time_axis"], ["total"], keepdims=0)             # (B, D*H)
        graph.node("Cast", ["lengths"], ["lengths_float"], to=1)                           # FLOAT
        graph.node("Unsqueeze", ["lengths_float", "step_axis"], ["counts"])               # (B, 1)
        graph.node("Div", ["total", "counts"], ["features"])
    else:
        graph.constant("minus_infinity", np.array(-np.inf, np.float32))
        graph.node("Where", ["real_tb1", outputs, "minus_infinity"], ["kept"])
        graph.node("ReduceMax", ["kept"], ["features"], axes=[0], keepdims=0)
    return "features"


class _Graph:
    """Nodes and constant tensors of an ONNX graph, built in order."""

    def __init__(self, helper, numpy_helper, tag=""):
        self.helper, self.numpy_helper, self.tag = helper, numpy_helper, tag
        self.nodes, self.constants = [], []

    def body(self, tag):
        """A graph of its own nodes (a Loop's body) whose constants join this graph's, which
        the body reads from the outer scope."""
        inner = _Graph(self.helper, self.numpy_helper, tag)
        inner.constants = self.constants
        return inner

    def node(self, op, inputs, outputs, **attributes):
        self.nodes.append(self.helper.make_node(op, inputs, outputs, name=f"{self.tag}{op}_{len(self.nodes)}",
                                                **attributes))

    def constant(self, name, array):
        self.constants.append(self.numpy_helper.from_array(np.asarray(array, order="C"), name))
