"""conv_add in TensorFlow, NHWC activations with HWIO weights (converted from NCHW/OIHW outside the
timed call): ``tf.nn.conv2d`` with explicit padding [[0,0],[1,1],[1,1],[0,0]] (never 'SAME') →
``tf.nn.bias_add`` → ``+ r`` → ``tf.nn.relu`` or ``y * tf.sigmoid(y)`` (the SiLU form oneDNN's
remapper fuses; ``tf.nn.silu`` is not fused into the conv: tensorflow ``core/grappler/optimizers/remapper.cc``).

Eager runs each op on its own (grappler never sees eager ops), so ``remap=false`` is ``unsupported``
there. Compiled = ``tf.function`` through grappler with the remapper on or off for this case only
(``bench/workloads/tf_graph.py``). ``info.kernels`` lists the optimised graph's ops, e.g.
``_MklNativeFusedConv2D[BiasAdd, Add, Relu]`` with oneDNN, ``_FusedConv2D[BiasAdd]`` + ``AddV2`` +
``Relu`` without; ``info.fused_into_conv`` is what the conv absorbed and ``info.fully_fused`` whether
that is bias, add and activation. The remap-on case's baseline is the same graph with the remapper
off, so ``metrics.fusion_gain`` is the remapper's gain.
"""

import tensorflow as tf

from bench.backends import Unsupported
from bench.workloads.base import Built
from bench.workloads.conv_add.spec import FUSION_GAIN, PAD, channels_last_inputs, nchw_output
from bench.workloads.tf_graph import kernels_of_first_call, onednn_enabled, with_remapping

_OIHW_TO_HWIO = (2, 3, 1, 0)
_PADDING = [[0, 0], [PAD, PAD], [PAD, PAD], [0, 0]]


def _activation(name):
    if name == "relu":
        return tf.nn.relu
    return lambda y: y * tf.sigmoid(y)


def _graph(adapter, body, remap, args):
    """A fresh tf.function of ``body`` run with the remapper on/off, and the kernels it ran."""
    kernels = kernels_of_first_call(with_remapping(adapter.compile(adapter.run_on_device(body)), remap), *args)
    convs = [k for k in kernels if "Conv2D[" in k]
    fused = convs[0].split("[", 1)[1].rstrip("]").split(", ") if convs else []
    # conv + bias + add + activation all in one kernel: BiasAdd, Add and the activation in fused_ops.
    info = {
        "remapping": "on" if remap else "off",
        "kernels": kernels,
        "fused_into_conv": fused,
        "fully_fused": {"BiasAdd", "Add"} <= set(fused) and len(fused) >= 3,
    }
    graph = with_remapping(adapter.compile(adapter.run_on_device(body)), remap)
    return (lambda: graph(*args)), info


def build(adapter, params, dtype, mode, inputs):
    remap = params["remap"]
    if mode == "eager" and not remap:
        raise Unsupported("remap=false needs mode=compiled: grappler rewrites tf.function graphs, never eager ops")
    args = channels_last_inputs(adapter, inputs, dtype, _OIHW_TO_HWIO)
    stride, act = params["stride"], _activation(params["act"])

    def conv_add(x, w, b, r):
        return act(tf.nn.bias_add(tf.nn.conv2d(x, w, stride, _PADDING), b) + r)

    to_numpy = nchw_output(adapter)
    act_path = "tf.nn.relu" if params["act"] == "relu" else "y * tf.sigmoid(y)"
    info = {"path": f"tf.nn.conv2d + bias_add + add + {act_path}", "layout": "NHWC/HWIO", "onednn": onednn_enabled()}
    if mode == "eager":
        eager = adapter.run_on_device(conv_add)
        info.update(kernels="eager: each op on its own", fused_into_conv=[], fully_fused=False)
        return Built(lambda: eager(*args), info, to_numpy)
    fn, graph_info = _graph(adapter, conv_add, remap, args)
    info.update(compiler="tf.function (grappler)", **graph_info)
    if not remap:
        return Built(fn, info, to_numpy)
    baseline_fn, baseline_info = _graph(adapter, conv_add, False, args)
    baseline = Built(baseline_fn, {"path": "the same tf.function, remapper off", **baseline_info}, to_numpy)
    return Built(fn, {**info, "baseline": "remapping off"}, to_numpy, baseline=baseline, baseline_metric=FUSION_GAIN)
