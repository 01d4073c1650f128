"""A seq2seq model as one ONNX graph that translates greedily (decoding.py with a beam of 1),
built from the layers of export_onnx.py:

    inputs   ids (B, S) int64, lengths (B,) int64 (each >= 1), max_length () int64 (optional;
             0, its default: each row's own, 2 x its length + 10, as tinyrnn's)
    encoder  the layers above over the source; s_0 of each decoder layer: Y_h (and Y_c), or
             tanh(W_b [s; s'] + b_b) of a bidirectional encoder's (seq2seq.py)
    Loop     while some row is unfinished (no <eos>, under its limit): the decoder's layers one
             step from the previous token (<bos> first) and states, attention over the
             encoder's top-layer outputs (nn/attention.py), fc; the next token is the argmax
             over all tokens but <pad> and <bos>; a row that chose <eos> writes <pad> after it
    output   target_ids (B, steps) int64: each row's tokens, <eos>, then <pad> (0); a row with
             no <eos> reached its maximum length

One graph rather than an encoder and a decoder step: a runtime alone gives the translation,
with no search loop to write around it, and the export stays one file. Beam search needs its
bookkeeping of hypotheses on the host: use TorchSeq2Seq.translate or tinyrnn.
"""
import numpy as np

from .decoding import default_max_length
from .export_onnx import _embedded, _recurrent_layer
from .vocab import BOS_ID, EOS_ID, PAD_ID


def translation_graph(graph, state, model):
    """A seq2seq model's greedy translation: the encoder, then a Loop of decoder steps;
    returns the output's ValueInfo (target_ids (B, steps) int64)."""
    from onnx import TensorProto, helper, numpy_helper
    arch = model.config
    graph.node("Transpose", ["ids"], ["ids_tm"], perm=[1, 0])                              # (S, B)
    x = _embedded(graph, state, arch, "encoder.", len(model.vocab), "ids_tm", "enc_x0")
    for k in range(arch.num_layers):
        x, _ = _recurrent_layer(graph, state, arch, k, x, "encoder.", "enc_")
    initial = _decoder_initial_states(graph, state, arch)
    if arch.attention != "none":
        _attention_keys(graph, state, arch.attention, x)
    _step_limits(graph)
    body = _decoder_step(graph.body("step_"), state, model, len(initial))
    graph.constant("keep_going", np.array(True))
    graph.node("ConstantOfShape", ["batch"], ["bos"], value=numpy_helper.from_array(np.array([BOS_ID], np.int64)))
    graph.node("ConstantOfShape", ["batch"], ["none_finished"], value=numpy_helper.from_array(np.array([False])))
    graph.node("Loop", ["steps", "keep_going", "bos", "none_finished", *initial],
               ["last_tokens", "finished", *(f"final_{name}" for name in initial), "tokens_tb"], body=body)
    graph.node("Transpose", ["tokens_tb"], ["target_ids"], perm=[1, 0])                   # (B, steps)
    return helper.make_tensor_value_info("target_ids", TensorProto.INT64, ["B", "steps"])


def _step_limits(graph):
    """limits (B,): each row's most target tokens, max_length or, when that is 0 (its
    default), decoding.default_max_length of the row's length; steps: the longest limit."""
    graph.constant("max_length", np.array(0, np.int64))           # a default the caller may override
    graph.constant("zero_steps", np.array(0, np.int64))
    offset = default_max_length(0)                                # a linear rule: offset + slope x length
    graph.constant("limit_slope", np.array(default_max_length(1) - offset, np.int64))
    graph.constant("limit_offset", np.array(offset, np.int64))
    graph.node("Shape", ["lengths"], ["batch"])                                          # [B]
    graph.node("Mul", ["lengths", "limit_slope"], ["sloped_lengths"])
    graph.node("Add", ["sloped_lengths", "limit_offset"], ["default_limits"])          # (B,)
    graph.node("Greater", ["max_length", "zero_steps"], ["max_length_given"])
    graph.node("Expand", ["max_length", "batch"], ["given_limits"])
    graph.node("Where", ["max_length_given", "given_limits", "default_limits"], ["limits"])
    graph.node("ReduceMax", ["limits"], ["steps"], keepdims=0)


