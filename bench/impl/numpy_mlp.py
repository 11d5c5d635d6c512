"""The speed of BLAS with no framework around it: the 784-16-16-10 network's forward
and backward written by hand in NumPy (float32 matmuls on OpenBLAS), Adam or SGD
written out, on one thread (the orchestrator sets OPENBLAS_NUM_THREADS=1).

The measuring loop is lib/harness.py. The small CNN has no hand-written twin here.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

import harness  # noqa: E402
import numpy as np  # noqa: E402

SIZES = [harness.PIXELS, 16, 16, harness.CLASSES]


class Step:
    def __init__(self, recipe, seed):
        rng = np.random.default_rng(seed)
        self.modern = recipe == "modern"
        self.targets = ("y", "labels") if self.modern else ("y",)
        self.params = []
        for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
            std = (2 / fan_in) ** 0.5 if self.modern else 1.0
            self.params.append((rng.standard_normal((fan_in, fan_out)) * std).astype(np.float32))
            self.params.append(np.zeros(fan_out, dtype=np.float32))
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def forward(self, x):
        w1, b1, w2, b2, w3, b3 = self.params
        act = (lambda z: np.maximum(z, 0, out=z)) if self.modern else sigmoid
        h1 = act(x @ w1 + b1)
        h2 = act(h1 @ w2 + b2)
        return h1, h2, h2 @ w3 + b3

    def train(self, x, y, labels, want_loss):
        w1, _, w2, _, w3, _ = self.params
        n = x.shape[0]
        h1, h2, z3 = self.forward(x)
        if self.modern:
            z3 -= z3.max(axis=1, keepdims=True)
            e = np.exp(z3)
            p = e / e.sum(axis=1, keepdims=True)
            loss = -np.log(p[np.arange(n), labels]).mean() if want_loss else None
            d3 = (p - y) / np.float32(n)
            d2 = (d3 @ w3.T) * (h2 > 0)
            d1 = (d2 @ w2.T) * (h1 > 0)
        else:
            a3 = sigmoid(z3)
            diff = a3 - y
            loss = 0.5 * (diff * diff).sum(axis=1).mean() if want_loss else None
            d3 = diff * a3 * (1 - a3) / np.float32(n)
            d2 = (d3 @ w3.T) * h2 * (1 - h2)
            d1 = (d2 @ w2.T) * h1 * (1 - h1)
        grads = [x.T @ d1, d1.sum(axis=0), h1.T @ d2, d2.sum(axis=0), h2.T @ d3, d3.sum(axis=0)]
        if self.modern:
            self.adam(grads)
        else:
            for param, grad in zip(self.params, grads):
                param -= np.float32(3.0) * grad
        return None if loss is None else float(loss)

    def adam(self, grads, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.t += 1
        step = lr * (1 - beta2**self.t) ** 0.5 / (1 - beta1**self.t)
        for param, grad, m, v in zip(self.params, grads, self.m, self.v):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            param -= np.float32(step) * m / (np.sqrt(v) + np.float32(eps))

    def predict(self, x):
        return self.forward(x)[2].argmax(axis=1)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def run():
    a = harness.parse_args()
    # exp(-z) overflows to inf for very negative z, and 1 / (1 + inf) = 0 is the right sigmoid.
    np.seterr(over="ignore")

    def setup(recipe, batch, seed):
        if recipe == "cnn":
            return "no hand-written convolution: the NumPy loop covers the 784-16-16-10 network"
        return Step(recipe, seed)

    info = {"numpy": np.__version__, "threads": int(os.environ.get("OPENBLAS_NUM_THREADS", "0")) or None}
    harness.run_implementation("numpy", a, setup, info)


if __name__ == "__main__":
    harness.main("numpy_mlp.py", run)
