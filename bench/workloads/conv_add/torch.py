"""conv_add in PyTorch, NCHW with OIHW weights: ``F.conv2d(x, W, bias, stride, padding=1) + r``
then ``F.relu`` / ``F.silu``.

Eager runs the conv (bias folded into the oneDNN/cuDNN call), the add and the activation as
separate ops. ``torch.compile`` keeps the conv an extern kernel and fuses add + activation into one
generated kernel; ``info.ops`` lists what a profiled call ran. The compiled case's baseline is the
eager function (``metrics.fusion_gain``).
"""

import torch
import torch.nn.functional as F

from bench.workloads.conv_add.spec import PAD, check_remap, eager_or_compiled
from bench.workloads.torch_ops import ops_of_one_call

_ACTIVATIONS = {"relu": F.relu, "silu": F.silu}


def _in_inference_mode(call):
    def wrapped():
        with torch.inference_mode():
            return call()

    return wrapped


def build(adapter, params, dtype, mode, inputs):
    check_remap(params, "torch")
    args = tuple(adapter.from_numpy(inputs[name], dtype) for name in ("x", "weight", "bias", "residual"))
    stride, act = params["stride"], _ACTIVATIONS[params["act"]]

    def conv_add(x, w, b, r):
        return act(F.conv2d(x, w, b, stride=stride, padding=PAD) + r)

    info = {"path": f"F.conv2d + add + F.{params['act']}", "layout": "NCHW"}
    built = eager_or_compiled(adapter, mode, conv_add, args, info, "torch.compile", wrap=_in_inference_mode)
    built.info["ops"] = ops_of_one_call(built.fn, adapter.device)
    return built


class ConvAdd(torch.nn.Module):
    """act(conv2d(x, W, bias, stride, padding=1) + r) with W and bias as parameters."""

    def __init__(self, weight, bias, stride, act):
        super().__init__()
        self.weight = torch.nn.Parameter(weight, requires_grad=False)
        self.bias = torch.nn.Parameter(bias, requires_grad=False)
        self.stride, self.act = stride, _ACTIVATIONS[act]

    def forward(self, x, r):
        return self.act(F.conv2d(x, self.weight, self.bias, stride=self.stride, padding=PAD) + r)


def module(framework, params, dtype, inputs):
    """The deployment backends' model (bench/workloads/exportable.py): W and bias are the model's weights."""
    from bench.workloads.exportable import Exportable, cpu_tensor

    check_remap(params, framework)
    weight, bias = cpu_tensor(inputs["weight"], dtype), cpu_tensor(inputs["bias"], dtype)
    model = ConvAdd(weight, bias, params["stride"], params["act"]).eval()
    args = (cpu_tensor(inputs["x"], dtype), cpu_tensor(inputs["residual"], dtype))
    info = {"path": f"F.conv2d + add + F.{params['act']}, W and bias as weights", "layout": "NCHW"}
    return Exportable(model, args, info, weights={"weight": "weight", "bias": "bias"})
