"""Writes test/fixtures/layers-torch.json: outputs, gradients, running
statistics and state dicts of PyTorch's layers in float64, for
test/torch-layers.test.ts. The tests only read the JSON; run this again
(python3 scripts/layer-fixtures.py, with PyTorch installed) to regenerate it.

Each gradient is of sum(output * v) for a fixed random v, with respect to
the input and to every parameter.
"""
import json
import pathlib

import torch
import torch.nn as nn

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def rand(*shape, scale=1.0):
    return ((torch.rand(*shape) * 2 - 1) * scale).requires_grad_(True)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def tensor_json(t):
    return {"shape": list(t.shape), "values": flat(t)}


def state_json(module):
    return {k: tensor_json(v.double()) for k, v in module.state_dict().items()}


def grads(out, x, module):
    v = torch.rand(*out.shape) * 2 - 1
    params = [p for p in module.parameters()]
    gs = torch.autograd.grad((out * v).sum(), [x] + params, allow_unused=True)
    result = {"v": tensor_json(v), "input": tensor_json(gs[0])}
    for (name, _), g in zip(module.named_parameters(), gs[1:]):
        if g is not None:
            result[name] = tensor_json(g)
    return result


def randomise(module):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.rand(*p.shape) * 2 - 1)
    return module


cases = {}

# BatchNorm2d: three training steps, then evaluation, as one sequence.
bn = randomise(nn.BatchNorm2d(3, momentum=0.2))
steps = []
initial = state_json(bn)
for i in range(3):
    x = rand(4, 3, 5, 5, scale=1 + i)
    out = bn(x)
    steps.append({"mode": "train", "input": tensor_json(x), "output": tensor_json(out),
                  "grads": grads(out, x, bn), "state": state_json(bn)})
bn.eval()
x = rand(2, 3, 5, 5)
out = bn(x)
steps.append({"mode": "eval", "input": tensor_json(x), "output": tensor_json(out),
              "grads": grads(out, x, bn), "state": state_json(bn)})
cases["batchNorm2d"] = {"options": {"momentum": 0.2}, "initial": initial, "steps": steps}

# BatchNorm1d with a cumulative average, on [N, C] then [N, C, L].
bn = randomise(nn.BatchNorm1d(4, momentum=None))
steps = []
initial = state_json(bn)
for shape in [(6, 4), (5, 4, 3)]:
    x = rand(*shape, scale=2)
    out = bn(x)
    steps.append({"mode": "train", "input": tensor_json(x), "output": tensor_json(out),
                  "grads": grads(out, x, bn), "state": state_json(bn)})
bn.eval()
x = rand(3, 4)
out = bn(x)
steps.append({"mode": "eval", "input": tensor_json(x), "output": tensor_json(out),
              "grads": grads(out, x, bn), "state": state_json(bn)})
cases["batchNorm1d"] = {"options": {"momentum": None}, "initial": initial, "steps": steps}

# LayerNorm over the last two axes.
ln = randomise(nn.LayerNorm([4, 5], eps=1e-6))
x = rand(3, 4, 5, scale=3)
out = ln(x)
cases["layerNorm"] = {"state": state_json(ln), "input": tensor_json(x), "output": tensor_json(out),
                      "grads": grads(out, x, ln)}

# Activations on a spread of values, large ones included.
values = torch.tensor([-40.0, -8.0, -3.2, -1.1, -0.4, -0.05, 0.0, 0.03, 0.7, 1.9, 4.4, 9.0, 40.0])
acts = {}
for name, module in [
    ("gelu", nn.GELU()),
    ("geluTanh", nn.GELU(approximate="tanh")),
    ("silu", nn.SiLU()),
    ("softplus", nn.Softplus(beta=2.0, threshold=5.0)),
    ("elu", nn.ELU(alpha=0.7)),
]:
    x = values.clone().requires_grad_(True)
    out = module(x)
    (g,) = torch.autograd.grad(out.sum(), [x])
    acts[name] = {"output": flat(out), "grad": flat(g)}
cases["activations"] = {"input": flat(values), "results": acts}

# Conv2d with stride, padding, dilation and groups; its state dict copied over.
conv = nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)
x = rand(2, 4, 7, 6)
out = conv(x)
cases["conv2d"] = {"args": [4, 6, [3, 2]],
                   "options": {"stride": [2, 1], "padding": [1, 0], "dilation": [1, 2], "groups": 2},
                   "state": state_json(conv), "input": tensor_json(x), "output": tensor_json(out),
                   "grads": grads(out, x, conv)}

conv = nn.Conv1d(3, 4, 3, padding=2, dilation=2)
x = rand(2, 3, 9)
out = conv(x)
cases["conv1d"] = {"args": [3, 4, 3], "options": {"padding": 2, "dilation": 2},
                   "state": state_json(conv), "input": tensor_json(x), "output": tensor_json(out),
                   "grads": grads(out, x, conv)}

# A small CNN as nn.Sequential: its state dict names are the ones a spec-built model has.
cnn = nn.Sequential(
    nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(4, 6, 3), nn.ReLU(), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1),
    nn.Flatten(), nn.Linear(6, 3),
)
x = rand(5, 1, 10, 10)
initial = state_json(cnn)
train_out = cnn(x)
after = state_json(cnn)
cnn.eval()
eval_out = cnn(x)
cases["cnn"] = {"initial": initial, "input": tensor_json(x), "trainOutput": tensor_json(train_out),
                "state": after, "evalOutput": tensor_json(eval_out)}

# Embedding with a padding index.
emb = nn.Embedding(6, 3, padding_idx=2)
idx = torch.tensor([[0, 2, 5], [2, 1, 1]])
out = emb(idx)
v = torch.rand(*out.shape) * 2 - 1
(g,) = torch.autograd.grad((out * v).sum(), [emb.weight])
cases["embedding"] = {"state": state_json(emb), "indices": idx.reshape(-1).tolist(),
                      "output": tensor_json(out), "v": tensor_json(v), "weightGrad": tensor_json(g)}

# Convolutions that pad with something other than zeros.
padded = []
for args, options, shape in [
    ((2, 3, 3), {"padding": 1, "padding_mode": "reflect"}, (2, 2, 6, 5)),
    ((2, 3, (2, 3)), {"padding": "same", "padding_mode": "circular", "dilation": (2, 1)}, (1, 2, 5, 6)),
    ((2, 2, 4), {"padding": "same", "padding_mode": "replicate"}, (2, 2, 7)),
]:
    conv = (nn.Conv2d if len(shape) == 4 else nn.Conv1d)(*args, **options)
    x = rand(*shape)
    out = conv(x)
    mode = options["padding_mode"]
    ours = {"padding": options["padding"], "paddingMode": mode}
    if "dilation" in options:
        ours["dilation"] = list(options["dilation"])
    padded.append({"args": [args[0], args[1], list(args[2]) if isinstance(args[2], tuple) else args[2]],
                   "options": ours, "state": state_json(conv), "input": tensor_json(x),
                   "output": tensor_json(out), "grads": grads(out, x, conv)})
cases["paddingModes"] = padded

out_path = pathlib.Path(__file__).resolve().parent.parent / "test" / "fixtures" / "layers-torch.json"
out_path.write_text(json.dumps({"torch": torch.__version__, "cases": cases}, separators=(",", ":")) + "\n")
print(f"wrote {out_path}")
