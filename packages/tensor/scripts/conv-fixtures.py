"""Writes test/fixtures/conv-torch.json: convolution, pooling and padding
results and gradients computed by PyTorch in float64, for
test/torch-fixtures.test.ts. The tests only read the JSON; run this again
(python3 scripts/conv-fixtures.py, with PyTorch installed) to regenerate it.

Each case lists its inputs (shape and values), the op and its options in
neurite's spelling, PyTorch's output, and the gradients of sum(output * v)
with respect to every input, for a fixed random v.
"""
import json
import pathlib

import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def rand(*shape):
    return (torch.rand(*shape) * 2 - 1).requires_grad_(True)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


cases = []


def case(name, op, inputs, options, fn):
    out = fn(*inputs)
    v = torch.rand(out.shape) * 2 - 1
    grads = torch.autograd.grad((out * v).sum(), inputs)
    cases.append({
        "name": name,
        "op": op,
        "options": options,
        "inputs": [{"shape": list(t.shape), "data": flat(t)} for t in inputs],
        "output": {"shape": list(out.shape), "data": flat(out)},
        "v": flat(v),
        "grads": [flat(g) for g in grads],
    })


case("conv2d stride 2, padding 1, bias", "conv2d",
     [rand(2, 3, 7, 6), rand(4, 3, 3, 3), rand(4)], {"stride": 2, "padding": 1},
     lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1))
case("conv2d dilation 2, groups 2, padding [1, 2]", "conv2d",
     [rand(1, 4, 8, 7), rand(6, 2, 3, 2)], {"dilation": 2, "groups": 2, "padding": [1, 2]},
     lambda x, w: F.conv2d(x, w, None, dilation=2, groups=2, padding=(1, 2)))
case("conv2d 'same', even kernel, dilation [1, 2]", "conv2d",
     [rand(1, 2, 5, 6), rand(3, 2, 2, 4)], {"padding": "same", "dilation": [1, 2]},
     lambda x, w: F.conv2d(x, w, None, padding="same", dilation=(1, 2)))
case("conv2d 'valid', stride [1, 3]", "conv2d",
     [rand(2, 1, 6, 10), rand(2, 1, 3, 3), rand(2)], {"padding": "valid", "stride": [1, 3]},
     lambda x, w, b: F.conv2d(x, w, b, padding="valid", stride=(1, 3)))
case("conv1d stride 2, padding 1, dilation 2, groups 3, bias", "conv1d",
     [rand(2, 3, 11), rand(6, 1, 3), rand(6)], {"stride": 2, "padding": 1, "dilation": 2, "groups": 3},
     lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=3))
case("conv1d 'same', kernel 4", "conv1d",
     [rand(1, 2, 9), rand(3, 2, 4)], {"padding": "same"},
     lambda x, w: F.conv1d(x, w, None, padding="same"))
case("convTranspose2d stride 2, padding 1, outputPadding 1, groups 2, dilation [1, 2], bias",
     "convTranspose2d",
     [rand(2, 4, 3, 4), rand(4, 3, 3, 2), rand(6)],
     {"stride": 2, "padding": 1, "outputPadding": 1, "groups": 2, "dilation": [1, 2]},
     lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1,
                                        groups=2, dilation=(1, 2)))
case("convTranspose1d stride 3, padding 1, outputPadding 2", "convTranspose1d",
     [rand(1, 2, 5), rand(2, 3, 4)], {"stride": 3, "padding": 1, "outputPadding": 2},
     lambda x, w: F.conv_transpose1d(x, w, None, stride=3, padding=1, output_padding=2))
case("maxPool2d 3, stride 2, padding 1, dilation [1, 2]", "maxPool2d",
     [rand(2, 2, 7, 9)], {"kernelSize": 3, "stride": 2, "padding": 1, "dilation": [1, 2]},
     lambda x: F.max_pool2d(x, 3, stride=2, padding=1, dilation=(1, 2)))
ties = torch.tensor([[[[1., 3, 3, 0, 2], [3, 2, 0, 0, 2], [5, 5, 1, 1, 2], [5, 4, 1, 1, 2]]]],
                    requires_grad=True)
