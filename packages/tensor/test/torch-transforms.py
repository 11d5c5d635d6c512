# The transforms of torch.autograd.functional (jacobian, hessian, jvp, vjp,
# hvp) in float64 on the functions of torch-transforms.test.ts, written
# here as PyTorch users write them. Reads the cases (inputs, tangents,
# cotangents) as JSON on stdin and writes every result as JSON on stdout.
import json
import sys

import torch
import torch.nn.functional as F
from torch.autograd.functional import hessian, hvp, jacobian, jvp, vjp

torch.set_default_dtype(torch.float64)

FUNCTIONS = {
    # softmax of a tanh layer: R^5 x R^{3x5} x R^3 -> R^3
    'layer': lambda x, W, b: torch.softmax(torch.tanh(W @ x + b), dim=-1),
    # a log-sum-exp mixed with sigmoids and a quotient: R^4 x R^4 -> R
    'mixture': lambda x, y: torch.log(torch.sum(torch.exp(x * y)))
    + torch.sum(torch.sigmoid(x) ** 2 * y) / (1 + torch.sum(y * y)),
    # a convolution through tanh, squared and averaged: -> R
    'conv': lambda x, w: torch.mean(torch.tanh(F.conv2d(x, w, padding=1)) ** 2),
    # log-softmax of a matrix product: R^{3x4} x R^{4x2} -> R^{3x2}
    'product': lambda A, B: torch.log_softmax(A @ B, dim=-1),
    # elementwise: sqrt, log and a power, R^3 -> R^3
    'elementwise': lambda x: torch.sqrt(x * x + 1) * torch.log(x * x + 2) + x**3,
}


def tensor(t):
    return torch.tensor(t['data'], dtype=torch.float64).reshape(t['shape'])


def plain(t):
    return {'shape': list(t.shape), 'data': t.reshape(-1).tolist()}


def run(case):
    f = FUNCTIONS[case['name']]
    xs = tuple(tensor(t) for t in case['inputs'])
    vs = tuple(tensor(t) for t in case['tangents'])
    out = f(*xs)
    u = tensor(case['cotangent'])
    result = {
        'out': plain(out),
        'jacobian': [plain(j) for j in jacobian(f, xs)],
        'jvp': plain(jvp(f, xs, vs)[1]),
        'vjp': [plain(g) for g in vjp(f, xs, u)[1]],
    }
    if out.numel() == 1:
        h = hessian(f, xs)
        result['hessian'] = [[plain(h[i][j]) for j in range(len(xs))] for i in range(len(xs))]
        result['hvp'] = [plain(g) for g in hvp(f, xs, vs)[1]]
    return result


cases = json.load(sys.stdin)
print(json.dumps([run(c) for c in cases]))