def _decoder_initial_states(graph, state, arch):
    """The decoder's s_0 of each layer, (1, B, H) each, h then c for an LSTM: the encoder's
    final states, or tanh(W_b [s_S; s'_1] + b_b) of a bidirectional encoder's."""
    H, lstm = arch.hidden_size, arch.cell == "lstm"
    parts = (lambda k: [f"enc_Y_h{k}", f"enc_Y_c{k}"]) if lstm else (lambda k: [f"enc_Y_h{k}"])
    if not arch.bidirectional:
        return [name for k in range(arch.num_layers) for name in parts(k)]
    S = H * (2 if lstm else 1)
    graph.constant("bridge_weight_t", state["bridge.weight"].T.copy())                   # (2S, S)
    graph.constant("bridge_bias", state["bridge.bias"])
    graph.constant("bridge_in_shape", np.array([0, 2 * S], np.int64))
    graph.constant("first_axis", np.array([0], np.int64))
    if lstm:
        graph.constant("split_h_c", np.array([H, H], np.int64))
    names = []
    for k in range(arch.num_layers):
        if lstm:
            graph.node("Concat", parts(k), [f"enc_s{k}"], axis=2)                         # [h | c] (2, B, S)
        graph.node("Transpose", [f"enc_s{k}" if lstm else f"enc_Y_h{k}"], [f"enc_s{k}_bds"], perm=[1, 0, 2])
        graph.node("Reshape", [f"enc_s{k}_bds", "bridge_in_shape"], [f"bridge_in{k}"])  # [s; s'] (B, 2S)
        graph.node("MatMul", [f"bridge_in{k}", "bridge_weight_t"], [f"bridge_product{k}"])
        graph.node("Add", [f"bridge_product{k}", "bridge_bias"], [f"bridge_pre{k}"])
        graph.node("Tanh", [f"bridge_pre{k}"], [f"bridge_out{k}"])                        # (B, S)
        graph.node("Unsqueeze", [f"bridge_out{k}", "first_axis"], [f"s0_{k}"])            # (1, B, S)
        if lstm:
            graph.node("Split", [f"s0_{k}", "split_h_c"], [f"h0_{k}", f"c0_{k}"], axis=2)
        names += [f"h0_{k}", f"c0_{k}"] if lstm else [f"s0_{k}"]
    return names


def _attention_keys(graph, state, kind, top):
    """What every step's attention reads, from the encoder's top layer (S, B, K): enc_outputs
    o_s (B, S, K), keys_t (B, H, S) (dot: o_s; general: W_a o_s) or keys_b1sa (B, 1, S, A)
    (additive: W_k o_s + b_k), and source_mask (B, 1, S) of the real steps."""
    graph.node("Transpose", [top], ["enc_outputs"], perm=[1, 0, 2])                       # o_s (B, S, K)
    keys = "enc_outputs"
    if kind == "general":
        graph.constant("attention_weight_t", state["attention.weight"].T.copy())
        graph.node("MatMul", ["enc_outputs", "attention_weight_t"], ["keys"])             # (B, S, H)
        keys = "keys"
    if kind == "additive":
        graph.constant("attention_key_weight_t", state["attention.key.weight"].T.copy())
        graph.constant("attention_key_bias", state["attention.key.bias"])
        graph.constant("second_axis", np.array([1], np.int64))
        graph.node("MatMul", ["enc_outputs", "attention_key_weight_t"], ["key_product"])
        graph.node("Add", ["key_product", "attention_key_bias"], ["keys"])                # (B, S, A)
        graph.node("Unsqueeze", ["keys", "second_axis"], ["keys_b1sa"])
    else:
        graph.node("Transpose", [keys], ["keys_t"], perm=[0, 2, 1])                       # (B, H, S)
    graph.node("Shape", ["ids"], ["source_steps_1"], start=1, end=2)
    graph.node("Squeeze", ["source_steps_1"], ["source_steps"])
    graph.constant("start", np.array(0, np.int64))
    graph.constant("delta", np.array(1, np.int64))
    graph.constant("axes_1", np.array([1], np.int64))
    graph.node("Range", ["start", "source_steps", "delta"], ["positions"])                # (S,)
    graph.node("Unsqueeze", ["lengths", "axes_1"], ["lengths_b1"])                        # (B, 1)
    graph.node("Less", ["positions", "lengths_b1"], ["real_steps"])                       # (B, S)
    graph.node("Unsqueeze", ["real_steps", "axes_1"], ["source_mask"])                    # (B, 1, S)


