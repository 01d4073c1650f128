"""The ONNX graph of a model that reads numbers (config features F): a classifier, a regressor
or a forecaster, float32, built on export_onnx.py's layers (the standard RNN / LSTM / GRU
operators) and computing what torch_numeric.py's modules compute:

    classifier, regressor: inputs  values (B, T, F) float32 in the data's units,
                                   lengths (B,) int64 (each >= 1; the padding's values are ignored)
        x' = (values - input_mean) / input_std
        classifier:  probabilities (B, C) = Softmax(fc(features))
        regressor:   predictions (B, R) = fc(features) * target_std + target_mean
    forecaster:             input  windows (B, W, C) float32, the last W steps of the C series
        scaling "window":  m = ReduceMean(windows over W), s = sqrt(mean (windows - m)^2 + (0.03 input_std)^2)
        scaling "global":  m = input_mean, s = input_std
        forecasts (B, H, C) = Reshape(fc(h_n), [B, H, C]) * s + m

features: the top layer's last states (both directions), or the mean / max of its outputs over
the real steps (pool), as for token classifiers (export_onnx._features).
"""
import numpy as np

from .export_onnx import _features, _recurrent_layer

from .numeric import WINDOW_FLOOR


def numeric_graph(graph, state, model):
    """Adds the nodes of a numeric model to graph; returns (inputs, outputs) ValueInfos."""
    from onnx import TensorProto, helper
    arch, H, D, F = model.config, model.hidden_size, model.stack.directions, model.config.features
    if model.task == "forecast":
        inputs = [helper.make_tensor_value_info("windows", TensorProto.FLOAT, ["B", "W", F])]
        mean, spread = _forecast_scale(graph, state, model)
        graph.node("Sub", ["windows", mean], ["centred"])
        lengths = ""                                                                        # every step is real
    else:
        inputs = [helper.make_tensor_value_info("values", TensorProto.FLOAT, ["B", "T", F]),
                  helper.make_tensor_value_info("lengths", TensorProto.INT64, ["B"])]
        graph.node("Cast", ["lengths"], ["lengths32"], to=TensorProto.INT32)
        graph.constant("input_mean", state["input_mean"])
        graph.constant("input_std", state["input_std"])
        graph.node("Sub", ["values", "input_mean"], ["centred"])
        spread, lengths = "input_std", "lengths32"
    graph.node("Div", ["centred", spread], ["scaled"])                                     # x' (B, T, F)
    graph.node("Transpose", ["scaled"], ["x0"], perm=[1, 0, 2])                            # (T, B, F)
    x, last = "x0", None
    for k in range(arch.num_layers):
        x, last = _recurrent_layer(graph, state, arch, k, x, lengths=lengths)
    features = _features(graph, arch.pool, x, last, H, D)
    graph.constant("fc_weight_t", state["fc.weight"].T.copy())
    graph.constant("fc_bias", state["fc.bias"])
    graph.node("MatMul", [features, "fc_weight_t"], ["fc_product"])
    graph.node("Add", ["fc_product", "fc_bias"], ["z"])                                    # (B, outputs)
    if model.task == "classify":
        graph.node("Softmax", ["z"], ["probabilities"], axis=-1)
        output = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["B", len(model.classes)])
    elif model.task == "regress":
        graph.constant("target_mean", state["target_mean"])
        graph.constant("target_std", state["target_std"])
        graph.node("Mul", ["z", "target_std"], ["z_scaled"])
        graph.node("Add", ["z_scaled", "target_mean"], ["predictions"])
        output = helper.make_tensor_value_info("predictions", TensorProto.FLOAT, ["B", len(model.classes)])
    else:
        horizon = arch.horizon
        graph.constant("shape_forecasts", np.array([0, horizon, F], np.int64))
        graph.node("Reshape", ["z", "shape_forecasts"], ["z_steps"])                      # (B, H, C)
        graph.node("Mul", ["z_steps", spread], ["z_scaled"])
        graph.node("Add", ["z_scaled", mean], ["forecasts"])
        output = helper.make_tensor_value_info("forecasts", TensorProto.FLOAT, ["B", horizon, F])
    return inputs, [output]


def _forecast_scale(graph, state, model):
    """The names of (m, s) that a forecaster's windows are read by: (B, 1, C) each for scaling
    "window", the constants input_mean, input_std (C,) for "global"."""
    if model.config.scaling == "global":
        graph.constant("input_mean", state["input_mean"])
        graph.constant("input_std", state["input_std"])
        return "input_mean", "input_std"
    floor = WINDOW_FLOOR * model.buffers["input_std"].astype(np.float64)
    graph.constant("floor_squared", (floor * floor).astype(np.float32))
    graph.node("ReduceMean", ["windows"], ["window_mean"], axes=[1], keepdims=1)          # m (B, 1, C)
    graph.node("Sub", ["windows", "window_mean"], ["deviations"])
    graph.node("Mul", ["deviations", "deviations"], ["squares"])
    graph.node("ReduceMean", ["squares"], ["window_variance"], axes=[1], keepdims=1)
    graph.node("Add", ["window_variance", "floor_squared"], ["spread_squared"])
    graph.node("Sqrt", ["spread_squared"], ["window_spread"])                              # s (B, 1, C)
    return "window_mean", "window_spread"