case("maxPool2d 2 with ties (the gradient goes to the first)", "maxPool2d",
     [ties], {"kernelSize": 2}, lambda x: F.max_pool2d(x, 2))
case("avgPool2d 3, stride 2, padding 1", "avgPool2d",
     [rand(2, 2, 7, 6)], {"kernelSize": 3, "stride": 2, "padding": 1},
     lambda x: F.avg_pool2d(x, 3, stride=2, padding=1))
case("avgPool2d [3, 2], stride [1, 2], padding 1, countIncludePad false", "avgPool2d",
     [rand(1, 3, 5, 7)], {"kernelSize": [3, 2], "stride": [1, 2], "padding": 1,
                          "countIncludePad": False},
     lambda x: F.avg_pool2d(x, (3, 2), stride=(1, 2), padding=1, count_include_pad=False))
case("maxPool2d 2, ceil mode, on 5×7", "maxPool2d",
     [rand(1, 2, 5, 7)], {"kernelSize": 2, "ceilMode": True},
     lambda x: F.max_pool2d(x, 2, ceil_mode=True))
case("maxPool2d 3, stride 2, padding 1, ceil mode, on 6×6", "maxPool2d",
     [rand(1, 1, 6, 6)], {"kernelSize": 3, "stride": 2, "padding": 1, "ceilMode": True},
     lambda x: F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True))
case("avgPool2d 3, stride 2, padding 1, ceil mode, on 6×7", "avgPool2d",
     [rand(1, 2, 6, 7)], {"kernelSize": 3, "stride": 2, "padding": 1, "ceilMode": True},
     lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True))
case("avgPool2d 2, ceil mode, countIncludePad false, on 5×5", "avgPool2d",
     [rand(1, 1, 5, 5)], {"kernelSize": 2, "ceilMode": True, "countIncludePad": False},
     lambda x: F.avg_pool2d(x, 2, ceil_mode=True, count_include_pad=False))
case("avgPool2d 3, padding 1, divisorOverride 4", "avgPool2d",
     [rand(1, 2, 5, 4)], {"kernelSize": 3, "padding": 1, "divisorOverride": 4},
     lambda x: F.avg_pool2d(x, 3, padding=1, divisor_override=4))
case("adaptiveAvgPool2d [3, 2] of 7×5", "adaptiveAvgPool2d",
     [rand(2, 2, 7, 5)], {"outputSize": [3, 2]}, lambda x: F.adaptive_avg_pool2d(x, (3, 2)))
case("adaptiveAvgPool2d [4, 4] of 3×5", "adaptiveAvgPool2d",
     [rand(1, 2, 3, 5)], {"outputSize": [4, 4]}, lambda x: F.adaptive_avg_pool2d(x, (4, 4)))
case("adaptiveAvgPool2d 1 (global average)", "adaptiveAvgPool2d",
     [rand(2, 3, 4, 6)], {"outputSize": 1}, lambda x: F.adaptive_avg_pool2d(x, 1))
case("pad reflect [2, 1, 1, 2]", "pad",
     [rand(1, 2, 4, 5)], {"pads": [2, 1, 1, 2], "mode": "reflect"},
     lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect"))
case("pad constant 1.5, [1, -1, 0, 2]", "pad",
     [rand(2, 3, 4)], {"pads": [1, -1, 0, 2], "value": 1.5},
     lambda x: F.pad(x, (1, -1, 0, 2), value=1.5))

case("pad replicate [1, 2, 3, 0]", "pad",
     [rand(1, 2, 3, 4)], {"pads": [1, 2, 3, 0], "mode": "replicate"},
     lambda x: F.pad(x, (1, 2, 3, 0), mode="replicate"))
case("pad circular [2, 1, 1, 3]", "pad",
     [rand(1, 2, 3, 4)], {"pads": [2, 1, 1, 3], "mode": "circular"},
     lambda x: F.pad(x, (2, 1, 1, 3), mode="circular"))

out = pathlib.Path(__file__).resolve().parent.parent / "test" / "fixtures" / "conv-torch.json"
out.write_text(json.dumps({"torch": torch.__version__, "cases": cases}) + "\n")
print(f"wrote {len(cases)} cases to {out}")