def _decoder_step(body, state, model, carried):
    """The Loop's body: one greedy step of every row from its previous token and states;
    a finished row (one that chose <eos>) writes <pad>; it stops when every row is finished."""
    from onnx import TensorProto, helper
    arch, H = model.config, model.hidden_size
    per_layer = carried // arch.num_layers
    states = [f"step_state{i}_in" for i in range(carried)]
    body.constant("axis_0", np.array([0], np.int64))
    x = _embedded(body, state, arch, "decoder.", len(model.target_vocab), "step_previous", "step_x0_b")
    body.node("Unsqueeze", [x, "axis_0"], ["dec_x0"])                                    # (1, B, in)
    x, new_states = "dec_x0", []
    for k in range(arch.num_layers):
        layer_states = states[k * per_layer:(k + 1) * per_layer]
        x, _ = _recurrent_layer(body, state, arch, k, x, "decoder.", "dec_", 1, layer_states)
        new_states += [f"dec_Y_h{k}", f"dec_Y_c{k}"][:per_layer]
    body.node("Transpose", [x], ["step_d"], perm=[1, 0, 2])                               # d_t (B, 1, H)
    features = _step_attention(body, state, arch.attention, "step_d")                    # ~h_t (B, 1, H)
    body.constant("axis_1", np.array([1], np.int64))
    body.node("Squeeze", [features, "axis_1"], ["step_features"])                         # (B, H)
    never = np.zeros(len(model.target_vocab), np.float32)
    never[[PAD_ID, BOS_ID]] = -np.inf                                                     # never produced
    body.constant("fc_weight_t", state["fc.weight"].T.copy())
    body.constant("fc_bias_never", state["fc.bias"] + never)
    body.node("MatMul", ["step_features", "fc_weight_t"], ["step_fc_product"])
    body.node("Add", ["step_fc_product", "fc_bias_never"], ["step_logits"])                # (B, V_t)
    body.node("ArgMax", ["step_logits"], ["step_best"], axis=1, keepdims=0)               # (B,)
    body.constant("pad_id", np.array(PAD_ID, np.int64))
    body.constant("eos_id", np.array(EOS_ID, np.int64))
    body.node("Where", ["step_finished_in", "pad_id", "step_best"], ["step_token"])
    body.node("Equal", ["step_token", "eos_id"], ["step_ended"])
    body.constant("one_step", np.array(1, np.int64))
    body.node("Add", ["step_iteration", "one_step"], ["step_tokens"])
    body.node("GreaterOrEqual", ["step_tokens", "limits"], ["step_at_limit"])            # (B,)
    body.node("Or", ["step_finished_in", "step_ended"], ["step_done"])
    body.node("Or", ["step_done", "step_at_limit"], ["step_finished"])                   # at its maximum length
    body.node("Cast", ["step_finished"], ["step_finished_int"], to=TensorProto.INT64)
    body.node("ReduceMin", ["step_finished_int"], ["step_all_int"], keepdims=0)
    body.node("Cast", ["step_all_int"], ["step_all"], to=TensorProto.BOOL)
    body.node("Not", ["step_all"], ["step_going"])
    body.node("Identity", ["step_token"], ["step_scanned"])
    value = helper.make_tensor_value_info
    inputs = [value("step_iteration", TensorProto.INT64, []), value("step_going_in", TensorProto.BOOL, []),
              value("step_previous", TensorProto.INT64, ["B"]), value("step_finished_in", TensorProto.BOOL, ["B"]),
              *(value(name, TensorProto.FLOAT, [1, "B", H]) for name in states)]
    outputs = [value("step_going", TensorProto.BOOL, []), value("step_token", TensorProto.INT64, ["B"]),
               value("step_finished", TensorProto.BOOL, ["B"]),
               *(value(name, TensorProto.FLOAT, [1, "B", H]) for name in new_states),
               value("step_scanned", TensorProto.INT64, ["B"])]
    return helper.make_graph(body.nodes, "decoder_step", inputs, outputs)


def _step_attention(body, state, kind, decoded):
    """~h_t = tanh(W_c [c_t; d_t]) of d_t (B, 1, H) (d_t itself without attention)."""
    if kind == "none":
        return decoded
    if kind == "additive":
        body.constant("attention_query_weight_t", state["attention.query.weight"].T.copy())   # (H, A)
        body.constant("attention_v_t", state["attention.v.weight"].T.copy())                 # (A, 1)
        body.constant("axis_2", np.array([2], np.int64))
        body.constant("axis_3", np.array([3], np.int64))
        body.node("MatMul", [decoded, "attention_query_weight_t"], ["step_query"])         # (B, 1, A)
        body.node("Unsqueeze", ["step_query", "axis_2"], ["step_query_b11a"])
        body.node("Add", ["step_query_b11a", "keys_b1sa"], ["step_score_pre"])             # (B, 1, S, A)
        body.node("Tanh", ["step_score_pre"], ["step_score_tanh"])
        body.node("MatMul", ["step_score_tanh", "attention_v_t"], ["step_scores_b1s1"])
        body.node("Squeeze", ["step_scores_b1s1", "axis_3"], ["step_scores"])             # e_ts (B, 1, S)
    else:
        body.node("MatMul", [decoded, "keys_t"], ["step_scores"])                           # e_ts (B, 1, S)
    body.constant("minus_infinity", np.array(-np.inf, np.float32))
    body.constant("combine_weight_t", state["combine.weight"].T.copy())                    # (K + H, H)
    body.node("Where", ["source_mask", "step_scores", "minus_infinity"], ["step_kept_scores"])
    body.node("Softmax", ["step_kept_scores"], ["step_weights"], axis=2)                  # a_ts
    body.node("MatMul", ["step_weights", "enc_outputs"], ["step_context"])               # c_t (B, 1, K)
    body.node("Concat", ["step_context", decoded], ["step_joined"], axis=2)              # [c_t; d_t]
    body.node("MatMul", ["step_joined", "combine_weight_t"], ["step_combined"])
    body.node("Tanh", ["step_combined"], ["step_attentional"])
    return "step_attentional"
